//! Hardening: a hostile provider, forged and abused cookies, redirect and header injection
//! through the return path, and load while the provider is slow. Each case fails if the
//! protection it names is removed.

mod common;

use std::time::{Duration, Instant};

use axum::{routing::get, Router};
use common::{
    app::{start, start_with, App},
    location, Browser,
};
use hf_auth_runtime::{
    testing::{self, Fault, TestProvider},
    HfAuth, HfUser, MockUser,
};

async fn login_fails_without_session(app: &App, fault: Fault) {
    app.provider.set_fault(fault);
    let mut b = Browser::new();
    let r = app.login(&mut b, "/").await;
    assert_eq!(r.status(), 401, "{fault:?}");
    assert!(r.text().await.unwrap().contains("Try again"), "{fault:?}");
    assert!(!b.has_session(), "{fault:?}");
    assert_eq!(app.json(&mut b, "/me").await.0, 401, "{fault:?}");
}

#[tokio::test]
async fn forged_id_tokens_are_refused() {
    let app = start().await;
    for fault in [
        Fault::AlgNone,
        Fault::Hs256WithClientSecret,
        Fault::SeveralAudiencesWithoutAzp,
        Fault::UnknownKid,
        Fault::BadSignature,
        Fault::WrongIssuer,
        Fault::WrongAudience,
        Fault::ExpiredIdToken,
        Fault::IssuedInFuture,
        Fault::MissingNonce,
        Fault::WrongNonce,
        Fault::UserinfoOtherSub,
    ] {
        login_fails_without_session(&app, fault).await;
    }
}

#[tokio::test]
async fn unknown_kids_cannot_make_us_hammer_the_jwks() {
    let app = start().await;
    for _ in 0..10 {
        login_fails_without_session(&app, Fault::UnknownKid).await;
    }
    // One fetch at start-up, one for the new kid; repeats of a kid that the refetch did not
    // find wait 20 s (3 a minute).
    assert_eq!(app.provider.jwks_requests(), 2);
}

#[tokio::test]
async fn a_rotation_right_after_an_unknown_kid_still_signs_in() {
    let app = start().await;
    login_fails_without_session(&app, Fault::UnknownKid).await;
    assert_eq!(app.provider.jwks_requests(), 2);
    app.provider.set_fault(Fault::None);
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A real rotation a second later: its new kid is worth a refetch of its own.
    app.provider.rotate_key();
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    assert!(b.has_session());
    assert_eq!(app.provider.jwks_requests(), 3);
}

#[tokio::test]
async fn a_slow_token_endpoint_times_out_into_a_4xx_page() {
    let app = start_with(TestProvider::start().await, |b| {
        b.http_timeout(Duration::from_secs(1))
    })
    .await;
    app.provider.set_fault(Fault::TokenSlow);
    let started = Instant::now();
    login_fails_without_session(&app, Fault::TokenSlow).await;
    // The provider answers after 3 s; the callback gave up at its 1 s timeout.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn oversized_duplicated_and_foreign_session_cookies_are_signed_out() {
    let app = start().await;
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    let good = b.jar["hf_auth_session"].clone();
    let other_key = HfAuth::builder()
        .cookie_key(vec![9u8; 32])
        .build()
        .await
        .unwrap();
    let foreign = testing::session_cookie(&other_key, &MockUser::new("test-user"));
    let foreign = foreign.split_once('=').unwrap().1.to_owned();
    for (case, cookie) in [
        (
            "oversized",
            format!("hf_auth_session={}", "A".repeat(20_000)),
        ),
        (
            "duplicated",
            format!("hf_auth_session={good}; hf_auth_session={good}"),
        ),
        ("foreign key", format!("hf_auth_session={foreign}")),
        ("stray chunk only", format!("hf_auth_session_1={good}")),
        ("not base64", "hf_auth_session=%%%;".to_owned()),
    ] {
        let r = reqwest::Client::new()
            .get(app.url("/me"))
            .header("accept", "application/json")
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{case}");
    }
}

