use axum::{routing::get, routing::post, Router};
use hf_auth_runtime::{hf_login, require_org, HfUser};

#[hf_login(accept = "token")]
async fn api(user: HfUser) -> String {
    user.handle().to_owned()
}

#[hf_login(accept = "session", scopes = "read-repos")]
async fn page() {}

#[hf_login(accept = "any", cross_site = "refuse")]
async fn explicit_defaults() {}

// A webhook that another site posts to: it checks its own signature.
#[hf_login(cross_site = "allow")]
async fn webhook(body: String) -> String {
    format!("{} bytes", body.len())
}

#[hf_login(pro)]
async fn pro() {}

#[hf_login(scopes("read-billing"), can_pay, pro)]
async fn billing() {}

// Stacked attributes may repeat `accept` with the same value.
#[require_org("acme", accept = "session", cross_site = "allow")]
#[hf_login(accept = "session")]
async fn members() {}

fn main() {
    let _app: Router = Router::new()
        .route("/api", get(api))
        .route("/page", get(page))
        .route("/defaults", get(explicit_defaults))
        .route("/webhook", post(webhook))
        .route("/pro", get(pro))
        .route("/billing", get(billing))
        .route("/members", get(members));
}
