//! The whole OAuth flow over real HTTP against the test kit's HF-like provider on 127.0.0.1:
//! happy path, granted scopes, orgs and roles, logout, expiry, refresh, key rotation, every
//! flow error, open redirects and forged cookies.

mod common;

use std::time::Duration;

use common::{
    app::{start, start_with, App},
    location, Browser,
};
use hf_auth_runtime::{
    testing::{Consent, Fault, TestProvider, TestUser},
    ConfigError, HfAuth, Role,
};
use serde_json::{json, Value};

#[tokio::test]
async fn happy_path_signs_in_with_orgs_and_granted_scopes() {
    let app = start().await;
    app.provider
        .set_user(TestUser::new("alice").org("acme", Role::Write));
    let mut b = Browser::new();
    let r = app.login(&mut b, "/me?x=1").await;
    assert_eq!(location(&r), "/me?x=1");
    assert!(b.has_session());
    let session_cookie = b
        .set_cookies
        .iter()
        .find(|c| c.starts_with("hf_auth_session="))
        .unwrap();
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(
        !session_cookie.contains("Secure"),
        "plain-http localhost: {session_cookie}"
    );
    let (status, me) = app.json(&mut b, "/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["preferred_username"], "alice");
    assert_eq!(me["sub"].as_str().unwrap().len(), 24);
    assert_eq!(me["orgs"], json!([{ "handle": "acme", "role": "write" }]));
    assert_eq!(
        me["scopes"],
        json!(["openid", "profile", "read-repos", "write-repos"])
    );
    assert_eq!(app.json(&mut b, "/write").await.0, 200);
    assert_eq!(app.json(&mut b, "/acme").await.0, 200);
    let (status, body) = app.json(&mut b, "/acme/admin").await;
    assert_eq!(status, 403);
    assert!(body["error"].as_str().unwrap().contains("acme"), "{body}");
    // The authorization request carried PKCE S256, state and nonce.
    assert_eq!(app.provider.token_requests(), 1);
}

#[tokio::test]
async fn authorization_request_has_pkce_state_and_nonce() {
    let app = start().await;
    let mut b = Browser::new();
    let r = b.get(&app.url("/oauth/huggingface/login")).await;
    let url = url::Url::parse(&location(&r)).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 32 && q["nonce"].len() >= 22, "{q:?}");
    assert_eq!(q["redirect_uri"], app.url("/oauth/huggingface/callback"));
    assert_eq!(q["scope"], "openid profile read-repos write-repos");
    assert!(!q["redirect_uri"].contains("_target_url"));
}

#[tokio::test]
async fn fewer_scopes_granted_than_asked_gives_403_naming_them() {
    let app = start().await;
    app.provider
        .set_consent(Consent::GrantOnly(vec!["read-repos".into()]));
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    let (status, me) = app.json(&mut b, "/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["scopes"], json!(["openid", "profile", "read-repos"]));
    let r = b
        .get_with_accept(&app.url("/write"), "application/json")
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["missing_scopes"], json!(["write-repos"]));
    assert!(body["error"].as_str().unwrap().contains("write-repos"));
    // A browser gets a 403 page that offers to grant the missing scope.
    let r = b.get(&app.url("/write")).await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("write-repos") && html.contains("Grant access"),
        "{html}"
    );
}

#[tokio::test]
async fn role_order_and_membership() {
    let app = start().await;
    app.provider
        .set_user(TestUser::new("boss").org("acme", Role::Admin));
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    assert_eq!(app.json(&mut b, "/acme/admin").await.0, 200);
    app.provider
        .set_user(TestUser::new("outsider").org("other", Role::Admin));
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    let (status, body) = app.json(&mut b, "/acme").await;
    assert_eq!(status, 403);
    assert_eq!(body["org"], "acme");
    let r = b.get(&app.url("/acme")).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("acme"));
}

