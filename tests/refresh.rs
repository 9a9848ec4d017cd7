//! Token refresh under real conditions: concurrent requests at expiry against a rotating
//! refresh token, a provider outage during refresh, and scopes that never widen.

mod common;

use std::time::Duration;

use common::{
    app::{start, start_with, App},
    Browser,
};
use hf_auth_runtime::testing::{Consent, Fault, TestProvider};

/// An app whose provider issues rotating refresh tokens and 1-second access tokens, and a
/// client signed in there whose access token has just expired.
async fn signed_in_then_expired() -> (App, Browser) {
    let app = start().await;
    app.provider.set_access_token_ttl(1);
    app.provider.set_refresh_tokens(true);
    let mut b = Browser::api();
    app.login(&mut b, "/").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    (app, b)
}

#[tokio::test]
async fn concurrent_requests_at_expiry_share_one_refresh_and_all_stay_signed_in() {
    let (app, mut b) = signed_in_then_expired().await;
    // Three tabs (or fetch() calls) with the same expired cookie, at once.
    let mut tabs: Vec<Browser> = (0..3)
        .map(|_| {
            let mut t = Browser::api();
            t.jar = b.jar.clone();
            t
        })
        .collect();
    let url = app.url("/me");
    let answers = common::join_all(tabs.iter_mut().map(|t| {
        let url = url.clone();
        async move { t.get(&url).await.status().as_u16() }
    }))
    .await;
    assert_eq!(answers, [200, 200, 200]);
    assert_eq!(
        app.provider.refresh_requests(),
        1,
        "one refresh for the three"
    );
    // Every tab got the same new session.
    let first = &tabs[0].jar["hf_auth_session"];
    assert_ne!(first, &b.jar["hf_auth_session"]);
    assert!(tabs.iter().all(|t| &t.jar["hf_auth_session"] == first));
    // A request that still carries the old cookie right after is answered too.
    assert_eq!(app.json(&mut b, "/me").await.0, 200);
    assert_eq!(app.provider.refresh_requests(), 1);
}

#[tokio::test]
async fn a_provider_outage_during_refresh_keeps_the_session() {
    let (app, mut b) = signed_in_then_expired().await;
    app.provider.set_fault(Fault::TokenServerError);
    let r = b.get(&app.url("/me")).await;
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert!(
        b.has_session(),
        "a transient failure does not end the session"
    );
    // Recovered: the same session refreshes and passes.
    app.provider.set_fault(Fault::None);
    assert_eq!(app.json(&mut b, "/me").await.0, 200);
    // A browser gets a "try again" page, not a redirect to login.
    app.provider.set_fault(Fault::TokenServerError);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut page = Browser::new();
    page.jar = b.jar.clone();
    let r = page.get(&app.url("/me")).await;
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.text().await.unwrap().contains("try again"));
}

#[tokio::test]
async fn invalid_grant_ends_the_session() {
    let (app, mut b) = signed_in_then_expired().await;
    app.provider.set_fault(Fault::TokenInvalidGrant);
    assert_eq!(app.json(&mut b, "/me").await.0, 401);
    assert!(!b.has_session());
}

#[tokio::test]
async fn a_refresh_without_scope_keeps_the_granted_scopes() {
    let provider = TestProvider::start().await;
    provider.set_consent(Consent::GrantOnly(vec!["read-repos".into()]));
    let app = start_with(provider, |b| b).await;
    app.provider.set_access_token_ttl(1);
    app.provider.set_refresh_tokens(true);
    app.provider.set_refresh_omits_scope(true);
    let mut b = Browser::api();
    app.login(&mut b, "/").await;
    assert_eq!(
        app.json(&mut b, "/write").await.0,
        403,
        "write-repos was not granted"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, me) = app.json(&mut b, "/me").await;
    assert_eq!(status, 200);
    assert_eq!(app.provider.refresh_requests(), 1);
    let scopes: Vec<&str> = me["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(!scopes.contains(&"write-repos"), "{scopes:?}");
    assert_eq!(app.json(&mut b, "/write").await.0, 403, "never widened");
}
