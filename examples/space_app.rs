//! `space_app`: the reference "Sign in with Hugging Face" app. Copy it to start your own.
//!
//! ```text
//! cargo run --release --example space_app                          # http://127.0.0.1:7860
//! HF_AUTH_MOCK_USER=alice HF_AUTH_MOCK_ORGS=acme:admin \
//!   OAUTH_SCOPES="openid profile read-repos write-repos" \
//!   cargo run --release --example space_app                        # pick the mock user
//! cargo run --release --example space_app -- --print-space-metadata # Space README lines
//! ```
//!
//! It is configured only through environment variables, exactly as a Hugging Face Space is:
//! `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET`, `OAUTH_SCOPES`, `OPENID_PROVIDER_URL`, `SPACE_ID`,
//! `SPACE_HOST` (injected by Spaces with `hf_oauth: true`), plus `HOST`, `PORT` and `RUST_LOG`.
//! Without `SPACE_ID` and without credentials, bound to a loopback address, it runs in mock mode:
//! the login route signs in a mock user (`HF_AUTH_MOCK_USER`, `HF_AUTH_MOCK_ORGS`,
//! `HF_AUTH_MOCK_SCOPES`), no network needed. Anywhere else (`HOST=0.0.0.0`, a public URL or
//! `SPACE_HOST` that is not loopback) mock mode needs `HF_AUTH_MOCK=1`.

use std::{convert::Infallible, io::IsTerminal, net::SocketAddr, process::ExitCode};

use axum::{
    extract::{Path, State},
    http::{header::CACHE_CONTROL, HeaderName},
    response::{
        sse::{Event, KeepAlive, Sse},
        Html, IntoResponse,
    },
    routing::get,
    Json, Router,
};
use hf_auth_runtime::{
    escape_html as escape, hf_login, require_org, AuthLinks, ConfigError, HfAuth, HfUser,
    ScopeCheck,
};
use serde::Serialize;
use serde_json::{json, Value};
use tracing_subscriber::EnvFilter;

// ---------------------------------------------------------------------------------------------
// Protected routes. Each attribute is checked at compile time (a scope typo does not build) and
// lets the handler run only for a user who passes; everyone else gets a redirect to the login
// (browsers), 401/403 JSON (API clients) or a 403 page that says what is missing.
// ---------------------------------------------------------------------------------------------

/// Any signed-in user: their profile as the app sees it.
#[hf_login]
async fn me(user: HfUser) -> Json<Profile> {
    Json(Profile::of(&user))
}

/// What `/me` answers (a typed body: serialized straight from the session, no JSON tree built
/// in between).
#[derive(Serialize)]
struct Profile {
    route: &'static str,
    sub: String,
    preferred_username: String,
    name: Option<String>,
    picture: Option<String>,
    orgs: Vec<OrgMembership>,
    /// Granted by the user, not merely asked for.
    scopes: Vec<String>,
    is_pro: Option<bool>,
}

#[derive(Serialize)]
struct OrgMembership {
    preferred_username: String,
    #[serde(rename = "roleInOrg")]
    role_in_org: Option<&'static str>,
}

impl Profile {
    fn of(user: &HfUser) -> Profile {
        Profile {
            route: "/me",
            sub: user.id().to_owned(),
            preferred_username: user.handle().to_owned(),
            name: user.name().map(str::to_owned),
            picture: user.avatar_url().map(str::to_owned),
            orgs: user
                .orgs()
                .iter()
                .map(|o| OrgMembership {
                    preferred_username: o.handle.clone(),
                    role_in_org: o.role.map(|r| r.as_str()),
                })
                .collect(),
            scopes: user.scopes().into_iter().map(str::to_owned).collect(),
            is_pro: user.is_pro(),
        }
    }
}

/// Users who granted read and write access to their repos (`write-repos` includes `read-repos`;
/// listing both is accepted). Use `user.access_token()` as a Bearer token to call the
/// Hub on their behalf.
#[hf_login(scopes = "read-repos write-repos")]
async fn write(user: HfUser) -> Json<Value> {
    allowed("/write", &user, "scope write-repos (includes read-repos)")
}

