use axum::Json;
use hf_auth_runtime::{hf_login, HfUser};

#[hf_login]
async fn create(Json(v): Json<serde_json::Value>, user: HfUser) -> String {
    format!("{} {v}", user.handle())
}

fn main() {
    let _app: axum::Router = axum::Router::new().route("/", axum::routing::post(create));
}
