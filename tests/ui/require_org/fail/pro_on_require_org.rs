use hf_auth_runtime::require_org;

#[require_org("acme", pro)]
async fn handler() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(handler));
}
