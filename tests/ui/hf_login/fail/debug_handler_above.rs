use axum::{routing::get, Router};
use hf_auth_runtime::{hf_login, HfUser};

#[axum::debug_handler]
#[hf_login]
async fn me(user: HfUser) -> String {
    user.handle().to_owned()
}

fn main() {
    let _app: Router = Router::new().route("/me", get(me));
}

// Not fixed (issue 16.5), recorded: `#[axum::debug_handler]` above our attribute expands first
// and checks the handler with the parameters it had before ours adds the guard, so its call
// has one argument too few (E0061). Put `#[axum::debug_handler]` below our attributes, as in
// tests/ui/axum_macros/debug_handler.rs.
