//! [`SessionStore`] in Redis, with the `redis` crate's tokio connection manager (it reconnects
//! by itself after Redis restarts or the network breaks).
//!
//! Keys, under a prefix (default `hf-auth:`):
//! - `{prefix}s:{id}`: the session, `postcard` bytes of [`SessionData`] sealed with the store's
//!   key and the key's name as associated data ([`StoreKeys`]), with a TTL equal to the
//!   session's remaining lifetime, so Redis drops it when it ends;
//! - `{prefix}u:{sub}`: the set of the user's session ids (for [`SessionStore::delete_user`]),
//!   expiring with the user's longest session;
//! - `{prefix}l:{id}`: a refresh lock, holding a random value, with a short TTL;
//! - `{prefix}r:{id}`: left for [`REVOKED_MARK_TTL_S`] by a revocation, so that a replica that
//!   watches the session's end tells a revocation from a logout;
//! - channel `{prefix}invalidate`: each id saved or deleted is published there.
//!
//! The URL is `redis://` or `rediss://` (TLS), with a password or not; see [`endpoint`](super::endpoint).
//!
//! Multi-key steps run as one Lua script or `MULTI` transaction, so a revocation cannot miss a
//! session created at the same moment. A plain standalone Redis (or a primary with replicas)
//! is assumed, not Redis Cluster: the scripts touch keys they compute. Redis 7 or later (or
//! Valkey): `EXPIRE … NX|GT` keeps the user index alive as long as its longest session, and the
//! invalidation subscriber speaks RESP3.

use std::time::Duration;

use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig},
    Client, ErrorKind, ProtocolVersion, PushInfo, PushKind, RedisError, Value,
};
use tokio::sync::mpsc;

use super::{
    endpoint::{self, StoreCa},
    sealing::StoreKeys,
    Invalidation, RefreshLock, SessionId, SessionStore, StoreError, StoreFuture,
};
use crate::session::{now_unix, SessionData};

/// The default key prefix.
pub(crate) const DEFAULT_PREFIX: &str = "hf-auth:";

/// How long one command may take, and one connection attempt, before Redis counts as
/// unreachable: a protected request then gets its 503 quickly instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Deletes every session of a user, marks each as revoked for a while, and announces each, in
/// one atomic step. KEYS[1] = the user's index; ARGV[1] = the session key prefix, ARGV[2] = the
/// channel, ARGV[3] = the revocation mark prefix, ARGV[4] = the mark's TTL in seconds.
const DELETE_USER: &str = r"
local ids = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, id in ipairs(ids) do
  local d = redis.call('DEL', ARGV[1] .. id)
  if d > 0 then redis.call('SET', ARGV[3] .. id, '1', 'EX', ARGV[4]) end
  n = n + d
  redis.call('PUBLISH', ARGV[2], id)
end
redis.call('DEL', KEYS[1])
return n
";

/// Replaces a session only if it still exists, extends the user's index, announces it.
/// KEYS[1] = session, KEYS[2] = index; ARGV = bytes, ttl ms, index ttl s, channel, id.
const SAVE: &str = r"
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'XX') then return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[3], 'NX')
redis.call('EXPIRE', KEYS[2], ARGV[3], 'GT')
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
";

/// Deletes a session, its index entry, and announces it.
/// KEYS[1] = session, KEYS[2] = index (or the session key again when unknown); ARGV = channel, id.
const DELETE: &str = r"
local n = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return n
";

/// How long a revoked session's mark (`{prefix}r:{id}`) stays: a replica that asks later (its
/// invalidation channel was cut longer) reads the revocation as a logout.
pub(crate) const REVOKED_MARK_TTL_S: u64 = 60;

/// Ids asked about in one pipeline at most.
const ENDED_BATCH: usize = 256;

/// Deletes a lock only if it still holds the holder's value (compare-and-delete).
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Sessions in Redis. Cheap to clone (one shared multiplexed connection).
#[derive(Clone)]
pub(crate) struct RedisStore {
    client: Client,
    conn: ConnectionManager,
    prefix: Box<str>,
    keys: StoreKeys,
}