/// Needs `manage-repos`, which this app never asks for (see `deploy/space-README.md`): every
/// signed-in user gets a 403 that names the missing scope. Shown on purpose.
#[hf_login(scopes = "manage-repos")]
async fn manage(user: HfUser) -> Json<Value> {
    allowed("/manage", &user, "scope manage-repos")
}

/// Any member of the `acme` organization (matched on its handle).
#[require_org("acme")]
async fn acme(user: HfUser) -> Json<Value> {
    allowed("/acme", &user, "membership of acme")
}

/// Members of `acme` with the role `admin` (roles: read < contributor < write < admin).
#[require_org("acme", role = "admin")]
async fn acme_admin(user: HfUser) -> Json<Value> {
    allowed("/acme/admin", &user, "role admin in acme")
}

/// Members of the org named in the path: `/orgs/acme` for acme, `/orgs/labs` for labs.
#[require_org(param = "org")]
async fn org_home(Path(org): Path<String>, user: HfUser) -> Json<Value> {
    allowed(
        &format!("/orgs/{org}"),
        &user,
        &format!("membership of {org}"),
    )
}

/// Server-sent events for any signed-in user: `{"handle", "n"}` every second, until the
/// session ends (its end time, a logout, a revocation), then a last `end` event naming the
/// reason, and the stream closes. `session_end()` is the future that resolves then; with a
/// session store it hears a logout or revocation on any replica within a second, with
/// stateless cookies only a logout on this process (see `HfUser::session_end`).
#[hf_login]
async fn events(user: HfUser) -> impl IntoResponse {
    let end = user.session_end();
    let every = tokio::time::interval(std::time::Duration::from_secs(1));
    let stream = futures_util::stream::unfold(
        (user, end, every, 0u64, false),
        |(user, mut end, mut every, n, ended)| async move {
            if ended {
                return None;
            }
            let event = tokio::select! {
                reason = &mut end => {
                    let data = json!({ "handle": user.handle(), "reason": reason.as_str() });
                    let last = Event::default().event("end").data(data.to_string());
                    return Some((Ok::<_, Infallible>(last), (user, end, every, n, true)));
                }
                _ = every.tick() => Event::default()
                    .event("tick")
                    .data(json!({ "handle": user.handle(), "n": n }).to_string()),
            };
            Some((Ok(event), (user, end, every, n + 1, false)))
        },
    );
    // A proxy must pass each event on as it comes (nginx buffers unless told not to), and
    // nothing keeps a copy.
    (
        [(CACHE_CONTROL, "no-store"), (X_ACCEL_BUFFERING, "no")],
        Sse::new(stream).keep_alive(KeepAlive::default()),
    )
}

/// nginx's per-response switch for buffering.
const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

fn allowed(route: &str, user: &HfUser, requires: &str) -> Json<Value> {
    Json(json!({
        "route": route,
        "ok": true,
        "requires": requires,
        "sub": user.id(),
        "preferred_username": user.handle(),
    }))
}

// ---------------------------------------------------------------------------------------------
// The home page: open to everyone. `Option<HfUser>` is `None` when nobody is signed in.
// ---------------------------------------------------------------------------------------------

/// Whether the app runs in mock mode, for the home page's banner.
#[derive(Clone, Copy)]
struct Mode {
    mock: bool,
}

/// `AuthLinks` gives the login and logout URLs as configured (never hard-code
/// `/oauth/huggingface/...`) and who is signed in.
async fn home(State(mode): State<Mode>, links: AuthLinks) -> impl IntoResponse {
    let body = match links.user() {
        None => signed_out(&links),
        Some(user) => signed_in(&links, user),
    };
    let banner = if mode.mock {
        "<p class=\"mock\">Mock mode: local development, no Hugging Face involved.</p>"
    } else {
        ""
    };
    // The page depends on the session cookie: never cache it.
    (
        [(CACHE_CONTROL, "no-store")],
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>Sign in with Hugging Face</title><style>{CSS}</style></head>\
             <body><main>{banner}{body}</main></body></html>"
        )),
    )
}

