// Needs axum's `macros` feature. Our attributes ABOVE `#[axum::debug_handler]`: ours expand
// first and debug_handler checks the handler with the guard in it. Leading `State` parameters
// stay as written, so debug_handler still infers the state's type from them (`update`,
// `admin`). The other order is in debug_handler_above.rs.
use axum::{
    extract::{Path, State},
    routing::post,
    Json, Router,
};
use hf_auth_runtime::{hf_login, require_org, HfUser};

#[derive(Clone)]
struct App(&'static str);

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

#[require_org("acme", role = "admin")]
#[axum::debug_handler]
async fn admin(State(app): State<App>) -> &'static str {
    app.0
}

fn main() {
    let _app: Router = Router::new()
        .route("/{id}", post(update))
        .route("/members", post(members))
        .route("/admin", axum::routing::get(admin))
        .with_state(App("demo"));
}
