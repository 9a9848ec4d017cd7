use hf_auth_runtime::{hf_login, require_org};

#[hf_login(accept = "token")]
#[require_org("acme", accept = "session")]
async fn handler() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(handler));
}
