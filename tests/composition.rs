//! hf-auth composed like any tower middleware: `nest`, `merge`, `route_layer`, a
//! `ServiceBuilder` stack, a middleware that moves the handler to another task, routers from
//! two modules, the flow routes under a prefix, and `AuthLinks`. Each app must behave exactly
//! like the flat one `attach` makes.

mod common;

use axum::{
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::{self, Next},
    response::Response,
    routing::get,
    Router,
};
use common::oneshot::{call, Answer};
use hf_auth_runtime::{
    hf_login, require_org, testing, AuthLinks, HfAuth, HfUser, MockUser, Role, ScopeCheck,
};
use tower::ServiceBuilder;

#[hf_login(scopes = "read-repos")]
async fn me(user: HfUser) -> String {
    format!("hello {}", user.handle())
}

#[require_org("acme", role = "write")]
async fn acme(user: HfUser) -> String {
    format!("{} writes to acme", user.handle())
}

async fn links(links: AuthLinks) -> String {
    format!(
        "{}|{}|{}|{}",
        links.is_signed_in(),
        links.login_url(),
        links.logout_url(),
        links.user().map_or("-", |u| u.handle())
    )
}

/// Routers assembled in other modules, as real apps are.
mod profile {
    use super::*;
    pub fn router() -> Router {
        Router::new().route("/me", get(me))
    }
}
mod orgs {
    use super::*;
    pub fn router() -> Router {
        Router::new().route("/acme", get(acme))
    }
}

async fn auth_with(prefix: &str) -> HfAuth {
    HfAuth::builder()
        .scopes("openid profile read-repos")
        .route_prefix(prefix)
        .mock_user(MockUser::new("alice").org("acme", Role::Write))
        .build()
        .await
        .expect("mock mode starts")
}

async fn auth() -> HfAuth {
    auth_with("").await
}

async fn send(app: &Router, method: Method, uri: &str, cookie: Option<&str>, html: bool) -> Answer {
    let accept = if html {
        "text/html"
    } else {
        "application/json"
    };
    let mut headers = vec![("accept", accept)];
    if let Some(c) = cookie {
        headers.push(("cookie", c));
    }
    call(app, method, uri, &headers, "").await
}

async fn fetch(app: &Router, uri: &str, cookie: Option<&str>) -> Answer {
    send(app, Method::GET, uri, cookie, true).await
}

/// The same checks on every shape of app: signed out a browser goes to login and comes back
/// to the full path it asked for; the mock login signs in; a member passes; a reader does not.
async fn behaves_like_the_flat_app(app: &Router, auth: &HfAuth, me: &str, acme: &str) {
    let out = fetch(app, &format!("{me}?tab=x"), None).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{me}: {}", out.body);
    let want = format!(
        "{}?_target_url={}",
        auth.login_path(),
        me.replace('/', "%2F") + "%3Ftab%3Dx"
    );
    assert_eq!(
        out.header(header::LOCATION).as_deref(),
        Some(want.as_str()),
        "{me}"
    );
    let api = send(app, Method::GET, me, None, false).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);

    // The mock login route, where the configuration says it is.
    let login = fetch(
        app,
        &format!("{}?_target_url={me}", auth.login_path()),
        None,
    )
    .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    assert_eq!(login.header(header::LOCATION).as_deref(), Some(me));
    assert_eq!(
        login.header(header::CACHE_CONTROL).as_deref(),
        Some("private, no-store")
    );
    let cookie = login.set_cookies()[0].split(';').next().unwrap().to_owned();
    assert_eq!(fetch(app, me, Some(&cookie)).await.body, "hello alice");
    assert_eq!(fetch(app, acme, Some(&cookie)).await.status, StatusCode::OK);

    let reader = testing::session_cookie(auth, &MockUser::new("bob").org("acme", Role::Read));
    assert_eq!(
        fetch(app, acme, Some(&reader)).await.status,
        StatusCode::FORBIDDEN
    );
    let logout = fetch(app, auth.logout_path(), Some(&cookie)).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert!(logout.set_cookies().iter().any(|c| c.contains("Max-Age=0")));
}

#[tokio::test]
async fn flat_attach() {
    let auth = auth().await;
    let app = auth.attach(profile::router().merge(orgs::router()));
    behaves_like_the_flat_app(&app, &auth, "/me", "/acme").await;
}

#[tokio::test]
async fn nested_routers_come_back_to_their_full_path() {
    let auth = auth().await;
    let app = auth.attach(
        Router::new()
            .nest("/api", profile::router())
            .nest("/orgs", orgs::router()),
    );
    behaves_like_the_flat_app(&app, &auth, "/api/me", "/orgs/acme").await;
}

#[tokio::test]
async fn merge_routes_and_layer_by_hand() {
    let auth = auth().await;
    let app = profile::router()
        .merge(orgs::router())
        .merge(auth.routes())
        .layer(auth.layer());
    behaves_like_the_flat_app(&app, &auth, "/me", "/acme").await;
}

