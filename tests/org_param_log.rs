//! A `#[require_org(param = ...)]` route whose path has no such parameter is logged as an error
//! once, not once per request. In a test binary of its own: the "once" is process-wide, and
//! tracing's per-callsite interest is shared by every thread of the process, so a test running
//! beside it could spend or hide the one line.

mod common;

use axum::{
    http::{Method, StatusCode},
    routing::get,
    Router,
};
use common::oneshot::call;
use hf_auth_runtime::{require_org, testing, HfAuth, MockUser, Role};

#[require_org(param = "org")]
async fn misplaced() -> &'static str {
    "never"
}

/// What the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn org_param_missing_is_logged_once() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::ERROR)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let auth = HfAuth::builder().build().await.unwrap();
    let app = auth.attach(Router::new().route("/teams/{team}", get(misplaced)));
    let cookie = testing::session_cookie(&auth, &MockUser::new("x").org("acme", Role::Admin));
    for _ in 0..3 {
        let r = call(
            &app,
            Method::GET,
            "/teams/acme",
            &[("cookie", &cookie), ("accept", "application/json")],
            "",
        )
        .await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        log.matches("has no path parameter `{org}`").count(),
        1,
        "{log}"
    );
    assert!(log.contains("/teams/{team}"), "{log}");
}
