#![deny(warnings, missing_docs)]
//! Our attributes among others, on `pub` items of a documented crate.

use axum::{routing::get, Router};
use hf_auth_runtime::{hf_login, require_org};

/// Documented handler; `tracing::instrument` and `allow` keep working.
#[hf_login(scopes = "read-repos")]
#[tracing::instrument(skip_all)]
#[allow(clippy::unused_async)]
pub async fn traced() -> &'static str {
    tracing::info!("inside");
    "ok"
}

/// A handler named with a raw identifier.
#[require_org("acme")]
pub async fn r#type() {}

fn main() {
    // A handler declared inside a function.
    #[hf_login]
    async fn local() {}

    let _app: Router = Router::new()
        .route("/traced", get(traced))
        .route("/type", get(r#type))
        .route("/local", get(local));
}