#[tokio::test]
async fn signed_out_browsers_are_sent_to_login_and_come_back() {
    let app = start().await;
    let mut b = Browser::new();
    let r = b.get(&app.url("/acme?tab=1")).await;
    let login = location(&r);
    assert_eq!(
        login,
        "/oauth/huggingface/login?_target_url=%2Facme%3Ftab%3D1"
    );
    app.provider
        .set_user(TestUser::new("a").org("acme", Role::Read));
    let (r, hops) = b.follow(&app.url(&login), 6).await;
    assert_eq!(r.status(), 200, "{hops:?}");
    assert_eq!(hops.last().unwrap(), &app.url("/acme?tab=1"));
    // API clients get 401 JSON with WWW-Authenticate.
    let mut api = Browser::api();
    let r = api.get(&app.url("/me")).await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn logout_ends_the_session_and_refuses_offsite_targets() {
    let app = start().await;
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    assert_eq!(app.json(&mut b, "/me").await.0, 200);
    let r = b
        .get(&app.url("/oauth/huggingface/logout?_target_url=//evil.example"))
        .await;
    assert_eq!(location(&r), "/");
    assert!(!b.has_session());
    assert_eq!(app.json(&mut b, "/me").await.0, 401);
    let r = b
        .get(&app.url("/oauth/huggingface/logout?_target_url=/bye"))
        .await;
    assert_eq!(location(&r), "/bye");
}

#[tokio::test]
async fn open_redirect_vectors_fall_back_to_root_after_login() {
    let app = start().await;
    for target in [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/%2F%2Fevil.example",
        "\\/evil.example",
        "////evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ] {
        let mut b = Browser::new();
        let r = app.login(&mut b, target).await;
        assert_eq!(location(&r), "/", "{target:?}");
    }
}

#[tokio::test]
async fn expired_session_without_refresh_token_is_signed_out() {
    let app = start().await;
    app.provider.set_access_token_ttl(1);
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    assert_eq!(app.json(&mut b, "/me").await.0, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, _) = app.json(&mut b, "/me").await;
    assert_eq!(status, 401);
    assert!(!b.has_session(), "the expired session cookie is removed");
}

#[tokio::test]
async fn expired_access_token_is_refreshed_and_the_newest_refresh_token_kept() {
    let app = start().await;
    app.provider.set_access_token_ttl(1);
    app.provider.set_refresh_tokens(true);
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    let first = b.jar["hf_auth_session"].clone();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(app.json(&mut b, "/me").await.0, 200);
    assert_eq!(app.provider.refresh_requests(), 1);
    assert_ne!(
        b.jar["hf_auth_session"], first,
        "the refreshed session is stored"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // The rotated refresh token works; the first one is dead at the provider.
    assert_eq!(app.json(&mut b, "/me").await.0, 200);
    assert_eq!(app.provider.refresh_requests(), 2);
    let mut old = Browser::api();
    old.jar.insert("hf_auth_session".into(), first);
    assert_eq!(app.json(&mut old, "/me").await.0, 401);
}

#[tokio::test]
async fn key_rotation_refetches_the_jwks() {
    let app = start().await;
    assert_eq!(app.provider.jwks_requests(), 1);
    app.provider.rotate_key();
    // A kid not seen before is refetched for at once.
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    assert!(b.has_session());
    assert_eq!(app.provider.jwks_requests(), 2);
}

/// Every error of the callback ends on a 4xx page, never a 500, and never a session.
async fn assert_login_fails(app: &App, b: &mut Browser, status: u16) -> String {
    let r = app.login(b, "/").await;
    assert_eq!(r.status().as_u16(), status);
    assert!(!b.has_session());
    let html = r.text().await.unwrap();
    assert!(html.contains("Try again"), "{html}");
    assert_eq!(app.json(b, "/me").await.0, 401);
    html
}

#[tokio::test]
async fn denied_consent_is_a_403_page_without_session() {
    let app = start().await;
    app.provider.set_consent(Consent::Deny);
    let mut b = Browser::new();
    let html = assert_login_fails(&app, &mut b, 403).await;
    assert!(html.contains("declined"), "{html}");
}

#[tokio::test]
async fn provider_faults_are_4xx_pages_without_session() {
    let app = start().await;
    for fault in [
        Fault::BadSignature,
        Fault::WrongAudience,
        Fault::WrongIssuer,
        Fault::WrongNonce,
        Fault::MissingNonce,
        Fault::ExpiredIdToken,
        Fault::IssuedInFuture,
        Fault::NoIdToken,
        Fault::TokenServerError,
        Fault::TokenInvalidGrant,
        Fault::TokenGarbage,
        Fault::UserinfoOtherSub,
        Fault::UserinfoServerError,
    ] {
        app.provider.set_fault(fault);
        let mut b = Browser::new();
        let r = app.login(&mut b, "/").await;
        assert_eq!(r.status(), 401, "{fault:?}");
        assert!(!b.has_session(), "{fault:?}");
    }
}

#[tokio::test]
async fn state_errors_replay_and_login_csrf() {
    let app = start().await;
    let mut b = Browser::new();
    let r = b.get(&app.url("/oauth/huggingface/login")).await;
    let r = b.get(&location(&r)).await;
    let callback = location(&r);
    // Missing state.
    let no_state = callback.split("&state=").next().unwrap().to_owned();
    let r = b.get(&no_state).await;
    assert_eq!(r.status(), 400);
    // Wrong state while this browser has a login pending.
    let url = url::Url::parse(&callback).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    // One character changed (to another one: an `x` replaced by `x` would be no forgery).
    let other = if &state[20..21] == "x" { "y" } else { "x" };
    let forged = callback.replace(&state, &format!("{}{other}{}", &state[..20], &state[21..]));
    assert_eq!(b.get(&forged).await.status(), 400);
    // The real callback works once.
    let r = b.get(&callback).await;
    assert_eq!(location(&r), "/");
    let session = b.jar.remove("hf_auth_session").unwrap();
    // Replayed: no new session.
    let r = b.get(&callback).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("already used"));
    assert!(!b.has_session());
    drop(session);
    // Login CSRF: a callback started in the attacker's browser does not sign in the victim.
    let mut attacker = Browser::new();
    let r = attacker.get(&app.url("/oauth/huggingface/login")).await;
    let r = attacker.get(&location(&r)).await;
    let attackers_callback = location(&r);
    let mut victim = Browser::new();
    let r = victim.get(&app.url("/oauth/huggingface/login")).await; // victim has a pending login
    assert!(r.status().is_redirection());
    let r = victim.get(&attackers_callback).await;
    assert_eq!(r.status(), 400);
    assert!(!victim.has_session());
}

#[tokio::test]
async fn lost_flow_cookie_retries_a_bounded_number_of_times() {
    let app = start_with(TestProvider::start().await, |b| b.space_id("me/app")).await;
    let mut b = Browser::new();
    let mut login = app.url("/oauth/huggingface/login");
    let mut seen = Vec::new();
    for _ in 0..4 {
        let r = b.get(&login).await;
        let r = b.get(&location(&r)).await;
        let callback = location(&r);
        b.jar.clear(); // third-party cookies blocked
        let r = b.get(&callback).await;
        if !r.status().is_redirection() {
            assert_eq!(r.status(), 400);
            assert!(r.text().await.unwrap().contains("cookie"));
            break;
        }
        let next = location(&r);
        seen.push(next.clone());
        login = url::Url::parse(&app.base)
            .unwrap()
            .join(&next)
            .unwrap()
            .to_string();
    }
    assert_eq!(seen[0], "/oauth/huggingface/login?_nb_redirects=1");
    assert_eq!(seen[1], "/oauth/huggingface/login?_nb_redirects=2");
    assert_eq!(
        seen.len(),
        2,
        "no SPACE_HOST: no iframe escape, then an error page"
    );
}

#[tokio::test]
async fn lost_flow_cookie_escapes_the_iframe_to_the_direct_space_url() {
    let app = start_with(TestProvider::start().await, |b| {
        b.space_id("me/app")
            .space_host("me-app.hf.space,app.example.com")
    })
    .await;
    let mut b = Browser::new();
    let mut login = app.url("/oauth/huggingface/login");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = b.get(&login).await;
        let r = b.get(&location(&r)).await;
        let callback = location(&r);
        b.jar.clear();
        let next = location(&b.get(&callback).await);
        login = url::Url::parse(&app.base)
            .unwrap()
            .join(&next)
            .unwrap()
            .to_string();
        seen.push(next);
    }
    assert_eq!(
        seen[2],
        "https://me-app.hf.space/oauth/huggingface/login?_nb_redirects=3"
    );
    // Past the escape the counter still counts: an error page, not a loop.
    let login = app.url("/oauth/huggingface/login?_nb_redirects=3");
    let r = b.get(&login).await;
    let r = b.get(&location(&r)).await;
    let callback = location(&r);
    b.jar.clear();
    let r = b.get(&callback).await;
    assert_eq!(r.status(), 400);
    // A redirect cannot leave an iframe: the page offers the direct URL in a new tab.
    let page = r.text().await.unwrap();
    assert!(
        page.contains("href=\"https://me-app.hf.space/oauth/huggingface/login\" target=\"_blank\""),
        "{page}"
    );
}

