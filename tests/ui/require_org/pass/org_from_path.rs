use axum::{extract::Path, routing::get, Router};
use hf_auth_runtime::{hf_login, require_org, HfUser};

#[require_org(param = "org")]
async fn org_page(Path(org): Path<String>, user: HfUser) -> String {
    format!("{} in {org}", user.handle())
}

// With a role, stacked with a literal org and scopes.
#[hf_login(scopes = "read-repos")]
#[require_org(param = "org", role = "admin")]
#[require_org("acme")]
async fn settings() {}

fn main() {
    let _app: Router = Router::new()
        .route("/orgs/{org}", get(org_page))
        .route("/orgs/{org}/settings", get(settings));
}
