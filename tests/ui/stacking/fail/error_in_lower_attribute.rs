use hf_auth_runtime::{hf_login, require_org};

#[hf_login(scopes = "write-repos")]
#[require_org("acme", role = "writter")]
async fn publish() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(publish));
}
