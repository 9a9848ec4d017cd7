//! A test kit for apps that use hf-auth (feature `testing`): an in-process OpenID provider
//! that behaves like huggingface.co's, and session cookies for handler tests that need no flow.
//!
//! ```
//! use axum::{body::Body, http::Request, routing::get, Router};
//! use hf_auth_runtime::{testing, HfAuth, HfUser, MockUser, Role};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! async fn me(user: HfUser) -> String { user.handle().to_owned() }
//!
//! let auth = HfAuth::builder().mock_user(MockUser::default()).build().await.unwrap();
//! let app = auth.attach(Router::new().route("/me", get(me)));
//! let cookie = testing::session_cookie(&auth, &MockUser::new("alice").org("acme", Role::Admin));
//! let response = app
//!     .oneshot(Request::get("/me").header("cookie", cookie).body(Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), 200);
//! # }
//! ```

mod provider;
#[cfg(feature = "redis")]
mod redis_server;

use std::time::Duration;

pub use provider::{
    AuthorizeRequest, Consent, Fault, TestOrg, TestProvider, TestUser, TokenKind, WhoamiFault,
};
#[cfg(feature = "redis")]
pub use redis_server::{RedisServer, RedisServerError};

use crate::{config::HfAuth, mock::MockUser, session};

/// A `Cookie` header value holding a valid session for `user` (granted `user`'s scopes, or the
/// app's), sealed with `auth`'s key: send it with requests to test protected handlers.
pub fn session_cookie(auth: &HfAuth, user: &MockUser) -> String {
    session_cookie_with(auth, user, |_| {})
}

/// A session cookie whose access token expired `ago` (and with no refresh token): the guards
/// must treat it as signed out.
pub fn expired_session_cookie(auth: &HfAuth, user: &MockUser, ago: Duration) -> String {
    session_cookie_with(auth, user, |s| {
        s.expires_at = session::now_unix().saturating_sub(ago.as_secs().max(1));
    })
}

/// A `Cookie` header value holding a valid session for `user`, in either session mode: with a
/// session store ([`HfAuthBuilder::session_store`](crate::HfAuthBuilder::session_store)) the
/// session is stored there and the cookie holds its id; otherwise as [`session_cookie`].
///
/// # Panics
/// When the session store cannot be reached (a test set-up error).
pub async fn sign_in(auth: &HfAuth, user: &MockUser) -> String {
    let data = session::SessionData::mock(user, &auth.state.scopes, auth.state.session_lifetime);
    let set = session::begin(&auth.state, &axum::http::HeaderMap::new(), &data)
        .await
        .unwrap_or_else(|e| panic!("testing::sign_in could not store the session: {e}"));
    set.iter()
        .filter_map(|h| {
            let pair = h.to_str().ok()?.split(';').next()?;
            let (name, value) = pair.split_once('=')?;
            (!value.is_empty()).then(|| format!("{name}={value}"))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// How many sessions of `auth` have a [`SessionEnd`](crate::SessionEnd) watching them on this
/// process: 0 once every stream that watched one has ended or been dropped (a leak check).
pub fn watched_sessions(auth: &HfAuth) -> usize {
    auth.state.session_ends.watched_sessions()
}

fn session_cookie_with(
    auth: &HfAuth,
    user: &MockUser,
    edit: impl FnOnce(&mut session::SessionData),
) -> String {
    assert!(
        !auth.has_session_store(),
        "this app keeps its sessions in a session store, where a cookie holds only an id: use `testing::sign_in(&auth, &user).await`"
    );
    let mut data =
        session::SessionData::mock(user, &auth.state.scopes, auth.state.session_lifetime);
    edit(&mut data);
    session::encode(&auth.state.key, &data, auth.state.policy.session_names())
        .expect("a test session fits in cookies")
        .into_iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}