impl std::fmt::Debug for RedisStore {
    // The URL may hold a password, and the keys are secret: only the prefix is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// Sorts Redis errors into "unreachable" (transient: refused, dropped, timed out, I/O, TLS),
/// a refused password, and the rest.
fn store_error(e: RedisError) -> StoreError {
    if e.kind() == ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"))
    {
        StoreError::Authentication(e.to_string())
    } else if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_timeout()
    {
        StoreError::Unreachable(e.to_string())
    } else {
        StoreError::Command(e.to_string())
    }
}

/// The remaining lifetime of `data` in milliseconds, or `Expired`.
fn ttl_ms(data: &SessionData) -> Result<u64, StoreError> {
    let left = data.session_ends_at.saturating_sub(now_unix());
    if left == 0 {
        return Err(StoreError::Expired);
    }
    Ok(left * 1000)
}

/// The user index outlives each of its sessions by a second.
fn index_ttl_s(ttl_ms: u64) -> u64 {
    ttl_ms / 1000 + 1
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`, `rediss://user:password@host:port/db`, …)
    /// with the default key prefix, trusting `ca` for TLS (else the system's roots), sealing
    /// values with `keys`. Fails with [`StoreError::Unreachable`] when Redis does not answer
    /// within a second or two (or its certificate is not trusted), and with
    /// [`StoreError::Authentication`] when it refuses the password: clear start-up errors.
    pub(crate) async fn connect(
        url: &str,
        ca: Option<&StoreCa>,
        keys: StoreKeys,
    ) -> Result<RedisStore, StoreError> {
        let client = endpoint::client(url, ca)?;
        let mut conn = client
            .get_connection_manager_with_config(manager_config())
            .await
            .map_err(store_error)?;
        // Without a password, a server that requires one accepts the connection and refuses
        // every command: ask once, so that start-up says so.
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(store_error)?;
        Ok(RedisStore {
            client,
            conn,
            prefix: DEFAULT_PREFIX.into(),
            keys,
        })
    }

    /// The session, sealed for its key's name (`session_key`, formatted once by the caller,
    /// which also writes under it).
    fn seal(&self, key: &str, data: &SessionData) -> Result<Vec<u8>, StoreError> {
        let plain = postcard::to_allocvec(data).map_err(|_| StoreError::Corrupt)?;
        Ok(self.keys.seal(key, &plain))
    }

    /// A session read back from the key named `key`: [`StoreError::Corrupt`] unless this app
    /// sealed it there.
    fn open(&self, key: &str, sealed: &[u8]) -> Result<SessionData, StoreError> {
        let plain = self.keys.open(key, sealed).ok_or(StoreError::Corrupt)?;
        postcard::from_bytes(&plain).map_err(|_| StoreError::Corrupt)
    }

    /// The shared connection (for other data of hf-auth in the same Redis, such as the token
    /// cache), and the key prefix.
    pub(crate) fn connection(&self) -> (ConnectionManager, &str) {
        (self.conn.clone(), &self.prefix)
    }

    fn session_key(&self, id: &SessionId) -> String {
        format!("{}s:{}", self.prefix, id.as_str())
    }
    fn user_key(&self, sub: &str) -> String {
        format!("{}u:{sub}", self.prefix)
    }
    fn lock_key(&self, id: &SessionId) -> String {
        format!("{}l:{}", self.prefix, id.as_str())
    }
    fn channel(&self) -> String {
        format!("{}invalidate", self.prefix)
    }
    fn revoked_key(&self, id: &SessionId) -> String {
        format!("{}r:{}", self.prefix, id.as_str())
    }

    /// Which of `ids` no longer exist, and whether each was revoked (else logged out or
    /// otherwise deleted): for the replicas that watch these sessions' end. Two `EXISTS` per id,
    /// pipelined in batches.
    pub(crate) async fn ended(
        &self,
        ids: &[SessionId],
    ) -> Result<Vec<(SessionId, bool)>, StoreError> {
        let mut gone = Vec::new();
        for batch in ids.chunks(ENDED_BATCH) {
            let mut pipe = redis::pipe();
            for id in batch {
                pipe.cmd("EXISTS").arg(self.session_key(id));
                pipe.cmd("EXISTS").arg(self.revoked_key(id));
            }
            let found: Vec<bool> = pipe
                .query_async(&mut self.conn.clone())
                .await
                .map_err(store_error)?;
            for (id, pair) in batch.iter().zip(found.chunks(2)) {
                if let [false, revoked] = pair {
                    gone.push((id.clone(), *revoked));
                }
            }
        }
        Ok(gone)
    }

    /// Subscribes to the invalidation channel on a connection of its own (RESP3 push messages,
    /// resubscribed automatically after a reconnection). A per-replica cache drops what it
    /// yields; see [`Invalidations::next`]. Messages queue without bound until read: the cache
    /// reads them in a task of its own, so the queue stays short.
    pub(crate) async fn subscribe_invalidations(&self) -> Result<Invalidations, StoreError> {
        let info = self.client.get_connection_info().clone();
        let redis = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        // The same address, TLS roots and password: only the protocol differs.
        let client = Client::open(info.set_redis_settings(redis))
            .map_err(|e| StoreError::Config(e.to_string()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let config = manager_config()
            .set_push_sender(tx)
            .set_automatic_resubscription();
        let mut conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(store_error)?;
        let channel = self.channel();
        conn.subscribe(&channel).await.map_err(store_error)?;
        Ok(Invalidations {
            rx,
            conn,
            channel: channel.into(),
            lost: false,
        })
    }

    /// Redis's own estimate of the memory one session takes (`MEMORY USAGE`), for the docs.
    #[cfg(all(test, feature = "testing"))]
    pub(crate) async fn memory_usage(&self, id: &SessionId) -> Result<u64, StoreError> {
        redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(self.session_key(id))
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(store_error)
    }

    /// The remaining TTL of a session key in milliseconds (`PTTL`: -2 missing, -1 none).
    #[cfg(all(test, feature = "testing"))]
    pub(crate) async fn pttl(&self, id: &SessionId) -> Result<i64, StoreError> {
        redis::cmd("PTTL")
            .arg(self.session_key(id))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(store_error)
    }
}

impl SessionStore for RedisStore {
    fn create<'a>(&'a self, data: &'a SessionData) -> StoreFuture<'a, SessionId> {
        Box::pin(async move {
            let ttl = ttl_ms(data)?;
            let id = SessionId::random();
            let key = self.session_key(&id);
            let bytes = self.seal(&key, data)?;
            let user = self.user_key(&data.sub);
            let (set,): (Option<String>,) = redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&key)
                .arg(bytes)
                .arg("PX")
                .arg(ttl)
                .arg("NX")
                .cmd("SADD")
                .arg(&user)
                .arg(id.as_str())
                .ignore()
                .cmd("EXPIRE")
                .arg(&user)
                .arg(index_ttl_s(ttl))
                .arg("NX")
                .ignore()
                .cmd("EXPIRE")
                .arg(&user)
                .arg(index_ttl_s(ttl))
                .arg("GT")
                .ignore()
                .query_async(&mut self.conn.clone())
                .await
                .map_err(store_error)?;
            // 256 random bits never collide; if they did, the other session is left intact.
            if set.is_none() {
                return Err(StoreError::Command("session id already in use".into()));
            }
            Ok(id)
        })
    }

    fn load<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, SessionData> {
        Box::pin(async move {
            let key = self.session_key(id);
            let bytes: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(store_error)?;
            let data = self.open(&key, &bytes.ok_or(StoreError::NotFound)?)?;
            // Redis expires keys lazily within milliseconds; the lifetime is the authority.
            if data.session_ends_at <= now_unix() {
                return Err(StoreError::NotFound);
            }
            Ok(data)
        })
    }

    fn save<'a>(&'a self, id: &'a SessionId, data: &'a SessionData) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let ttl = ttl_ms(data)?;
            let key = self.session_key(id);
            let bytes = self.seal(&key, data)?;
            let saved: i64 = redis::cmd("EVAL")
                .arg(SAVE)
                .arg(2)
                .arg(&key)
                .arg(self.user_key(&data.sub))
                .arg(bytes)
                .arg(ttl)
                .arg(index_ttl_s(ttl))
                .arg(self.channel())
                .arg(id.as_str())
                .query_async(&mut self.conn.clone())
                .await
                .map_err(store_error)?;
            if saved == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let key = self.session_key(id);
            // The user's index entry goes too, when the session says whose it is.
            let index = match self.load(id).await {
                Ok(data) => self.user_key(&data.sub),
                Err(StoreError::NotFound | StoreError::Corrupt) => key.clone(),
                Err(e) => return Err(e),
            };
            let n: i64 = redis::cmd("EVAL")
                .arg(DELETE)
                .arg(2)
                .arg(&key)
                .arg(index)
                .arg(self.channel())
                .arg(id.as_str())
                .query_async(&mut self.conn.clone())
                .await
                .map_err(store_error)?;
            Ok(n > 0)
        })
    }

    fn delete_user<'a>(&'a self, sub: &'a str) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let n: i64 = redis::cmd("EVAL")
                .arg(DELETE_USER)
                .arg(1)
                .arg(self.user_key(sub))
                .arg(format!("{}s:", self.prefix))
                .arg(self.channel())
                .arg(format!("{}r:", self.prefix))
                .arg(REVOKED_MARK_TTL_S)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(store_error)?;
            Ok(usize::try_from(n).unwrap_or(0))
        })
    }

    fn try_lock_refresh<'a>(
        &'a self,
        id: &'a SessionId,
        ttl: Duration,
    ) -> StoreFuture<'a, Option<RefreshLock>> {
        Box::pin(async move {
            let token = SessionId::random();
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let set: Option<String> = redis::cmd("SET")
                .arg(self.lock_key(id))
                .arg(token.as_str())
                .arg("PX")
                .arg(ms)
                .arg("NX")
                .query_async(&mut self.conn.clone())
                .await
                .map_err(store_error)?;
            Ok(set.map(|_| RefreshLock {
                id: id.clone(),
                token: token.as_str().into(),
            }))
        })
    }

    fn unlock_refresh(&self, lock: RefreshLock) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let n: i64 = redis::cmd("EVAL")
                .arg(UNLOCK)
                .arg(1)
                .arg(self.lock_key(&lock.id))
                .arg(&*lock.token)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(store_error)?;
            Ok(n == 1)
        })
    }
}

