//! A session's end, for handlers that outlive their request: an SSE stream or a WebSocket holds
//! a [`SessionEnd`] ([`HfUser::session_end`](crate::HfUser::session_end)) and stops when it
//! resolves, with a [`SessionEndReason`].
//!
//! It resolves at the session's end time, and when this app learns that the session ended:
//! - stateless cookie sessions: a logout of the same session on this process (found by the
//!   user and the session's end time, which a refresh keeps). No other replica can know, so a
//!   logout on another replica is not heard;
//! - with a session store: a logout on any replica, a revocation, or a later login in the same
//!   browser (which replaces the session). Each replica hears every deletion on the store's
//!   invalidation channel; for a deleted id that this replica watches, it asks the store
//!   whether the session still exists (only watched ids, in batches: a few round trips at
//!   most). While the channel is cut, watched sessions are asked about every second, and a
//!   store that cannot be reached ends them ([`SessionEndReason::StoreUnavailable`]), as it
//!   refuses requests (503).
//!
//! Nothing here runs on the hot path: a session links to this registry when it is decoded or
//! loaded (off the caches), and a watcher is registered only when a handler asks for
//! [`SessionEnd`], and removed when it is dropped.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::sync::watch;

use super::SessionData;

/// Why a session ended: what a [`SessionEnd`] resolves to.
///
/// `as_str` gives a stable snake_case name (`expired`, `logged_out`, `revoked`,
/// `store_unavailable`), e.g. for the last event of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionEndReason {
    /// The session reached its end time ([`HfUser::session_ends_at`](crate::HfUser::session_ends_at)):
    /// the session lifetime, or, for an API client's token, the time hf-auth checks the token
    /// again (or the token's own expiry).
    Expired,
    /// The session was signed out: the logout route (on this process; with a session store, on
    /// any replica), or, with a session store, a later login in the same browser that replaced
    /// it. Also what a session deleted from the store for another reason reads as.
    LoggedOut,
    /// Every session of the user was revoked ([`HfAuth::revoke_user`](crate::HfAuth::revoke_user),
    /// `revoke_user_in_store`). Session store only; told apart from a logout for about a minute
    /// after the revocation (after that, a replica that was cut off reads it as `LoggedOut`).
    Revoked,
    /// The session store could not be reached while its invalidation channel was cut, so the
    /// session could not be confirmed: requests get 503 until the store is back, and the stream
    /// ends rather than outlive a revocation it could not hear. The client may reconnect.
    StoreUnavailable,
}

impl SessionEndReason {
    /// The reason's stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEndReason::Expired => "expired",
            SessionEndReason::LoggedOut => "logged_out",
            SessionEndReason::Revoked => "revoked",
            SessionEndReason::StoreUnavailable => "store_unavailable",
        }
    }
}

impl fmt::Display for SessionEndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A future that resolves when the signed-in user's session ends: made by
/// [`HfUser::session_end`](crate::HfUser::session_end). `Send + Unpin + 'static`, so a stream or
/// a WebSocket loop can hold it and poll `&mut end` in `tokio::select!`.
///
/// Dropping it stops watching (nothing is left registered), and so does resolving. Polled again
/// after it resolved, it gives the same reason at once (it never panics), so a loop may keep
/// `&mut end` in its `tokio::select!`.
///
/// ```
/// use hf_auth_runtime::{HfUser, SessionEndReason};
///
/// async fn until_the_session_ends(user: HfUser) -> SessionEndReason {
///     let mut end = user.session_end();
///     let mut ticks = tokio::time::interval(std::time::Duration::from_secs(1));
///     loop {
///         tokio::select! {
///             reason = &mut end => return reason,
///             _ = ticks.tick() => { /* send something */ }
///         }
///     }
/// }
/// ```
pub struct SessionEnd {
    /// The watch, until it resolves; then the reason it gave.
    state: EndState,
}

enum EndState {
    Watching(Pin<Box<dyn Future<Output = SessionEndReason> + Send + 'static>>),
    Ended(SessionEndReason),
}

impl fmt::Debug for SessionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionEnd").finish_non_exhaustive()
    }
}

impl Future for SessionEnd {
    type Output = SessionEndReason;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SessionEndReason> {
        let reason = match &mut self.state {
            EndState::Ended(reason) => return Poll::Ready(*reason),
            EndState::Watching(watch) => std::task::ready!(watch.as_mut().poll(cx)),
        };
        // Resolved: the watch (and its registration) goes now, the reason stays.
        self.state = EndState::Ended(reason);
        Poll::Ready(reason)
    }
}

/// A watched session: a stored session by its id, a stateless one by its user and end time
/// (what a refresh keeps; two sessions of the same user that end in the same second count as
/// one, which can only end a stream early, never keep one open).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Watched {
    Cookie {
        sub: Box<str>,
        ends_at: u64,
    },
    #[cfg(feature = "redis")]
    Stored(super::store::SessionId),
}

