//! The flow cookie: a pending login (PKCE verifier, nonce, return path), sealed in a cookie
//! named after its `state` and usable once.

use std::time::Duration;

use axum::http::HeaderValue;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{Deserialize, Serialize};

use crate::state::AuthState;

/// How long a login may take between the login route and the callback.
pub(super) const FLOW_LIFETIME: Duration = Duration::from_secs(600);
/// Random characters of a `state` (24 random bytes, base64url).
pub(super) const STATE_RANDOM_LEN: usize = 32;
/// Flow cookies a browser may hold at once; older ones are dropped beyond that.
pub(super) const MAX_PENDING_LOGINS: usize = 4;

#[derive(Serialize, Deserialize)]
pub(super) struct PendingLogin {
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: String,
    pub target: String,
    pub created_at: u64,
    pub used: bool,
    /// A step-up login ("Grant access") started by a browser with a session: a decline returns
    /// to `target` with that session intact; a grant of the same user adds to its scopes.
    pub step_up: bool,
    /// The scopes asked for: what was granted when the token response does not say.
    pub scopes: Vec<String>,
}

impl PendingLogin {
    /// What replaces a pending login at its callback, so that a replay is recognised.
    pub fn tombstone(created_at: u64) -> PendingLogin {
        PendingLogin {
            state: String::new(),
            pkce_verifier: String::new(),
            nonce: String::new(),
            target: String::new(),
            created_at,
            used: true,
            step_up: false,
            scopes: Vec::new(),
        }
    }

    /// The `Set-Cookie` header that stores it under `name`.
    pub fn cookie(&self, state: &AuthState, name: String) -> HeaderValue {
        let value = state.flow_key.seal(
            &name,
            &postcard::to_allocvec(self).expect("a pending login serializes"),
        );
        state
            .policy
            .header(name, value, FLOW_LIFETIME.as_secs() as i64)
    }

    /// The pending login sealed in cookie `name`; `None` if forged or sealed with another key.
    /// A login started before `step_up` and `scopes` existed (a deploy in the middle of it)
    /// still opens: not a step-up, and its scopes unknown (empty).
    pub fn open(state: &AuthState, name: &str, value: &str) -> Option<PendingLogin> {
        decode(&state.flow_key.open(name, value)?)
    }
}

/// A pending login from its plaintext, in the current form or the one before.
fn decode(bytes: &[u8]) -> Option<PendingLogin> {
    postcard::from_bytes(bytes).ok().or_else(|| {
        postcard::from_bytes::<PendingLoginV1>(bytes)
            .ok()
            .map(Into::into)
    })
}

/// A pending login as sealed before step-up logins (its fields, in order).
#[derive(Serialize, Deserialize)]
struct PendingLoginV1 {
    state: String,
    pkce_verifier: String,
    nonce: String,
    target: String,
    created_at: u64,
    used: bool,
}

impl From<PendingLoginV1> for PendingLogin {
    fn from(v: PendingLoginV1) -> PendingLogin {
        PendingLogin {
            state: v.state,
            pkce_verifier: v.pkce_verifier,
            nonce: v.nonce,
            target: v.target,
            created_at: v.created_at,
            used: v.used,
            step_up: false,
            scopes: Vec::new(),
        }
    }
}

/// The flow cookie of a login whose `state` starts with `random` (`prefix`: the policy's).
pub(super) fn flow_cookie_name(prefix: &str, random: &str) -> String {
    format!("{prefix}{}", &random[..16])
}

pub(super) fn random_state() -> String {
    let bytes: [u8; 24] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_sealed_before_step_up_still_opens() {
        let old = PendingLoginV1 {
            state: "s".into(),
            pkce_verifier: "v".into(),
            nonce: "n".into(),
            target: "/here".into(),
            created_at: 7,
            used: false,
        };
        let bytes = postcard::to_allocvec(&old).unwrap();
        let opened = decode(&bytes).unwrap();
        assert_eq!(opened.target, "/here");
        assert!(!opened.step_up && opened.scopes.is_empty());
        // The current form keeps its new fields.
        let new = PendingLogin {
            step_up: true,
            scopes: vec!["profile".into()],
            ..opened
        };
        let back = decode(&postcard::to_allocvec(&new).unwrap()).unwrap();
        assert!(back.step_up);
        assert_eq!(back.scopes, ["profile"]);
    }
}
