//! The servers of the load benchmark (`scripts/bench-load.sh`, see BENCHMARKS.md). Loopback only.
//!
//! ```text
//! load-bench hf [--mint N FILE]   # A: GET /me behind #[hf_login] (mock mode)
//!                                 # B: GET /me-open, the same handler without protection
//!                                 # D: GET /me-token, the same #[hf_login] handler for API
//!                                 #    clients (real mode at an in-process test provider)
//!                                 # E, F: GET /me-stored, /me-stored-nocache, A's handler with
//!                                 #    server-side sessions in the Redis at BENCH_REDIS_URL, with
//!                                 #    and without the replica cache (only when it is set)
//! load-bench login                # C: GET /me behind axum-login + tower-sessions (MemoryStore),
//!                                 #    POST /login signs the one user in
//! ```
//!
//! Each binds `127.0.0.1:0` and prints `listening on http://ADDR` as its first stdout line. `hf`
//! then prints `cookie: ...`, a valid session cookie for A; with `--mint N FILE` it first writes
//! N distinct session cookies (N different users), one `Cookie` header value per line, to FILE.
//! It also prints `token: ...`, a Hugging Face token D accepts: minted by the test kit's
//! provider and checked once with its whoami before the server listens, so every request of a
//! run is a cached check (the cache trusts it for an hour, the longest TTL).
//! The Tokio runtime has one worker per CPU the process may run on (`taskset` sets that).

use std::{
    collections::HashMap, convert::Infallible, fmt, io::Write, process::ExitCode, sync::Arc,
};

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend};
use hf_auth_runtime::{hf_login, testing, HfAuth, HfUser, MockUser};
use serde_json::{json, Value};
use tower_sessions::{MemoryStore, SessionManagerLayer};

/// The scopes the app asks for and every user here granted: the mock user's and B's and C's
/// users', and those of D's fine-grained token (which grants `read-memberships` with any
/// permission), so that all four routes answer the same JSON, byte for byte but the `sub`.
const SCOPES: &str = "openid profile read-memberships read-repos";

/// What `/me` answers in all three apps: the same JSON from the signed-in user's profile.
fn profile(
    id: &str,
    handle: &str,
    name: Option<&str>,
    orgs: usize,
    scopes: Vec<&str>,
) -> Json<Value> {
    Json(json!({
        "route": "/me",
        "sub": id,
        "preferred_username": handle,
        "name": name,
        "orgs": orgs,
        "scopes": scopes,
    }))
}

// ---------------------------------------------------------------------------------------------
// A and B: hf-auth.
// ---------------------------------------------------------------------------------------------

/// A: any signed-in user.
#[hf_login]
async fn me(user: HfUser) -> Json<Value> {
    profile(
        user.id(),
        user.handle(),
        user.name(),
        user.orgs().len(),
        user.scopes(),
    )
}

/// B: the same handler, without protection (a fixed user of the same shape).
async fn me_open() -> Json<Value> {
    profile(
        "5e0b1c5b4d2e6f7a8b9c0d1e",
        "dev-user",
        Some("Dev User"),
        0,
        SCOPES.split(' ').collect(),
    )
}

