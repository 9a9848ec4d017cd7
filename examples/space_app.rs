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
//! Without `SPACE_ID` and without credentials it runs in mock mode: the login route signs in a
//! mock user (`HF_AUTH_MOCK_USER`, `HF_AUTH_MOCK_ORGS`, `HF_AUTH_MOCK_SCOPES`), no network needed.

use std::{io::IsTerminal, net::SocketAddr, process::ExitCode, sync::Arc};

use axum::{
    extract::State,
    http::header::CACHE_CONTROL,
    response::{Html, IntoResponse},
    routing::get,
    Json, Router,
};
use hf_auth_runtime::{
    escape_html as escape, hf_login, require_org, ConfigError, HfAuth, HfUser, ScopeCheck,
};
use serde_json::{json, Value};
use tracing_subscriber::EnvFilter;

// ---------------------------------------------------------------------------------------------
// Protected routes. Each attribute is checked at compile time (a scope typo does not build) and
// lets the handler run only for a user who passes; everyone else gets a redirect to the login
// (browsers), 401/403 JSON (API clients) or a 403 page that says what is missing.
// ---------------------------------------------------------------------------------------------

/// Any signed-in user: their profile as the app sees it.
#[hf_login]
async fn me(user: HfUser) -> Json<Value> {
    let orgs: Vec<Value> = user
        .orgs()
        .iter()
        .map(|o| json!({ "preferred_username": o.handle, "roleInOrg": o.role.map(|r| r.as_str()) }))
        .collect();
    Json(json!({
        "route": "/me",
        "sub": user.id(),
        "preferred_username": user.handle(),
        "name": user.name(),
        "picture": user.avatar_url(),
        "orgs": orgs,
        "scopes": user.scopes(),   // granted by the user, not merely asked for
        "is_pro": user.is_pro(),
    }))
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

/// What the home page needs to know about hf-auth.
struct Links {
    login: String,
    logout: String,
    mock: bool,
}

async fn home(State(links): State<Arc<Links>>, user: Option<HfUser>) -> impl IntoResponse {
    let body = match &user {
        None => signed_out(&links),
        Some(user) => signed_in(&links, user),
    };
    let banner = if links.mock {
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

fn signed_out(links: &Links) -> String {
    format!(
        "<h1>hf-auth demo</h1>\
         <p>Sign in to see what this app learns about you: your profile, your organizations and \
         the permissions you grant.</p>\
         <a class=\"hf-signin\" href=\"{login}\"><span aria-hidden=\"true\">🤗</span>\
         Sign in with Hugging Face</a>",
        login = escape(&links.login),
    )
}

fn signed_in(links: &Links, user: &HfUser) -> String {
    // Everything below comes from the user's profile: escape it all.
    let avatar = match user.avatar_url() {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => format!(
            "<img class=\"avatar\" src=\"{}\" alt=\"\" width=\"64\" height=\"64\">",
            escape(url)
        ),
        _ => "<div class=\"avatar\" aria-hidden=\"true\">🤗</div>".to_owned(),
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
                    "<li><b>{}</b> <span class=\"muted\">{role}</span></li>",
                    escape(&o.handle)
                )
            })
            .collect()
    };
    let scopes: String = user
        .scopes()
        .iter()
        .map(|s| format!("<code>{}</code> ", escape(s)))
        .collect();
    format!(
        "<div class=\"who\">{avatar}<div><h1>{name}</h1><p class=\"muted\">@{handle}</p></div></div>\
         <h2>Organizations</h2><ul>{orgs}</ul>\
         <h2>Granted scopes</h2><p>{scopes}</p>\
         <h2>Try the protected routes</h2><ul class=\"routes\">\
         <li><a href=\"/me\">/me</a> any signed-in user</li>\
         <li><a href=\"/write\">/write</a> scope <code>write-repos</code> (includes <code>read-repos</code>)</li>\
         <li><a href=\"/manage\">/manage</a> scope <code>manage-repos</code> (never asked for: 403)</li>\
         <li><a href=\"/acme\">/acme</a> member of <code>acme</code></li>\
         <li><a href=\"/acme/admin\">/acme/admin</a> admin of <code>acme</code></li></ul>\
         <a class=\"button\" href=\"{logout}\">Sign out</a>",
        name = escape(name),
        handle = escape(user.handle()),
        logout = escape(&links.logout),
    )
}

const CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f9fafb;color:#111827}\
main{max-width:36rem;margin:8vh auto;padding:2rem;background:#fff;border:1px solid #e5e7eb;border-radius:14px}\
@media(max-width:40rem){main{margin:0;border:0;border-radius:0;min-height:100vh}}\
h1{font-size:1.4rem;margin:0}h2{font-size:1rem;margin:1.6rem 0 .5rem;color:#374151}\
p,li{line-height:1.6}ul{padding-left:1.2rem;margin:0}a{color:#2563eb}\
code{background:#f3f4f6;padding:.05em .35em;border-radius:4px;font-size:.9em}\
.muted{color:#6b7280}.mock{background:#fef3c7;color:#92400e;padding:.4rem .8rem;border-radius:8px;margin-top:0}\
.who{display:flex;gap:1rem;align-items:center}.who p{margin:0}\
.avatar{width:64px;height:64px;border-radius:50%;background:#fde68a;display:grid;place-items:center;font-size:2rem;flex:none;object-fit:cover}\
.hf-signin{display:inline-flex;align-items:center;gap:.5rem;margin-top:.5rem;padding:.6rem 1.2rem;\
border-radius:9999px;background:#000;color:#fff;font-weight:600;text-decoration:none}\
.hf-signin:hover,.hf-signin:focus{background:#1f2937}.hf-signin span{font-size:1.3em;line-height:1}\
.button{display:inline-block;margin-top:1.6rem;padding:.5rem 1rem;border:1px solid #d1d5db;border-radius:8px;\
color:#111827;text-decoration:none}.button:hover{background:#f3f4f6}";

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

    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A configuration error (exit code 2) names the variable and the fix: no backtrace.
            eprintln!("error: {e}");
            ExitCode::from(if e.is::<ConfigError>() { 2 } else { 1 })
        }
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
    let auth = config.build().await?;
    // The runtime's scope check names handlers; say which route that is (remove with /manage).
    if !auth.scopes().iter().any(|s| s == "manage-repos") {
        tracing::warn!("/manage requires the scope manage-repos, which OAUTH_SCOPES does not ask for: signed-in users get 403 there");
    }

    let links = Arc::new(Links {
        login: auth.login_path().to_owned(),
        logout: auth.logout_path().to_owned(),
        mock: auth.is_mock(),
    });
    let app = Router::new()
        .route("/", get(home))
        .route("/me", get(me))
        .route("/write", get(write))
        .route("/manage", get(manage))
        .route("/acme", get(acme))
        .route("/acme/admin", get(acme_admin))
        .with_state(links);
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
