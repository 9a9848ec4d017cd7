use hf_auth_runtime::hf_login;

#[hf_login]
async fn page<const N: usize>() -> String {
    N.to_string()
}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(page::<10>));
}
