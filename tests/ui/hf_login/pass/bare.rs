use axum::{routing::get, Router};
use hf_auth_runtime::{hf_login, HfUser};

/// Any signed-in user.
#[hf_login]
async fn me(user: HfUser) -> String {
    user.handle().to_owned()
}

/// No parameters at all besides the guard.
#[hf_login()]
async fn ping() -> &'static str {
    "pong"
}

fn main() {
    let _app: Router = Router::new()
        .route("/me", get(me))
        .route("/ping", get(ping));
}
