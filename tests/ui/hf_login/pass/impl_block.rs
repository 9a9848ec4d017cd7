use axum::{extract::Path, routing::get, Router};
use hf_auth_runtime::{handlers, hf_login, require_org, HfUser};

pub struct Api;

#[handlers]
impl Api {
    #[hf_login(scopes = "read-repos")]
    pub async fn models(user: HfUser) -> String {
        user.handle().to_owned()
    }

    #[require_org("acme", role = "write")]
    async fn repo(Path(name): Path<String>, user: HfUser) -> String {
        format!("{} {name}", user.handle())
    }

    fn helper() -> u8 {
        1
    }
}

fn main() {
    let _ = Api::helper();
    let _app: Router = Router::new()
        .route("/models", get(Api::models))
        .route("/repos/{name}", get(Api::repo));
}
