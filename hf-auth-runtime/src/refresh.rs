//! Renewing an expired access token with the session's refresh token, off the hot path, one
//! refresh at a time per session.
//!
//! Refresh tokens rotate: a second refresh with the same token is refused (`invalid_grant`).
//! So concurrent requests carrying the same expired session (two tabs, three `fetch()` calls)
//! share one refresh ([`InFlight`]) and all get its result and the same new cookies; requests
//! that still carry the old cookie shortly after get that result too. A refresh that fails for
//! now (timeout, 5xx, network) keeps the session and answers 503 with `Retry-After`; only
//! `invalid_grant` ends it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::http::{request::Parts, HeaderValue};
use hf_auth_scopes::ScopeSet;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::{
    context,
    error::Escaped,
    provider::RefreshError,
    rejection::AuthRejection,
    session::{self, SessionData},
    state::{AuthState, Backend},
    user::HfUser,
};

/// How long the outcome of a refresh answers requests that still carry the old session (sent
/// before the browser had the new cookie).
const REMEMBER: Duration = Duration::from_secs(10);
/// Refreshes remembered at once; past that, finished ones are forgotten first.
const MAX_REMEMBERED: usize = 4096;
/// What a 503 after a transient failure tells the client.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The outcome of one refresh, shared by every request that waited for it.
#[derive(Clone)]
enum Outcome {
    /// The renewed session, and the cookies that store it.
    Renewed(Arc<SessionData>, Vec<HeaderValue>),
    /// The session ended (no refresh token, `invalid_grant`, or the session's lifetime).
    Ended,
    /// The provider could not be asked now: keep the session, try again later.
    NotNow,
}

/// One refresh: when it started, and its outcome once there is one.
type Slot = (Instant, Arc<OnceCell<Outcome>>);

/// The refreshes in flight or just finished, by session (a hash of its refresh token).
#[derive(Default)]
pub(crate) struct InFlight {
    map: Mutex<HashMap<[u8; 32], Slot>>,
}

impl InFlight {
    /// The shared cell of the refresh of `key`: a new one, or the one in flight or just done.
    /// The lock is held only for the lookup, never across an await.
    fn cell(&self, key: [u8; 32]) -> Arc<OnceCell<Outcome>> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_REMEMBERED {
            map.retain(|_, (at, cell)| now.duration_since(*at) < REMEMBER || !cell.initialized());
            if map.len() >= MAX_REMEMBERED {
                // Still full of refreshes in flight: forget the oldest half rather than grow.
                let mut ages: Vec<Instant> = map.values().map(|(at, _)| *at).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                map.retain(|_, (at, _)| *at > cut);
            }
        }
        match map.get(&key) {
            // A transient failure is not remembered: the next request tries again; nor is a
            // renewed session whose own access token has expired since.
            Some((at, cell))
                if now.duration_since(*at) < REMEMBER
                    && match cell.get() {
                        None | Some(Outcome::Ended) => true,
                        Some(Outcome::NotNow) => false,
                        Some(Outcome::Renewed(s, _)) => s.expires_at > session::now_unix(),
                    } =>
            {
                cell.clone()
            }
            _ => {
                let cell = Arc::new(OnceCell::new());
                map.insert(key, (now, cell.clone()));
                cell
            }
        }
    }
}

/// The session after refreshing its expired access token, with its new cookies queued; "not
/// signed in" (and the cookies cleared) when it ended, 503 when the provider cannot be asked.
pub(crate) async fn refreshed(parts: &Parts, expired: HfUser) -> Result<HfUser, AuthRejection> {
    // An owned handle on the state: the request's context is not held across the awaits.
    let state = context::of(parts)?.state.clone();
    let outcome = match expired.0.refresh_token.as_deref() {
        None => Outcome::Ended,
        Some(token) => {
            let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            let cell = state.refreshes.cell(key);
            cell.get_or_init(|| renew(&state, &expired.0, parts))
                .await
                .clone()
        }
    };
    match outcome {
        Outcome::Renewed(fresh, cookies) => {
            context::of(parts)?.set_cookies(cookies);
            Ok(HfUser(fresh))
        }
        Outcome::Ended => {
            context::of(parts)?.set_cookies(session::clear(&parts.headers, state.policy));
            Err(AuthRejection::not_signed_in(parts, &state))
        }
        Outcome::NotNow => Err(AuthRejection::unavailable(parts, RETRY_AFTER)),
    }
}

