//! Server-side sessions in a real Redis (Debian's `redis-server`, started per test on
//! 127.0.0.1 by the test kit): two replicas of one app, each with its own cache, behind no load
//! balancer (the test picks the replica). Logout and revocation on one are refused by the
//! other within the bound; replicas refresh a session once; a lost Redis answers 503 and the
//! app recovers by itself. The same against nginx and three processes: scripts/multi-replica.sh.

mod common;

use std::time::{Duration, Instant};

use common::{
    app::{start_with, App, Replica},
    events::{watched_becomes, Events},
    Browser,
};
use hf_auth_runtime::{
    testing::{watched_sessions, RedisServer, TestProvider, TestUser},
    ConfigError, HfAuthBuilder, RevokeError,
};
use reqwest::StatusCode;

const KEY: &[u8] = b"a cookie key shared by both replicas, 32+ bytes";
/// The documented bound: a revocation is visible on every replica within a second.
const BOUND: Duration = Duration::from_secs(1);

fn redis() -> RedisServer {
    RedisServer::start().expect("a test redis-server (apt-get install redis-server)")
}

fn stored(url: String) -> impl Fn(HfAuthBuilder) -> HfAuthBuilder + Clone {
    move |b: HfAuthBuilder| b.cookie_key(KEY).session_store(url.clone())
}

/// Two replicas sharing `redis`, and a browser signed in on the first.
async fn two_replicas(redis: &RedisServer) -> (App, Replica, Browser) {
    let edit = stored(redis.url());
    let a = start_with(TestProvider::start().await, edit.clone()).await;
    let b = a.replica(edit).await;
    let mut browser = Browser::api();
    a.login(&mut browser, "/").await;
    (a, b, browser)
}

async fn status(browser: &mut Browser, url: &str) -> StatusCode {
    browser
        .get_with_accept(url, "application/json")
        .await
        .status()
}

