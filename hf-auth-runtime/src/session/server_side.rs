//! Server-side sessions (feature `redis`, `HF_AUTH_SESSION_STORE`): the browser's cookie holds
//! only a sealed random [`SessionId`]; the session lives in the store, and a per-replica cache
//! of recently seen sessions answers the hot path.
//!
//! The cache may answer only while this replica hears the store's invalidation channel: every
//! save, logout and revocation on any replica is published there, and drops the session from
//! every replica's cache as soon as the message arrives (milliseconds on a LAN; the documented
//! bound is 1 s). When the subscription is cut, the cache is emptied and bypassed until it is
//! back, so a replica that cannot hear revocations asks the store (and answers 503 if the store
//! is gone) instead of trusting what it remembers. A load that raced with an invalidation is
//! not cached (an epoch counter), and an entry is trusted at most [`MAX_AGE`] in any case.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use axum::http::{HeaderMap, HeaderValue};

use super::{
    codec::{self, Names},
    end::{checks, EndLink, SessionEnds},
    store::{
        endpoint::StoreCa, redis::RedisStore, sealing::StoreKeys, Invalidation, SessionId,
        SessionStore, StoreError,
    },
    SessionData,
};
use crate::{
    cookies::{find_cookie, CookiePolicy},
    crypto::CookieKey,
    error::RevokeError,
};

/// The first byte of a sealed session id (a stateless session's cookie starts with another),
/// so that a cookie of one mode is never read as the other.
const ID_FORMAT: u8 = b'I';
/// The longest a cached session answers without asking the store again, even with the
/// invalidation channel live: a backstop, not the revocation bound.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(30);
const SHARDS: usize = 16;
const PER_SHARD: usize = 256;

/// The server-side sessions of one app: the store, and this replica's cache.
pub(crate) struct ServerSessions {
    store: RedisStore,
    cache: Arc<IdCache>,
    /// The sessions whose end handlers watch: told of what the invalidation channel hears.
    ends: Arc<SessionEnds>,
    /// Dropped with this value: stop the invalidation task and the watched sessions' checks.
    _stop: tokio::sync::oneshot::Sender<()>,
    _stop_checks: tokio::sync::oneshot::Sender<()>,
}

/// Recently seen sessions, by sealed cookie value (so a hit costs no decryption), with the id
/// each belongs to (so an invalidation finds them).
struct IdCache {
    /// Off: every request asks the store (`HF_AUTH_SESSION_STORE_CACHE=0`).
    enabled: bool,
    shards: Vec<Mutex<HashMap<u64, Entry>>>,
    /// Whether the invalidation channel is live: only then may an entry answer.
    live: AtomicBool,
    /// Incremented by every invalidation: a load that saw it change does not cache.
    epoch: AtomicU64,
}

struct Entry {
    cookie: Box<str>,
    id: SessionId,
    data: Arc<SessionData>,
    at: Instant,
}

/// The cache key of a sealed value: its last 8 characters (its random AES-GCM tag), the shard
/// from the 16th last.
fn tag_of(value: &[u8]) -> Option<(usize, u64)> {
    let tail: [u8; 16] = value.get(value.len().checked_sub(16)?..)?.try_into().ok()?;
    let tag = u64::from_le_bytes(tail[8..].try_into().expect("8 bytes"));
    Some((usize::from(tail[0]) % SHARDS, tag))
}

impl IdCache {
    fn new(enabled: bool) -> IdCache {
        IdCache {
            enabled,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            live: AtomicBool::new(true),
            epoch: AtomicU64::new(0),
        }
    }

    fn get(&self, cookie: &[u8]) -> Option<Arc<SessionData>> {
        if !self.enabled || !self.live.load(Ordering::Acquire) {
            return None;
        }
        let (shard, tag) = tag_of(cookie)?;
        let shard = self.shards[shard].lock().unwrap_or_else(|e| e.into_inner());
        let hit = shard.get(&tag)?;
        (hit.cookie.as_bytes() == cookie && hit.at.elapsed() < MAX_AGE).then(|| hit.data.clone())
    }

