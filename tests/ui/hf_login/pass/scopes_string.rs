use axum::{http::StatusCode, routing::post, Router};
use hf_auth_runtime::{hf_login, HfUser};

// `?` and early `return` keep working: the body and the return type are untouched.
#[hf_login(scopes = "write-repos  inference-api")]
async fn upload(user: HfUser, body: String) -> Result<String, StatusCode> {
    if body.is_empty() {
        return Err(StatusCode::BAD_REQUEST);
    }
    let size: u32 = body
        .len()
        .try_into()
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
    Ok(format!("{} uploaded {size} bytes", user.handle()))
}

fn main() {
    let _app: Router = Router::new().route("/upload", post(upload));
}