impl Watched {
    pub(crate) fn cookie(data: &SessionData) -> Watched {
        Watched::Cookie {
            sub: data.sub.as_str().into(),
            ends_at: data.session_ends_at,
        }
    }
}

/// Where a session's end can be watched, set when the session is decoded or loaded (never on
/// a cache hit); none for API clients' tokens (their end time only). Not part of the session's
/// value: never stored, and equal to any other.
#[derive(Clone, Default)]
pub(crate) enum EndLink {
    #[default]
    None,
    /// A stateless cookie session of the app that owns this registry.
    Cookie(Arc<SessionEnds>),
    /// A session in the store under this id.
    #[cfg(feature = "redis")]
    Stored(Arc<SessionEnds>, super::store::SessionId),
}

impl PartialEq for EndLink {
    fn eq(&self, _: &EndLink) -> bool {
        true
    }
}
impl Eq for EndLink {}

/// How long a session that ended here is remembered, for a watcher that registers just after
/// (a handler that asked for [`SessionEnd`] a moment after a logout), and how many at most.
const REMEMBER: Duration = Duration::from_secs(60);
const REMEMBERED: usize = 1024;

/// The watched sessions of one app (one replica).
#[derive(Default)]
pub(crate) struct SessionEnds {
    registry: Mutex<Registry>,
    /// With a session store: the ids to ask the store about.
    #[cfg(feature = "redis")]
    pub(crate) checks: checks::Checks,
}

#[derive(Default)]
struct Registry {
    watched: HashMap<Watched, Watchers>,
    /// Sessions that ended lately, and why (bounded: [`REMEMBERED`], [`REMEMBER`]).
    ended: VecDeque<(Instant, Watched, SessionEndReason)>,
    next_generation: u64,
}

struct Watchers {
    /// Tells a registration of this entry from one of an earlier entry of the same session.
    generation: u64,
    count: usize,
    tx: watch::Sender<Option<SessionEndReason>>,
}

/// One watcher: removed from the registry when dropped.
struct Registration {
    ends: Arc<SessionEnds>,
    key: Watched,
    generation: u64,
    rx: watch::Receiver<Option<SessionEndReason>>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut registry = self.ends.lock();
        if let Some(w) = registry.watched.get_mut(&self.key) {
            if w.generation == self.generation {
                w.count -= 1;
                if w.count == 0 {
                    registry.watched.remove(&self.key);
                }
            }
        }
    }
}

impl SessionEnds {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a watcher of `key`, or the reason it ended if it ended here lately.
    fn register(self: &Arc<Self>, key: Watched) -> Result<Registration, SessionEndReason> {
        let mut registry = self.lock();
        let now = Instant::now();
        while registry
            .ended
            .front()
            .is_some_and(|(at, ..)| now.duration_since(*at) > REMEMBER)
        {
            registry.ended.pop_front();
        }
        if let Some((_, _, reason)) = registry.ended.iter().find(|(_, k, _)| *k == key) {
            return Err(*reason);
        }
        let r = &mut *registry;
        let w = r.watched.entry(key.clone()).or_insert_with(|| {
            r.next_generation += 1;
            Watchers {
                generation: r.next_generation,
                count: 0,
                tx: watch::channel(None).0,
            }
        });
        w.count += 1;
        let (generation, rx) = (w.generation, w.tx.subscribe());
        Ok(Registration {
            ends: self.clone(),
            key,
            generation,
            rx,
        })
    }

    /// The session `key` ended: its watchers resolve with `reason`, and a watcher registered
    /// shortly after resolves at once.
    pub(crate) fn end(&self, key: &Watched, reason: SessionEndReason) {
        let mut registry = self.lock();
        if registry.ended.len() >= REMEMBERED {
            registry.ended.pop_front();
        }
        registry
            .ended
            .push_back((Instant::now(), key.clone(), reason));
        if let Some(w) = registry.watched.remove(key) {
            w.tx.send_replace(Some(reason));
        }
    }

    /// Whether `key` has watchers.
    #[cfg(feature = "redis")]
    fn is_watched(&self, key: &Watched) -> bool {
        self.lock().watched.contains_key(key)
    }

    /// How many sessions are watched (the test kit's leak check).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn watched_sessions(&self) -> usize {
        self.lock().watched.len()
    }
}

