use axum::{
    extract::{Path, Query, State},
    http::Method,
    routing::{get, post},
    Json, Router,
};
use hf_auth_runtime::{hf_login, HfUser};
use std::collections::HashMap;

#[derive(Clone)]
struct App {
    name: &'static str,
}

mod routes {
    use super::*;

    // `pub` handler: the guard type is `pub` too, so no private-type-in-public-interface lint.
    #[hf_login(scopes = "write-discussions")]
    pub async fn comment(
        State(app): State<App>,
        Path((owner, repo)): Path<(String, String)>,
        Query(q): Query<HashMap<String, String>>,
        user: HfUser,
        Json(body): Json<serde_json::Value>,
    ) -> Json<serde_json::Value> {
        Json(serde_json::json!({
            "app": app.name, "repo": format!("{owner}/{repo}"), "by": user.handle(),
            "q": q.len(), "body": body,
        }))
    }

    #[hf_login]
    pub(crate) async fn optional_user(user: Option<HfUser>, State(app): State<App>) -> String {
        format!("{} {}", app.name, user.is_some())
    }
}

// axum's most extractors: the guard rides in the first one, so the handler keeps its 16.
#[hf_login]
#[allow(clippy::too_many_arguments)]
async fn sixteen(
    _: Method, _: Method, _: Method, _: Method, _: Method, _: Method, _: Method, _: Method,
    _: Method, _: Method, _: Method, _: Method, _: Method, _: Method, _: Method, user: HfUser,
) -> String {
    user.handle().to_owned()
}

fn main() {
    let _app: Router = Router::new()
        .route("/{owner}/{repo}/comment", post(routes::comment))
        .route("/me", get(routes::optional_user))
        .route("/sixteen", get(sixteen))
        .with_state(App { name: "demo" });
}
