use axum::Router;
use hf_auth_runtime::{hf_login, HfUser};
use utoipa_axum::{router::OpenApiRouter, routes};

#[axum::debug_handler]
#[hf_login]
#[utoipa::path(get, path = "/me", responses((status = 200)))]
async fn me(user: HfUser) -> String {
    user.handle().to_owned()
}

fn main() {
    let (_router, _api): (Router, _) = OpenApiRouter::new().routes(routes!(me)).split_for_parts();
}

// Does not compile: `#[axum::debug_handler]` above ours, and `#[utoipa::path]` below. Ours
// then makes the guard a parameter of its own (utoipa-gen cannot read it paired with an
// extractor), and debug_handler, which expanded first, calls its copy of the handler without it
// (E0061). Put `#[axum::debug_handler]` below ours, or `#[utoipa::path]` above ours;
// tests/ui/axum_macros/utoipa_path.rs has the forms that work.
