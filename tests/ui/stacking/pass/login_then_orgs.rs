use axum::{extract::Path, routing::put, Json, Router};
use hf_auth_runtime::{hf_login, require_org, HfUser};

#[hf_login(scopes = "write-repos")]
#[require_org("acme", role = "write")]
#[require_org("acme-labs")]
async fn publish(
    Path(repo): Path<String>,
    user: HfUser,
    Json(body): Json<serde_json::Value>,
) -> String {
    format!("{} published {repo}: {body}", user.handle())
}

fn main() {
    let _app: Router = Router::new().route("/{repo}", put(publish));
}
