use hf_auth_runtime::{hf_login, require_org};

#[require_org("acme!")]
#[hf_login(scopes = "write-repo")]
async fn publish() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(publish));
}
