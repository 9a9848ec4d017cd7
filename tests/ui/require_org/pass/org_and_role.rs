use axum::{routing::get, Router};
use hf_auth_runtime::{require_org, HfUser};

#[require_org("acme")]
async fn any_member(user: HfUser) -> String {
    user.handle().to_owned()
}

#[require_org("acme", role = "read")]
async fn readers() {}

#[require_org("Hugging-Face_1.x", role = "contributor")]
async fn contributors() {}

#[require_org("acme", role = "write")]
async fn writers() {}

#[require_org("acme", role = "admin")]
async fn admins() {}

fn main() {
    let _app: Router = Router::new()
        .route("/a", get(any_member))
        .route("/b", get(readers))
        .route("/c", get(contributors))
        .route("/d", get(writers))
        .route("/e", get(admins));
}
