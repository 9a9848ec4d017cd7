use axum::{routing::get, Router};
use hf_auth_runtime::hf_login;

#[hf_login(scopes("read-repos", "gated-repos",), extra_scopes = "future-scope")]
async fn models() -> &'static str {
    "models"
}

// Only the escape hatch.
#[hf_login(extra_scopes("future:scope", "another.scope_2"))]
async fn future() {}

fn main() {
    let _app: Router = Router::new()
        .route("/models", get(models))
        .route("/future", get(future));
}
