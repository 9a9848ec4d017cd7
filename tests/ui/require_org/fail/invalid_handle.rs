use hf_auth_runtime::require_org;

#[require_org("acme corp")]
async fn dashboard() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(dashboard));
}
