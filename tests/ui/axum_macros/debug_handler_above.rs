// Needs axum's `macros` feature. `#[axum::debug_handler]` ABOVE our attributes expands first: it
// checks the handler as written and calls a copy of it with the parameters it had. Our guard
// rides in the handler's first extractor (after any leading `State`), so the function keeps its
// number of parameters and that call compiles.
use axum::{
    extract::{Path, State},
    routing::{get, post},
    Json, Router,
};
use hf_auth_runtime::{hf_login, require_org, HfUser};

#[derive(Clone)]
struct App;

#[axum::debug_handler]
#[hf_login]
async fn me(user: HfUser) -> String {
    user.handle().to_owned()
}

#[axum::debug_handler]
#[hf_login(scopes = "write-repos")]
async fn update(
    State(_app): State<App>,
    Path(id): Path<u32>,
    user: HfUser,
    Json(v): Json<serde_json::Value>,
) -> String {
    format!("{id} {} {v}", user.handle())
}

#[axum::debug_handler(state = App)]
#[require_org("acme")]
#[hf_login]
async fn members(Json(v): Json<serde_json::Value>) -> String {
    v.to_string()
}

// The guard pairs with the first parameter after the state.
#[axum::debug_handler]
#[require_org("acme", role = "admin")]
async fn admin(State(_app): State<App>, user: HfUser) -> String {
    user.handle().to_owned()
}

fn main() {
    let _app: Router = Router::new()
        .route("/me", get(me))
        .route("/{id}", post(update))
        .route("/members", post(members))
        .route("/admin", get(admin))
        .with_state(App);
}
