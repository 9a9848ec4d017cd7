//! The app's hook at sign-in and sign-out (`HfAuthBuilder::on_session_change`), with a real
//! `tower-sessions` layer around the app, as the composing guide shows it: what the app kept
//! for the browser before a login is gone after it (it may have been another user's), the
//! same at logout; the hook's own answer parts (a cookie of the app) reach the browser; a
//! logout that ended nothing calls nothing.

mod common;

use std::sync::{Arc, Mutex};

use axum::{
    extract::{FromRequestParts, Query},
    http::{header::SET_COOKIE, request::Parts},
    response::AppendHeaders,
    routing::get,
    Router,
};
use common::{location, Browser};
use hf_auth_runtime::{testing::TestProvider, HfAuth, HfAuthBuilder, ScopeCheck, SessionChange};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

type Events = Arc<Mutex<Vec<String>>>;

#[derive(serde::Deserialize)]
struct Note {
    v: String,
}

/// The app's own data for this browser: a note in its `tower-sessions` session.
async fn set_note(session: Session, Query(note): Query<Note>) -> &'static str {
    session.insert("note", note.v).await.unwrap();
    "kept"
}

async fn get_note(session: Session) -> String {
    session
        .get::<String>("note")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The hook under test: a login starts the app's session afresh (a new id, nothing of the
/// browser's previous user), a logout ends it; both remove the app's own `app_pref` cookie.
fn with_hook(builder: HfAuthBuilder, events: Events) -> HfAuthBuilder {
    builder.on_session_change(move |change: SessionChange, mut parts: Parts| {
        let events = events.clone();
        async move {
            let session = Session::from_request_parts(&mut parts, &())
                .await
                .expect("the session layer wraps hf-auth's routes");
            let event = match change {
                SessionChange::SignedIn(user) => {
                    session.clear().await;
                    session.cycle_id().await.unwrap();
                    session.insert("owner", user.id()).await.unwrap();
                    format!("in:{}", user.handle())
                }
                SessionChange::SignedOut(user) => {
                    session.flush().await.unwrap();
                    format!(
                        "out:{}",
                        user.map_or("-".to_owned(), |u| u.handle().to_owned())
                    )
                }
                _ => "other".to_owned(),
            };
            events.lock().unwrap().push(event);
            AppendHeaders([(SET_COOKIE, "app_pref=; Max-Age=0; Path=/")])
        }
    })
}

async fn serve(builder: HfAuthBuilder) -> (String, HfAuth) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let auth = builder
        .public_url(&base)
        .scopes("openid profile")
        .scope_check(ScopeCheck::Off)
        .build()
        .await
        .expect("the app starts");
    let router = Router::new()
        .route("/note", get(get_note))
        .route("/note/set", get(set_note));
    // The session layer outside hf-auth's routes, so the hook finds the session.
    let app = auth
        .attach(router)
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, auth)
}

async fn note(browser: &mut Browser, base: &str) -> String {
    let r = browser.get(&format!("{base}/note")).await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

async fn keep_note(browser: &mut Browser, base: &str, v: &str) {
    let r = browser.get(&format!("{base}/note/set?v={v}")).await;
    assert_eq!(r.status(), 200);
    assert!(browser.jar.contains_key("id"), "no tower-sessions cookie");
}

/// A login through the test provider, to the callback's answer.
async fn login(browser: &mut Browser, base: &str) -> reqwest::Response {
    let r = browser
        .get(&format!("{base}/oauth/huggingface/login"))
        .await;
    let r = browser.get(&location(&r)).await;
    browser.get(&location(&r)).await
}

/// Whether an answer since the browser had seen `from` cookies removed the app's own cookie.
fn removed_app_pref(browser: &Browser, from: usize) -> bool {
    browser.set_cookies[from..]
        .iter()
        .any(|c| c.starts_with("app_pref=;"))
}

#[tokio::test]
async fn a_login_and_a_logout_through_the_provider_start_and_end_the_apps_session() {
    let provider = TestProvider::start().await;
    let events = Events::default();
    let (base, _auth) = serve(with_hook(
        provider.app_config("http://unused"),
        events.clone(),
    ))
    .await;
    let mut browser = Browser::new();

    // Before the login: what the browser's previous user left.
    keep_note(&mut browser, &base, "left-by-someone-else").await;
    assert_eq!(note(&mut browser, &base).await, "left-by-someone-else");
    let id_before = browser.jar["id"].clone();

    let seen = browser.set_cookies.len();
    let r = login(&mut browser, &base).await;
    assert_eq!(location(&r), "/");
    assert!(browser.has_session(), "no hf-auth session");
    assert!(
        removed_app_pref(&browser, seen),
        "{:?}",
        browser.set_cookies
    );
    assert_ne!(
        browser.jar["id"], id_before,
        "the app's session id was not cycled"
    );
    assert_eq!(
        note(&mut browser, &base).await,
        "",
        "the note survived the login"
    );
    assert_eq!(*events.lock().unwrap(), ["in:test-user"]);

    keep_note(&mut browser, &base, "mine").await;
    assert_eq!(note(&mut browser, &base).await, "mine");

    // A logout another site posts ends nothing, so it is no change and calls nothing.
    let refused = reqwest::Client::new()
        .post(format!("{base}/oauth/huggingface/logout"))
        .header("cookie", browser.cookie_header())
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(events.lock().unwrap().len(), 1);

    let seen = browser.set_cookies.len();
    let r = browser
        .get(&format!("{base}/oauth/huggingface/logout"))
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    assert!(
        !browser.has_session(),
        "the hf-auth session was not cleared"
    );
    assert!(
        removed_app_pref(&browser, seen),
        "{:?}",
        browser.set_cookies
    );
    assert_eq!(
        note(&mut browser, &base).await,
        "",
        "the note survived the logout"
    );
    assert_eq!(*events.lock().unwrap(), ["in:test-user", "out:test-user"]);

    // A logout without a session is a sign-out of nobody.
    browser
        .get(&format!("{base}/oauth/huggingface/logout"))
        .await;
    assert_eq!(events.lock().unwrap()[2], "out:-");
}

#[tokio::test]
async fn the_mock_login_calls_the_hook_too() {
    let events = Events::default();
    let (base, auth) = serve(with_hook(HfAuth::builder().mock(true), events.clone())).await;
    assert!(auth.is_mock());
    let mut browser = Browser::new();
    keep_note(&mut browser, &base, "before").await;
    let r = browser
        .get(&format!("{base}/oauth/huggingface/login"))
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    assert!(browser.has_session());
    assert_eq!(note(&mut browser, &base).await, "");
    assert_eq!(*events.lock().unwrap(), ["in:dev-user"]);
}

#[tokio::test]
async fn without_a_hook_nothing_of_the_apps_session_changes() {
    // The control: the same app without the hook keeps the note across a login, so the test
    // above sees the hook's work and not something hf-auth does anyway.
    let provider = TestProvider::start().await;
    let (base, _auth) = serve(provider.app_config("http://unused")).await;
    let mut browser = Browser::new();
    keep_note(&mut browser, &base, "kept").await;
    login(&mut browser, &base).await;
    assert!(browser.has_session());
    assert_eq!(note(&mut browser, &base).await, "kept");
    assert!(!removed_app_pref(&browser, 0));
}
