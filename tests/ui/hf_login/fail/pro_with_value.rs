use hf_auth_runtime::hf_login;

#[hf_login(pro = true)]
async fn handler() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(handler));
}
