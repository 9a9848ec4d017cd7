// Needs axum's `macros` feature. Our attribute goes ABOVE `#[axum::debug_handler]`, so it
// expands first and debug_handler checks the handler with its guard parameter.
use axum::{
    extract::{Path, State},
    routing::post,
    Json, Router,
};
use hf_auth_runtime::{hf_login, require_org, HfUser};

#[derive(Clone)]
struct App;

#[hf_login(scopes = "write-repos")]
#[axum::debug_handler]
async fn update(
    State(_app): State<App>,
    Path(id): Path<u32>,
    user: HfUser,
    Json(v): Json<serde_json::Value>,
) -> String {
    format!("{id} {} {v}", user.handle())
}

#[require_org("acme")]
#[hf_login]
#[axum::debug_handler(state = App)]
async fn members(Json(v): Json<serde_json::Value>) -> String {
    v.to_string()
}

fn main() {
    let _app: Router = Router::new()
        .route("/{id}", post(update))
        .route("/members", post(members))
        .with_state(App);
}
