use axum::{extract::State, routing::get, Router};
use hf_auth_runtime::hf_login;

#[derive(Clone)]
struct App;

#[axum::debug_handler]
#[hf_login]
async fn secret(State(_app): State<App>) -> &'static str {
    "secret"
}

fn main() {
    let _app: Router = Router::new().route("/secret", get(secret)).with_state(App);
}

// The same case as debug_handler_above_no_params.rs, with a `State` parameter only: `State`
// stays as written (so that debug_handler below ours still infers the state's type), so there
// is again no parameter for the guard to ride in, and ours adds one (E0061). Put
// `#[axum::debug_handler]` below our attribute, or take the user (`user: HfUser`).