/// The invalidation channel, as a per-replica cache reads it.
pub(crate) struct Invalidations {
    rx: mpsc::UnboundedReceiver<PushInfo>,
    /// The subscribed connection (it reconnects and resubscribes when asked to).
    conn: ConnectionManager,
    channel: Box<str>,
    /// The subscription was cut and is not back yet.
    lost: bool,
}

impl Invalidations {
    /// Whether the subscription is live (not cut since the last [`Invalidation::All`]).
    pub(crate) fn is_live(&self) -> bool {
        !self.lost
    }
}

/// How often a cut subscription tries to come back.
const RESUBSCRIBE_EVERY: Duration = Duration::from_millis(200);

impl Invalidations {
    /// The next invalidation: a session id saved or deleted on any replica, or
    /// [`Invalidation::All`] when messages may have been missed: once when the subscription is
    /// cut (Redis restarted, the network broke), and once more when it is back (what was
    /// published in between is lost). While it is cut, this retries every 200 ms. `None` only
    /// once the connection is gone for good. Cancel-safe (it can sit in a `select!`).
    pub(crate) async fn next(&mut self) -> Option<Invalidation> {
        loop {
            if self.lost {
                // A command makes the manager reconnect; subscribing again is idempotent.
                match self.conn.subscribe(&*self.channel).await {
                    Ok(()) => {
                        self.lost = false;
                        return Some(Invalidation::All);
                    }
                    Err(_) => {
                        tokio::time::sleep(RESUBSCRIBE_EVERY).await;
                        continue;
                    }
                }
            }
            let push = self.rx.recv().await?;
            match push.kind {
                PushKind::Disconnection => {
                    self.lost = true;
                    return Some(Invalidation::All);
                }
                PushKind::Message => {
                    // [channel, payload]; anything not shaped like an id is ignored.
                    if let Some(Value::BulkString(payload)) = push.data.get(1) {
                        if let Some(id) =
                            std::str::from_utf8(payload).ok().and_then(SessionId::parse)
                        {
                            return Some(Invalidation::Session(id));
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Against a real `redis-server` on 127.0.0.1 on a free port, started by each test (Debian's
/// `redis-server`; `scripts/test.sh` installs it, and a test fails without it).
#[cfg(all(test, feature = "testing"))]
pub(crate) mod tests {
    use std::time::Instant;

    use super::*;
    use crate::testing::RedisServer;

    fn redis_server() -> RedisServer {
        RedisServer::start().expect("a test redis-server (apt-get install redis-server)")
    }
    use crate::session::tests::user_in_orgs;

    pub(crate) fn keys() -> StoreKeys {
        StoreKeys::derive(
            b"the test master secret, 32 bytes+",
            None,
            crate::crypto::Mode::Real,
            "test",
        )
    }

    async fn store(server: &RedisServer) -> RedisStore {
        RedisStore::connect(&server.url(), ca(server).as_ref(), keys())
            .await
            .expect("connect")
    }

    /// The server's private CA (TLS mode), as `HF_AUTH_SESSION_STORE_CA` gives it.
    fn ca(server: &RedisServer) -> Option<StoreCa> {
        server
            .ca_path()
            .map(|p| StoreCa::read(&p).expect("the test CA"))
    }

    fn user(sub: &str, orgs: usize) -> SessionData {
        let mut d = user_in_orgs(orgs);
        d.sub = sub.into();
        d
    }

    #[tokio::test]
    async fn create_load_save_delete_with_the_lifetime_as_ttl() {
        let server = redis_server();
        let s = store(&server).await;
        let mut data = user("u-1", 2);
        data.session_ends_at = now_unix() + 600;
        let id = s.create(&data).await.unwrap();
        assert!(SessionId::parse(id.as_str()).is_some());
        assert!(s.load(&id).await.unwrap() == data);

        let ttl = s.pttl(&id).await.unwrap();
        assert!((598_000..=600_000).contains(&ttl), "PTTL {ttl}");

        let mut refreshed = data.clone();
        refreshed.access_token = "hf_oauth_new".into();
        s.save(&id, &refreshed).await.unwrap();
        assert_eq!(s.load(&id).await.unwrap().access_token, "hf_oauth_new");

        assert!(s.delete(&id).await.unwrap());
        assert!(matches!(s.load(&id).await, Err(StoreError::NotFound)));
        assert!(!s.delete(&id).await.unwrap(), "deleting twice is no error");
        // A session deleted (or revoked) meanwhile is never brought back by a refresh's save.
        assert!(matches!(
            s.save(&id, &refreshed).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(s.load(&id).await, Err(StoreError::NotFound)));
        // An ended session is not stored, and an unknown id is not found.
        let mut ended = data.clone();
        ended.session_ends_at = now_unix() - 1;
        assert!(matches!(s.create(&ended).await, Err(StoreError::Expired)));
        assert!(matches!(
            s.load(&SessionId::random()).await,
            Err(StoreError::NotFound)
        ));
    }

    #[tokio::test]
    async fn delete_user_ends_every_session_of_that_user_only() {
        let server = redis_server();
        let s = store(&server).await;
        let mine: Vec<_> = [0, 1, 2].map(|_| user("victim", 1)).to_vec();
        let mut ids = Vec::new();
        for d in &mine {
            ids.push(s.create(d).await.unwrap());
        }
        let other = s.create(&user("bystander", 1)).await.unwrap();
        assert_eq!(s.delete_user("victim").await.unwrap(), 3);
        for id in &ids {
            assert!(matches!(s.load(id).await, Err(StoreError::NotFound)));
        }
        assert!(s.load(&other).await.is_ok(), "another user's session stays");
        assert_eq!(s.delete_user("victim").await.unwrap(), 0);
        // A logout removes the session from the index too, and a later session is indexed.
        s.delete(&other).await.unwrap();
        let again = s.create(&user("victim", 1)).await.unwrap();
        assert_eq!(s.delete_user("victim").await.unwrap(), 1);
        assert!(matches!(s.load(&again).await, Err(StoreError::NotFound)));
    }

    #[tokio::test]
    async fn the_refresh_lock_excludes_until_unlocked_or_expired() {
        let server = redis_server();
        let s = store(&server).await;
        let other_replica = store(&server).await;
        let id = s.create(&user("u-lock", 0)).await.unwrap();
        let lock = s
            .try_lock_refresh(&id, Duration::from_secs(5))
            .await
            .unwrap()
            .expect("first taker");
        assert!(other_replica
            .try_lock_refresh(&id, Duration::from_secs(5))
            .await
            .unwrap()
            .is_none());
        assert!(s.unlock_refresh(lock).await.unwrap());
        let second = other_replica
            .try_lock_refresh(&id, Duration::from_millis(300))
            .await
            .unwrap()
            .expect("free again after unlock");
        // It expires by itself; then an unlock by the old holder deletes nothing of the next.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let third = s
            .try_lock_refresh(&id, Duration::from_secs(5))
            .await
            .unwrap()
            .expect("free again after its TTL");
        assert!(!other_replica.unlock_refresh(second).await.unwrap());
        assert!(other_replica
            .try_lock_refresh(&id, Duration::from_secs(5))
            .await
            .unwrap()
            .is_none());
        assert!(s.unlock_refresh(third).await.unwrap());
    }

    async fn next_within(inv: &mut Invalidations, d: Duration) -> Option<Invalidation> {
        tokio::time::timeout(d, inv.next()).await.ok().flatten()
    }

    #[tokio::test]
    async fn saves_deletes_and_revocations_reach_a_subscriber_within_a_second() {
        let server = redis_server();
        let s = store(&server).await;
        let replica_b = store(&server).await;
        let mut inv = replica_b.subscribe_invalidations().await.unwrap();
        let data = user("u-sub", 0);
        let id = s.create(&data).await.unwrap();
        let second = Duration::from_secs(1);

        s.save(&id, &data).await.unwrap();
        assert_eq!(
            next_within(&mut inv, second).await,
            Some(Invalidation::Session(id.clone()))
        );
        s.delete(&id).await.unwrap();
        assert_eq!(
            next_within(&mut inv, second).await,
            Some(Invalidation::Session(id.clone()))
        );
        let a = s.create(&data).await.unwrap();
        let b = s.create(&data).await.unwrap();
        assert_eq!(s.delete_user("u-sub").await.unwrap(), 2);
        let mut heard = vec![
            next_within(&mut inv, second).await,
            next_within(&mut inv, second).await,
        ];
        heard.sort_by_key(|i| format!("{i:?}"));
        let mut want = vec![
            Some(Invalidation::Session(a)),
            Some(Invalidation::Session(b)),
        ];
        want.sort_by_key(|i| format!("{i:?}"));
        assert_eq!(heard, want);
        // A create announces nothing (no replica can have it cached).
        s.create(&data).await.unwrap();
        assert_eq!(
            next_within(&mut inv, Duration::from_millis(200)).await,
            None
        );
    }

    #[tokio::test]
    async fn redis_down_is_unreachable_and_the_store_recovers_when_it_is_back() {
        let mut server = redis_server();
        let s = store(&server).await;
        let mut inv = s.subscribe_invalidations().await.unwrap();
        let data = user("u-down", 0);
        let id = s.create(&data).await.unwrap();

        server.kill();
        let started = Instant::now();
        let Err(err) = s.load(&id).await else {
            panic!("loaded a session with Redis down")
        };
        assert!(err.is_unreachable(), "{err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "answered quickly"
        );
        for r in [
            s.create(&data).await.map(|_| ()),
            s.delete_user("u-down").await.map(|_| ()),
            s.try_lock_refresh(&id, Duration::from_secs(1))
                .await
                .map(|_| ()),
        ] {
            assert!(r.expect_err("down").is_unreachable());
        }
        // The subscriber hears that it may have missed messages.
        assert_eq!(
            next_within(&mut inv, Duration::from_secs(2)).await,
            Some(Invalidation::All)
        );

        // Back (empty: no persistence in this test): the same store works again by itself.
        server.restart().expect("redis-server restarts");
        let deadline = Instant::now() + Duration::from_secs(10);
        let id = loop {
            match s.create(&data).await {
                Ok(id) => break id,
                Err(e) => {
                    assert!(e.is_unreachable(), "{e:?}");
                    assert!(Instant::now() < deadline, "never recovered: {e:?}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        assert!(s.load(&id).await.is_ok());
        // And the subscription comes back, saying once more that messages may have been
        // missed, then hears the saves again.
        assert_eq!(
            next_within(&mut inv, Duration::from_secs(5)).await,
            Some(Invalidation::All)
        );
        s.save(&id, &data).await.unwrap();
        assert_eq!(
            next_within(&mut inv, Duration::from_secs(1)).await,
            Some(Invalidation::Session(id))
        );
    }

    #[tokio::test]
    async fn unreachable_at_start_up_is_a_clear_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let started = Instant::now();
        let err = RedisStore::connect(&format!("redis://127.0.0.1:{port}/0"), None, keys())
            .await
            .expect_err("nothing listens there");
        assert!(err.is_unreachable(), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(matches!(
            RedisStore::connect("not a url", None, keys()).await,
            Err(StoreError::Config(_))
        ));
    }

    /// Every key in the server and what it holds (a string's value, a set's members), read
    /// as a Redis reader would.
    pub(crate) async fn dump(server: &RedisServer) -> Vec<(String, Vec<Vec<u8>>)> {
        let client = endpoint::client(&server.url(), ca(server).as_ref()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut all = Vec::new();
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            let values: Vec<Vec<u8>> = match kind.as_str() {
                "string" => vec![redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap()],
                "set" => redis::cmd("SMEMBERS")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap(),
                other => panic!("{key} is a {other}: this test reads strings and sets only"),
            };
            all.push((key, values));
        }
        all
    }

    /// Writes `value` under `key`, keeping its TTL, as a Redis writer would.
    pub(crate) async fn overwrite(server: &RedisServer, key: &str, value: &[u8]) {
        let client = endpoint::client(&server.url(), ca(server).as_ref()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("KEEPTTL")
            .query_async(&mut conn)
            .await
            .unwrap();
    }

    pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[tokio::test]
    async fn a_redis_reader_sees_no_token_handle_or_org() {
        let server = redis_server();
        let s = store(&server).await;
        let mut data = user("u-reader", 3);
        data.access_token = "hf_oauth_accessTokenSecretValue0123".into();
        data.refresh_token = Some("hf_oauth_refreshTokenSecretValue4567".into());
        let id = s.create(&data).await.unwrap();
        s.save(&id, &data).await.unwrap();
        let secrets: [&[u8]; 5] = [
            b"hf_oauth_accessTokenSecretValue0123",
            b"hf_oauth_refreshTokenSecretValue4567",
            data.handle.as_bytes(),
            b"organization-number-00",
            b"Some User",
        ];
        let all = dump(&server).await;
        assert_eq!(all.len(), 2, "the session and its user's index");
        for (key, values) in &all {
            for value in values {
                for secret in secrets {
                    assert!(
                        !contains(value, secret) && !contains(key.as_bytes(), secret),
                        "{key} shows {}",
                        String::from_utf8_lossy(secret)
                    );
                }
                assert!(
                    postcard::from_bytes::<SessionData>(value).is_err(),
                    "{key} holds a plain session"
                );
            }
        }
        assert!(
            s.load(&id).await.unwrap() == data,
            "the store itself reads it"
        );
    }

    #[tokio::test]
    async fn a_redis_writer_cannot_move_forge_or_flip_a_session() {
        let server = redis_server();
        let s = store(&server).await;
        let victim = s.create(&user("victim", 2)).await.unwrap();
        let attacker = s.create(&user("attacker", 0)).await.unwrap();
        let victims_value = dump(&server)
            .await
            .into_iter()
            .find(|(k, _)| *k == s.session_key(&victim))
            .map(|(_, mut v)| v.remove(0))
            .unwrap();

        // The victim's sealed session, moved onto the attacker's own session id.
        overwrite(&server, &s.session_key(&attacker), &victims_value).await;
        assert!(matches!(s.load(&attacker).await, Err(StoreError::Corrupt)));
        // A session written in plain postcard, as the store wrote it before sealing.
        let forged = postcard::to_allocvec(&user("victim", 2)).unwrap();
        overwrite(&server, &s.session_key(&attacker), &forged).await;
        assert!(matches!(s.load(&attacker).await, Err(StoreError::Corrupt)));
        // A single bit flipped in the victim's own value.
        for i in [0, 12, victims_value.len() / 2, victims_value.len() - 1] {
            let mut flipped = victims_value.clone();
            flipped[i] ^= 0x01;
            overwrite(&server, &s.session_key(&victim), &flipped).await;
            assert!(
                matches!(s.load(&victim).await, Err(StoreError::Corrupt)),
                "bit {i}"
            );
        }
        // Put back as it was, it opens again (the same key name); a corrupt one can be deleted.
        overwrite(&server, &s.session_key(&victim), &victims_value).await;
        assert_eq!(s.load(&victim).await.unwrap().sub, "victim");
        assert!(s.delete(&attacker).await.unwrap());
        // Another app's key (another cookie key) opens nothing of this one.
        let other = RedisStore::connect(&server.url(), None, StoreKeys::random())
            .await
            .unwrap();
        assert!(matches!(
            other.load(&victim).await,
            Err(StoreError::Corrupt)
        ));
    }

    #[tokio::test]
    async fn over_tls_with_a_password_the_store_works_end_to_end() {
        let server = RedisServer::start_tls().expect("a TLS test redis-server");
        assert!(server.url().starts_with("rediss://:"));
        let s = store(&server).await;
        let replica_b = store(&server).await;
        // The subscriber's own connection carries the TLS roots and the password over.
        let mut inv = replica_b.subscribe_invalidations().await.unwrap();
        let data = user("u-tls", 1);
        let id = s.create(&data).await.unwrap();
        assert!(replica_b.load(&id).await.unwrap() == data);
        s.save(&id, &data).await.unwrap();
        assert_eq!(
            next_within(&mut inv, Duration::from_secs(1)).await,
            Some(Invalidation::Session(id.clone()))
        );
        assert_eq!(s.delete_user("u-tls").await.unwrap(), 1);
        assert_eq!(
            next_within(&mut inv, Duration::from_secs(1)).await,
            Some(Invalidation::Session(id))
        );
    }

    #[tokio::test]
    async fn over_tls_a_wrong_password_or_an_untrusted_certificate_is_refused() {
        let server = RedisServer::start_tls().expect("a TLS test redis-server");
        let password = server.password().unwrap().to_owned();
        let another = RedisServer::start_tls().expect("a TLS test redis-server");
        let port = server.port();

        let wrong = format!("rediss://:not-the-password-4711@127.0.0.1:{port}/0");
        let Err(err) = RedisStore::connect(&wrong, ca(&server).as_ref(), keys()).await else {
            panic!("a wrong password was accepted")
        };
        let text = err.to_string();
        println!("wrong password: {text}");
        assert!(matches!(err, StoreError::Authentication(_)), "{text}");
        assert!(text.contains("password"), "{text}");
        assert!(!text.contains("not-the-password-4711"), "{text}");
        let no_password = format!("rediss://127.0.0.1:{port}/0");
        let Err(err) = RedisStore::connect(&no_password, ca(&server).as_ref(), keys()).await else {
            panic!("no password was accepted")
        };
        assert!(!err.to_string().contains(&password), "{err}");

        // A certificate that the given CA did not sign, and one no system root signed.
        for (what, ca) in [("another CA", ca(&another)), ("the system's roots", None)] {
            let Err(err) = RedisStore::connect(&server.url(), ca.as_ref(), keys()).await else {
                panic!("trusted a certificate through {what}")
            };
            let text = err.to_string();
            println!("refused through {what}: {text}");
            assert!(err.is_unreachable(), "{what}: {text}");
            assert!(text.contains("certificate"), "{what}: {text}");
            assert!(!text.contains(&password), "{text}");
        }
        // Plain TCP to the TLS port gets nowhere either.
        let plain = format!("redis://:{password}@127.0.0.1:{port}/0");
        let Err(err) = RedisStore::connect(&plain, None, keys()).await else {
            panic!("spoke plain TCP to a TLS port")
        };
        assert!(!err.to_string().contains(&password), "{err}");
    }

    #[test]
    fn ids_are_random_and_secret_in_debug() {
        let (a, b) = (SessionId::random(), SessionId::random());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert!(!format!("{a:?}").contains(a.as_str()));
        assert!(SessionId::parse("short").is_none());
        assert!(SessionId::parse(&format!("{}*", &a.as_str()[..42])).is_none());
    }

    /// Memory per session in Redis (`MEMORY USAGE`), for the docs; run with `--nocapture`.
    #[tokio::test]
    async fn memory_per_session() {
        let server = redis_server();
        let s = store(&server).await;
        for orgs in [0, 10, 100] {
            let id = s.create(&user("u-mem", orgs)).await.unwrap();
            let bytes = s.memory_usage(&id).await.unwrap();
            let payload = s
                .seal(&s.session_key(&id), &user("u-mem", orgs))
                .unwrap()
                .len();
            println!("redis session memory: {orgs} orgs: {bytes} bytes (sealed postcard {payload} bytes)");
            assert!(bytes as usize >= payload);
        }
    }
}
