use axum::{routing::get, Router};
use hf_auth_runtime::hf_login;

#[axum::debug_handler]
#[hf_login]
async fn secret() -> &'static str {
    "secret"
}

fn main() {
    let _app: Router = Router::new().route("/secret", get(secret));
}

// The one case that does not compile: `#[axum::debug_handler]` above our attribute on a
// handler with no parameter other than `State`. debug_handler expands first and calls a copy of
// the handler with the arguments it had, but the guard rides in a parameter, and with none to
// pair it with ours adds one (E0061). Put `#[axum::debug_handler]` below our attribute, or give
// the handler a parameter (`user: HfUser`); tests/ui/axum_macros/debug_handler_above.rs has the
// forms that work.
