use hf_auth_runtime::require_org;

#[require_org("acme")]
#[require_org("acme", role = "write")]
async fn publish() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(publish));
}
