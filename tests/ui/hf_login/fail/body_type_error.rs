use hf_auth_runtime::{hf_login, HfUser};

#[hf_login(scopes = "read-repos")]
async fn me(user: HfUser) -> String {
    let count: u32 = user.handle();
    count.to_string()
}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(me));
}
