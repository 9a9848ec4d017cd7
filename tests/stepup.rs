//! Step-up consent ("Grant access") and incremental consent, over real HTTP against the test
//! kit's provider on 127.0.0.1: which 403s offer the button, its URL, what the login asks for
//! (`prompt=consent`, `scope`, `orgIds`), decline and grant, accumulating scopes, hostile input.

mod common;

use axum::{response::IntoResponse, routing::get, Json, Router};
use common::{location, Browser};
use hf_auth_runtime::{
    mask_of,
    testing::{Consent, TestProvider, TestUser, TokenKind},
    AuthLinks, AuthRejection, Guarded, HfAuthBuilder, HfUser, MockUser, OrgRequirement,
    Requirement, RequirementSource, Role, ScopeCheck,
};
use serde_json::{json, Value};

struct ReadRepos;
impl RequirementSource for ReadRepos {
    const REQUIREMENT: &'static Requirement = &Requirement {
        scope_mask: mask_of(&["read-repos"]),
        scopes: &["read-repos"],
        ..Requirement::SIGNED_IN
    };
}
struct WriteRepos;
impl RequirementSource for WriteRepos {
    const REQUIREMENT: &'static Requirement = &Requirement {
        scope_mask: mask_of(&["read-repos", "write-repos"]),
        scopes: &["read-repos", "write-repos"],
        ..Requirement::SIGNED_IN
    };
}
struct ManageRepos;
impl RequirementSource for ManageRepos {
    const REQUIREMENT: &'static Requirement = &Requirement {
        scope_mask: mask_of(&["manage-repos"]),
        scopes: &["manage-repos"],
        ..Requirement::SIGNED_IN
    };
}
struct AcmeAdmin;
impl RequirementSource for AcmeAdmin {
    const REQUIREMENT: &'static Requirement = &Requirement {
        orgs: &[OrgRequirement {
            org: "acme",
            role: Some(Role::Admin),
        }],
        ..Requirement::SIGNED_IN
    };
}

struct App {
    base: String,
    provider: Option<TestProvider>,
    _server: tokio::task::JoinHandle<()>,
}

const SCOPES: &str = "openid profile read-repos write-repos";

async fn serve(
    builder: HfAuthBuilder,
    provider: Option<TestProvider>,
    base: String,
    listener: tokio::net::TcpListener,
) -> App {
    let auth = builder
        .scope_check(ScopeCheck::Off)
        .build()
        .await
        .expect("the app starts");
    let router = Router::new()
        .route(
            "/me",
            get(|u: HfUser| async move {
                Json(json!({ "sub": u.id(), "orgs": u.orgs(), "scopes": u.scopes() }))
            }),
        )
        .route("/read", get(|_: Guarded<ReadRepos>| async { "read" }))
        .route("/write", get(|_: Guarded<WriteRepos>| async { "written" }))
        .route(
            "/manage",
            get(|_: Guarded<ManageRepos>| async { "managed" }),
        )
        .route(
            "/acme/admin",
            get(|_: Guarded<AcmeAdmin>| async { "acme admin" }),
        )
        // A guard whose login link carries the route's scopes (incremental consent).
        .route(
            "/write-first",
            get(|g: Result<Guarded<WriteRepos>, AuthRejection>| async move {
                match g {
                    Ok(_) => "written".into_response(),
                    Err(e) => e
                        .with_login_scopes(WriteRepos::REQUIREMENT.scopes)
                        .into_response(),
                }
            }),
        )
        .route(
            "/links",
            get(|links: AuthLinks| async move { links.login_url_with_scopes(&["write-repos"]) }),
        );
    let app = auth.attach(router);
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    App {
        base,
        provider,
        _server: server,
    }
}

