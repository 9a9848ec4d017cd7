//! Server-side sessions (feature `redis`): the browser's cookie carries only an opaque random
//! [`SessionId`], the [`SessionData`] lives in a [`SessionStore`].
//!
//! The trait is shaped like tower-sessions' store (create, load, save, delete by id), plus what
//! many replicas need: [`SessionStore::delete_user`] ends every session of a user through a
//! per-user index (revocation), a short per-session refresh lock taken by compare-and-set so
//! that at most one replica refreshes a session at a time, and an invalidation channel that a
//! per-replica cache subscribes to ([`redis::RedisStore::subscribe_invalidations`]).
//!
//! `server_side` uses it: the guards, the login, logout and refresh.

use std::{fmt, future::Future, pin::Pin, time::Duration};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};

use super::SessionData;

pub(crate) mod endpoint;
pub(crate) mod redis;
pub(crate) mod sealing;

/// A boxed future, so that the store can be used as `Arc<dyn SessionStore>`.
pub(crate) type StoreFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why a store operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// The store cannot be reached (refused, dropped, timed out): the caller answers 503 with
    /// `Retry-After` and never admits without a check.
    #[error("the session store is unreachable: {0}")]
    Unreachable(String),
    /// No such session: it ended, was deleted or revoked, or never existed.
    #[error("no such session")]
    NotFound,
    /// The session's lifetime is already over: nothing is stored.
    #[error("the session has already ended")]
    Expired,
    /// The stored bytes are not a session this app sealed for this key (forged, moved from
    /// another key, tampered with, sealed with another cookie key, or of another version).
    #[error("a stored session could not be opened")]
    Corrupt,
    /// The store's address cannot be used: a malformed URL, a private CA without TLS, an
    /// insecure TLS mode.
    #[error("the session store's address cannot be used: {0}")]
    Config(String),
    /// The store refused the password (or the user name).
    #[error("the session store refused the password: {0}")]
    Authentication(String),
    /// The store answered with an error other than unreachability.
    #[error("the session store refused the command: {0}")]
    Command(String),
}

impl StoreError {
    /// Whether the store could not be reached (a transient failure, not an answer).
    #[cfg(all(test, feature = "testing"))]
    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(self, StoreError::Unreachable(_))
    }
}

/// An opaque session id: 32 random bytes from the OS-seeded CSPRNG, in unpadded base64url
/// (43 characters). A bearer secret: its `Debug` shows only its first characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct SessionId(Box<str>);

impl SessionId {
    /// A new random id.
    pub(crate) fn random() -> SessionId {
        let bytes: [u8; 32] = rand::random();
        SessionId(URL_SAFE_NO_PAD.encode(bytes).into())
    }

    /// An id read back from a cookie or the invalidation channel: `None` unless it has the
    /// exact shape of one this module makes, so that no other text reaches a Redis key.
    pub(crate) fn parse(s: &str) -> Option<SessionId> {
        let ok = s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| SessionId(s.into()))
    }

    /// The id as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", &self.0[..6])
    }
}

/// A held refresh lock: the random value that only its holder knows, so that unlocking deletes
/// the lock only if it is still this one (compare-and-delete), never a lock another replica
/// took after this one expired.
pub(crate) struct RefreshLock {
    pub(crate) id: SessionId,
    pub(crate) token: Box<str>,
}

impl fmt::Debug for RefreshLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshLock")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What a per-replica cache hears on the invalidation channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invalidation {
    /// This session changed or ended: drop it from the cache.
    Session(SessionId),
    /// The subscription was cut (the store restarted or the network broke): messages may have
    /// been missed, so drop every cached session. The subscription resumes by itself.
    All,
}

/// Where server-side sessions live. Every method is one or a few round trips to the store;
/// none is meant for the hot path of a cache hit.
pub(crate) trait SessionStore: Send + Sync {
    /// Stores a new session under a new random id, for the session's remaining lifetime, and
    /// indexes it under its user.
    fn create<'a>(&'a self, data: &'a SessionData) -> StoreFuture<'a, SessionId>;
    /// The session `id`, or [`StoreError::NotFound`].
    fn load<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, SessionData>;
    /// Replaces the session `id` (after a refresh), only if it still exists: a session deleted
    /// or revoked meanwhile is never brought back ([`StoreError::NotFound`]). Announces the
    /// change on the invalidation channel.
    fn save<'a>(&'a self, id: &'a SessionId, data: &'a SessionData) -> StoreFuture<'a, ()>;
    /// Deletes the session `id` (logout) and announces it; deleting a missing session is not
    /// an error. Returns whether a session was deleted.
    fn delete<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, bool>;
    /// Deletes every session of the user `sub` (revocation) in one atomic step and announces
    /// each; returns how many were deleted.
    fn delete_user<'a>(&'a self, sub: &'a str) -> StoreFuture<'a, usize>;
    /// Takes the refresh lock of session `id` for at most `ttl`, if no one holds it.
    fn try_lock_refresh<'a>(
        &'a self,
        id: &'a SessionId,
        ttl: Duration,
    ) -> StoreFuture<'a, Option<RefreshLock>>;
    /// Releases a refresh lock if it is still the one taken; returns whether it was.
    fn unlock_refresh(&self, lock: RefreshLock) -> StoreFuture<'_, bool>;
}
