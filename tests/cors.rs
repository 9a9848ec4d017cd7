//! `tower-http`'s `CorsLayer` beside hf-auth, as the composing guide shows: one list of origins
//! (`HF_AUTH_TRUSTED_ORIGINS`) for both, read once; preflights answered by the CORS layer
//! outside hf-auth; bearer clients from another origin pass; a client without credentials gets
//! 401 with an absolute `login_url`; a session cookie from another origin passes only from a
//! trusted one.

mod common;

use axum::{
    http::{header, HeaderValue, Method, StatusCode},
    routing::post,
    Router,
};
use common::oneshot::{call, Answer};
use hf_auth_runtime::{hf_login, testing, HfAuth, HfAuthBuilder, HfUser, MockUser};
use tower_http::cors::{AllowOrigin, CorsLayer};

const APP: &str = "http://127.0.0.1:7860";
const PARTNER: &str = "https://partner.example";
const EVIL: &str = "https://evil.example";

#[hf_login(scopes = "write-repos")]
async fn write(user: HfUser) -> String {
    format!("{} wrote", user.handle())
}

/// The app as the guide writes it: the environment is read once, and the CORS layer takes its
/// origins from hf-auth. `CorsLayer` goes outside (after `attach`), so a preflight is answered
/// before any route or guard sees it.
async fn setup() -> (HfAuth, Router) {
    let vars = |name: &str| match name {
        "HF_AUTH_PUBLIC_URL" => Some(APP.to_owned()),
        "HF_AUTH_TRUSTED_ORIGINS" => Some(PARTNER.to_owned()),
        "OAUTH_SCOPES" => Some("openid profile write-repos".to_owned()),
        _ => None,
    };
    let auth = HfAuthBuilder::from_vars(&vars)
        .unwrap()
        .build()
        .await
        .unwrap();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(auth.cors_origins()))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .allow_credentials(true);
    let app = auth
        .attach(Router::new().route("/write", post(write)))
        .layer(cors);
    (auth, app)
}

/// A `fetch()` from a page of `origin`, as a browser sends it.
async fn fetch(app: &Router, origin: &str, extra: &[(&str, &str)]) -> Answer {
    let headers = [
        &[
            ("origin", origin),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "cors"),
            ("accept", "application/json"),
        ][..],
        extra,
    ]
    .concat();
    call(app, Method::POST, "/write", &headers, "x=1").await
}

fn allowed_origin(out: &Answer) -> Option<String> {
    out.header(header::ACCESS_CONTROL_ALLOW_ORIGIN)
}

#[tokio::test]
async fn one_list_feeds_both() {
    let (auth, _) = setup().await;
    let origins: Vec<HeaderValue> = auth.cors_origins().collect();
    assert_eq!(origins, [APP, PARTNER]);
    assert!(auth.trusted_origins().eq([APP, PARTNER]));
}

#[tokio::test]
async fn preflights_are_answered_by_the_cors_layer() {
    let (_, app) = setup().await;
    let preflight = |origin| {
        [
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "authorization"),
            ("sec-fetch-mode", "cors"),
        ]
    };
    // `/write` has no OPTIONS route: a 405 would mean the preflight reached the router.
    let out = call(&app, Method::OPTIONS, "/write", &preflight(PARTNER), "").await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert_eq!(allowed_origin(&out).as_deref(), Some(PARTNER));
    assert_eq!(
        out.header(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .as_deref(),
        Some("true")
    );
    let methods = out.header(header::ACCESS_CONTROL_ALLOW_METHODS).unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = out.header(header::ACCESS_CONTROL_ALLOW_HEADERS).unwrap();
    assert!(headers.contains("authorization"), "{headers}");
    // Another origin gets no permission, so its browser never sends the request.
    let out = call(&app, Method::OPTIONS, "/write", &preflight(EVIL), "").await;
    assert_eq!(allowed_origin(&out), None);
}

#[tokio::test]
async fn a_bearer_token_from_another_origin_passes() {
    let (auth, app) = setup().await;
    let token = format!("Bearer {}", auth.mock_token().unwrap());
    let out = fetch(&app, PARTNER, &[("authorization", &token)]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(out.body.ends_with("wrote"), "{}", out.body);
    assert_eq!(allowed_origin(&out).as_deref(), Some(PARTNER));
}

#[tokio::test]
async fn no_credentials_from_another_origin_is_signed_out() {
    let (_, app) = setup().await;
    for origin in [PARTNER, EVIL] {
        let out = fetch(&app, origin, &[]).await;
        assert_eq!(
            out.status,
            StatusCode::UNAUTHORIZED,
            "{origin}: {}",
            out.body
        );
        assert_eq!(
            out.header(header::WWW_AUTHENTICATE).as_deref(),
            Some("Bearer realm=\"hf-auth\"")
        );
        let body: serde_json::Value = serde_json::from_str(&out.body).unwrap();
        // The page is on another origin: a path would resolve against it.
        assert_eq!(
            body["login_url"],
            format!("{APP}/oauth/huggingface/login?_target_url=%2Fwrite"),
            "{origin}"
        );
    }
    // The trusted page may read the 401 (the CORS headers are on it).
    let out = fetch(&app, PARTNER, &[]).await;
    assert_eq!(allowed_origin(&out).as_deref(), Some(PARTNER));
}

#[tokio::test]
async fn a_session_cookie_passes_only_from_a_trusted_origin() {
    let (auth, app) = setup().await;
    let cookie = testing::session_cookie(&auth, &MockUser::new("alice"));
    let out = fetch(&app, EVIL, &[("cookie", &cookie)]).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN, "{}", out.body);
    assert!(out.body.contains("cross_site_request"), "{}", out.body);
    assert!(out.body.contains("HF_AUTH_TRUSTED_ORIGINS"), "{}", out.body);
    let out = fetch(&app, PARTNER, &[("cookie", &cookie)]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert_eq!(out.body, "alice wrote");
    assert_eq!(allowed_origin(&out).as_deref(), Some(PARTNER));
    assert_eq!(
        out.header(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .as_deref(),
        Some("true")
    );
}