async fn start(edit: impl FnOnce(HfAuthBuilder) -> HfAuthBuilder) -> App {
    let provider = TestProvider::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let builder = edit(provider.app_config(&base).scopes(SCOPES));
    serve(builder, Some(provider), base, listener).await
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    fn provider(&self) -> &TestProvider {
        self.provider.as_ref().unwrap()
    }
    /// Follows a flow from `path` (same-site) to the first answer that is not a redirect,
    /// counting hops; bounded.
    async fn go(&self, b: &mut Browser, path: &str) -> (reqwest::StatusCode, String, usize) {
        let (r, visited) = b.follow(&self.url(path), 8).await;
        let status = r.status();
        (status, r.text().await.unwrap(), visited.len() - 1)
    }
    /// Follows redirects from an absolute URL; bounded.
    async fn follow(&self, b: &mut Browser, url: &str) -> (reqwest::StatusCode, String, usize) {
        let (r, visited) = b.follow(url, 8).await;
        let status = r.status();
        (status, r.text().await.unwrap(), visited.len() - 1)
    }
    async fn json(&self, b: &mut Browser, path: &str) -> (reqwest::StatusCode, Value) {
        let r = b.get_with_accept(&self.url(path), "application/json").await;
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

/// The href of the page's "Grant access" button, unescaped.
fn grant_href(html: &str) -> Option<String> {
    let end = html.find(">Grant access</a>")?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end - 1].replace("&amp;", "&"))
}

fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// A builder edit that counts the sign-ins the app's hook hears.
fn counting_sign_ins(
    count: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> impl FnOnce(HfAuthBuilder) -> HfAuthBuilder {
    let count = count.clone();
    move |b| {
        b.on_session_change(move |change, _| {
            if matches!(change, hf_auth_runtime::SessionChange::SignedIn(_)) {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            async {}
        })
    }
}

#[tokio::test]
async fn a_scope_the_app_asks_for_gets_a_grant_button_and_a_grant_admits() {
    let sign_ins = std::sync::Arc::default();
    let app = start(counting_sign_ins(&sign_ins)).await;
    app.provider()
        .set_consent(Consent::GrantOnly(vec!["read-repos".into()]));
    let mut b = Browser::new();
    assert_eq!(app.go(&mut b, "/me").await.0, 200);
    let (status, html, _) = app.go(&mut b, "/write").await;
    assert_eq!(status, 403);
    let href = grant_href(&html).unwrap_or_else(|| panic!("no button: {html}"));
    assert_eq!(
        href,
        "/oauth/huggingface/login?_target_url=%2Fwrite&grant=1&scope=write%2Drepos"
    );
    // JSON clients with the session cookie get it too; the page's scopes are named.
    let (status, body) = app.json(&mut b, "/write").await;
    assert_eq!(status, 403);
    assert_eq!(body["grant_url"], href.as_str());
    assert_eq!(body["missing_scopes"], json!(["write-repos"]));

    // The button's login asks again, with the consent screen forced.
    let r = b.get(&app.url(&href)).await;
    let authorize = location(&r);
    let q = query_of(&authorize);
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["scope"], "openid profile read-repos write-repos");
    assert!(!q.contains_key("orgIds"));
    // The user grants it this time: back on the page, admitted.
    app.provider().set_consent(Consent::Approve);
    let (status, body, hops) = app.follow(&mut b, &authorize).await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "written"));
    assert_eq!(hops, 2, "authorize, callback, the page");
    // The granted step-up began a session: the app's hook heard it, as it heard the login.
    assert_eq!(sign_ins.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_declined_step_up_lands_on_the_same_403_with_the_session_intact() {
    let sign_ins = std::sync::Arc::default();
    let app = start(counting_sign_ins(&sign_ins)).await;
    app.provider()
        .set_consent(Consent::GrantOnly(vec!["read-repos".into()]));
    let mut b = Browser::new();
    assert_eq!(app.go(&mut b, "/read").await.0, 200);
    let session = b.jar["hf_auth_session"].clone();
    let (_, html, _) = app.go(&mut b, "/write").await;
    let href = grant_href(&html).unwrap();
    app.provider().set_consent(Consent::Deny);
    // Decline twice: each time the same 403 page, reached in three hops (login, authorize,
    // callback), never a loop.
    for _ in 0..2 {
        let (status, again, hops) = app.go(&mut b, &href).await;
        assert_eq!(status, 403, "{again}");
        assert_eq!(hops, 3);
        assert_eq!(grant_href(&again).as_deref(), Some(href.as_str()));
    }
    // The session is the one the user had: still signed in, same grants.
    assert_eq!(b.jar["hf_auth_session"], session);
    let (status, me) = app.json(&mut b, "/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["scopes"], json!(["openid", "profile", "read-repos"]));
    assert_eq!(app.go(&mut b, "/read").await.0, 200);
    // A declined step-up began nothing: the app's hook heard the first login only.
    assert_eq!(sign_ins.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_declined_first_login_is_still_an_error_page() {
    // Without a session there is no page to go back to: the flow's 4xx page, no loop.
    let app = start(|b| b).await;
    app.provider().set_consent(Consent::Deny);
    let mut b = Browser::new();
    let (status, html, _) = app
        .go(
            &mut b,
            "/oauth/huggingface/login?_target_url=%2Fwrite&grant=1&scope=write-repos",
        )
        .await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("Sign-in failed"), "{html}");
    assert!(!b.has_session());
}

#[tokio::test]
async fn a_scope_the_app_never_asks_for_keeps_the_plain_403() {
    let app = start(|b| b).await;
    let mut b = Browser::new();
    assert_eq!(app.go(&mut b, "/me").await.0, 200);
    let (status, html, _) = app.go(&mut b, "/manage").await;
    assert_eq!(status, 403);
    assert!(grant_href(&html).is_none(), "{html}");
    assert!(
        html.contains("hf_oauth_scopes") && html.contains("Sign in again"),
        "{html}"
    );
    let (_, body) = app.json(&mut b, "/manage").await;
    assert!(body.get("grant_url").is_none(), "{body}");
    // Bearer clients keep their insufficient_scope answer, with no grant URL.
    let token = app.provider().mint_token(
        &TestUser::new("test-user"),
        TokenKind::fine_grained(&["repo.content.read"]),
    );
    let r = reqwest::Client::new()
        .get(app.url("/write"))
        .bearer_auth(token)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    assert!(!r.text().await.unwrap().contains("Grant access"));
}

#[tokio::test]
async fn an_org_not_granted_gets_a_button_carrying_its_id() {
    let app = start(|b| b).await;
    let user = TestUser::new("boss").org("acme", Role::Admin);
    let acme = user.orgs[0].sub.clone();
    app.provider().set_user(user);
    app.provider().set_org_ungranted("acme");
    let mut b = Browser::new();
    let (_, me) = {
        assert_eq!(app.go(&mut b, "/me").await.0, 200);
        app.json(&mut b, "/me").await
    };
    assert_eq!(
        me["orgs"],
        json!([{ "handle": "acme", "role": null, "sub": acme }])
    );
    let (status, html, _) = app.go(&mut b, "/acme/admin").await;
    assert_eq!(status, 403);
    let href = grant_href(&html).unwrap_or_else(|| panic!("no button: {html}"));
    assert_eq!(
        href,
        format!("/oauth/huggingface/login?_target_url=%2Facme%2Fadmin&grant=1&org={acme}")
    );
    assert!(html.contains("not granted this app access"), "{html}");
    let (status, body, _) = app.go(&mut b, &href).await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "acme admin"));
    let asked = app.provider().last_authorize().unwrap();
    assert_eq!(asked.org_ids.as_deref(), Some(acme.as_str()));
    assert_eq!(asked.prompt.as_deref(), Some("consent"));
    // A granted org with too low a role: granting cannot help, no button.
    app.provider()
        .set_user(TestUser::new("writer").org("acme", Role::Write));
    let mut b = Browser::new();
    assert_eq!(app.go(&mut b, "/me").await.0, 200);
    let (status, html, _) = app.go(&mut b, "/acme/admin").await;
    assert_eq!(status, 403);
    assert!(grant_href(&html).is_none(), "{html}");
}

#[tokio::test]
async fn incremental_consent_asks_little_first_and_accumulates() {
    let app = start(|b| b.incremental_consent(true)).await;
    let mut b = Browser::new();
    assert_eq!(app.go(&mut b, "/me").await.0, 200);
    assert_eq!(
        app.provider().last_authorize().unwrap().scopes,
        ["openid", "profile"]
    );
    let (_, me) = app.json(&mut b, "/me").await;
    assert_eq!(me["scopes"], json!(["openid", "profile"]));
    // /read needs read-repos: asked for on demand.
    let (status, html, _) = app.go(&mut b, "/read").await;
    assert_eq!(status, 403);
    let href = grant_href(&html).unwrap();
    let (status, _, _) = app.go(&mut b, &href).await;
    assert_eq!(status, 200);
    let asked = app.provider().last_authorize().unwrap();
    assert_eq!(asked.scopes, ["openid", "profile", "read-repos"]);
    assert_eq!(asked.prompt.as_deref(), Some("consent"));
    // /write: asked with what the session has; the user grants only write-repos this time,
    // and the session keeps read-repos too.
    app.provider()
        .set_consent(Consent::GrantOnly(vec!["write-repos".into()]));
    let (_, html, _) = app.go(&mut b, "/write").await;
    let href = grant_href(&html).unwrap();
    assert_eq!(
        href,
        "/oauth/huggingface/login?_target_url=%2Fwrite&grant=1&scope=write%2Drepos"
    );
    let (status, body, _) = app.go(&mut b, &href).await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "written"));
    assert_eq!(
        app.provider().last_authorize().unwrap().scopes,
        ["openid", "profile", "read-repos", "write-repos"]
    );
    let (_, me) = app.json(&mut b, "/me").await;
    assert_eq!(
        me["scopes"],
        json!(["openid", "profile", "read-repos", "write-repos"])
    );
    // A first login can name the scopes it needs.
    let mut fresh = Browser::new();
    app.provider().set_consent(Consent::Approve);
    let r = fresh
        .get(&app.url("/oauth/huggingface/login?_target_url=%2Fwrite&scope=write-repos"))
        .await;
    let q = query_of(&location(&r));
    assert_eq!(q["scope"], "openid profile write-repos");
    assert!(!q.contains_key("prompt"));
}