/// The logout route ended the request's session: its watchers on this process resolve with
/// [`SessionEndReason::LoggedOut`] (other replicas hear it through the store, if any).
pub(crate) fn logged_out(state: &crate::state::AuthState, headers: &axum::http::HeaderMap) {
    let names = state.policy.session_names();
    #[cfg(feature = "redis")]
    if state.server_sessions.is_some() {
        if let Some(id) = super::server_side::id_of(&state.key, headers, names) {
            state
                .session_ends
                .end(&Watched::Stored(id), SessionEndReason::LoggedOut);
        }
        return;
    }
    if let Some(data) = state.cache.decode(&state.key, headers, names) {
        state
            .session_ends
            .end(&Watched::cookie(&data), SessionEndReason::LoggedOut);
    }
}

/// The future of [`HfUser::session_end`](crate::HfUser::session_end) for `data`.
pub(crate) fn watch(data: &SessionData) -> SessionEnd {
    let ends_at = UNIX_EPOCH + Duration::from_secs(data.session_ends_at);
    let left = ends_at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    let deadline = Instant::now() + left;
    let registration = match &data.end_link {
        EndLink::None => None,
        EndLink::Cookie(ends) => Some(ends.register(Watched::cookie(data))),
        #[cfg(feature = "redis")]
        EndLink::Stored(ends, id) => {
            let registered = ends.register(Watched::Stored(id.clone()));
            // It may have ended between the request's check and now: ask once.
            if registered.is_ok() {
                ends.checks.ask(id.clone());
            }
            Some(registered)
        }
    };
    let inner: Pin<Box<dyn Future<Output = SessionEndReason> + Send>> = match registration {
        Some(Err(reason)) => Box::pin(std::future::ready(reason)),
        None => Box::pin(async move {
            tokio::time::sleep_until(deadline.into()).await;
            SessionEndReason::Expired
        }),
        Some(Ok(mut registration)) => Box::pin(async move {
            tokio::select! {
                biased;
                reason = ended(&mut registration.rx) => reason,
                () = tokio::time::sleep_until(deadline.into()) => SessionEndReason::Expired,
            }
        }),
    };
    SessionEnd {
        state: EndState::Watching(inner),
    }
}

/// The reason sent to `rx`; never, if the registry is gone (the app was dropped).
async fn ended(rx: &mut watch::Receiver<Option<SessionEndReason>>) -> SessionEndReason {
    let reason = rx.wait_for(Option::is_some).await.ok().and_then(|r| *r);
    match reason {
        Some(reason) => reason,
        None => std::future::pending().await,
    }
}

/// With a session store: which watched sessions to ask the store about, and the task that asks.
#[cfg(feature = "redis")]
pub(crate) mod checks {
    use std::{
        collections::HashSet,
        sync::{
            atomic::{AtomicBool, Ordering},
            Arc, Mutex,
        },
        time::Duration,
    };

    use tokio::sync::Notify;

    use super::{SessionEndReason, SessionEnds, Watched};
    use crate::session::store::{redis::RedisStore, SessionId};

    /// How often watched sessions are asked about while the invalidation channel is cut: the
    /// revocation bound.
    pub(crate) const WHILE_CUT: Duration = Duration::from_secs(1);
    /// How long to wait before asking again after the store could not answer (channel live).
    const RETRY: Duration = Duration::from_millis(200);

    #[derive(Default)]
    pub(crate) struct Checks {
        pending: Mutex<HashSet<SessionId>>,
        wake: Notify,
        /// The invalidation channel is cut: ask about every watched session every second.
        cut: AtomicBool,
    }

    impl Checks {
        /// Asks the store about `id` soon.
        pub(crate) fn ask(&self, id: SessionId) {
            self.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id);
            self.wake.notify_one();
        }

