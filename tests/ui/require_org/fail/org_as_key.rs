use hf_auth_runtime::require_org;

#[require_org(org = "acme")]
async fn dashboard() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(dashboard));
}