async fn serve_hf(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let auth = HfAuth::builder()
        .scopes(SCOPES)
        .mock_user(MockUser::default())
        .build()
        .await?;
    if let [flag, n, file] = args {
        if flag != "--mint" {
            return Err(format!("unknown option {flag}").into());
        }
        let n: usize = n.parse()?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
        for i in 0..n {
            let user = MockUser::new(format!("user-{i:06}")).name(format!("User {i}"));
            writeln!(out, "{}", testing::session_cookie(&auth, &user))?;
        }
        out.flush()?;
        eprintln!("minted {n} distinct session cookies into {file}");
    } else if !args.is_empty() {
        return Err("usage: load-bench hf [--mint N FILE]".into());
    }
    // D: a bearer check is the same in mock and real mode only up to the cache lookup (mock
    // mode compares with its one token), so D is a real-mode app at the kit's provider.
    let provider = testing::TestProvider::start().await;
    let api = provider
        .app_config("http://127.0.0.1:7860")
        .scopes(SCOPES)
        .scope_check(hf_auth_runtime::ScopeCheck::Off)
        .token_cache_ttl(std::time::Duration::from_secs(3600))
        .build()
        .await?;
    // The mock user's twin (handle and name) with a token granting the same scopes
    // (`repo.content.read` is `read-repos`, and every fine-grained token grants
    // `read-memberships`), so /me-token answers the JSON of A's shape and size.
    let mut twin = testing::TestUser::new(MockUser::default().handle());
    twin.name = "Dev User".into();
    let token = provider.mint_token(
        &twin,
        testing::TokenKind::fine_grained(&["repo.content.read"]),
    );
    // `attach` layers only the routes given to it: /me-open, merged afterwards, runs without
    // hf-auth's layers, as in an app that does not use hf-auth at all.
    let protected = auth.attach(Router::new().route("/me", get(me)));
    let api_protected = Router::new().route("/me-token", get(me)).layer(api.layer());
    let mut app = Router::new()
        .route("/me-open", get(me_open))
        .merge(protected)
        .merge(api_protected);
    // E and F: server-side sessions in the Redis at BENCH_REDIS_URL (bench-common.sh starts
    // one with STORE=1), E with each replica's cache, F asking Redis on every request.
    let mut stored_cookies = Vec::new();
    if let Ok(url) = std::env::var("BENCH_REDIS_URL") {
        for (path, cache) in [("/me-stored", true), ("/me-stored-nocache", false)] {
            let stored = HfAuth::builder()
                .scopes(SCOPES)
                .mock_user(MockUser::default())
                .session_store(url.clone())
                .session_store_cache(cache)
                .build()
                .await?;
            stored_cookies.push((path, testing::sign_in(&stored, &MockUser::default()).await));
            app = app.merge(Router::new().route(path, get(me)).layer(stored.layer()));
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!(
        "cookie: {}",
        testing::session_cookie(&auth, &MockUser::default())
    );
    for (path, cookie) in &stored_cookies {
        println!("stored-cookie {path}: {cookie}");
    }
    // Checked once now (one whoami call); the runs are cached checks.
    let addr = listener.local_addr()?;
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    warm_token(addr, &token).await?;
    println!("token: {token}");
    serving.await??;
    drop(provider);
    Ok(())
}

/// Sends one `GET /me-token` with `token` to the server at `addr` and expects 200 (HTTP/1.1 by
/// hand, to need no HTTP client here).
async fn warm_token(
    addr: std::net::SocketAddr,
    token: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "GET /me-token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut answer),
    )
    .await??;
    if !answer.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "/me-token does not accept the minted token: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        )
        .into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// C: axum-login + tower-sessions with a MemoryStore.
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct User {
    id: i64,
    sub: String,
    handle: String,
    name: String,
    scopes: Vec<String>,
    /// What axum-login compares on every request to tell whether the session is still valid
    /// (usually the password hash).
    auth_hash: Vec<u8>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AuthUser for User {
    type Id = i64;
    fn id(&self) -> i64 {
        self.id
    }
    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

#[derive(Clone)]
struct Users(Arc<HashMap<i64, User>>);

impl AuthnBackend for Users {
    type User = User;
    type Credentials = i64;
    type Error = Infallible;

    async fn authenticate(&self, id: i64) -> Result<Option<User>, Infallible> {
        Ok(self.0.get(&id).cloned())
    }

    async fn get_user(&self, id: &i64) -> Result<Option<User>, Infallible> {
        Ok(self.0.get(id).cloned())
    }
}

/// C: the same check, "signed in?", and the same answer.
async fn me_login(auth: AuthSession<Users>) -> Response {
    match &auth.user {
        Some(u) => profile(
            &u.sub,
            &u.handle,
            Some(&u.name),
            0,
            u.scopes.iter().map(String::as_str).collect(),
        )
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// Signs user 1 in (no password: the bench measures sessions, not password hashing).
async fn login(mut auth: AuthSession<Users>) -> StatusCode {
    match auth.authenticate(1).await {
        Ok(Some(user)) if auth.login(&user).await.is_ok() => StatusCode::NO_CONTENT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn serve_login() -> Result<(), Box<dyn std::error::Error>> {
    let user = User {
        id: 1,
        sub: "5e0b1c5b4d2e6f7a8b9c0d1e".into(),
        handle: "dev-user".into(),
        name: "Dev User".into(),
        scopes: SCOPES.split(' ').map(str::to_owned).collect(),
        auth_hash: b"0123456789abcdef0123456789abcdef".to_vec(),
    };
    let users = Users(Arc::new(HashMap::from([(user.id, user)])));
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let app = Router::new()
        .route("/me", get(me_login))
        .route("/login", post(login))
        .layer(AuthManagerLayerBuilder::new(users, sessions).build());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // One worker per CPU this process may use: `taskset -c 0` gives one.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let result = match args.first().map(String::as_str) {
        Some("hf") => runtime.block_on(serve_hf(&args[1..])),
        Some("login") if args.len() == 1 => runtime.block_on(serve_login()),
        _ => Err("usage: load-bench hf [--mint N FILE] | load-bench login".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
