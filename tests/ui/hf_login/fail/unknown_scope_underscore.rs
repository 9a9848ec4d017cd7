use hf_auth_runtime::hf_login;

#[hf_login(scopes("inference-api", "write_repos"))]
async fn upload() {}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(upload));
}