#[tokio::test]
async fn hostile_scope_and_org_values_are_ignored() {
    let app = start(|b| b.incremental_consent(true)).await;
    let mut b = Browser::new();
    for (query, scope) in [
        (
            "scope=%3Cscript%3E%20manage-repos%20write-repos",
            "openid profile write-repos",
        ),
        (
            "scope=read-repos%0Aopenid%20read-repos&org=..%2F%3Cx%3E",
            "openid profile read-repos",
        ),
        ("scope=write-repos&org=a%22b", "openid profile write-repos"),
        (
            &format!("scope={}", "write-repos%20".repeat(100)),
            "openid profile",
        ),
        ("scope=&org=", "openid profile"),
    ] {
        let r = b
            .get(&app.url(&format!("/oauth/huggingface/login?grant=1&{query}")))
            .await;
        let authorize = location(&r);
        let q = query_of(&authorize);
        assert_eq!(q["scope"], scope, "{query}");
        assert!(!q.contains_key("orgIds"), "{query}: {authorize}");
        assert!(
            !authorize.contains("script") && !authorize.contains('<'),
            "{authorize}"
        );
    }
    let r = b
        .get(&app.url("/oauth/huggingface/login?org=65a1b2c3d4e5f60718293a4b"))
        .await;
    assert_eq!(
        query_of(&location(&r))["orgIds"],
        "65a1b2c3d4e5f60718293a4b"
    );
}

#[tokio::test]
async fn mock_mode_grants_what_the_button_asks_for() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let builder = HfAuthBuilder::default()
        .public_url(base.clone())
        .scopes(SCOPES)
        .mock_user(MockUser::new("dev").scopes("openid profile read-repos"));
    let app = serve(builder, None, base, listener).await;
    let mut b = Browser::new();
    assert_eq!(app.go(&mut b, "/read").await.0, 200);
    let (status, html, _) = app.go(&mut b, "/write").await;
    assert_eq!(status, 403);
    let href = grant_href(&html).unwrap();
    let (status, body, _) = app.go(&mut b, &href).await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "written"));
    // A login that is not a grant keeps the mock user's configured scopes.
    let r = b
        .get(&app.url("/oauth/huggingface/login?scope=write-repos"))
        .await;
    assert_eq!(r.status(), 303);
    let (_, me) = app.json(&mut b, "/me").await;
    assert_eq!(me["scopes"], json!(["openid", "profile", "read-repos"]));
}

