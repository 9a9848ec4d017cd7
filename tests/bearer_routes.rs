//! API clients with Hugging Face tokens on the same protected routes as browsers: each token
//! kind, each refusal, the cache and single flight through HTTP, whoami outages, and the
//! per-route choice of credentials. The test kit's provider serves `/api/whoami-v2`.

mod common;

use std::sync::Arc;

use axum::{
    http::{header, Method, StatusCode},
    routing::{get, post},
    Router,
};
use common::oneshot::{self, Answer};
use hf_auth_runtime::{
    hf_login, require_org,
    testing::{self, TestProvider, TestUser, TokenKind, WhoamiFault},
    Accept, Guarded, HfAuth, HfUser, MockUser, Requirement, RequirementSource, Role, ScopeCheck,
};

#[hf_login]
async fn me(user: HfUser) -> String {
    format!("hello {}", user.handle())
}

#[hf_login(scopes = "read-repos write-repos")]
async fn write(user: HfUser) -> String {
    format!("{} may write", user.handle())
}

#[require_org("acme", role = "write")]
async fn acme(user: HfUser) -> String {
    format!("{} writes to acme", user.handle())
}

struct SessionsOnly;
impl RequirementSource for SessionsOnly {
    const REQUIREMENT: &'static Requirement = &Requirement {
        accept: Accept::Session,
        ..Requirement::SIGNED_IN
    };
}
struct TokensOnly;
impl RequirementSource for TokensOnly {
    const REQUIREMENT: &'static Requirement = &Requirement {
        accept: Accept::Token,
        ..Requirement::SIGNED_IN
    };
}

async fn sessions_only(_: Guarded<SessionsOnly>, user: HfUser) -> String {
    user.handle().to_owned()
}
async fn tokens_only(_: Guarded<TokensOnly>, user: HfUser) -> String {
    user.handle().to_owned()
}

fn routes() -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/write", get(write).post(write))
        .route("/acme", get(acme))
        .route("/sessions-only", get(sessions_only))
        .route("/tokens-only", post(tokens_only))
}

struct Setup {
    provider: TestProvider,
    auth: HfAuth,
    app: Router,
}

async fn setup() -> Setup {
    let provider = TestProvider::start().await;
    let auth = provider
        .app_config("http://127.0.0.1:7860")
        .scopes("openid profile read-repos write-repos")
        .scope_check(ScopeCheck::Off)
        .build()
        .await
        .expect("real mode against the test provider");
    let app = auth.attach(routes());
    Setup {
        provider,
        auth,
        app,
    }
}

fn alice() -> TestUser {
    TestUser::new("alice").org("acme", Role::Write)
}

async fn call(app: &Router, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
    oneshot::call(app, method, path, headers, "").await
}

async fn with_token(app: &Router, path: &str, token: &str) -> Answer {
    let auth = format!("Bearer {token}");
    // A browser-like Accept: tokens are API clients whatever they accept.
    call(
        app,
        Method::GET,
        path,
        &[("authorization", &auth), ("accept", "text/html")],
    )
    .await
}

