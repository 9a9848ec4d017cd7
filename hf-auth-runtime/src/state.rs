//! What the routes and guards share at run time, built once at start-up.

use std::sync::Arc;

use crate::{
    crypto::CookieKey,
    mock::MockUser,
    provider::Provider,
    session::{CookiePolicy, SessionCache},
};

pub(crate) enum Backend {
    Real(Box<Provider>),
    Mock(MockUser),
}

/// The paths of hf-auth's routes, with the configured prefix.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    pub login: String,
    pub callback: String,
    pub logout: String,
}

impl Routes {
    pub fn new(prefix: &str) -> Routes {
        Routes {
            login: format!("{prefix}/oauth/huggingface/login"),
            callback: format!("{prefix}/oauth/huggingface/callback"),
            logout: format!("{prefix}/oauth/huggingface/logout"),
        }
    }
}

pub(crate) struct AuthState {
    pub routes: Routes,
    pub policy: CookiePolicy,
    /// The key of the session cookies.
    pub key: CookieKey,
    /// The key of the per-login flow cookies.
    pub flow_key: CookieKey,
    /// The origins whose cross-site requests with an unsafe method are accepted.
    pub trusted_origins: crate::cross_site::TrustedOrigins,
    /// Sessions already decoded (bounded; see [`SessionCache`]).
    pub cache: SessionCache,
    /// The scopes the app asks for.
    pub scopes: Vec<String>,
    /// Seconds a session may last at most, refreshes included.
    pub session_lifetime: u64,
    pub backend: Backend,
    /// The Space's direct URL (`https://{SPACE_HOST}`), to escape the iframe when cookies are lost.
    pub direct_url: Option<String>,
    /// How many times a callback that lost its flow cookie restarts the login.
    pub max_login_retries: u32,
}

pub(crate) type SharedState = Arc<AuthState>;
