// The runtime under another name, as with `auth = { package = "hf-auth-runtime" }`.
extern crate hf_auth_runtime as auth;

use axum::{routing::get, Router};

#[auth::hf_login(scopes = "read-repos", crate = "auth")]
async fn list() {}

#[auth::require_org("acme", crate = "::auth")]
async fn dashboard() {}

fn main() {
    let _app: Router = Router::new()
        .route("/list", get(list))
        .route("/dashboard", get(dashboard));
}