    fn insert(&self, cookie: &str, id: SessionId, data: Arc<SessionData>, epoch: u64) {
        let Some((shard, tag)) = tag_of(cookie.as_bytes()).filter(|_| self.enabled) else {
            return;
        };
        let mut shard = self.shards[shard].lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock, as invalidations take it too: nothing stale slips in.
        if !self.live.load(Ordering::Acquire) || self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if shard.len() >= PER_SHARD {
            shard.clear();
        }
        let entry = Entry {
            cookie: cookie.into(),
            id,
            data,
            at: Instant::now(),
        };
        shard.insert(tag, entry);
    }

    fn invalidate(&self, what: &Invalidation) {
        // Before the entries go: an insert checks the epoch under its shard's lock.
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            match what {
                Invalidation::Session(id) => shard.retain(|_, e| e.id != *id),
                Invalidation::All => shard.clear(),
            }
        }
    }

    #[cfg(all(test, feature = "testing"))]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap().len()).sum()
    }
}

/// What the hot path found in the cookie.
pub(crate) enum Found {
    /// A session this replica saw recently, still valid.
    Cached(Arc<SessionData>),
    /// A session id to load from the store.
    Load(SessionId),
}

impl ServerSessions {
    /// Connects to the store at `url` (trusting `ca` for TLS, else the system's roots; sealing
    /// the sessions with `keys`) and subscribes to its invalidations (a task of its own,
    /// stopped when this value is dropped). An unreachable store is an error: at start-up.
    /// Without `cache`, every request asks the store (a round trip each). What the channel
    /// hears is told to `ends` too, whose watched sessions a second task asks the store about.
    pub(crate) async fn connect(
        url: &str,
        ca: Option<&StoreCa>,
        keys: StoreKeys,
        cache: bool,
        ends: Arc<SessionEnds>,
    ) -> Result<ServerSessions, StoreError> {
        let store = RedisStore::connect(url, ca, keys).await?;
        let mut invalidations = store.subscribe_invalidations().await?;
        let cache = Arc::new(IdCache::new(cache));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let (stop_checks, checks_stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(checks::run(ends.clone(), store.clone(), checks_stopped));
        let task_cache = cache.clone();
        let task_ends = ends.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    _ = &mut stopped => break,
                    next = invalidations.next() => next,
                };
                let Some(what) = next else { break };
                task_cache.invalidate(&what);
                if let Invalidation::Session(id) = &what {
                    task_ends.heard(id);
                }
                if what == Invalidation::All {
                    let live = invalidations.is_live();
                    task_cache.live.store(live, Ordering::Release);
                    task_ends.channel(live);
                    if live {
                        tracing::info!("the session store's invalidation channel is back; the session cache is in use again");
                    } else {
                        tracing::warn!("lost the session store's invalidation channel; every request asks the store until it is back");
                    }
                }
            }
            task_cache.live.store(false, Ordering::Release);
            task_cache.invalidate(&Invalidation::All);
            task_ends.channel(false);
        });
        Ok(ServerSessions {
            store,
            cache,
            ends,
            _stop: stop,
            _stop_checks: stop_checks,
        })
    }

    /// The store itself.
    pub(crate) fn store(&self) -> &RedisStore {
        &self.store
    }

    /// The hot path: the session of the request's cookie if this replica has it cached (no
    /// allocation, no network), else the id to load; `None` when there is no valid cookie.
    pub(crate) fn find(&self, key: &CookieKey, headers: &HeaderMap, names: Names) -> Option<Found> {
        let value = crate::cookies::find_cookie_bytes(headers, names[0])?;
        if let Some(data) = self.cache.get(value) {
            return Some(Found::Cached(data));
        }
        id_of(key, headers, names).map(Found::Load)
    }

    /// Loads the session `id` from the store, and caches it under the request's cookie.
    pub(crate) async fn load(
        &self,
        headers: &HeaderMap,
        names: Names,
        id: &SessionId,
    ) -> Result<Arc<SessionData>, StoreError> {
        let epoch = self.cache.epoch.load(Ordering::Acquire);
        let mut data = self.store.load(id).await?;
        data.end_link = EndLink::Stored(self.ends.clone(), id.clone());
        let data = Arc::new(data);
        if let Some(cookie) = find_cookie(headers, names[0]) {
            self.cache.insert(cookie, id.clone(), data.clone(), epoch);
        }
        Ok(data)
    }

    /// Stores a new session and returns the `Set-Cookie` headers of its id (removing any
    /// stateless session cookies the request carried).
    pub(crate) async fn begin(
        &self,
        request: &HeaderMap,
        policy: CookiePolicy,
        key: &CookieKey,
        data: &SessionData,
    ) -> Result<Vec<HeaderValue>, StoreError> {
        let id = self.store.create(data).await?;
        // A login replaces the session this browser had (a step-up, or signing in again): the
        // old one ends rather than linger, valid, until its TTL.
        if let Some(old) = id_of(key, request, policy.session_names()) {
            if let Err(e) = self.store.delete(&old).await {
                tracing::debug!(error = %e, "could not end the session a login replaced; it expires by itself");
            }
        }
        let name = policy.session_names()[0];
        let value = key.seal(name, &sealed_plaintext(&id));
        Ok(codec::write_values(
            request,
            policy,
            vec![(name.to_owned(), value)],
            data.session_ends_at,
        ))
    }

    /// Ends the request's session in the store (logout): refused on every replica at once.
    /// `Ok(false)` when the request had no session there.
    pub(crate) async fn end(
        &self,
        key: &CookieKey,
        headers: &HeaderMap,
        names: Names,
    ) -> Result<bool, StoreError> {
        match id_of(key, headers, names) {
            Some(id) => self.store.delete(&id).await,
            None => Ok(false),
        }
    }
}

