//! What `#[hf_login]` and `#[require_org]` do at run time, through the real runtime in mock
//! mode: each requirement met and unmet, for a browser (`Accept: text/html`) and an API client
//! (`Accept: application/json`), plus what the handlers register.

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, Method, Request, Response, StatusCode},
    routing::{get, post},
    Json, Router,
};
use hf_auth_runtime::{
    handlers, hf_login, require_org, route_requirements, space_metadata, testing, ConfigError,
    HfAuth, HfUser, MockUser, Role, ScopeCheck,
};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Covers every scope the handlers of this test binary require.
const APP_SCOPES: &str = "openid profile write-repos inference-api read-billing future-scope";

#[hf_login]
async fn me(user: HfUser) -> String {
    format!("hello {}", user.handle())
}

#[hf_login(scopes = "write-repos")]
async fn upload(
    Path(repo): Path<String>,
    user: HfUser,
    Json(body): Json<serde_json::Value>,
) -> String {
    format!("{} uploaded {} to {repo}", user.handle(), body["file"])
}
const UPLOAD_LINE: u32 = line!() - 7; // the line of `async fn upload`

#[hf_login(scopes("inference-api"), extra_scopes = "future-scope")]
async fn future() -> &'static str {
    "future"
}

#[require_org("acme")]
async fn members(user: HfUser) -> String {
    format!("{} is in acme", user.handle())
}

#[require_org("acme", role = "write")]
async fn writers() -> &'static str {
    "writers"
}

#[hf_login(scopes = "read-repos")]
#[require_org("acme", role = "admin")]
#[require_org("labs")]
async fn stacked() -> &'static str {
    "stacked"
}

#[hf_login(pro)]
async fn pro_only(user: HfUser) -> String {
    format!("{} is pro", user.handle())
}

#[hf_login(scopes = "read-billing", can_pay)]
async fn billing() -> &'static str {
    "billing"
}

#[hf_login(accept = "token")]
#[allow(dead_code)] // only registered: the guard reads `accept` once bearer tokens are wired
async fn api_only() -> &'static str {
    "api"
}

#[hf_login(accept = "session", cross_site = "allow")]
#[require_org("acme", accept = "session")]
#[allow(dead_code)] // only registered
async fn webhook() -> &'static str {
    "webhook"
}

#[require_org(param = "org")]
async fn org_page(Path(org): Path<String>, user: HfUser) -> String {
    format!("{} is in {org}", user.handle())
}

#[require_org(param = "org", role = "admin")]
async fn org_admin() -> &'static str {
    "admin"
}

/// `#[axum::debug_handler]` above ours: it expands first and keeps a checked copy of the
/// handler, and our attribute still guards the handler the router calls.
#[axum::debug_handler]
#[hf_login(scopes = "write-repos")]
async fn debugged(Path(id): Path<u32>, user: HfUser) -> String {
    format!("{} debugged {id}", user.handle())
}

#[derive(Clone)]
struct Greeting(&'static str);

/// A handler whose only parameter is its state: the guard is a parameter of its own.
#[hf_login]
async fn stateful(State(greeting): State<Greeting>) -> &'static str {
    greeting.0
}

/// Handlers as associated functions of a type: `#[handlers]` on the `impl` block.
struct Api;

#[handlers]
impl Api {
    #[hf_login(scopes = "write-repos")]
    async fn publish(user: HfUser) -> String {
        format!("{} published", user.handle())
    }

    #[require_org("acme", role = "write")]
    #[hf_login]
    async fn acme_writers(user: HfUser) -> String {
        format!("{} writes for acme", user.handle())
    }

    /// Left alone: no attribute of ours.
    fn plain() -> &'static str {
        "plain"
    }
}

async fn app() -> (HfAuth, Router) {
    let auth = HfAuth::builder()
        .scopes(APP_SCOPES)
        .mock_user(MockUser::default())
        .build()
        .await
        .expect("the test app starts");
    let router = Router::new()
        .route("/me", get(me))
        .route("/upload/{repo}", post(upload))
        .route("/future", get(future))
        .route("/members", get(members))
        .route("/writers", get(writers))
        .route("/stacked", get(stacked))
        .route("/pro", get(pro_only))
        .route("/billing", get(billing))
        .route("/api/publish", get(Api::publish))
        .route("/api/acme", get(Api::acme_writers))
        .route("/orgs/{org}", get(org_page))
        .route("/debugged/{id}", get(debugged))
        .merge(
            Router::new()
                .route("/stateful", get(stateful))
                .with_state(Greeting("hello from the state")),
        )
        .route("/orgs/{org}/settings", get(org_admin))
        .nest(
            "/nested/{team}",
            Router::new().route("/orgs/{org}", get(org_admin)),
        )
        // A mistake: the route has no `{org}`.
        .route("/misconfigured/{name}", get(org_admin));
    let router = auth.attach(router);
    (auth, router)
}

