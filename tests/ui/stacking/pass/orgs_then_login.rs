use axum::{routing::get, Router};

// Path-qualified attributes, ours mixed with others, `require_org` outermost.
#[hf_auth_runtime::require_org("acme", role = "admin")]
#[doc = "Admins of acme who granted `manage-repos`."]
#[hf_auth_runtime::hf_login(scopes("manage-repos"))]
#[allow(unused_variables)]
#[hf_auth_runtime::require_org("acme-labs", role = "contributor")]
async fn settings() -> &'static str {
    let unused = 1;
    "settings"
}

fn main() {
    let _app: Router = Router::new().route("/settings", get(settings));
}