#[tokio::test]
async fn a_copied_cookie_outlives_logout_only_until_the_session_ends() {
    // Sessions are stateless: logout clears this browser's cookies but cannot recall a copy.
    // The session lifetime bounds what a stolen copy is worth (SECURITY.md).
    let app = start_with(TestProvider::start().await, |b| {
        b.session_lifetime(Duration::from_secs(2))
    })
    .await;
    let mut b = Browser::new();
    app.login(&mut b, "/").await;
    let copy = b.jar["hf_auth_session"].clone();
    b.get(&app.url("/oauth/huggingface/logout")).await;
    assert!(!b.has_session());
    let mut thief = Browser::api();
    thief.jar.insert("hf_auth_session".into(), copy);
    assert_eq!(
        app.json(&mut thief, "/me").await.0,
        200,
        "documented trade-off"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(app.json(&mut thief, "/me").await.0, 401);
}

#[tokio::test]
async fn a_changed_key_signs_everyone_out() {
    let old = HfAuth::builder()
        .cookie_key(vec![1u8; 32])
        .build()
        .await
        .unwrap();
    let new = HfAuth::builder()
        .cookie_key(vec![2u8; 32])
        .build()
        .await
        .unwrap();
    let cookie = testing::session_cookie(&old, &MockUser::default());
    let me = |auth: &HfAuth| {
        auth.attach(
            Router::new().route("/me", get(|u: HfUser| async move { u.handle().to_owned() })),
        )
    };
    use tower::ServiceExt;
    let req = || {
        axum::http::Request::get("/me")
            .header("cookie", cookie.clone())
            .header("accept", "application/json")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    assert_eq!(me(&old).oneshot(req()).await.unwrap().status(), 200);
    assert_eq!(me(&new).oneshot(req()).await.unwrap().status(), 401);
}

const REDIRECT_VECTORS: &[&str] = &[
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%252F%252Fevil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "https://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,x",
    " /evil",
    "/%09/evil.example",
    "/x\r\nSet-Cookie: pwned=1",
    "/x%0d%0aSet-Cookie:%20pwned=1",
];

fn encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn assert_safe_redirect(r: &reqwest::Response, vector: &str) {
    assert_eq!(location(r), "/", "{vector:?}");
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().contains("pwned")),
        "{vector:?}"
    );
}

#[tokio::test]
async fn open_redirect_and_header_injection_on_login_callback_and_logout() {
    // Login (mock mode redirects straight to the target) and logout.
    let mock = HfAuth::builder().build().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = mock.attach(Router::new());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    for vector in REDIRECT_VECTORS {
        let mut b = Browser::new();
        let r = b
            .get(&format!(
                "{base}/oauth/huggingface/login?_target_url={}",
                encoded(vector)
            ))
            .await;
        assert_safe_redirect(&r, vector);
        let r = b
            .get(&format!(
                "{base}/oauth/huggingface/logout?_target_url={}",
                encoded(vector)
            ))
            .await;
        assert_safe_redirect(&r, vector);
    }
    // Callback of a real login: the target travelled in the flow cookie.
    let app = start().await;
    for vector in REDIRECT_VECTORS {
        let mut b = Browser::new();
        let r = app.login(&mut b, vector).await;
        assert_safe_redirect(&r, vector);
        assert!(b.has_session());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_while_the_provider_is_slow() {
    let app = start_with(TestProvider::start().await, |b| {
        b.http_timeout(Duration::from_secs(1))
    })
    .await;
    let cookie = testing::session_cookie(&app.auth, &MockUser::new("steady"));
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    app.provider.set_fault(Fault::TokenSlow);
    let started = Instant::now();
    // 16 logins stuck on the slow provider, 400 protected requests at the same time.
    let logins: Vec<_> = (0..16)
        .map(|_| {
            let base = app.base.clone();
            tokio::spawn(async move {
                let mut b = Browser::new();
                let r = b.get(&format!("{base}/oauth/huggingface/login")).await;
                let r = b.get(&location(&r)).await;
                let t = Instant::now();
                let r = b.get(&location(&r)).await;
                (r.status().as_u16(), t.elapsed(), b.has_session())
            })
        })
        .collect();
    let client = reqwest::Client::new();
    let requests: Vec<_> = (0..400)
        .map(|_| {
            let (client, url, cookie) = (client.clone(), app.url("/me"), cookie.clone());
            tokio::spawn(async move {
                client
                    .get(url)
                    .header("cookie", cookie)
                    .header("accept", "application/json")
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    for r in requests {
        assert_eq!(r.await.unwrap().unwrap(), 200);
    }
    for l in logins {
        let (status, took, session) = l.await.unwrap();
        assert_eq!(status, 401);
        assert!(!session);
        assert!(
            took < Duration::from_secs(3),
            "a callback waited {took:?}, past its 1 s timeout"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    // Nothing left running: the server's per-connection tasks end with the connections.
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(10);
    while metrics.num_alive_tasks() > baseline + 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        metrics.num_alive_tasks() <= baseline + 2,
        "{} tasks alive, {baseline} before",
        metrics.num_alive_tasks()
    );
}

#[tokio::test]
async fn a_code_used_twice_is_refused_by_the_provider_and_gives_no_session() {
    let app = start().await;
    let mut b = Browser::new();
    let first = {
        let r = b.get(&app.url("/oauth/huggingface/login")).await;
        location(&b.get(&location(&r)).await)
    };
    let second = {
        let r = b.get(&app.url("/oauth/huggingface/login")).await;
        location(&b.get(&location(&r)).await)
    };
    assert_eq!(location(&b.get(&first).await), "/");
    b.jar.remove("hf_auth_session");
    // The first login's code with the second login's (valid, unused) state.
    let param = |url: &str, name: &str| {
        url::Url::parse(url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == name)
            .unwrap()
            .1
            .into_owned()
    };
    let crafted = app.url(&format!(
        "/oauth/huggingface/callback?code={}&state={}",
        param(&first, "code"),
        param(&second, "state")
    ));
    let r = b.get(&crafted).await;
    assert_eq!(r.status(), 401);
    assert!(!b.has_session());
    assert_eq!(app.provider.token_requests(), 2);
}