#[tokio::test]
async fn tampered_truncated_and_foreign_cookies_are_signed_out() {
    let app = start().await;
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    let good = b.jar["hf_auth_session"].clone();
    let mut tampered = good.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'a' { b'b' } else { b'a' };
    // Another app with another key (apps with the same client secret share keys, by design).
    let other_app = start_with(TestProvider::start().await, |b| b.cookie_key(vec![7u8; 32])).await;
    let mut other = Browser::new();
    other_app.login(&mut other, "/").await;
    for bad in [
        String::from_utf8(tampered).unwrap(),
        good[..good.len() - 3].to_owned(),
        other.jar["hf_auth_session"].clone(),
        "garbage".to_owned(),
        String::new(),
    ] {
        let mut api = Browser::api();
        api.jar.insert("hf_auth_session".into(), bad);
        assert_eq!(app.json(&mut api, "/me").await.0, 401);
        let r = api.get_with_accept(&app.url("/"), "text/html").await;
        assert_eq!(r.text().await.unwrap(), "anonymous");
    }
}

#[tokio::test]
async fn discovery_failures_stop_start_up_with_a_clear_error() {
    // Nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = HfAuth::builder()
        .client_id("c")
        .client_secret("a-secret-that-is-long-enough")
        .provider_url(format!("http://127.0.0.1:{port}"))
        .discovery_attempts(2)
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::Discovery { attempts: 2, .. }),
        "{err}"
    );
    // An issuer that differs from the configured URL.
    let provider = TestProvider::start().await;
    let wrong = provider.issuer().replace("127.0.0.1", "localhost");
    let err = provider
        .app_config("http://127.0.0.1:1")
        .provider_url(wrong)
        .build()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("issuer") || err.to_string().contains("Issuer"),
        "{err}"
    );
}