#[tokio::test]
async fn a_first_login_from_a_guarded_route_can_ask_for_its_scopes() {
    let app = start(|b| b.incremental_consent(true)).await;
    let mut b = Browser::new();
    let r = b.get(&app.url("/write-first")).await;
    let login = location(&r);
    assert_eq!(
        login,
        "/oauth/huggingface/login?_target_url=%2Fwrite%2Dfirst&scope=read%2Drepos%20write%2Drepos"
    );
    // One consent covers the route.
    let (status, body, _) = app.go(&mut b, &login).await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "written"));
    let asked = app.provider().last_authorize().unwrap();
    assert_eq!(
        asked.scopes,
        ["openid", "profile", "read-repos", "write-repos"]
    );
    assert_eq!(asked.prompt, None);
    // A page's own links: a login asking for more, a step-up once signed in.
    let mut fresh = Browser::new();
    let r = fresh.get(&app.url("/links")).await;
    assert_eq!(
        r.text().await.unwrap(),
        "/oauth/huggingface/login?_target_url=%2Flinks&scope=write%2Drepos"
    );
    let r = b.get(&app.url("/links")).await;
    assert_eq!(
        r.text().await.unwrap(),
        "/oauth/huggingface/login?_target_url=%2Flinks&grant=1&scope=write%2Drepos"
    );
}

#[tokio::test]
async fn hf_auth_incremental_consent_is_read_from_the_environment() {
    let provider = TestProvider::start().await;
    let env = |value: &'static str| {
        let issuer = provider.issuer().to_owned();
        move |k: &str| match k {
            "HF_AUTH_INCREMENTAL_CONSENT" => Some(value.to_owned()),
            "OAUTH_CLIENT_ID" => Some(TestProvider::CLIENT_ID.to_owned()),
            "OAUTH_CLIENT_SECRET" => Some(TestProvider::CLIENT_SECRET.to_owned()),
            "OPENID_PROVIDER_URL" => Some(issuer.clone()),
            "OAUTH_SCOPES" => Some(SCOPES.to_owned()),
            _ => None,
        }
    };
    let err = HfAuthBuilder::from_vars(&env("maybe")).unwrap_err();
    assert!(
        err.to_string().contains("HF_AUTH_INCREMENTAL_CONSENT"),
        "{err}"
    );
    for (value, first_login) in [("1", "openid profile"), ("0", SCOPES)] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let builder = HfAuthBuilder::from_vars(&env(value))
            .unwrap()
            .public_url(base.clone());
        let app = serve(builder, None, base, listener).await;
        let r = Browser::new()
            .get(&app.url("/oauth/huggingface/login"))
            .await;
        assert_eq!(query_of(&location(&r))["scope"], first_login, "{value}");
    }
}

#[tokio::test]
async fn with_incremental_consent_a_guards_login_link_asks_for_the_routes_scopes() {
    for (incremental, expected) in [(true, Some("read-repos write-repos")), (false, None)] {
        let app = start(|b| b.incremental_consent(incremental)).await;
        let mut b = Browser::api();
        let r = b
            .get_with_accept(&app.url("/write"), "application/json")
            .await;
        assert_eq!(r.status(), 401);
        let body: serde_json::Value = r.json().await.unwrap();
        let login = body["login_url"].as_str().expect("a login URL");
        // Absolute, on the app's public URL (a JSON client may be on another origin).
        assert!(
            login.starts_with(&app.url("/oauth/huggingface/login?")),
            "{login}"
        );
        let q = query_of(login);
        assert_eq!(q.get("scope").map(String::as_str), expected, "{login}");
    }
}
