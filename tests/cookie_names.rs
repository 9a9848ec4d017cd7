//! Behind https the cookies are `__Host-` prefixed (a sibling subdomain cannot plant or toss
//! them), and a session is read only under those names: a cookie under the plain names, which
//! no released version set behind https and a sibling subdomain could plant, is no session.

mod common;

use axum::{
    http::{Method, StatusCode},
    routing::get,
    Router,
};
use common::oneshot::call;
use hf_auth_runtime::{hf_login, testing, HfAuth, HfUser, MockUser};

#[hf_login]
async fn me(user: HfUser) -> String {
    user.handle().to_owned()
}

const KEY: [u8; 32] = [42; 32];

async fn app(public_url: &str) -> (HfAuth, Router) {
    let auth = HfAuth::builder()
        .public_url(public_url)
        .mock(true)
        .cookie_key(KEY.to_vec())
        .build()
        .await
        .unwrap();
    let router = auth.attach(Router::new().route("/me", get(me)));
    (auth, router)
}

async fn get_(app: &Router, path: &str, cookie: Option<&str>) -> (StatusCode, Vec<String>) {
    let mut headers = vec![("accept", "application/json")];
    if let Some(c) = cookie {
        headers.push(("cookie", c));
    }
    let out = call(app, Method::GET, path, &headers, "").await;
    (out.status, out.set_cookies())
}

#[tokio::test]
async fn https_cookies_are_host_prefixed() {
    let (_, app) = app("https://app.example").await;
    let (status, cookies) = get_(&app, "/oauth/huggingface/login", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-hf_auth_session="))
        .unwrap_or_else(|| panic!("{cookies:?}"));
    assert!(
        session.contains("Secure") && session.contains("Path=/"),
        "{session}"
    );
    assert!(!session.contains("Domain"), "{session}");
    // Over plain http, the plain names (browsers refuse __Host- without Secure).
    let (_, plain) = app_plain().await;
    let (_, cookies) = get_(&plain, "/oauth/huggingface/login", None).await;
    assert!(
        cookies.iter().any(|c| c.starts_with("hf_auth_session=")),
        "{cookies:?}"
    );
}

async fn app_plain() -> (HfAuth, Router) {
    app("http://127.0.0.1:7860").await
}

#[tokio::test]
async fn behind_https_a_session_under_the_plain_names_is_not_read() {
    let (plain_auth, plain) = app_plain().await;
    let old = testing::session_cookie(&plain_auth, &MockUser::new("alice"));
    assert!(old.starts_with("hf_auth_session="), "{old}");
    // Sealed with the same key, it is a session over plain http...
    let (status, _) = get_(&plain, "/me", Some(&old)).await;
    assert_eq!(status, StatusCode::OK);
    // ...and nothing behind https: not signed in, nothing stored under the `__Host-` name.
    let (_, secure) = app("https://app.example").await;
    let (status, cookies) = get_(&secure, "/me", Some(&old)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(cookies.is_empty(), "{cookies:?}");
    // Next to a real `__Host-` session, it changes nothing.
    let (secure_auth, _) = app("https://app.example").await;
    let current = testing::session_cookie(&secure_auth, &MockUser::new("bob"));
    assert!(current.starts_with("__Host-hf_auth_session="), "{current}");
    let both = format!("{old}; {current}");
    let out = call(
        &secure,
        Method::GET,
        "/me",
        &[("accept", "application/json"), ("cookie", &both)],
        "",
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, "bob");
}
