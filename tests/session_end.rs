//! Streams that end with the session (`HfUser::session_end`), with stateless cookie sessions:
//! the test app's `/events` ticks until the session ends, then says why and closes. A logout
//! on this process and the session's end time end it; nothing else does; a stream that goes
//! away leaves nothing watched. With a session store and two replicas: tests/session_store.rs.

mod common;

use std::time::Duration;

use common::{
    app::{start, start_with},
    events::{watched_becomes, Events},
    Browser,
};
use hf_auth_runtime::testing::{watched_sessions, TestProvider, TestUser};

/// Well above the time a logout takes to reach a stream on the same process (microseconds).
const PROMPTLY: Duration = Duration::from_secs(2);

#[tokio::test]
async fn a_logout_ends_the_open_streams_of_that_session_only() {
    let app = start().await;
    let mut browser = Browser::new();
    app.login(&mut browser, "/").await;
    let mut tab = browser.copy();
    let mut second_tab = browser.copy();
    app.provider.set_user(TestUser::new("someone-else"));
    let mut other = Browser::new();
    app.login(&mut other, "/").await;

    let mut stream = Events::open(&mut tab, &app.url("/events")).await;
    let mut same = Events::open(&mut second_tab, &app.url("/events")).await;
    let mut others = Events::open(&mut other, &app.url("/events")).await;
    assert_eq!(
        stream.end_within(Duration::from_millis(1500)).await,
        None,
        "nothing happened: the stream stays open"
    );
    assert!(stream.ticks() >= 5, "it streamed: {} ticks", stream.ticks());
    assert_eq!(watched_sessions(&app.auth), 2);

    let r = browser
        .get(&app.url("/oauth/huggingface/logout?_target_url=/"))
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(
        stream.end_within(PROMPTLY).await.as_deref(),
        Some("logged_out")
    );
    assert_eq!(
        same.end_within(PROMPTLY).await.as_deref(),
        Some("logged_out")
    );
    assert_eq!(
        others.end_within(Duration::from_millis(500)).await,
        None,
        "another user's stream goes on"
    );
    assert!(watched_becomes(&app.auth, 1, PROMPTLY).await);
    drop(others);
    assert!(
        watched_becomes(&app.auth, 0, PROMPTLY).await,
        "a closed stream leaves nothing watched: {}",
        watched_sessions(&app.auth)
    );
}

#[tokio::test]
async fn the_session_end_time_ends_an_open_stream() {
    let app = start_with(TestProvider::start().await, |b| {
        b.session_lifetime(Duration::from_secs(2))
    })
    .await;
    let mut browser = Browser::new();
    app.login(&mut browser, "/").await;
    let mut stream = Events::open(&mut browser, &app.url("/events")).await;
    // The session ends 1 to 2 s after the login (whole seconds).
    assert_eq!(
        stream.end_within(Duration::from_secs(4)).await.as_deref(),
        Some("expired")
    );
    assert!(stream.ticks() >= 1);
    assert!(watched_becomes(&app.auth, 0, PROMPTLY).await);
}

#[tokio::test]
async fn streams_that_go_away_leave_nothing_watched() {
    let app = start().await;
    let mut browser = Browser::new();
    app.login(&mut browser, "/").await;
    let mut streams = Vec::new();
    for _ in 0..40 {
        streams.push(Events::open(&mut browser, &app.url("/events")).await);
    }
    assert_eq!(watched_sessions(&app.auth), 1, "one session, watched once");
    drop(streams);
    assert!(
        watched_becomes(&app.auth, 0, Duration::from_secs(3)).await,
        "closed streams leave nothing watched: {}",
        watched_sessions(&app.auth)
    );
}