/// The session id in the request's cookie, if it is one this app sealed.
pub(crate) fn id_of(key: &CookieKey, headers: &HeaderMap, names: Names) -> Option<SessionId> {
    let plain = key.open(names[0], find_cookie(headers, names[0])?)?;
    let (&format, id) = plain.split_first()?;
    if format != ID_FORMAT {
        return None;
    }
    SessionId::parse(std::str::from_utf8(id).ok()?)
}

fn sealed_plaintext(id: &SessionId) -> Vec<u8> {
    let mut plain = Vec::with_capacity(1 + id.as_str().len());
    plain.push(ID_FORMAT);
    plain.extend_from_slice(id.as_str().as_bytes());
    plain
}

/// Ends every session of the user `sub` in the session store at `store_url`, without building
/// an app: what an operator's command runs (`space_app revoke-user <sub>` in the reference
/// app). Every replica of the app drops the sessions within a second. A `rediss://` store is
/// trusted through the system's roots; for a private CA, see [`revoke_user_in_store_with_ca`].
///
/// ```no_run
/// # async fn run() -> Result<(), hf_auth_runtime::RevokeError> {
/// let url = std::env::var("HF_AUTH_SESSION_STORE").unwrap();
/// let ended = hf_auth_runtime::revoke_user_in_store(&url, "62f264b9f3c90f4b6514a269").await?;
/// # Ok(()) }
/// ```
pub async fn revoke_user_in_store(store_url: &str, sub: &str) -> Result<usize, RevokeError> {
    revoke_user_in_store_with_ca(store_url, None, sub).await
}