#[derive(Clone, Copy, Debug)]
enum Client {
    Browser,
    Api,
}

async fn send(
    app: &Router,
    client: Client,
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    body: &str,
) -> Response<Body> {
    let mut request = Request::builder().method(method).uri(uri).header(
        header::ACCEPT,
        match client {
            Client::Browser => "text/html,application/xhtml+xml,*/*;q=0.8",
            Client::Api => "application/json",
        },
    );
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    if !body.is_empty() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    app.clone()
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap()
}

async fn get_as(app: &Router, client: Client, uri: &str, cookie: Option<&str>) -> Response<Body> {
    send(app, client, Method::GET, uri, cookie, "").await
}

async fn text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn json(response: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&text(response).await).expect("a JSON body")
}

fn header_of(response: &Response<Body>, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

/// Signed out: a browser is redirected to the login route (coming back here afterwards), an
/// API client gets 401 with a `WWW-Authenticate` challenge.
async fn assert_signed_out_rejected(app: &Router, auth: &HfAuth, uri: &str) {
    let r = get_as(app, Client::Browser, uri, None).await;
    assert!(
        matches!(r.status(), StatusCode::FOUND | StatusCode::SEE_OTHER),
        "{uri}: {}",
        r.status()
    );
    let location = header_of(&r, header::LOCATION);
    assert!(location.starts_with(auth.login_path()), "{uri}: {location}");
    assert!(location.contains("_target_url="), "{uri}: {location}");

    let r = get_as(app, Client::Api, uri, None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{uri}");
    assert!(
        header_of(&r, header::WWW_AUTHENTICATE).starts_with("Bearer"),
        "{uri}"
    );
    assert_eq!(json(r).await["error"], "not signed in");
}

/// Signed in but lacking: 403 for both, an HTML page for a browser, a JSON `error` for an API.
async fn assert_forbidden(app: &Router, uri: &str, cookie: &str) -> serde_json::Value {
    let r = get_as(app, Client::Browser, uri, Some(cookie)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "{uri}");
    assert!(
        header_of(&r, header::CONTENT_TYPE).starts_with("text/html"),
        "{uri}"
    );
    let r = get_as(app, Client::Api, uri, Some(cookie)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "{uri}");
    let body = json(r).await;
    assert!(body["error"].is_string(), "{uri}: {body}");
    body
}

async fn assert_ok(app: &Router, uri: &str, cookie: &str) -> String {
    for client in [Client::Browser, Client::Api] {
        let r = get_as(app, client, uri, Some(cookie)).await;
        assert_eq!(r.status(), StatusCode::OK, "{uri} as {client:?}");
    }
    text(get_as(app, Client::Api, uri, Some(cookie)).await).await
}

#[tokio::test]
async fn hf_login_alone_needs_only_a_session() {
    let (auth, app) = app().await;
    assert_signed_out_rejected(&app, &auth, "/me").await;
    let cookie = testing::session_cookie(&auth, &MockUser::new("alice").scopes("openid"));
    assert_eq!(assert_ok(&app, "/me", &cookie).await, "hello alice");
}

#[tokio::test]
async fn scopes_met_and_unmet() {
    let (auth, app) = app().await;
    let body = r#"{"file": "model.safetensors"}"#;
    for client in [Client::Browser, Client::Api] {
        let r = send(&app, client, Method::POST, "/upload/demo", None, body).await;
        assert!(r.status().is_redirection() || r.status() == StatusCode::UNAUTHORIZED);
    }

    let reader = testing::session_cookie(&auth, &MockUser::new("bob").scopes("openid read-repos"));
    let r = send(
        &app,
        Client::Api,
        Method::POST,
        "/upload/demo",
        Some(&reader),
        body,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(header_of(&r, header::WWW_AUTHENTICATE).contains("insufficient_scope"));
    assert_eq!(
        json(r).await["missing_scopes"],
        serde_json::json!(["write-repos"])
    );
    let r = send(
        &app,
        Client::Browser,
        Method::POST,
        "/upload/demo",
        Some(&reader),
        body,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let writer =
        testing::session_cookie(&auth, &MockUser::new("carol").scopes("openid write-repos"));
    let r = send(
        &app,
        Client::Api,
        Method::POST,
        "/upload/demo",
        Some(&writer),
        body,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        text(r).await,
        "carol uploaded \"model.safetensors\" to demo"
    );
}

#[tokio::test]
async fn the_guard_runs_before_the_body_extractor() {
    let (auth, app) = app().await;
    // Not JSON at all: a signed-out caller learns it must sign in, not that the body is bad.
    let r = send(
        &app,
        Client::Api,
        Method::POST,
        "/upload/demo",
        None,
        "not json",
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let reader = testing::session_cookie(&auth, &MockUser::new("bob").scopes("openid read-repos"));
    let r = send(
        &app,
        Client::Api,
        Method::POST,
        "/upload/demo",
        Some(&reader),
        "not json",
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let writer = testing::session_cookie(&auth, &MockUser::new("carol").scopes("write-repos"));
    let r = send(
        &app,
        Client::Api,
        Method::POST,
        "/upload/demo",
        Some(&writer),
        "not json",
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "then the handler's own extractors run"
    );
}

#[tokio::test]
async fn debug_handler_above_our_attribute_still_guards_first() {
    let (auth, app) = app().await;
    let reader = testing::session_cookie(&auth, &MockUser::new("bob").scopes("openid read-repos"));
    let writer = testing::session_cookie(&auth, &MockUser::new("carol").scopes("write-repos"));
    // The guard runs before the handler's first extractor: a signed-out caller with a path
    // that `Path<u32>` cannot parse learns that it must sign in, not that the path is bad.
    for uri in ["/debugged/7", "/debugged/not-a-number"] {
        assert_signed_out_rejected(&app, &auth, uri).await;
    }
    assert_forbidden(&app, "/debugged/7", &reader).await;
    assert_eq!(
        assert_ok(&app, "/debugged/7", &writer).await,
        "carol debugged 7"
    );
    let r = get_as(&app, Client::Api, "/debugged/x", Some(&writer)).await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "then the handler's own extractors run"
    );
    // debug_handler's copy of the handler carries our attribute too: registered once all the
    // same.
    let registered = route_requirements()
        .into_iter()
        .filter(|r| r.handler == "debugged" && r.module_path == "macros_behaviour")
        .count();
    assert_eq!(registered, 1);
}

#[tokio::test]
async fn a_handler_with_only_state_is_guarded_and_gets_its_state() {
    let (auth, app) = app().await;
    assert_signed_out_rejected(&app, &auth, "/stateful").await;
    let user = testing::session_cookie(&auth, &MockUser::new("dana"));
    assert_eq!(
        assert_ok(&app, "/stateful", &user).await,
        "hello from the state"
    );
}

#[tokio::test]
async fn extra_scopes_are_required_too() {
    let (auth, app) = app().await;
    assert_signed_out_rejected(&app, &auth, "/future").await;
    let without = testing::session_cookie(&auth, &MockUser::new("d").scopes("inference-api"));
    let body = assert_forbidden(&app, "/future", &without).await;
    assert_eq!(body["missing_scopes"], serde_json::json!(["future-scope"]));
    let with = testing::session_cookie(
        &auth,
        &MockUser::new("d").scopes("inference-api future-scope"),
    );
    assert_eq!(assert_ok(&app, "/future", &with).await, "future");
}

#[tokio::test]
async fn require_org_membership() {
    let (auth, app) = app().await;
    assert_signed_out_rejected(&app, &auth, "/members").await;
    let outsider = testing::session_cookie(&auth, &MockUser::new("eve").org("other", Role::Admin));
    let body = assert_forbidden(&app, "/members", &outsider).await;
    assert_eq!(body["org"], "acme");
    assert_eq!(body["required_role"], serde_json::Value::Null);
    let member = testing::session_cookie(&auth, &MockUser::new("ann").org("acme", Role::Read));
    assert_eq!(assert_ok(&app, "/members", &member).await, "ann is in acme");
}

#[tokio::test]
async fn require_org_role() {
    let (auth, app) = app().await;
    assert_signed_out_rejected(&app, &auth, "/writers").await;
    for role in [Role::Read, Role::Contributor] {
        let cookie = testing::session_cookie(&auth, &MockUser::new("x").org("acme", role));
        let body = assert_forbidden(&app, "/writers", &cookie).await;
        assert_eq!(body["required_role"], "write", "{role}");
    }
    // An org role is not a scope: a session's 403 carries no `insufficient_scope` challenge.
    let reader = testing::session_cookie(&auth, &MockUser::new("x").org("acme", Role::Read));
    let r = get_as(&app, Client::Api, "/writers", Some(&reader)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    // Mock mode: signing in again gives the same configured user; the page says what to set.
    let page = text(get_as(&app, Client::Browser, "/writers", Some(&reader)).await).await;
    assert!(page.contains("HF_AUTH_MOCK_ORGS=acme:write"), "{page}");
    assert!(!page.contains("Sign in again"), "{page}");
    for role in [Role::Write, Role::Admin] {
        let cookie = testing::session_cookie(&auth, &MockUser::new("x").org("acme", role));
        assert_eq!(
            assert_ok(&app, "/writers", &cookie).await,
            "writers",
            "{role}"
        );
    }
}

#[tokio::test]
async fn stacked_requirements_all_hold() {
    let (auth, app) = app().await;
    assert_signed_out_rejected(&app, &auth, "/stacked").await;
    let user = |scopes: &str, acme: Role, labs: bool| {
        let mut u = MockUser::new("s").scopes(scopes).org("acme", acme);
        if labs {
            u = u.org("labs", Role::Read);
        }
        testing::session_cookie(&auth, &u)
    };
    // write-repos includes read-repos.
    let all = user("openid write-repos", Role::Admin, true);
    assert_eq!(assert_ok(&app, "/stacked", &all).await, "stacked");
    let body = assert_forbidden(&app, "/stacked", &user("openid", Role::Admin, true)).await;
    assert_eq!(body["missing_scopes"], serde_json::json!(["read-repos"]));
    let body = assert_forbidden(&app, "/stacked", &user("read-repos", Role::Write, true)).await;
    assert_eq!(body["org"], "acme");
    let body = assert_forbidden(&app, "/stacked", &user("read-repos", Role::Admin, false)).await;
    assert_eq!(body["org"], "labs");
}

#[tokio::test]
async fn pro_gate() {
    let (auth, app) = app().await;
    assert_signed_out_rejected(&app, &auth, "/pro").await;
    let free = testing::session_cookie(&auth, &MockUser::new("f").pro(false));
    let body = assert_forbidden(&app, "/pro", &free).await;
    assert_eq!(body["requires"], "pro");
    assert_eq!(body["error"], "requires a Hugging Face PRO subscription");
    let r = get_as(&app, Client::Browser, "/pro", Some(&free)).await;
    assert!(text(r).await.contains("PRO subscribers"));
    let pro = testing::session_cookie(&auth, &MockUser::new("p").pro(true));
    assert_eq!(assert_ok(&app, "/pro", &pro).await, "p is pro");
}

/// Mock sessions never carry `canPay` (Hugging Face sends it only with `read-billing`, and the
/// mock user has no billing), so the route refuses them: fail closed. Admission with
/// `canPay: true` is held by the runtime's unit test `pro_and_can_pay_fail_closed`.
#[tokio::test]
async fn can_pay_gate_fails_closed() {
    let (auth, app) = app().await;
    assert_signed_out_rejected(&app, &auth, "/billing").await;
    let user = testing::session_cookie(
        &auth,
        &MockUser::new("b").pro(true).scopes("openid read-billing"),
    );
    let body = assert_forbidden(&app, "/billing", &user).await;
    assert_eq!(body["requires"], "can_pay");
    let r = get_as(&app, Client::Browser, "/billing", Some(&user)).await;
    assert!(text(r).await.contains("payment method"));
    // Without read-billing, the scope is what is missing.
    let user = testing::session_cookie(&auth, &MockUser::new("b").scopes("openid"));
    let body = assert_forbidden(&app, "/billing", &user).await;
    assert_eq!(body["missing_scopes"], serde_json::json!(["read-billing"]));
}

#[tokio::test]
async fn org_from_the_path() {
    let (auth, app) = app().await;
    assert_signed_out_rejected(&app, &auth, "/orgs/acme").await;
    let acme = testing::session_cookie(&auth, &MockUser::new("ann").org("acme", Role::Read));
    assert_eq!(assert_ok(&app, "/orgs/acme", &acme).await, "ann is in acme");
    // The same user, another org in the path.
    let body = assert_forbidden(&app, "/orgs/other", &acme).await;
    assert_eq!(body["org"], "other");
    assert_eq!(body["required_role"], serde_json::Value::Null);
    // Percent-encoding in the path does not change the org.
    assert_eq!(
        assert_ok(&app, "/orgs/%61cme", &acme).await,
        "ann is in acme"
    );
    // A role from the path's org, not another's.
    let body = assert_forbidden(&app, "/orgs/acme/settings", &acme).await;
    assert_eq!(body["required_role"], "admin");
    let admin = testing::session_cookie(
        &auth,
        &MockUser::new("x")
            .org("acme", Role::Read)
            .org("labs", Role::Admin),
    );
    assert_forbidden(&app, "/orgs/acme/settings", &admin).await;
    assert_eq!(
        assert_ok(&app, "/orgs/labs/settings", &admin).await,
        "admin"
    );
    // Under `nest`, with another parameter before it.
    assert_eq!(
        assert_ok(&app, "/nested/t/orgs/labs", &admin).await,
        "admin"
    );
    assert_forbidden(&app, "/nested/labs/orgs/acme", &admin).await;
    let r = get_as(&app, Client::Browser, "/orgs/other", Some(&acme)).await;
    assert!(text(r).await.contains("<code>other</code>"));
}

/// A route whose path lacks the parameter refuses everyone, even an admin of the org it names,
/// with a 500 that says why.
#[tokio::test]
async fn org_param_missing_from_the_route_is_a_500() {
    let (auth, app) = app().await;
    let admin = testing::session_cookie(&auth, &MockUser::new("x").org("acme", Role::Admin));
    for client in [Client::Browser, Client::Api] {
        let r = get_as(&app, client, "/misconfigured/acme", Some(&admin)).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR, "{client:?}");
        let body = json(r).await;
        assert!(body["error"].as_str().unwrap().contains("{org}"), "{body}");
    }
}

#[test]
fn options_reach_the_requirement() {
    use hf_auth_runtime::{Accept, CrossSite};
    let routes = route_requirements();
    let find = |name: &str| {
        routes
            .iter()
            .find(|r| r.handler == name && r.module_path == "macros_behaviour")
            .unwrap_or_else(|| panic!("{name} is not registered"))
            .requirement
    };
    let me = find("me");
    assert_eq!(
        (me.accept, me.cross_site, me.pro, me.can_pay),
        (Accept::Any, CrossSite::Refuse, false, false)
    );
    assert_eq!(find("api_only").accept, Accept::Token);
    let webhook = find("webhook");
    assert_eq!(webhook.accept, Accept::Session);
    assert_eq!(webhook.cross_site, CrossSite::Allow);
    assert_eq!(webhook.orgs[0].org, "acme");
    assert!(find("pro_only").pro);
    let billing = find("billing");
    assert!(billing.can_pay && !billing.pro);
    let org_admin = find("org_admin");
    assert!(org_admin.orgs.is_empty());
    assert_eq!(org_admin.org_params[0].param, "org");
    assert_eq!(org_admin.org_params[0].role, Some(Role::Admin));
    assert_eq!(find("org_page").org_params[0].role, None);
}

#[test]
fn every_handler_registers_its_requirement() {
    let routes = route_requirements();
    let find = |name: &str| {
        routes
            .iter()
            .find(|r| r.handler == name && r.module_path == "macros_behaviour")
            .unwrap_or_else(|| panic!("{name} is not registered"))
    };
    let upload = find("upload");
    assert_eq!(upload.requirement.scopes, ["write-repos"]);
    assert_eq!(
        upload.requirement.scope_mask,
        hf_auth_runtime::mask_of(&["write-repos"])
    );
    assert!(
        upload.file.ends_with("macros_behaviour.rs"),
        "{}",
        upload.file
    );
    assert_eq!(upload.line, UPLOAD_LINE);

    let future = find("future");
    assert_eq!(future.requirement.scopes, ["inference-api", "future-scope"]);
    assert_eq!(future.requirement.extra_scopes, ["future-scope"]);

    let stacked = find("stacked");
    assert_eq!(stacked.requirement.scopes, ["read-repos"]);
    let orgs: Vec<_> = stacked
        .requirement
        .orgs
        .iter()
        .map(|o| (o.org, o.role))
        .collect();
    assert_eq!(orgs, [("acme", Some(Role::Admin)), ("labs", None)]);
    assert!(find("me").requirement.scopes.is_empty());
    assert_eq!(find("writers").requirement.orgs[0].role, Some(Role::Write));
}

#[test]
fn space_metadata_lists_the_scopes_the_routes_need() {
    let yaml = space_metadata();
    for scope in ["write-repos", "inference-api", "future-scope"] {
        assert!(
            yaml.contains(&format!("  - {scope}\n")),
            "{scope} missing in\n{yaml}"
        );
    }
    // read-repos is required too, but write-repos includes it.
    assert!(!yaml.contains("  - read-repos\n"), "{yaml}");
    // Orgs from the path are not known before a request: nothing about them.
    assert!(!yaml.contains("org"), "{yaml}");
}

#[tokio::test]
async fn start_up_check_against_the_configured_scopes() {
    let err = HfAuth::builder()
        .scopes("openid profile read-repos")
        .build()
        .await
        .expect_err("write-repos is not configured");
    let ConfigError::ScopesNotCovered(report) = &err else {
        panic!("unexpected error: {err}");
    };
    assert!(report.contains("macros_behaviour::upload"), "{report}");
    assert!(report.contains("write-repos"), "{report}");
    assert!(report.contains("macros_behaviour::future"), "{report}");

    let ok = HfAuth::builder()
        .scopes("openid profile read-repos")
        .scope_check(ScopeCheck::Off)
        .build()
        .await;
    assert!(ok.is_ok());
    assert!(HfAuth::builder().scopes(APP_SCOPES).build().await.is_ok());
}

/// A guarded route outside `attach` has no hf-auth to ask: it refuses every request, even one
/// with a valid session, with a 500 that names the mistake, and never runs the handler. The
/// request's context does not leak from an attached router into one merged beside it.
#[tokio::test]
async fn a_guarded_route_outside_attach_refuses_and_says_why() {
    let (auth, attached) = app().await;
    let cookie = testing::session_cookie(&auth, &MockUser::default());
    let app = Router::new().route("/forgotten", get(me)).merge(attached);
    for client in [Client::Browser, Client::Api] {
        let r = get_as(&app, client, "/forgotten", Some(&cookie)).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR, "{client:?}");
        assert!(header_of(&r, header::SET_COOKIE).is_empty());
        assert_eq!(text(r).await, "hf-auth is not attached to this router");
        // The attached route beside it still works.
        let r = get_as(&app, client, "/me", Some(&cookie)).await;
        assert_eq!(r.status(), StatusCode::OK, "{client:?}");
        assert_eq!(text(r).await, "hello dev-user");
    }
}

#[tokio::test]
async fn associated_functions_in_a_handlers_block_are_guarded_too() {
    let (auth, app) = app().await;
    assert_eq!(Api::plain(), "plain");
    assert_signed_out_rejected(&app, &auth, "/api/publish").await;
    let writer = testing::session_cookie(
        &auth,
        &MockUser::new("alice")
            .scopes("openid write-repos")
            .org("acme", Role::Write),
    );
    assert_eq!(
        assert_ok(&app, "/api/publish", &writer).await,
        "alice published"
    );
    assert_eq!(
        assert_ok(&app, "/api/acme", &writer).await,
        "alice writes for acme"
    );
    let reader = testing::session_cookie(
        &auth,
        &MockUser::new("bob")
            .scopes("openid read-repos")
            .org("acme", Role::Read),
    );
    for path in ["/api/publish", "/api/acme"] {
        let r = get_as(&app, Client::Api, path, Some(&reader)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let routes = route_requirements();
    let publish = routes
        .iter()
        .find(|r| r.handler == "Api::publish")
        .expect("registered as Api::publish");
    assert_eq!(publish.requirement.scopes, ["write-repos"]);
    let acme = routes
        .iter()
        .find(|r| r.handler == "Api::acme_writers")
        .expect("registered as Api::acme_writers");
    assert_eq!(acme.requirement.orgs[0].org, "acme");
}