/// One refresh: the token endpoint, then userinfo; the renewed session stored in its cookies,
/// or, with a session store, in the store under one lock for all replicas. The renewed session
/// is the same session: its end is watched where the old one's was.
async fn renew(state: &AuthState, old: &SessionData, parts: &Parts) -> Outcome {
    match renew_session(state, old, parts).await {
        Outcome::Renewed(mut fresh, cookies) => {
            if let Some(fresh) = Arc::get_mut(&mut fresh) {
                fresh.end_link = old.end_link.clone();
            }
            Outcome::Renewed(fresh, cookies)
        }
        other => other,
    }
}

async fn renew_session(state: &AuthState, old: &SessionData, parts: &Parts) -> Outcome {
    #[cfg(feature = "redis")]
    if let Some(server) = &state.server_sessions {
        return stored::renew(state, server, parts).await;
    }
    let fresh = match renewed(state, old).await {
        Ok(fresh) => fresh,
        Err(outcome) => return outcome,
    };
    let cookies = match session::write(&parts.headers, state.policy, &state.key, &fresh) {
        Ok(set) => set,
        Err(e) => {
            tracing::warn!(error = %e, "could not store the refreshed session");
            Vec::new()
        }
    };
    Outcome::Renewed(Arc::new(fresh), cookies)
}

/// The session `old` with a renewed access token (the token endpoint, then userinfo, as
/// memberships and roles may have changed), or why not: [`Outcome::Ended`] or
/// [`Outcome::NotNow`].
async fn renewed(state: &AuthState, old: &SessionData) -> Result<SessionData, Outcome> {
    let Backend::Real(provider) = &state.backend else {
        return Err(Outcome::Ended);
    };
    let Some(refresh_token) = old.refresh_token.as_deref() else {
        return Err(Outcome::Ended);
    };
    let tokens = match provider.refresh(refresh_token).await {
        Ok(t) => t,
        Err(RefreshError::Rejected(e)) => {
            tracing::info!(user = %Escaped::str(&old.handle), error = %e, "the provider refused the refresh token; the session ends");
            return Err(Outcome::Ended);
        }
        Err(RefreshError::Transient(e)) => {
            tracing::warn!(user = %Escaped::str(&old.handle), error = %e, "refreshing the access token failed for now; the session is kept");
            return Err(Outcome::NotNow);
        }
    };
    // Without a `scope` field the scopes stay those the user granted (RFC 6749 section 6),
    // never those the app asks for: a user who unticked a scope does not get it back.
    let granted = match tokens.granted_scopes.as_deref() {
        Some(list) => ScopeSet::from_names(list.iter().map(String::as_str)),
        None => old.scopes.clone(),
    };
    let mut fresh = match provider.userinfo(&tokens.access_token, &old.sub).await {
        Ok(info) => SessionData::from_tokens(tokens, granted, info, old.session_ends_at),
        Err(e) => {
            // The refresh token may have rotated already: keep the new tokens, with the
            // profile the session had, rather than lose them.
            tracing::warn!(user = %Escaped::str(&old.handle), error = %e, "userinfo after refresh failed; keeping the previous profile");
            let mut kept = old.clone();
            kept.scopes = granted;
            kept.expires_at = session::access_token_expiry(tokens.expires_in, old.session_ends_at);
            kept.access_token = tokens.access_token;
            kept.refresh_token = tokens.refresh_token;
            kept
        }
    };
    if fresh.refresh_token.is_none() {
        fresh.refresh_token = old.refresh_token.clone();
    }
    tracing::debug!(user = %Escaped::str(&fresh.handle), "refreshed the access token");
    Ok(fresh)
}