#[tokio::test]
async fn route_layer() {
    let auth = auth().await;
    let app = Router::new()
        .nest("/api", profile::router().merge(orgs::router()))
        .route_layer(auth.layer())
        .merge(auth.routes());
    behaves_like_the_flat_app(&app, &auth, "/api/me", "/api/acme").await;
    // route_layer leaves unmatched paths alone.
    assert_eq!(
        fetch(&app, "/nowhere", None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A middleware that runs the rest of the request on another task, as `tokio::spawn`-based
/// middleware (timeouts, buffers) do: the context must travel with the request.
async fn on_another_task(req: Request, next: Next) -> Response {
    tokio::spawn(next.run(req)).await.expect("the handler task")
}

#[tokio::test]
async fn service_builder_with_other_middleware_and_another_task() {
    let auth = auth().await;
    let app = profile::router()
        .merge(orgs::router())
        .merge(auth.routes())
        .layer(
            ServiceBuilder::new()
                .layer(auth.layer())
                .layer(middleware::from_fn(on_another_task)),
        );
    behaves_like_the_flat_app(&app, &auth, "/me", "/acme").await;
}

#[tokio::test]
async fn flow_routes_nested_under_the_configured_prefix() {
    let auth = auth_with("/auth").await;
    assert_eq!(auth.login_path(), "/auth/oauth/huggingface/login");
    let app = Router::new()
        .nest("/api", profile::router().merge(orgs::router()))
        .nest("/auth", auth.routes())
        .layer(auth.layer());
    behaves_like_the_flat_app(&app, &auth, "/api/me", "/api/acme").await;
    // attach places them under the prefix too.
    let attached = auth.attach(profile::router().merge(orgs::router()));
    behaves_like_the_flat_app(&attached, &auth, "/me", "/acme").await;
}

#[tokio::test]
async fn flow_routes_mounted_elsewhere_than_configured_refuse_and_say_why() {
    let auth = auth_with("/auth").await;
    // Merged at the root although the configuration says `/auth`: links would be dead.
    let app = profile::router().merge(auth.routes()).layer(auth.layer());
    let out = fetch(&app, "/oauth/huggingface/login", None).await;
    assert_eq!(out.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        out.set_cookies().is_empty(),
        "no session: {:?}",
        out.set_cookies()
    );
}

#[tokio::test]
async fn guards_without_the_layer_fail_closed() {
    let auth = auth().await;
    // The routes and a guarded handler, but no layer.
    let app = profile::router().merge(auth.routes());
    let cookie = testing::session_cookie(&auth, &MockUser::new("alice"));
    let out = fetch(&app, "/me", Some(&cookie)).await;
    assert_eq!(out.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!out.body.contains("alice"));
    // The flow routes carry their own configuration and still work.
    assert_eq!(
        fetch(&app, "/oauth/huggingface/login", None).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn auth_links_follow_the_configuration() {
    let auth = auth_with("/auth").await;
    let app = Router::new()
        .nest("/pages", Router::new().route("/home", get(links)))
        .nest("/auth", auth.routes())
        .layer(auth.layer());
    let out = fetch(&app, "/pages/home", None).await;
    assert_eq!(
        out.body,
        "false|/auth/oauth/huggingface/login?_target_url=%2Fpages%2Fhome|/auth/oauth/huggingface/logout|-"
    );
    let cookie = testing::session_cookie(&auth, &MockUser::new("alice"));
    let out = fetch(&app, "/pages/home", Some(&cookie)).await;
    assert!(out.body.starts_with("true|"), "{}", out.body);
    assert!(out.body.ends_with("|alice"), "{}", out.body);
    // An expired session without a refresh token is signed out.
    let expired = testing::expired_session_cookie(
        &auth,
        &MockUser::new("alice"),
        std::time::Duration::from_secs(5),
    );
    assert!(fetch(&app, "/pages/home", Some(&expired))
        .await
        .body
        .starts_with("false|"));
}

#[tokio::test]
async fn real_mode_redirect_uri_follows_the_prefix_and_the_callback_is_get_only() {
    let provider = testing::TestProvider::start().await;
    let auth = HfAuth::builder()
        .client_id(testing::TestProvider::CLIENT_ID)
        .client_secret(testing::TestProvider::CLIENT_SECRET)
        .provider_url(provider.issuer())
        .public_url("http://127.0.0.1:9999")
        .route_prefix("/auth")
        .scope_check(ScopeCheck::Off)
        .build()
        .await
        .expect("real mode starts against the test provider");
    let app = Router::new()
        .nest("/api", profile::router())
        .nest("/auth", auth.routes())
        .layer(auth.layer());
    let signed_out = fetch(&app, "/api/me", None).await;
    assert_eq!(
        signed_out.header(header::LOCATION).as_deref(),
        Some("/auth/oauth/huggingface/login?_target_url=%2Fapi%2Fme")
    );
    let login = fetch(
        &app,
        "/auth/oauth/huggingface/login?_target_url=/api/me",
        None,
    )
    .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let authorize = url::Url::parse(login.header(header::LOCATION).as_deref().unwrap()).unwrap();
    let redirect_uri = authorize
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        redirect_uri.as_deref(),
        Some("http://127.0.0.1:9999/auth/oauth/huggingface/callback")
    );
    // HEAD must not reach the callback (it would spend the login).
    let head = send(
        &app,
        Method::HEAD,
        "/auth/oauth/huggingface/callback?code=x&state=y",
        None,
        true,
    )
    .await;
    assert_eq!(head.status, StatusCode::METHOD_NOT_ALLOWED);
}
