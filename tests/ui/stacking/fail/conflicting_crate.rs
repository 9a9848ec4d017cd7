use hf_auth_runtime::{hf_login, require_org};

#[hf_login(crate = "::hf_auth_runtime")]
#[require_org("acme", crate = "::other_runtime")]
async fn publish() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(publish));
}