/// As [`revoke_user_in_store`], trusting the private CA in the PEM file `ca_file` for a
/// `rediss://` store (what `HF_AUTH_SESSION_STORE_CA` names), or the system's roots when
/// `None`. It needs no cookie key: it reads no session, it deletes the user's by their id.
///
/// ```no_run
/// # async fn run() -> Result<(), hf_auth_runtime::RevokeError> {
/// let url = std::env::var("HF_AUTH_SESSION_STORE").unwrap();
/// let ca = std::env::var_os("HF_AUTH_SESSION_STORE_CA").map(std::path::PathBuf::from);
/// let ended = hf_auth_runtime::revoke_user_in_store_with_ca(
///     &url,
///     ca.as_deref(),
///     "62f264b9f3c90f4b6514a269",
/// )
/// .await?;
/// # Ok(()) }
/// ```
pub async fn revoke_user_in_store_with_ca(
    store_url: &str,
    ca_file: Option<&std::path::Path>,
    sub: &str,
) -> Result<usize, RevokeError> {
    let ca = ca_file
        .map(StoreCa::read)
        .transpose()
        .map_err(|e| RevokeError::InvalidCa(e.to_string()))?;
    // Random keys: a revocation deletes by user and never reads or writes a session's value.
    let store = RedisStore::connect(store_url, ca.as_ref(), StoreKeys::random())
        .await
        .map_err(|e| RevokeError::Unavailable(e.to_string()))?;
    revoke_in(&store, sub).await
}

