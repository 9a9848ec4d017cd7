use hf_auth_runtime::require_org;

#[require_org(param = "my-org")]
async fn handler() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/orgs/{org}", axum::routing::get(handler));
}
