// Needs utoipa's `axum_extras` (a dev-dependency). `#[utoipa::path]` below ours reads the
// parameters as written: ours then makes the guard a parameter of its own, `_`, which utoipa-gen
// skips (paired with an extractor, `(_, pat): (Guarded<G>, Ty)`, utoipa-gen cannot read it).
// Above ours, utoipa-gen expands first and sees the handler as written. tests/openapi.rs checks
// the document and that the routes stay guarded.
use axum::{
    extract::{Path, State},
    Json, Router,
};
use hf_auth_runtime::{hf_login, require_org, HfUser};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Clone)]
struct App;

#[hf_login(scopes = "write-repos")]
#[utoipa::path(post, path = "/repos/{id}", responses((status = 200, body = String)))]
async fn ours_above(
    State(_app): State<App>,
    Path(id): Path<u32>,
    user: HfUser,
    Json(v): Json<serde_json::Value>,
) -> String {
    format!("{id} {} {v}", user.handle())
}

#[utoipa::path(get, path = "/orgs/{org}", responses((status = 200)))]
#[require_org(param = "org")]
async fn utoipa_above(Path(org): Path<String>, user: HfUser) -> String {
    format!("{} {org}", user.handle())
}

// A stack of ours above, and `#[axum::debug_handler]` below everything.
#[require_org("acme")]
#[hf_login]
#[utoipa::path(get, path = "/state", responses((status = 200)))]
#[axum::debug_handler]
async fn state_only(State(_app): State<App>) -> &'static str {
    "ok"
}

fn main() {
    let (_router, _api): (Router, _) = OpenApiRouter::new()
        .routes(routes!(ours_above))
        .routes(routes!(utoipa_above))
        .routes(routes!(state_only))
        .with_state(App)
        .split_for_parts();
}
