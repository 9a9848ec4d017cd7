//! The first start of an app: mock mode asks for every scope the annotated handlers declare,
//! real mode stays strict, configuration errors read well from `main`, and discovery against a
//! provider that never answers gives up within its stated deadline.

use std::time::{Duration, Instant};

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    routing::get,
    Router,
};
use hf_auth_runtime::{
    hf_login, testing::TestProvider, ConfigError, HfAuth, HfAuthBuilder, HfUser, ScopeCheck,
};
use tower::ServiceExt;

// Two handlers with scopes beyond `openid profile`: a catalogue scope and an extra one.
#[hf_login(scopes = "manage-repos")]
async fn manage(user: HfUser) -> String {
    user.handle().to_owned()
}

#[hf_login(scopes = "read-repos", extra_scopes = "read-mcp")]
async fn mcp(user: HfUser) -> String {
    user.handle().to_owned()
}

fn app(auth: &HfAuth) -> Router {
    auth.attach(
        Router::new()
            .route("/manage", get(manage))
            .route("/mcp", get(mcp)),
    )
}

/// Signs in through the mock login route and returns the `cookie` header to send.
async fn mock_sign_in(auth: &HfAuth, app: &Router) -> String {
    let r = app
        .clone()
        .oneshot(Request::get(auth.login_path()).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let cookies: Vec<String> = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| {
            let v = v.to_str().unwrap();
            v.split(';').next().unwrap().to_owned()
        })
        .filter(|c| !c.ends_with('='))
        .collect();
    assert!(!cookies.is_empty(), "the mock login set no cookie");
    cookies.join("; ")
}

async fn status(app: &Router, path: &str, cookie: &str) -> StatusCode {
    app.clone()
        .oneshot(
            Request::get(path)
                .header(header::COOKIE, cookie)
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap()
        .status()
}

fn no_vars(extra: &'static [(&'static str, &'static str)]) -> HfAuthBuilder {
    HfAuthBuilder::from_vars(&|k| {
        extra
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap()
}

#[tokio::test]
async fn mock_mode_without_scopes_asks_for_every_declared_scope() {
    // The default scope check (deny) passes: nothing is missing.
    for auth in [
        HfAuth::builder().build().await.unwrap(),
        no_vars(&[]).build().await.unwrap(),
    ] {
        assert!(auth.is_mock());
        let scopes = auth.scopes();
        for s in [
            "openid",
            "profile",
            "manage-repos",
            "read-repos",
            "read-mcp",
        ] {
            assert!(scopes.iter().any(|c| c == s), "{s} missing in {scopes:?}");
        }
        assert_eq!(&scopes[..2], ["openid", "profile"]);
        let app = app(&auth);
        let cookie = mock_sign_in(&auth, &app).await;
        assert_eq!(status(&app, "/manage", &cookie).await, StatusCode::OK);
        assert_eq!(status(&app, "/mcp", &cookie).await, StatusCode::OK);
        assert_eq!(status(&app, "/manage", "").await, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_mock_user_grants_only_what_hf_auth_mock_scopes_says() {
    let auth = no_vars(&[("HF_AUTH_MOCK_SCOPES", "openid profile read-repos")])
        .build()
        .await
        .unwrap();
    let app = app(&auth);
    let cookie = mock_sign_in(&auth, &app).await;
    assert_eq!(
        status(&app, "/manage", &cookie).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(status(&app, "/mcp", &cookie).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn configured_scopes_are_checked_strictly_and_the_error_says_how_to_narrow() {
    // In mock mode, scopes given explicitly are what the app asks for.
    let err = no_vars(&[("OAUTH_SCOPES", "openid profile read-repos")])
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, ConfigError::ScopesNotCovered(_)), "{err}");
    let auth = no_vars(&[("OAUTH_SCOPES", "openid profile read-repos")])
        .scope_check(ScopeCheck::Warn)
        .build()
        .await
        .unwrap();
    assert_eq!(auth.scopes(), ["openid", "profile", "read-repos"]);

    // Real mode with the default scopes: no union, the check refuses to start.
    let provider = TestProvider::start().await;
    let err = provider
        .app_config("http://127.0.0.1:1")
        .build()
        .await
        .unwrap_err();
    let ConfigError::ScopesNotCovered(report) = &err else {
        panic!("unexpected error: {err}");
    };
    assert!(
        report.contains("start_up::manage") && report.contains("manage-repos"),
        "{report}"
    );
    // What `main() -> Result<(), Box<dyn Error>>` prints: the message, not the variant.
    let shown = format!("{:?}", Box::<dyn std::error::Error>::from(err));
    for part in [
        "start_up::manage",
        "every annotated handler linked into the program, routed or not",
        "HF_AUTH_SCOPE_CHECK=warn",
        "ScopeCheck::Off",
    ] {
        assert!(shown.contains(part), "{part:?} missing in {shown}");
    }
    assert!(!shown.starts_with("ScopesNotCovered"), "{shown}");
}

#[tokio::test]
async fn discovery_gives_up_within_its_deadline_when_the_provider_never_answers() {
    // Accepts every connection and never writes a byte.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let deadline = Duration::from_millis(1500);
    let started = Instant::now();
    let err = HfAuth::builder()
        .client_id("client")
        .client_secret("a client secret of enough bytes")
        .provider_url(url)
        .public_url("http://127.0.0.1:1")
        .scope_check(ScopeCheck::Off)
        // Each request alone may take far longer than the whole deadline.
        .http_timeout(Duration::from_secs(10))
        .discovery_timeout(deadline)
        .build()
        .await
        .unwrap_err();
    let took = started.elapsed();
    silent.abort();
    assert!(
        took < deadline + Duration::from_secs(2),
        "took {took:?}: {err}"
    );
    let ConfigError::Discovery { reason, .. } = &err else {
        panic!("unexpected error: {err}");
    };
    assert!(reason.contains("deadline"), "{reason}");
}
