//! The session: what a signed-in browser carries, how it is built from the provider's answers,
//! and where each part of its life lives.
//!
//! Sessions live entirely in cookies (nothing is stored in the server): [`codec`] encodes them
//! compactly with `postcard`, seals them with AES-256-GCM and splits them over up to
//! [`MAX_CHUNKS`] cookies when a user belongs to very many orgs, so no cookie passes the
//! browsers' 4 KiB limit; [`cache`] keeps sessions already decoded. Refreshing an expired
//! access token is in `refresh`.

use std::time::{SystemTime, UNIX_EPOCH};

use hf_auth_scopes::ScopeSet;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    mock::MockUser,
    provider::{Tokens, UserInfo},
    user::Org,
};

pub(crate) mod cache;
pub(crate) mod codec;
pub(crate) mod end;
#[cfg(feature = "redis")]
pub(crate) mod server_side;
#[cfg(feature = "redis")]
pub(crate) mod store;

pub(crate) use cache::SessionCache;
#[cfg(any(feature = "bench-hooks", feature = "fuzzing"))]
pub(crate) use codec::decode;
#[cfg(feature = "testing")]
pub(crate) use codec::encode;
pub(crate) use codec::{clear, write};

/// The name of the (first) session cookie over plain http.
pub const SESSION_COOKIE: &str = "hf_auth_session";
/// The name of the (first) session cookie over https (`Secure` cookies): `__Host-` prefixed.
pub const SECURE_SESSION_COOKIE: &str = "__Host-hf_auth_session";
/// The most cookies one session may be split over.
pub const MAX_CHUNKS: usize = 5;

/// What one session holds: only what requests need.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SessionData {
    pub sub: String,
    pub handle: String,
    pub name: Option<String>,
    pub avatar: Option<String>,
    pub is_pro: Option<bool>,
    pub can_pay: Option<bool>,
    pub orgs: Vec<Org>,
    /// The scopes the provider granted.
    pub scopes: ScopeSet,
    pub access_token: String,
    /// Unix seconds at which the access token expires.
    pub expires_at: u64,
    pub refresh_token: Option<String>,
    /// Unix seconds after which the session ends even if tokens could be refreshed.
    pub session_ends_at: u64,
    /// Where the session's end can be watched ([`end`]): set when it is decoded or loaded,
    /// never stored.
    #[serde(skip)]
    pub end_link: end::EndLink,
}

impl SessionData {
    /// The session of a login or a refresh: the provider's tokens and the user's profile.
    /// `granted` is what the provider granted; where its answer said nothing, the caller
    /// decides (a login: what was asked for, RFC 6749 section 5.1; a refresh: what the session
    /// had, section 6).
    pub fn from_tokens(
        tokens: Tokens,
        granted: ScopeSet,
        info: UserInfo,
        session_ends_at: u64,
    ) -> SessionData {
        let expires_at = access_token_expiry(tokens.expires_in, session_ends_at);
        SessionData {
            orgs: info.orgs(),
            handle: info.preferred_username.unwrap_or_else(|| info.sub.clone()),
            sub: info.sub,
            name: info.name,
            avatar: info.picture,
            is_pro: info.is_pro,
            can_pay: info.can_pay,
            scopes: granted,
            access_token: tokens.access_token,
            expires_at,
            refresh_token: tokens.refresh_token,
            session_ends_at,
            end_link: Default::default(),
        }
    }

    /// The session of the mock user (mock mode and the test kit), lasting `lifetime` seconds:
    /// granted the mock user's scopes, or the app's (`app_scopes`).
    pub fn mock(user: &MockUser, app_scopes: &[String], lifetime: u64) -> SessionData {
        let scopes = user.scopes.as_deref().unwrap_or(app_scopes);
        let scopes = ScopeSet::from_names(scopes.iter().map(String::as_str));
        let digest = Sha256::digest(format!("hf-auth mock user {}", user.handle));
        let sub: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let ends = now_unix() + lifetime;
        SessionData {
            sub,
            handle: user.handle.clone(),
            name: Some(user.name.clone()),
            avatar: None,
            is_pro: Some(user.is_pro),
            can_pay: None,
            orgs: user.orgs.clone(),
            scopes,
            access_token: "hf_oauth_mock_token_not_valid_on_the_hub".into(),
            expires_at: ends,
            refresh_token: None,
            session_ends_at: ends,
            end_link: Default::default(),
        }
    }
}

/// When an access token that lives `expires_in` expires, in Unix seconds: never after the
/// session ends, and at the session's end when the provider did not say.
pub(crate) fn access_token_expiry(
    expires_in: Option<std::time::Duration>,
    session_ends_at: u64,
) -> u64 {
    expires_in
        .map(|d| now_unix() + d.as_secs())
        .unwrap_or(session_ends_at)
        .min(session_ends_at)
}

/// Starts a session after a login: the `Set-Cookie` headers that carry it. Stateless, the
/// cookies hold the sealed session; with a session store, the session is stored and the cookie
/// holds its sealed id.
pub(crate) async fn begin(
    state: &crate::state::AuthState,
    request: &axum::http::HeaderMap,
    data: &SessionData,
) -> Result<Vec<axum::http::HeaderValue>, crate::error::FlowError> {
    #[cfg(feature = "redis")]
    if let Some(server) = &state.server_sessions {
        return server
            .begin(request, state.policy, &state.key, data)
            .await
            .map_err(|e| crate::error::FlowError::StoreUnavailable(e.to_string()));
    }
    write(request, state.policy, &state.key, data)
        .map_err(|e| crate::error::FlowError::Session(e.to_string()))
}

/// Now, in Unix seconds.
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::CookieKey;
    use axum::http::{header::COOKIE, HeaderMap, HeaderValue};
    use hf_auth_scopes::Role;

    pub(crate) fn user_in_orgs(n: usize) -> SessionData {
        SessionData {
            sub: "62f264b9f3c90f4b6514a269".into(),
            handle: "some-user".into(),
            name: Some("Some User".into()),
            avatar: Some("https://cdn-avatars.huggingface.co/v1/production/uploads/62f264b9f3c90f4b6514a269/abcdefghijklmnopqrstu.png".into()),
            is_pro: Some(false),
            can_pay: None,
            orgs: (0..n)
                .map(|i| Org {
                    handle: format!("organization-number-{i:03}"),
                    role: Some(Role::ALL[i % 4]),
                    sub: None,
                })
                .collect(),
            scopes: ScopeSet::parse("openid profile read-repos write-repos"),
            access_token: format!("hf_oauth_{}", "x".repeat(40)),
            expires_at: now_unix() + 28800,
            refresh_token: Some(format!("hf_oauth_refresh_{}", "y".repeat(40))),
            session_ends_at: now_unix() + 28800,
            end_link: Default::default(),
        }
    }

    pub(crate) fn headers_of(pairs: &[(String, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        let joined = pairs
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        h.insert(COOKIE, HeaderValue::from_str(&joined).unwrap());
        h
    }

    pub(crate) fn key() -> CookieKey {
        CookieKey::derive(b"0123456789abcdef0123456789abcdef", "test")
    }
}
