//! What the routes and guards share at run time, built once at start-up.

use std::sync::Arc;

use crate::{
    cookies::CookiePolicy, crypto::CookieKey, mock::MockUser, provider::Provider,
    session::SessionCache,
};

pub(crate) enum Backend {
    Real(Box<Provider>),
    /// Mock mode, and whether it was asked for (`HF_AUTH_MOCK=1`, `mock(true)`). Mock mode that
    /// switched on by itself signs in only requests addressed to this machine.
    Mock {
        user: MockUser,
        opted_in: bool,
    },
}

/// The login route's path under the prefix.
pub(crate) const LOGIN: &str = "/oauth/huggingface/login";
/// The callback route's path under the prefix.
pub(crate) const CALLBACK: &str = "/oauth/huggingface/callback";
/// The logout route's path under the prefix.
pub(crate) const LOGOUT: &str = "/oauth/huggingface/logout";

/// The public paths of hf-auth's routes, with the configured prefix.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    /// The prefix (`""` or `/something`).
    pub prefix: String,
    pub login: String,
    pub callback: String,
    pub logout: String,
}

impl Routes {
    pub fn new(prefix: &str) -> Routes {
        Routes {
            prefix: prefix.to_owned(),
            login: format!("{prefix}{LOGIN}"),
            callback: format!("{prefix}{CALLBACK}"),
            logout: format!("{prefix}{LOGOUT}"),
        }
    }
}

pub(crate) struct AuthState {
    pub routes: Routes,
    /// The public URL without its trailing `/` (`https://me-app.hf.space`), to make the routes'
    /// paths absolute for clients on another origin.
    pub public_base: String,
    pub policy: CookiePolicy,
    /// The key of the session cookies.
    pub key: CookieKey,
    /// The key of the per-login flow cookies.
    pub flow_key: CookieKey,
    /// The origins whose cross-site requests with an unsafe method are accepted.
    pub trusted_origins: crate::cross_site::TrustedOrigins,
    /// Sessions already decoded (bounded; see [`SessionCache`]).
    pub cache: SessionCache,
    /// The sessions whose end a handler watches ([`crate::HfUser::session_end`]).
    pub session_ends: Arc<crate::session::end::SessionEnds>,
    /// The scopes the app asks for.
    pub scopes: Vec<String>,
    /// Incremental consent: the first login asks for `openid profile` and what the visited
    /// route needs; more of [`scopes`](Self::scopes) are asked for when a route needs them.
    pub incremental: bool,
    /// Seconds a session may last at most, refreshes included.
    pub session_lifetime: u64,
    pub backend: Backend,
    /// The Space's direct URL (`https://{SPACE_HOST}`), to escape the iframe when cookies are lost.
    pub direct_url: Option<String>,
    /// How many times a callback that lost its flow cookie restarts the login.
    pub max_login_retries: u32,
    /// Token refreshes in flight or just done, one per session.
    pub refreshes: crate::refresh::InFlight,
    /// Checks `Authorization: Bearer` tokens of API clients.
    pub bearer: crate::bearer::BearerAuth,
    /// The server-side session store and this replica's cache of it (`HF_AUTH_SESSION_STORE`);
    /// `None`: stateless cookie sessions.
    #[cfg(feature = "redis")]
    pub server_sessions: Option<crate::session::server_side::ServerSessions>,
    /// The app's hook at sign-in and sign-out ([`crate::HfAuthBuilder::on_session_change`]).
    pub session_hook: Option<crate::session_change::SessionHook>,
}

pub(crate) type SharedState = Arc<AuthState>;