        fn take(&self) -> Vec<SessionId> {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.drain().collect()
        }
    }

    impl SessionEnds {
        /// The invalidation channel said `id` changed or ended: asked about if watched.
        pub(crate) fn heard(&self, id: &SessionId) {
            let key = Watched::Stored(id.clone());
            if self.is_watched(&key) {
                self.checks.ask(id.clone());
            }
        }

        /// The invalidation channel was cut (`live` false) or is back (`live` true: what was
        /// published meanwhile is lost, so every watched session is asked about once).
        pub(crate) fn channel(&self, live: bool) {
            self.checks.cut.store(!live, Ordering::Release);
            if live {
                for id in self.watched_ids() {
                    self.checks.ask(id);
                }
            }
            self.checks.wake.notify_one();
        }

        fn watched_ids(&self) -> Vec<SessionId> {
            self.lock()
                .watched
                .keys()
                .filter_map(|k| match k {
                    Watched::Stored(id) => Some(id.clone()),
                    Watched::Cookie { .. } => None,
                })
                .collect()
        }
    }

    /// Asks the store about the sessions that need it, until `stop` fires: those heard of on
    /// the channel, each new watcher's, and every watched one each second while the channel
    /// is cut.
    pub(crate) async fn run(
        ends: Arc<SessionEnds>,
        store: RedisStore,
        mut stop: tokio::sync::oneshot::Receiver<()>,
    ) {
        loop {
            let cut = ends.checks.cut.load(Ordering::Acquire);
            tokio::select! {
                _ = &mut stop => return,
                () = ends.checks.wake.notified() => {}
                () = tokio::time::sleep(WHILE_CUT), if cut => {}
            }
            let cut = ends.checks.cut.load(Ordering::Acquire);
            let mut ids = ends.checks.take();
            if cut {
                ids = ends.watched_ids();
            }
            ids.retain(|id| ends.is_watched(&Watched::Stored(id.clone())));
            if ids.is_empty() {
                continue;
            }
            match store.ended(&ids).await {
                Ok(gone) => {
                    for (id, revoked) in gone {
                        let reason = match revoked {
                            true => SessionEndReason::Revoked,
                            false => SessionEndReason::LoggedOut,
                        };
                        ends.end(&Watched::Stored(id), reason);
                    }
                }
                Err(e) if ends.checks.cut.load(Ordering::Acquire) => {
                    tracing::warn!(error = %e, sessions = ids.len(), "the session store cannot be reached and its invalidation channel is cut: open streams end");
                    for id in ids {
                        ends.end(&Watched::Stored(id), SessionEndReason::StoreUnavailable);
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "could not ask the session store whether watched sessions ended; asking again");
                    for id in ids {
                        ends.checks.ask(id);
                    }
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::user_in_orgs;

    fn linked(ends: &Arc<SessionEnds>, lifetime: u64) -> SessionData {
        let mut data = user_in_orgs(0);
        data.session_ends_at = super::super::now_unix() + lifetime;
        data.end_link = EndLink::Cookie(ends.clone());
        data
    }

    #[test]
    fn dropped_watchers_leave_nothing_registered() {
        let ends = Arc::new(SessionEnds::default());
        let data = linked(&ends, 600);
        let mut other = linked(&ends, 600);
        other.sub = "another user".into();
        let many: Vec<SessionEnd> = (0..1000)
            .map(|i| watch(if i % 2 == 0 { &data } else { &other }))
            .collect();
        assert_eq!(ends.watched_sessions(), 2);
        drop(many);
        assert_eq!(ends.watched_sessions(), 0);
        // A session that was never linked (an API client's) registers nothing.
        let _unlinked = watch(&user_in_orgs(0));
        assert_eq!(ends.watched_sessions(), 0);
    }

    #[tokio::test]
    async fn a_logout_ends_every_watcher_of_that_session_only() {
        let ends = Arc::new(SessionEnds::default());
        let data = linked(&ends, 600);
        let mut other = linked(&ends, 600);
        other.sub = "another user".into();
        let (a, b, c) = (watch(&data), watch(&data), watch(&other));
        ends.end(&Watched::cookie(&data), SessionEndReason::LoggedOut);
        assert_eq!(a.await, SessionEndReason::LoggedOut);
        assert_eq!(b.await, SessionEndReason::LoggedOut);
        let still = tokio::time::timeout(Duration::from_millis(50), c).await;
        assert!(still.is_err(), "another session's watcher did not end");
        assert_eq!(ends.watched_sessions(), 0);
        // Asked for just after the logout: ended at once.
        assert_eq!(watch(&data).await, SessionEndReason::LoggedOut);
        assert_eq!(ends.watched_sessions(), 0);
    }

    #[tokio::test]
    async fn polled_again_after_it_resolved_it_gives_the_same_reason() {
        let ends = Arc::new(SessionEnds::default());
        let data = linked(&ends, 600);
        let mut end = watch(&data);
        let mut other = watch(&data);
        ends.end(&Watched::cookie(&data), SessionEndReason::LoggedOut);
        // The way a stream's loop holds it: `&mut end` in every round of its `select!`.
        for _ in 0..3 {
            tokio::select! {
                reason = &mut end => assert_eq!(reason, SessionEndReason::LoggedOut),
                _ = tokio::time::sleep(Duration::from_secs(2)) => panic!("not ended"),
            }
        }
        assert_eq!((&mut other).await, SessionEndReason::LoggedOut);
        // Resolved, both let go of the registration while still held.
        assert_eq!(ends.watched_sessions(), 0);
        drop((end, other));
    }

    #[tokio::test]
    async fn a_session_past_its_end_time_has_ended() {
        let ends = Arc::new(SessionEnds::default());
        let mut data = linked(&ends, 0);
        data.session_ends_at -= 1;
        assert_eq!(watch(&data).await, SessionEndReason::Expired);
        data.end_link = EndLink::None;
        assert_eq!(watch(&data).await, SessionEndReason::Expired);
        assert_eq!(ends.watched_sessions(), 0);
    }
}
