//! An app with protected routes, served on 127.0.0.1 and signing in at the test kit's provider.

use axum::{routing::get, Json, Router};
use hf_auth_runtime::{
    mask_of, testing::TestProvider, Guarded, HfAuthBuilder, HfUser, OrgRequirement, Requirement,
    RequirementSource, Role, ScopeCheck,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{location, Browser};

struct WriteRepos;
impl RequirementSource for WriteRepos {
    const REQUIREMENT: &'static Requirement = &Requirement {
        scope_mask: mask_of(&["read-repos", "write-repos"]),
        scopes: &["read-repos", "write-repos"],
        extra_scopes: &[],
        orgs: &[],
        ..Requirement::SIGNED_IN
    };
}
struct AcmeAdmin;
impl RequirementSource for AcmeAdmin {
    const REQUIREMENT: &'static Requirement = &Requirement {
        scope_mask: 0,
        scopes: &[],
        extra_scopes: &[],
        orgs: &[OrgRequirement {
            org: "acme",
            role: Some(Role::Admin),
        }],
        ..Requirement::SIGNED_IN
    };
}
struct AcmeMember;
impl RequirementSource for AcmeMember {
    const REQUIREMENT: &'static Requirement = &Requirement {
        scope_mask: 0,
        scopes: &[],
        extra_scopes: &[],
        orgs: &[OrgRequirement {
            org: "acme",
            role: None,
        }],
        ..Requirement::SIGNED_IN
    };
}

async fn me(user: HfUser) -> Json<Value> {
    Json(json!({
        "sub": user.id(),
        "preferred_username": user.handle(),
        "orgs": user.orgs(),
        "scopes": user.scopes(),
    }))
}

/// A stream that says `tick N` every 100 ms until the session ends, then `end <reason>`, and
/// closes: what an SSE or WebSocket handler does with [`HfUser::session_end`].
async fn events(user: HfUser) -> axum::body::Body {
    let end = user.session_end();
    let ticks = tokio::time::interval(std::time::Duration::from_millis(100));
    axum::body::Body::from_stream(futures_util::stream::unfold(
        (end, ticks, 0u32, false),
        |(mut end, mut ticks, n, done)| async move {
            if done {
                return None;
            }
            tokio::select! {
                reason = &mut end => Some((
                    Ok::<_, std::convert::Infallible>(format!("end {reason}\n")),
                    (end, ticks, n, true),
                )),
                _ = ticks.tick() => Some((Ok(format!("tick {n}\n")), (end, ticks, n + 1, false))),
            }
        },
    ))
}

pub struct App {
    pub base: String,
    pub provider: TestProvider,
    pub auth: hf_auth_runtime::HfAuth,
    _server: tokio::task::JoinHandle<()>,
}

pub async fn start_with(
    provider: TestProvider,
    edit: impl FnOnce(HfAuthBuilder) -> HfAuthBuilder,
) -> App {
    let (base, auth, server) = serve(&provider, edit).await;
    App {
        base,
        provider,
        auth,
        _server: server,
    }
}

/// Another process of the same app, as a replica behind a load balancer would be: the same
/// provider and settings (`edit`), its own address.
pub struct Replica {
    pub base: String,
    pub auth: hf_auth_runtime::HfAuth,
    _server: tokio::task::JoinHandle<()>,
}

impl Replica {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl App {
    /// A second replica of this app: set it up with the same `edit` (the same cookie key and
    /// session store, for a login on one to be honoured by the other).
    pub async fn replica(&self, edit: impl FnOnce(HfAuthBuilder) -> HfAuthBuilder) -> Replica {
        let (base, auth, server) = serve(&self.provider, edit).await;
        Replica {
            base,
            auth,
            _server: server,
        }
    }
}

async fn serve(
    provider: &TestProvider,
    edit: impl FnOnce(HfAuthBuilder) -> HfAuthBuilder,
) -> (String, hf_auth_runtime::HfAuth, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let builder = provider
        .app_config(&base)
        .scopes("openid profile read-repos write-repos")
        .scope_check(ScopeCheck::Off);
    let auth = edit(builder).build().await.expect("the app starts");
    let router = Router::new()
        .route("/public", get(|| async { "public" }))
        .route(
            "/",
            get(|u: Option<HfUser>| async move {
                u.map_or("anonymous".to_owned(), |u| u.handle().to_owned())
            }),
        )
        .route("/me", get(me))
        .route("/events", get(events))
        .route("/write", get(|_: Guarded<WriteRepos>| async { "written" }))
        .route("/acme", get(|_: Guarded<AcmeMember>| async { "acme" }))
        .route(
            "/acme/admin",
            get(|_: Guarded<AcmeAdmin>| async { "acme admin" }),
        );
    let app = auth.clone().attach(router);
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, auth, server)
}

pub async fn start() -> App {
    start_with(TestProvider::start().await, |b| b).await
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs a login from the app's login route to the app's answer after the callback.
    pub async fn login(&self, browser: &mut Browser, target: &str) -> reqwest::Response {
        let login = format!(
            "{}/oauth/huggingface/login?_target_url={}",
            self.base,
            urlencode(target)
        );
        let r = browser.get(&login).await;
        let authorize = location(&r);
        assert!(authorize.starts_with(self.provider.issuer()), "{authorize}");
        let r = browser.get(&authorize).await;
        let callback = location(&r);
        assert!(
            callback.starts_with(&self.url("/oauth/huggingface/callback")),
            "{callback}"
        );
        browser.get(&callback).await
    }

    pub async fn json(&self, browser: &mut Browser, path: &str) -> (StatusCode, Value) {
        let r = browser
            .get_with_accept(&self.url(path), "application/json")
            .await;
        let status = r.status();
        let body = r.json().await.unwrap_or(Value::Null);
        (status, body)
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
