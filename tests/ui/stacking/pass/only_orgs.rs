use axum::{routing::get, Router};
use hf_auth_runtime::require_org;

// `require_org` implies login; several of them must all hold.
#[require_org("acme")]
#[require_org("acme-labs", role = "write")]
#[require_org("acme-research", role = "read")]
async fn cross_team() {}

fn main() {
    let _app: Router = Router::new().route("/", get(cross_team));
}