pub(crate) async fn revoke_in(store: &RedisStore, sub: &str) -> Result<usize, RevokeError> {
    if sub.is_empty() || sub.len() > 256 || sub.bytes().any(|b| b.is_ascii_control()) {
        return Err(RevokeError::InvalidUser);
    }
    let n = store
        .delete_user(sub)
        .await
        .map_err(|e| RevokeError::Unavailable(e.to_string()))?;
    tracing::info!(user = %crate::error::Escaped::str(sub), sessions = n, "revoked every session of a user");
    Ok(n)
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::{
        session::{
            codec::PLAIN_NAMES,
            tests::{headers_of, key, user_in_orgs},
        },
        testing::RedisServer,
    };

    fn store_keys() -> StoreKeys {
        StoreKeys::derive(&[3u8; 32], None, crate::crypto::Mode::Real, "test")
    }

    fn cookie_headers(set: &[HeaderValue]) -> HeaderMap {
        let pairs: Vec<(String, String)> = set
            .iter()
            .filter_map(|h| {
                let text = h.to_str().ok()?;
                let pair = text.split(';').next()?;
                let (n, v) = pair.split_once('=')?;
                (!v.is_empty()).then(|| (n.to_owned(), v.to_owned()))
            })
            .collect();
        headers_of(&pairs)
    }

    async fn wait_until(mut cond: impl FnMut() -> bool, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if cond() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cond()
    }

    #[tokio::test]
    async fn a_cookie_holds_only_the_id_and_the_cache_hears_deletions_on_other_replicas() {
        let redis = RedisServer::start().expect("a test redis-server");
        let a = ServerSessions::connect(&redis.url(), None, store_keys(), true, Default::default())
            .await
            .unwrap();
        let b = ServerSessions::connect(&redis.url(), None, store_keys(), true, Default::default())
            .await
            .unwrap();
        let policy = CookiePolicy { secure: false };
        let mut data = user_in_orgs(100);
        data.session_ends_at = super::super::now_unix() + 600;
        let set = a
            .begin(&HeaderMap::new(), policy, &key(), &data)
            .await
            .unwrap();
        assert_eq!(set.len(), 1, "one cookie, even for 100 orgs");
        let h = cookie_headers(&set);
        let value = find_cookie(&h, PLAIN_NAMES[0]).unwrap();
        assert!(
            value.len() < 120,
            "an id, not a session: {} bytes",
            value.len()
        );
        // Not a stateless session, and a stateless session is not an id.
        assert!(codec::decode(&key(), &h).is_none());
        let stateless = codec::encode(&key(), &data, PLAIN_NAMES).unwrap();
        assert!(id_of(&key(), &headers_of(&stateless), PLAIN_NAMES).is_none());

        // Replica b loads it once, then answers from its cache.
        let Some(Found::Load(id)) = b.find(&key(), &h, PLAIN_NAMES) else {
            panic!("not cached yet")
        };
        assert!(*b.load(&h, PLAIN_NAMES, &id).await.unwrap() == data);
        assert!(matches!(
            b.find(&key(), &h, PLAIN_NAMES),
            Some(Found::Cached(_))
        ));

        // A logout on replica a: b's cache drops it within the bound.
        assert!(a.end(&key(), &h, PLAIN_NAMES).await.unwrap());
        let dropped = wait_until(|| b.cache.len() == 0, Duration::from_secs(1)).await;
        assert!(
            dropped,
            "the invalidation reached the other replica within 1 s"
        );
        let Some(Found::Load(id)) = b.find(&key(), &h, PLAIN_NAMES) else {
            panic!("still cached")
        };
        assert!(matches!(
            b.load(&h, PLAIN_NAMES, &id).await,
            Err(StoreError::NotFound)
        ));

        // A forged or foreign cookie is nothing.
        let other = CookieKey::derive(b"another secret, just as long ....", "test");
        assert!(b.find(&other, &h, PLAIN_NAMES).is_none());
    }

    #[tokio::test]
    async fn a_lost_channel_empties_and_bypasses_the_cache_until_it_is_back() {
        let mut redis = RedisServer::start().expect("a test redis-server");
        let s = ServerSessions::connect(&redis.url(), None, store_keys(), true, Default::default())
            .await
            .unwrap();
        let policy = CookiePolicy { secure: false };
        let mut data = user_in_orgs(1);
        data.session_ends_at = super::super::now_unix() + 600;
        let h = cookie_headers(
            &s.begin(&HeaderMap::new(), policy, &key(), &data)
                .await
                .unwrap(),
        );
        let Some(Found::Load(id)) = s.find(&key(), &h, PLAIN_NAMES) else {
            panic!()
        };
        s.load(&h, PLAIN_NAMES, &id).await.unwrap();
        assert!(matches!(
            s.find(&key(), &h, PLAIN_NAMES),
            Some(Found::Cached(_))
        ));

        redis.kill();
        let bypassed = wait_until(
            || matches!(s.find(&key(), &h, PLAIN_NAMES), Some(Found::Load(_))),
            Duration::from_secs(3),
        )
        .await;
        assert!(
            bypassed,
            "a replica that cannot hear revocations does not trust its cache"
        );
        match s.load(&h, PLAIN_NAMES, &id).await {
            Err(e) => assert!(e.is_unreachable(), "{e}"),
            Ok(_) => panic!("loaded from a dead store"),
        }

        redis.restart().unwrap();
        // Back (empty: this server has no persistence): a new session is cached again.
        let deadline = Instant::now() + Duration::from_secs(10);
        let h2 = loop {
            match s.begin(&HeaderMap::new(), policy, &key(), &data).await {
                Ok(set) => break cookie_headers(&set),
                Err(e) if Instant::now() < deadline => {
                    assert!(e.is_unreachable(), "{e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("the store did not come back: {e}"),
            }
        };
        let live = wait_until(
            || s.cache.live.load(Ordering::Acquire),
            Duration::from_secs(5),
        )
        .await;
        assert!(live, "the subscription came back");
        let Some(Found::Load(id2)) = s.find(&key(), &h2, PLAIN_NAMES) else {
            panic!()
        };
        s.load(&h2, PLAIN_NAMES, &id2).await.unwrap();
        assert!(matches!(
            s.find(&key(), &h2, PLAIN_NAMES),
            Some(Found::Cached(_))
        ));
    }

    #[test]
    fn a_load_that_raced_an_invalidation_is_not_cached() {
        let cache = IdCache::new(true);
        let id = SessionId::random();
        let cookie = key().seal(PLAIN_NAMES[0], &sealed_plaintext(&id));
        let epoch = cache.epoch.load(Ordering::Acquire);
        cache.invalidate(&Invalidation::Session(id.clone()));
        cache.insert(&cookie, id.clone(), Arc::new(user_in_orgs(0)), epoch);
        assert_eq!(cache.len(), 0);
        let epoch = cache.epoch.load(Ordering::Acquire);
        cache.insert(&cookie, id, Arc::new(user_in_orgs(0)), epoch);
        assert_eq!(cache.len(), 1);
    }
}