/// Polls `url` with `browser` until it is refused (401), at most `within`; how long it took.
async fn refused_within(browser: &mut Browser, url: &str, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    loop {
        let s = status(browser, url).await;
        if s == StatusCode::UNAUTHORIZED {
            return Some(start.elapsed());
        }
        assert_eq!(s, StatusCode::OK, "only admitted or refused, never {s}");
        if start.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_login_on_one_replica_is_honoured_by_the_other_and_its_cookie_holds_only_an_id() {
    let redis = redis();
    let (a, b, mut browser) = two_replicas(&redis).await;
    let cookie = &browser.jar["hf_auth_session"];
    assert!(
        cookie.len() < 120,
        "the cookie holds a sealed id, not the session: {} bytes",
        cookie.len()
    );
    for url in [a.url("/me"), b.url("/me"), b.url("/me"), a.url("/me")] {
        let (s, body) = {
            let r = browser.get_with_accept(&url, "application/json").await;
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        };
        assert_eq!(s, StatusCode::OK, "{url}: {body}");
        assert!(body["preferred_username"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn a_logout_on_one_replica_is_refused_on_the_other_within_the_bound() {
    let redis = redis();
    let (a, b, mut browser) = two_replicas(&redis).await;
    // Both replicas have the session cached.
    assert_eq!(status(&mut browser, &a.url("/me")).await, StatusCode::OK);
    assert_eq!(status(&mut browser, &b.url("/me")).await, StatusCode::OK);
    assert_eq!(status(&mut browser, &b.url("/me")).await, StatusCode::OK);
    let mut stolen = browser.copy();

    let r = browser
        .get(&a.url("/oauth/huggingface/logout?_target_url=/"))
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let took = refused_within(&mut stolen, &b.url("/me"), BOUND).await;
    println!("logout on replica a refused on replica b after {took:?}");
    assert!(
        took.is_some(),
        "a copied cookie still worked on b after {BOUND:?}"
    );
    assert_eq!(
        status(&mut stolen, &a.url("/me")).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn revoke_user_ends_every_session_of_that_user_only_on_every_replica() {
    let redis = redis();
    let (a, b, mut laptop) = two_replicas(&redis).await;
    let mut phone = Browser::api();
    a.login(&mut phone, "/").await;
    a.provider.set_user(TestUser::new("someone-else"));
    let mut other = Browser::api();
    a.login(&mut other, "/").await;
    let r = laptop
        .get_with_accept(&b.url("/me"), "application/json")
        .await;
    let sub = r.json::<serde_json::Value>().await.unwrap()["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    for browser in [&mut laptop, &mut phone, &mut other] {
        assert_eq!(status(browser, &b.url("/me")).await, StatusCode::OK);
    }

    assert_eq!(a.auth.revoke_user(&sub).await.unwrap(), 2);
    for browser in [&mut laptop, &mut phone] {
        let took = refused_within(browser, &b.url("/me"), BOUND).await;
        assert!(
            took.is_some(),
            "a revoked session still worked after {BOUND:?}"
        );
        assert_eq!(
            status(browser, &a.url("/me")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(status(&mut other, &b.url("/me")).await, StatusCode::OK);
    assert!(matches!(
        b.auth.revoke_user("").await,
        Err(RevokeError::InvalidUser)
    ));
}

#[tokio::test]
async fn replicas_refresh_a_session_once_and_all_see_the_result() {
    let redis = redis();
    let (a, b, browser) = two_replicas(&redis).await;
    // Signed in with a 1-second access token and a rotating refresh token.
    a.provider.set_access_token_ttl(1);
    a.provider.set_refresh_tokens(true);
    let mut browser = browser;
    browser.jar.clear();
    a.login(&mut browser, "/").await;
    assert_eq!(a.provider.refresh_requests(), 0);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // The refreshed token lives long enough that a replica taking the lock after the first
    // refresh finds it fresh even on a loaded machine (with 1 s it could expire in between,
    // and be refreshed again, rightly).
    a.provider.set_access_token_ttl(60);

    // Six requests with the expired session at once, three on each replica.
    let mut tabs: Vec<Browser> = (0..6).map(|_| browser.copy()).collect();
    let urls: Vec<String> = (0..6)
        .map(|i| {
            if i % 2 == 0 {
                a.url("/me")
            } else {
                b.url("/me")
            }
        })
        .collect();
    let answers = common::join_all(
        tabs.iter_mut()
            .zip(&urls)
            .map(|(t, url)| async move { status(t, url).await }),
    )
    .await;
    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");
    assert_eq!(
        a.provider.refresh_requests(),
        1,
        "one refresh for both replicas (a second one would reuse the rotated token)"
    );
    // The cookie (the session's id) did not change, and both replicas answer it.
    assert!(tabs.iter().all(|t| t.jar == browser.jar));
    assert_eq!(status(&mut browser, &b.url("/me")).await, StatusCode::OK);
    assert_eq!(status(&mut browser, &a.url("/me")).await, StatusCode::OK);
}

#[tokio::test]
async fn a_lost_redis_answers_503_keeps_public_routes_and_recovers_by_itself() {
    let mut redis = redis();
    let (a, b, mut browser) = two_replicas(&redis).await;
    assert_eq!(status(&mut browser, &b.url("/me")).await, StatusCode::OK);

    redis.kill();
    // Within the time the replicas notice (their cache is bypassed once the channel is cut).
    let deadline = Instant::now() + Duration::from_secs(3);
    let r = loop {
        let r = browser
            .get_with_accept(&b.url("/me"), "application/json")
            .await;
        if r.status() != StatusCode::OK || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
    for replica in [a.url("/me"), b.url("/me")] {
        assert_eq!(
            status(&mut browser, &replica).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    // Public routes keep working; a login cannot store its session: 503, no session.
    assert_eq!(
        status(&mut browser, &a.url("/public")).await,
        StatusCode::OK
    );
    let mut newcomer = Browser::api();
    let r = a.login(&mut newcomer, "/").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!newcomer.jar.contains_key("hf_auth_session"));
    // Logout cannot end the session: 503, and the cookie is kept to try again.
    let r = browser
        .get(&a.url("/oauth/huggingface/logout?_target_url=/"))
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(browser.jar.contains_key("hf_auth_session"));

    // Back (this server keeps nothing: its sessions are gone, so the browser is signed out;
    // with persistence they survive, see scripts/multi-replica.sh), and by itself.
    redis.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = status(&mut browser, &b.url("/me")).await;
        if s == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "no recovery within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut again = Browser::api();
    a.login(&mut again, "/").await;
    assert_eq!(status(&mut again, &b.url("/me")).await, StatusCode::OK);
}

#[tokio::test]
async fn an_unreachable_store_at_start_up_is_a_clear_error_without_its_password() {
    let provider = TestProvider::start().await;
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = provider
        .app_config("http://127.0.0.1:8000")
        .session_store(format!("redis://:hunter2-secret@127.0.0.1:{port}/0"))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, ConfigError::SessionStore { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("HF_AUTH_SESSION_STORE"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let err = provider
        .app_config("http://127.0.0.1:8000")
        .session_store("not a url")
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, ConfigError::SessionStore { .. }), "{err}");
}

#[tokio::test]
async fn stateless_apps_cannot_revoke_and_say_so() {
    let provider = TestProvider::start().await;
    let app = start_with(provider, |b| b).await;
    assert!(!app.auth.has_session_store());
    assert!(matches!(
        app.auth.revoke_user("someone").await,
        Err(RevokeError::NoSessionStore)
    ));
}

#[tokio::test]
async fn without_the_replica_cache_every_request_asks_the_store() {
    let redis = redis();
    let edit = {
        let url = redis.url();
        move |b: HfAuthBuilder| {
            b.cookie_key(KEY)
                .session_store(url.clone())
                .session_store_cache(false)
        }
    };
    let a = start_with(TestProvider::start().await, edit.clone()).await;
    let b = a.replica(edit).await;
    let mut browser = Browser::api();
    a.login(&mut browser, "/").await;
    assert_eq!(status(&mut browser, &b.url("/me")).await, StatusCode::OK);
    let mut stolen = browser.copy();
    browser
        .get(&a.url("/oauth/huggingface/logout?_target_url=/"))
        .await;
    // No bound to wait for: the very next request is refused.
    assert_eq!(
        status(&mut stolen, &b.url("/me")).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_environment_chooses_the_store() {
    let redis = redis();
    let url = redis.url();
    let vars = |cache: &'static str| {
        let url = url.clone();
        move |name: &str| match name {
            "HF_AUTH_SESSION_STORE" => Some(url.clone()),
            "HF_AUTH_SESSION_STORE_CACHE" => Some(cache.to_owned()),
            _ => None,
        }
    };
    let auth = HfAuthBuilder::from_vars(&vars("0"))
        .unwrap()
        .mock(true)
        .build()
        .await
        .unwrap();
    assert!(auth.has_session_store());
    let err = HfAuthBuilder::from_vars(&vars("sometimes")).unwrap_err();
    assert!(
        err.to_string().contains("HF_AUTH_SESSION_STORE_CACHE"),
        "{err}"
    );
}

#[tokio::test]
async fn the_test_kit_signs_in_with_a_store_too() {
    let redis = redis();
    let auth = HfAuthBuilder::default()
        .mock(true)
        .session_store(redis.url())
        .build()
        .await
        .unwrap();
    let app = auth.attach(axum::Router::new().route(
        "/me",
        axum::routing::get(|u: hf_auth_runtime::HfUser| async move { u.handle().to_owned() }),
    ));
    let cookie =
        hf_auth_runtime::testing::sign_in(&auth, &hf_auth_runtime::MockUser::new("alice")).await;
    let r = tower::ServiceExt::oneshot(
        app,
        axum::http::Request::get("/me")
            .header("cookie", cookie)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        hf_auth_runtime::testing::session_cookie(&auth, &hf_auth_runtime::MockUser::new("bob"))
    }));
    assert!(
        panicked.is_err(),
        "a stateless cookie helper refuses a store app"
    );
}

#[tokio::test]
async fn signing_in_again_ends_the_session_it_replaces() {
    let redis = redis();
    let (a, b, mut browser) = two_replicas(&redis).await;
    let mut old = browser.copy();
    assert_eq!(status(&mut old, &b.url("/me")).await, StatusCode::OK);
    // The same browser signs in again (a step-up is such a login): a new id.
    a.login(&mut browser, "/").await;
    assert_ne!(browser.jar["hf_auth_session"], old.jar["hf_auth_session"]);
    assert_eq!(status(&mut browser, &b.url("/me")).await, StatusCode::OK);
    let took = refused_within(&mut old, &b.url("/me"), BOUND).await;
    assert!(
        took.is_some(),
        "the replaced session still worked after {BOUND:?}"
    );
}

#[tokio::test]
async fn replicas_with_a_store_share_the_token_check() {
    let redis = redis();
    let (a, b, _) = two_replicas(&redis).await;
    let user = TestUser::new("api-client");
    let token = a
        .provider
        .mint_token(&user, hf_auth_runtime::testing::TokenKind::Read);
    let before = a.provider.whoami_requests();
    for url in [a.url("/me"), b.url("/me"), b.url("/me"), a.url("/me")] {
        let r = reqwest::Client::new()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
    }
    assert_eq!(
        a.provider.whoami_requests() - before,
        1,
        "one whoami call for both replicas"
    );
}

/// Runs `redis-cli` against the test server (plain mode), as someone with access to Redis.
fn redis_cli(redis: &RedisServer, args: &[&str]) -> String {
    // Bounded: coreutils' timeout ends a redis-cli that hangs.
    let out = std::process::Command::new("timeout")
        .args([
            "10",
            "redis-cli",
            "-h",
            "127.0.0.1",
            "-p",
            &redis.port().to_string(),
        ])
        .args(args)
        .output()
        .expect("redis-cli (Debian's redis-tools, with redis-server)");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn a_session_a_redis_writer_moved_to_another_id_signs_nobody_in() {
    let redis = redis();
    let (a, b, mut victim) = two_replicas(&redis).await;
    let sub_of = |body: serde_json::Value| body["sub"].as_str().unwrap().to_owned();
    let victim_sub = sub_of(
        victim
            .get_with_accept(&a.url("/me"), "application/json")
            .await
            .json()
            .await
            .unwrap(),
    );
    a.provider.set_user(TestUser::new("mallory"));
    let mut mallory = Browser::api();
    a.login(&mut mallory, "/").await;
    let mallory_sub = sub_of(
        mallory
            .get_with_accept(&a.url("/me"), "application/json")
            .await
            .json()
            .await
            .unwrap(),
    );
    assert_ne!(victim_sub, mallory_sub);
    let id_of = |sub: &str| redis_cli(&redis, &["SMEMBERS", &format!("hf-auth:u:{sub}")]);
    let (victims, mallorys) = (id_of(&victim_sub), id_of(&mallory_sub));
    assert_eq!(victims.len(), 43, "one session id: {victims}");

    // Mallory, who can write to Redis, copies the victim's sealed session onto her own id.
    redis_cli(
        &redis,
        &[
            "COPY",
            &format!("hf-auth:s:{victims}"),
            &format!("hf-auth:s:{mallorys}"),
            "REPLACE",
        ],
    );
    // Neither replica (b has not cached her session yet) signs her in as the victim, or at all.
    for replica in [b.url("/me"), a.url("/me")] {
        let r = mallory.get_with_accept(&replica, "application/json").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{replica}");
    }
    // The victim's own session is untouched.
    assert_eq!(status(&mut victim, &b.url("/me")).await, StatusCode::OK);
}

#[tokio::test]
async fn over_tls_with_a_password_replicas_share_sessions_and_hear_logouts() {
    let redis = RedisServer::start_tls().expect("a TLS test redis-server");
    let ca = redis.ca_path().unwrap();
    let edit = {
        let (url, ca) = (redis.url(), ca.clone());
        move |b: HfAuthBuilder| {
            b.cookie_key(KEY)
                .session_store(url.clone())
                .session_store_ca(ca.clone())
        }
    };
    let a = start_with(TestProvider::start().await, edit.clone()).await;
    let b = a.replica(edit).await;
    let mut browser = Browser::api();
    a.login(&mut browser, "/").await;
    assert_eq!(status(&mut browser, &b.url("/me")).await, StatusCode::OK);
    assert_eq!(status(&mut browser, &a.url("/me")).await, StatusCode::OK);
    let mut stolen = browser.copy();
    browser
        .get(&a.url("/oauth/huggingface/logout?_target_url=/"))
        .await;
    let took = refused_within(&mut stolen, &b.url("/me"), BOUND).await;
    assert!(
        took.is_some(),
        "a logout over TLS was not heard within {BOUND:?}"
    );
    // And the environment says the same: HF_AUTH_SESSION_STORE + HF_AUTH_SESSION_STORE_CA.
    let vars = |name: &str| match name {
        "HF_AUTH_SESSION_STORE" => Some(redis.url()),
        "HF_AUTH_SESSION_STORE_CA" => Some(ca.display().to_string()),
        _ => None,
    };
    let auth = HfAuthBuilder::from_vars(&vars)
        .unwrap()
        .mock(true)
        .build()
        .await
        .unwrap();
    assert!(auth.has_session_store());
    // The operator's revocation reaches it too, with the CA.
    let ended = hf_auth_runtime::revoke_user_in_store_with_ca(&redis.url(), Some(&ca), "nobody")
        .await
        .unwrap();
    assert_eq!(ended, 0);
}

#[tokio::test]
async fn a_store_ca_that_cannot_be_used_or_a_wrong_password_is_a_clear_start_up_error() {
    let redis = RedisServer::start_tls().expect("a TLS test redis-server");
    let dir = std::env::temp_dir().join(format!("hf-auth-store-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let missing = dir.join("missing.pem");
    for (what, ca) in [("missing", &missing), ("garbage", &garbage)] {
        let vars = |name: &str| match name {
            "HF_AUTH_SESSION_STORE" => Some(redis.url()),
            "HF_AUTH_SESSION_STORE_CA" => Some(ca.display().to_string()),
            _ => None,
        };
        let err = HfAuthBuilder::from_vars(&vars)
            .unwrap()
            .mock(true)
            .build()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ConfigError::Invalid { .. }), "{what}: {text}");
        assert!(text.contains("HF_AUTH_SESSION_STORE_CA"), "{what}: {text}");
        assert!(text.contains(&*ca.display().to_string()), "{what}: {text}");
    }
    // A CA without a store, and a CA with a plain redis:// store.
    let err = HfAuthBuilder::default()
        .mock(true)
        .session_store_ca(redis.ca_path().unwrap())
        .build()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("HF_AUTH_SESSION_STORE_CA"),
        "{err}"
    );
    let plain = RedisServer::start().expect("a test redis-server");
    let err = HfAuthBuilder::default()
        .mock(true)
        .session_store(plain.url())
        .session_store_ca(redis.ca_path().unwrap())
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rediss://"), "{err}");
    // A wrong password: refused at start-up, and the password is not in the message.
    let wrong = format!("rediss://:hunter2-wrong@127.0.0.1:{}/0", redis.port());
    let err = HfAuthBuilder::default()
        .mock(true)
        .session_store(wrong)
        .session_store_ca(redis.ca_path().unwrap())
        .build()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConfigError::SessionStore { .. }), "{text}");
    assert!(text.contains("password"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains(redis.password().unwrap()), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// How long a stream held on one replica may take to end after a logout or revocation on
/// another: the 1 s bound, plus the stream's own tick and a loaded machine's slack.
const STREAM_BOUND: Duration = Duration::from_millis(1800);

#[tokio::test]
async fn a_logout_or_a_revocation_on_one_replica_ends_a_stream_held_on_the_other() {
    let redis = redis();
    let (a, b, mut browser) = two_replicas(&redis).await;
    let mut tab = browser.copy();
    let mut stream = Events::open(&mut tab, &a.url("/events")).await;
    assert_eq!(
        stream.end_within(Duration::from_millis(1500)).await,
        None,
        "nothing happened: the stream stays open"
    );
    assert!(stream.ticks() >= 5, "it streamed: {} ticks", stream.ticks());

    // Logged out through replica b: the stream on replica a ends.
    let r = browser
        .get(&b.url("/oauth/huggingface/logout?_target_url=/"))
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let started = Instant::now();
    assert_eq!(
        stream.end_within(STREAM_BOUND).await.as_deref(),
        Some("logged_out")
    );
    println!(
        "a logout on b ended a stream on a after {:?}",
        started.elapsed()
    );

    // Two sessions of one user and one of another, streaming on replica a; the user is
    // revoked from outside the app (the operator's command): both of theirs end, on a.
    let mut laptop = Browser::api();
    a.login(&mut laptop, "/").await;
    let mut phone = Browser::api();
    a.login(&mut phone, "/").await;
    a.provider.set_user(TestUser::new("someone-else"));
    let mut other = Browser::api();
    a.login(&mut other, "/").await;
    let sub = a.json(&mut laptop, "/me").await.1["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut laptop_stream = Events::open(&mut laptop.copy(), &a.url("/events")).await;
    let mut phone_stream = Events::open(&mut phone.copy(), &a.url("/events")).await;
    let mut other_stream = Events::open(&mut other.copy(), &a.url("/events")).await;
    assert_eq!(watched_sessions(&a.auth), 3);
    assert_eq!(
        hf_auth_runtime::revoke_user_in_store(&redis.url(), &sub)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        laptop_stream.end_within(STREAM_BOUND).await.as_deref(),
        Some("revoked")
    );
    assert_eq!(
        phone_stream.end_within(STREAM_BOUND).await.as_deref(),
        Some("revoked")
    );
    assert_eq!(
        other_stream.end_within(Duration::from_millis(500)).await,
        None,
        "another user's stream goes on"
    );
    drop(other_stream);
    assert!(
        watched_becomes(&a.auth, 0, Duration::from_secs(3)).await,
        "nothing left watched"
    );
}

#[tokio::test]
async fn a_stream_ends_when_the_store_can_no_longer_confirm_its_session() {
    let mut redis = redis();
    let (a, _b, mut browser) = two_replicas(&redis).await;
    let mut stream = Events::open(&mut browser, &a.url("/events")).await;
    assert_eq!(stream.end_within(Duration::from_millis(300)).await, None);
    redis.kill();
    // The channel is cut at once; the session is asked about within a second, and the store
    // does not answer (within its 1 s command timeout and retries).
    assert_eq!(
        stream.end_within(Duration::from_secs(6)).await.as_deref(),
        Some("store_unavailable")
    );
}
