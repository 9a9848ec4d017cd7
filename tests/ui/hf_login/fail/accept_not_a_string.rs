use hf_auth_runtime::hf_login;

#[hf_login(accept = Token)]
async fn handler() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(handler));
}
