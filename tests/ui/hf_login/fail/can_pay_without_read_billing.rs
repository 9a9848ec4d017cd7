use hf_auth_runtime::hf_login;

#[hf_login(scopes = "read-repos", can_pay)]
async fn handler() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(handler));
}