/// Refreshing a server-side session: at most one replica at a time refreshes a session (a
/// short lock in the store, taken by compare-and-set); the others wait for its result, which
/// they read from the store. The cookie (the session's id) does not change.
#[cfg(feature = "redis")]
mod stored {
    use super::*;
    use crate::session::{
        server_side::{id_of, ServerSessions},
        store::{redis::RedisStore, SessionId, SessionStore, StoreError},
    };

    /// How long a replica holds the lock at most (a refresh is two provider calls, each with
    /// the HTTP timeout).
    const LOCK_TTL: Duration = Duration::from_secs(25);
    /// How long a replica waits for another one's refresh before answering 503.
    const WAIT: Duration = Duration::from_secs(5);
    const POLL: Duration = Duration::from_millis(100);

    pub(super) async fn renew(
        state: &AuthState,
        server: &ServerSessions,
        parts: &Parts,
    ) -> Outcome {
        let Some(id) = id_of(&state.key, &parts.headers, state.policy.session_names()) else {
            return Outcome::Ended;
        };
        let store = server.store();
        let deadline = Instant::now() + WAIT;
        loop {
            match store.try_lock_refresh(&id, LOCK_TTL).await {
                Ok(Some(lock)) => {
                    let outcome = locked(state, store, &id).await;
                    if let Err(e) = store.unlock_refresh(lock).await {
                        tracing::debug!(error = %e, "could not release a refresh lock; it expires by itself");
                    }
                    return outcome;
                }
                Ok(None) => {
                    // Another replica is refreshing: its result lands under the same id.
                    tokio::time::sleep(POLL).await;
                    match store.load(&id).await {
                        Ok(current) if current.expires_at > session::now_unix() => {
                            return Outcome::Renewed(Arc::new(current), Vec::new())
                        }
                        Ok(_) => {}
                        Err(e) => return gone_or_not_now(e),
                    }
                    if Instant::now() >= deadline {
                        return Outcome::NotNow;
                    }
                }
                Err(e) => return gone_or_not_now(e),
            }
        }
    }

    /// Under the lock: the stored session (another replica may have refreshed it, and rotated
    /// its refresh token, just before), renewed if it still needs it, and saved.
    async fn locked(state: &AuthState, store: &RedisStore, id: &SessionId) -> Outcome {
        let current = match store.load(id).await {
            Ok(current) => current,
            Err(e) => return gone_or_not_now(e),
        };
        if current.expires_at > session::now_unix() {
            return Outcome::Renewed(Arc::new(current), Vec::new());
        }
        match renewed(state, &current).await {
            Ok(fresh) => match store.save(id, &fresh).await {
                Ok(()) => Outcome::Renewed(Arc::new(fresh), Vec::new()),
                Err(e) => {
                    tracing::warn!(error = %e, "could not store a refreshed session");
                    gone_or_not_now(e)
                }
            },
            Err(Outcome::Ended) => {
                if let Err(e) = store.delete(id).await {
                    tracing::debug!(error = %e, "could not delete an ended session; it expires by itself");
                }
                Outcome::Ended
            }
            Err(other) => other,
        }
    }

    /// A session gone from the store (logged out, revoked, expired) ends; anything else is
    /// "not now" (503).
    fn gone_or_not_now(e: StoreError) -> Outcome {
        match e {
            StoreError::NotFound | StoreError::Expired | StoreError::Corrupt => Outcome::Ended,
            e => {
                tracing::warn!(error = %e, "the session store could not be asked during a refresh");
                Outcome::NotNow
            }
        }
    }
}
