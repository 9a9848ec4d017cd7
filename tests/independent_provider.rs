//! The flow against an OpenID provider nobody here wrote: npm's `oauth2-mock-server`
//! (tests/oidc-mock), which signs real RS256 tokens and checks PKCE, the code and the client.

mod common;

use axum::{routing::get, Json, Router};
use common::{location, start_oidc_mock, Browser};
use hf_auth_runtime::{HfAuth, HfUser, ScopeCheck};
use serde_json::{json, Value};

const CLIENT_ID: &str = "space-app";
const CLIENT_SECRET: &str = "independent-provider-secret-0123456789";

async fn me(user: HfUser) -> Json<Value> {
    Json(json!({
        "sub": user.id(),
        "preferred_username": user.handle(),
        "orgs": user.orgs(),
        "scopes": user.scopes(),
        "is_pro": user.is_pro(),
    }))
}

#[tokio::test]
async fn signs_in_against_oauth2_mock_server() {
    let (_provider, issuer) = start_oidc_mock(CLIENT_ID, CLIENT_SECRET);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let auth = HfAuth::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .provider_url(issuer.clone())
        .public_url(base.clone())
        .scopes("openid profile read-repos")
        .scope_check(ScopeCheck::Off)
        .discovery_attempts(3)
        .build()
        .await
        .expect("discovery against oauth2-mock-server");
    let app = auth.attach(Router::new().route("/me", get(me)));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut b = Browser::new();
    let r = b
        .get(&format!("{base}/oauth/huggingface/login?_target_url=/me"))
        .await;
    let authorize = location(&r);
    assert!(
        authorize.starts_with(&format!("{issuer}/authorize")),
        "{authorize}"
    );
    let r = b.get(&authorize).await;
    let callback = location(&r);
    assert!(
        callback.starts_with(&format!("{base}/oauth/huggingface/callback")),
        "{callback}"
    );
    let r = b.get(&callback).await;
    assert_eq!(location(&r), "/me");
    assert!(b.has_session());

    let r = b
        .get_with_accept(&format!("{base}/me"), "application/json")
        .await;
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["sub"], "62f264b9f3c90f4b6514a269");
    assert_eq!(me["preferred_username"], "jdoe");
    assert_eq!(me["orgs"], json!([{ "handle": "acme", "role": "write" }]));
    assert_eq!(me["scopes"], json!(["openid", "profile", "read-repos"]));
    assert_eq!(me["is_pro"], false);

    // The same callback again in the same browser: refused as already used.
    let r = b.get(&callback).await;
    assert_eq!(r.status(), 400);
    // In another browser (no flow cookie): no session; at most a fresh login is started.
    let mut replay = Browser::new();
    let r = replay.get(&callback).await;
    assert!(
        !r.status().is_server_error() && !r.status().is_success(),
        "{}",
        r.status()
    );
    assert!(!replay.has_session());
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_4xx_page_not_a_session() {
    let (_provider, issuer) = start_oidc_mock(CLIENT_ID, CLIENT_SECRET);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let auth = HfAuth::builder()
        .client_id(CLIENT_ID)
        .client_secret("not-the-secret-but-long-enough")
        .provider_url(issuer)
        .public_url(base.clone())
        .scope_check(ScopeCheck::Off)
        .build()
        .await
        .unwrap();
    let app = auth.attach(Router::new().route("/me", get(me)));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut b = Browser::new();
    let r = b.get(&format!("{base}/oauth/huggingface/login")).await;
    let r = b.get(&location(&r)).await;
    let r = b.get(&location(&r)).await;
    assert_eq!(r.status(), 401);
    assert!(!b.has_session());
}