#[tokio::test]
async fn classic_tokens_read_and_write() {
    let s = setup().await;
    let read = s.provider.mint_token(&alice(), TokenKind::Read);
    assert_eq!(with_token(&s.app, "/me", &read).await.body, "hello alice");
    let denied = with_token(&s.app, "/write", &read).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    let challenge = denied.header(header::WWW_AUTHENTICATE).unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"write-repos\""),
        "{challenge}"
    );
    assert!(
        denied.header(header::LOCATION).is_none(),
        "an API client is never redirected"
    );

    let write = s.provider.mint_token(&alice(), TokenKind::Write);
    assert_eq!(
        with_token(&s.app, "/write", &write).await.status,
        StatusCode::OK
    );
    assert_eq!(
        with_token(&s.app, "/acme", &write).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn fine_grained_tokens_by_permission() {
    let s = setup().await;
    let writer = s.provider.mint_token(
        &alice(),
        TokenKind::fine_grained(&["repo.content.read", "repo.write"]),
    );
    assert_eq!(
        with_token(&s.app, "/write", &writer).await.status,
        StatusCode::OK
    );
    let reader = s
        .provider
        .mint_token(&alice(), TokenKind::fine_grained(&["repo.content.read"]));
    assert_eq!(
        with_token(&s.app, "/me", &reader).await.status,
        StatusCode::OK
    );
    assert_eq!(
        with_token(&s.app, "/write", &reader).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn org_rules_hold_for_tokens_as_for_sessions() {
    let s = setup().await;
    let member = s.provider.mint_token(&alice(), TokenKind::Read);
    assert_eq!(
        with_token(&s.app, "/acme", &member).await.status,
        StatusCode::OK
    );
    let reader = TestUser::new("bob").org("acme", Role::Read);
    let low = s.provider.mint_token(&reader, TokenKind::Write);
    let out = with_token(&s.app, "/acme", &low).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    assert!(out.body.contains("acme"), "{}", out.body);
    let stranger = s
        .provider
        .mint_token(&TestUser::new("carol"), TokenKind::Write);
    assert_eq!(
        with_token(&s.app, "/acme", &stranger).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn org_app_unknown_and_revoked_tokens_are_401_invalid_token() {
    let s = setup().await;
    let org = s.provider.mint_token(&alice(), TokenKind::Org);
    let app_token = s.provider.mint_token(&alice(), TokenKind::App);
    let revoked = s.provider.mint_token(&alice(), TokenKind::Write);
    s.provider.revoke_token(&revoked);
    for token in [
        org.as_str(),
        app_token.as_str(),
        "hf_unknowntoken0123456789",
        revoked.as_str(),
    ] {
        let out = with_token(&s.app, "/me", token).await;
        assert_eq!(
            out.status,
            StatusCode::UNAUTHORIZED,
            "{token}: {}",
            out.body
        );
        assert!(
            out.header(header::WWW_AUTHENTICATE)
                .as_deref()
                .is_some_and(|c| c.contains("error=\"invalid_token\"")),
            "{token}"
        );
        assert!(out.header(header::LOCATION).is_none());
    }
}

#[tokio::test]
async fn malformed_authorization_headers_are_refused_without_panic() {
    let s = setup().await;
    let long = format!("Bearer {}", "a".repeat(20_000));
    for (value, status) in [
        ("", StatusCode::BAD_REQUEST),
        ("Bearer", StatusCode::BAD_REQUEST),
        ("Bearer  hf_two_spaces", StatusCode::BAD_REQUEST),
        ("Bearer hf_a b", StatusCode::BAD_REQUEST),
        (long.as_str(), StatusCode::BAD_REQUEST),
        ("Basic dXNlcjpwYXNz", StatusCode::UNAUTHORIZED),
    ] {
        let out = call(&s.app, Method::GET, "/me", &[("authorization", value)]).await;
        assert_eq!(out.status, status, "{value:.40}: {}", out.body);
    }
}

#[tokio::test]
async fn a_token_request_ignores_cookies() {
    let s = setup().await;
    let cookie = testing::session_cookie(&s.auth, &MockUser::new("alice"));
    // Twice: the first answer comes from whoami, the second from the negative cache.
    for round in 0..2 {
        let out = call(
            &s.app,
            Method::GET,
            "/me",
            &[
                ("authorization", "Bearer hf_not_a_real_token_at_all"),
                ("cookie", &cookie),
            ],
        )
        .await;
        assert_eq!(
            out.status,
            StatusCode::UNAUTHORIZED,
            "round {round}: {}",
            out.body
        );
    }
}

#[tokio::test]
async fn whoami_outages_are_503_with_retry_after_and_never_admit() {
    let s = setup().await;
    let token = s.provider.mint_token(&alice(), TokenKind::Write);
    s.provider.set_whoami_fault(WhoamiFault::ServerError {
        retry_after_secs: 7,
    });
    let out = with_token(&s.app, "/me", &token).await;
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE, "{}", out.body);
    assert_eq!(out.header(header::RETRY_AFTER).as_deref(), Some("7"));
    // Recovers: the outage was not cached as "invalid".
    s.provider.set_whoami_fault(WhoamiFault::None);
    assert_eq!(
        with_token(&s.app, "/me", &token).await.status,
        StatusCode::OK
    );

    let other = s.provider.mint_token(&alice(), TokenKind::Read);
    s.provider
        .set_whoami_fault(WhoamiFault::RateLimited { reset_secs: 120 });
    let out = with_token(&s.app, "/me", &other).await;
    assert_eq!(out.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(out.header(header::RETRY_AFTER).as_deref(), Some("120"));
    assert!(!out.body.contains("alice"));
}

#[tokio::test]
async fn many_requests_one_whoami_call_per_token() {
    let s = setup().await;
    s.provider
        .set_whoami_delay(std::time::Duration::from_millis(200));
    let token = Arc::new(s.provider.mint_token(&alice(), TokenKind::Read));
    let before = s.provider.whoami_requests();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (app, token) = (s.app.clone(), token.clone());
        set.spawn(async move { with_token(&app, "/me", &token).await.status });
    }
    while let Some(status) = set.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    for _ in 0..20 {
        assert_eq!(
            with_token(&s.app, "/me", &token).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(s.provider.whoami_requests() - before, 1);
}

#[tokio::test]
async fn oauth_tokens_of_other_apps_are_refused() {
    let s = setup().await;
    // An OAuth access token, as a provider's token endpoint issues them to any app: whoami
    // does not say which, so it would pass here as its user.
    let token = s
        .provider
        .mint_oauth_token(&alice(), "openid profile read-repos write-repos");
    for path in ["/me", "/acme"] {
        let r = with_token(&s.app, path, &token).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.body);
        assert!(r
            .header(header::WWW_AUTHENTICATE)
            .unwrap()
            .contains("error=\"invalid_token\""));
        assert!(r.body.contains("use a user access token"), "{}", r.body);
    }
}

#[tokio::test]
async fn fine_grained_tokens_pass_require_org_only_where_they_grant() {
    let s = setup().await;
    // alice is a writer of acme; /acme needs write.
    let nothing_on_acme = s
        .provider
        .mint_token(&alice(), TokenKind::fine_grained(&["repo.write"]));
    let r = with_token(&s.app, "/acme", &nothing_on_acme).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let read_on_acme = s.provider.mint_token(
        &alice(),
        TokenKind::fine_grained(&[]).with_org("acme", &["repo.content.read"]),
    );
    let r = with_token(&s.app, "/acme", &read_on_acme).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let write_on_acme = s.provider.mint_token(
        &alice(),
        TokenKind::fine_grained(&[]).with_org("acme", &["repo.write"]),
    );
    let r = with_token(&s.app, "/acme", &write_on_acme).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A classic read token acts with alice's own role, as before.
    let classic = s.provider.mint_token(&alice(), TokenKind::Read);
    assert_eq!(
        with_token(&s.app, "/acme", &classic).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn per_route_choice_of_credentials() {
    let s = setup().await;
    let token = s.provider.mint_token(&alice(), TokenKind::Read);
    let cookie = testing::session_cookie(&s.auth, &MockUser::new("alice"));
    // Sessions only: a token is refused, a session passes.
    assert_eq!(
        with_token(&s.app, "/sessions-only", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let out = call(
        &s.app,
        Method::GET,
        "/sessions-only",
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    // Tokens only: a session is refused with a bare Bearer challenge, never redirected.
    let out = call(
        &s.app,
        Method::POST,
        "/tokens-only",
        &[("cookie", &cookie), ("accept", "text/html")],
    )
    .await;
    assert_eq!(out.status, StatusCode::UNAUTHORIZED);
    assert!(out.header(header::LOCATION).is_none());
    assert_eq!(
        out.header(header::WWW_AUTHENTICATE).as_deref(),
        Some("Bearer realm=\"hf-auth\"")
    );
    let auth = format!("Bearer {token}");
    let out = call(
        &s.app,
        Method::POST,
        "/tokens-only",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
}

#[tokio::test]
async fn mock_mode_token_works_offline() {
    let auth = HfAuth::builder()
        .scopes("openid profile read-repos write-repos")
        .mock_user(MockUser::new("dev").org("acme", Role::Admin))
        .build()
        .await
        .unwrap();
    let app = auth.attach(routes());
    let token = auth
        .mock_token()
        .expect("mock mode mints a token")
        .to_owned();
    assert_eq!(
        with_token(&app, "/write", &token).await.body,
        "dev may write"
    );
    assert_eq!(
        with_token(&app, "/acme", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        with_token(&app, "/me", "hf_mock_wrong").await.status,
        StatusCode::UNAUTHORIZED
    );
}