fn signed_out(links: &AuthLinks) -> String {
    format!(
        "<h1>hf-auth demo</h1>\
         <p>Sign in to see what this app learns about you: your profile, your organizations and \
         the permissions you grant.</p>\
         <a class=\"hf-signin\" href=\"{login}\">{HF_LOGO}<span>Sign in with Hugging Face</span></a>",
        login = escape(links.login_url()),
    )
}

fn signed_in(links: &AuthLinks, user: &HfUser) -> String {
    // Everything below comes from the user's profile: escape it all.
    let avatar = match user.avatar_url() {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => format!(
            "<img class=\"avatar\" src=\"{}\" alt=\"\" width=\"64\" height=\"64\">",
            escape(url)
        ),
        _ => format!("<div class=\"avatar\" aria-hidden=\"true\">{HF_LOGO}</div>"),
    };
    let name = user.name().unwrap_or(user.handle());
    let orgs: String = if user.orgs().is_empty() {
        "<li class=\"muted\">none</li>".to_owned()
    } else {
        user.orgs()
            .iter()
            .map(|o| {
                let role = o.role.map_or("role not shared", |r| r.as_str());
                format!(
                    "<li><b>{}</b><span class=\"tag\">{role}</span></li>",
                    escape(&o.handle)
                )
            })
            .collect()
    };
    let scopes: String = user
        .scopes()
        .iter()
        .map(|s| format!("<code>{}</code>", escape(s)))
        .collect();
    format!(
        "<div class=\"who\">{avatar}<div><h1>{name}</h1><p class=\"muted\">@{handle}</p></div></div>\
         <h2>Organizations</h2><ul class=\"orgs\">{orgs}</ul>\
         <h2>Granted scopes</h2><p class=\"scopes\">{scopes}</p>\
         <h2>Try the protected routes</h2><ul class=\"routes\">\
         <li><a href=\"/me\">/me</a><span>any signed-in user</span></li>\
         <li><a href=\"/write\">/write</a><span>scope <code>write-repos</code> (includes <code>read-repos</code>)</span></li>\
         <li><a href=\"/manage\">/manage</a><span>scope <code>manage-repos</code>, never asked for: 403</span></li>\
         <li><a href=\"/acme\">/acme</a><span>member of <code>acme</code></span></li>\
         <li><a href=\"/acme/admin\">/acme/admin</a><span>admin of <code>acme</code></span></li>\
         <li><a href=\"/orgs/acme\">/orgs/acme</a><span>member of the org in the path</span></li>\
         <li><a href=\"/events\">/events</a><span>server-sent events that end with the session</span></li></ul>\
         <a class=\"button\" href=\"{logout}\">Sign out</a>",
        name = escape(name),
        handle = escape(user.handle()),
        logout = escape(links.logout_url()),
    )
}

/// The Hugging Face logo, inline: the pages make no request to another site.
const HF_LOGO: &str = "<svg class=\"hf-logo\" viewBox=\"0 0 32 32\" width=\"24\" height=\"24\" \
aria-hidden=\"true\" focusable=\"false\"><circle cx=\"16\" cy=\"14.5\" r=\"12.5\" fill=\"#FFD21E\"/>\
<circle cx=\"11.3\" cy=\"11.6\" r=\"1.9\" fill=\"#3A3B45\"/><circle cx=\"20.7\" cy=\"11.6\" r=\"1.9\" fill=\"#3A3B45\"/>\
<path d=\"M10.4 16.4c1 3.5 3.2 5.2 5.6 5.2s4.6-1.7 5.6-5.2c-1.9.9-3.7 1.3-5.6 1.3s-3.7-.4-5.6-1.3z\" fill=\"#3A3B45\"/>\
<ellipse cx=\"16\" cy=\"19.9\" rx=\"2.4\" ry=\"1.2\" fill=\"#EF4E4E\"/>\
<ellipse cx=\"6.8\" cy=\"24\" rx=\"4.2\" ry=\"3\" transform=\"rotate(-35 6.8 24)\" fill=\"#FFD21E\" stroke=\"#FF9D0B\" stroke-width=\"1.4\"/>\
<ellipse cx=\"25.2\" cy=\"24\" rx=\"4.2\" ry=\"3\" transform=\"rotate(35 25.2 24)\" fill=\"#FFD21E\" stroke=\"#FF9D0B\" stroke-width=\"1.4\"/></svg>";

const CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f9fafb;color:#111827;\
-webkit-text-size-adjust:100%}\
main{max-width:36rem;margin:8vh auto;padding:2rem;background:#fff;border:1px solid #e5e7eb;border-radius:16px;\
box-shadow:0 1px 3px rgba(0,0,0,.04)}\
@media(max-width:40rem){main{margin:0;padding:1.5rem 1.25rem;border:0;border-radius:0;box-shadow:none;min-height:100vh}}\
h1{font-size:1.4rem;margin:0;overflow-wrap:anywhere}h2{font-size:.8rem;margin:1.75rem 0 .6rem;color:#6b7280;\
text-transform:uppercase;letter-spacing:.05em}\
p,li{line-height:1.6}ul{padding:0;margin:0;list-style:none}a{color:#2563eb}\
code{background:#f3f4f6;padding:.05em .4em;border-radius:5px;font-size:.85em;white-space:nowrap}\
.muted{color:#6b7280}.mock{background:#fef3c7;color:#92400e;padding:.5rem .8rem;border-radius:8px;margin:0 0 1.25rem}\
.who{display:flex;gap:1rem;align-items:center;min-width:0}.who p{margin:0;overflow-wrap:anywhere}\
.avatar{width:64px;height:64px;border-radius:50%;background:#fef3c7;display:grid;place-items:center;flex:none;\
object-fit:cover;border:1px solid #e5e7eb}.avatar .hf-logo{width:40px;height:40px}\
.orgs li{display:flex;gap:.5rem;align-items:center}\
.tag{font-size:.75rem;padding:.05rem .5rem;border-radius:9999px;background:#eef2ff;color:#4338ca}\
.scopes{display:flex;flex-wrap:wrap;gap:.4rem;margin:0}\
.routes li{display:grid;grid-template-columns:7rem 1fr;gap:.75rem;padding:.55rem 0;border-top:1px solid #f3f4f6}\
.routes li:first-child{border-top:0}.routes a{font-weight:600;text-decoration:none}.routes span{color:#4b5563}\
@media(max-width:24rem){.routes li{grid-template-columns:1fr;gap:0}}\
.hf-signin{display:inline-flex;align-items:center;gap:.6rem;margin-top:.75rem;min-height:44px;padding:.5rem 1.25rem .5rem .9rem;\
border-radius:9999px;background:#000;color:#fff;font-weight:600;font-size:1rem;text-decoration:none;\
box-shadow:0 1px 2px rgba(0,0,0,.2)}\
.hf-signin:hover{background:#1f2937}.hf-signin:focus-visible{outline:3px solid #fbbf24;outline-offset:2px}\
.hf-signin .hf-logo{flex:none}\
.button{display:inline-flex;align-items:center;min-height:44px;margin-top:1.75rem;padding:.5rem 1.1rem;\
border:1px solid #d1d5db;border-radius:10px;color:#111827;text-decoration:none;font-weight:500}\
.button:hover{background:#f3f4f6}";

// ---------------------------------------------------------------------------------------------
// Start-up.
// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> ExitCode {
    // The README front-matter lines (`hf_oauth`, `hf_oauth_scopes`) the routes above need.
    if std::env::args().any(|a| a == "--print-space-metadata") {
        print!("{}", hf_auth_runtime::space_metadata());
        return ExitCode::SUCCESS;
    }

    // Logs go to stderr (stdout carries only the "listening on" line); RUST_LOG, default info.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    // The operator's command: `space_app revoke-user <sub>` ends every session of a user on
    // every replica (server-side sessions: HF_AUTH_SESSION_STORE and, for a private CA,
    // HF_AUTH_SESSION_STORE_CA; feature `redis`).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("revoke-user") {
        return revoke_user(args.get(1).map(String::as_str)).await;
    }

    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A configuration error (exit code 2) names the variable and the fix: no backtrace.
            eprintln!("error: {e}");
            ExitCode::from(if e.is::<ConfigError>() { 2 } else { 1 })
        }
    }
}

/// `space_app revoke-user <sub>`: prints how many sessions ended; exit code 2 for a usage or
/// configuration error, 1 when the store cannot be reached.
async fn revoke_user(sub: Option<&str>) -> ExitCode {
    let Some(sub) = sub else {
        eprintln!("usage: space_app revoke-user <sub> (the user's Hugging Face id, `sub` in /me)");
        return ExitCode::from(2);
    };
    #[cfg(feature = "redis")]
    {
        let Ok(url) = std::env::var("HF_AUTH_SESSION_STORE") else {
            eprintln!("error: HF_AUTH_SESSION_STORE is not set: sessions are stateless cookies and cannot be revoked");
            return ExitCode::from(2);
        };
        // A `rediss://` store with a private CA: the same HF_AUTH_SESSION_STORE_CA as the app.
        let ca = std::env::var_os("HF_AUTH_SESSION_STORE_CA")
            .filter(|ca| !ca.is_empty())
            .map(std::path::PathBuf::from);
        match hf_auth_runtime::revoke_user_in_store_with_ca(&url, ca.as_deref(), sub).await {
            Ok(n) => {
                println!("revoked {n} session(s) of {sub}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = sub;
        eprintln!("error: this build has no session store; build with `--features redis`");
        ExitCode::from(2)
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Read and check the environment before anything else, so a bad configuration fails fast.
    // `/manage` needs a scope the Space never asks for: warn at start-up instead of refusing.
    let config = HfAuth::from_env()?.scope_check(ScopeCheck::Warn);

    // Bind 0.0.0.0 in a Space (its proxy must reach us), 127.0.0.1 locally; HOST overrides.
    let host = std::env::var("HOST").unwrap_or_else(|_| {
        let in_space = std::env::var_os("SPACE_ID").is_some();
        if in_space { "0.0.0.0" } else { "127.0.0.1" }.to_owned()
    });
    // Bound to a non-loopback address (the Dockerfile's HOST=0.0.0.0), other machines can reach
    // the app: mock mode then needs HF_AUTH_MOCK=1. Refuse before binding anything.
    let config = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => config.listen_address(ip),
        Err(_) => config,
    };
    config.will_mock()?;
    // PORT was validated by `from_env`; 0 picks any free port.
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(7860);
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let addr = listener.local_addr()?;

    // Outside a Space, the redirect URI must name the port really bound (PORT may be 0) and the
    // host the browser uses (cookies are per host), unless HF_AUTH_PUBLIC_URL says otherwise.
    let config = if std::env::var_os("HF_AUTH_PUBLIC_URL").is_none()
        && std::env::var_os("SPACE_HOST").is_none()
    {
        config.public_url(local_url(addr))
    } else {
        config
    };
    let config = config.listen_address(addr.ip());
    let auth = config.build().await?;
    // The runtime's scope check names handlers; say which route that is (remove with /manage).
    if !auth.scopes().iter().any(|s| s == "manage-repos") {
        tracing::warn!("/manage requires the scope manage-repos, which OAUTH_SCOPES does not ask for: signed-in users get 403 there");
    }

    let mode = Mode {
        mock: auth.is_mock(),
    };
    let app = Router::new()
        .route("/", get(home))
        .route("/me", get(me))
        .route("/write", get(write).post(write))
        .route("/manage", get(manage))
        .route("/acme", get(acme))
        .route("/acme/admin", get(acme_admin))
        .route("/orgs/{org}", get(org_home))
        .route("/events", get(events))
        .with_state(mode);
    // After the routes: adds /oauth/huggingface/{login,callback,logout} and the session layers.
    let app = auth.attach(app);

    println!("listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shut down");
    Ok(())
}

/// `http://{addr}`, or `http://localhost:{port}` when bound to every interface.
fn local_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// Resolves on Ctrl-C or SIGTERM (what Spaces and Docker send), letting requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
