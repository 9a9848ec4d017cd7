//! The bearer cache shared by replicas, in Redis (feature `redis`): N replicas ask whoami once
//! per token per TTL, not N times.
//!
//! Keys, under the store's prefix (`hf-auth:` by default), with `{name}` the hex HMAC-SHA256 of
//! the token's SHA-256 under a key derived from the cookie key ([`StoreKeys::token_name`]): the
//! token never goes to Redis, and a Redis reader cannot test a token it guesses.
//! - `{prefix}token:{name}`: what whoami said, until the local cache would have trusted it
//!   (`PX` = the remaining TTL: the positive TTL capped by the token's expiry, or the short
//!   negative TTL). A valid token's session is stored without its access token, which each
//!   replica puts back from the request. The value is sealed with the store's key and the key's
//!   name as associated data ([`StoreKeys::seal`]): a reader learns no handle or org, and a
//!   value a writer forged or moved from another token's key does not open (the replica then
//!   asks whoami, as for any corrupt value).
//! - `{prefix}token-lock:{name}`: held by the one replica that calls whoami for the token
//!   (`SET NX PX`, a random value, deleted only by its holder). The others poll the value for at
//!   most [`POLL_FOR`], then call whoami themselves.
//!
//! Redis is a helper here, never a gate: when it fails (down, slow, a corrupt value), the
//! replica calls whoami as it would without it, logs that once at warn per outage, and skips
//! Redis for [`SKIP_AFTER_FAILURE`] so that each request does not wait for it again.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use redis::aio::ConnectionManager;

use super::{cache::TokenHash, now_ms, BearerError, Outcome};
use crate::session::{store::sealing::StoreKeys, SessionData};

/// How long a replica waits for another one's whoami answer before it calls whoami itself.
pub(crate) const POLL_FOR: Duration = Duration::from_secs(2);
/// How often it looks for that answer meanwhile.
const POLL_EVERY: Duration = Duration::from_millis(25);
/// The most one Redis command may take before the replica gives up on Redis for this check.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// How long Redis is not asked after it failed.
pub(crate) const SKIP_AFTER_FAILURE: Duration = Duration::from_secs(2);

/// Deletes the lock only if it still holds the holder's value.
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Tags of a stored outcome (the first byte of the value).
const VALID: u8 = b'v';
const INVALID: u8 = b'i';
const REFUSED: u8 = b'r';

/// The whoami cache of all replicas, in Redis.
pub(crate) struct SharedTokenCache {
    conn: ConnectionManager,
    prefix: Box<str>,
    /// Seal the values and name the keys.
    keys: StoreKeys,
    /// Unix milliseconds before which Redis is not asked (after a failure).
    skip_until_ms: AtomicU64,
    /// Whether the current outage was logged at warn.
    warned: AtomicBool,
}

impl std::fmt::Debug for SharedTokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTokenCache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// What a lookup in Redis found.
pub(crate) enum Shared {
    /// Another replica's answer, and how long it is still trusted.
    Found(Outcome, Duration),
    /// Nobody answered yet, and this replica holds the lock: it calls whoami, then
    /// [`SharedTokenCache::store`]s the outcome and [`SharedTokenCache::unlock`]s.
    Lead(Lock),
    /// Redis failed, or another replica did not answer in time: call whoami without it.
    Alone,
}

/// The lock of one token's whoami call.
pub(crate) struct Lock {
    value: u128,
}

/// Why a Redis step gave nothing usable.
#[derive(Debug, thiserror::Error)]
enum SharedError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {} ms", COMMAND_TIMEOUT.as_millis())]
    Timeout,
    #[error("a stored token outcome does not open or decode")]
    Corrupt,
}

/// The value stored for an outcome; `None` for outcomes that are not shared (unavailable).
fn encode(outcome: &Outcome) -> Option<Vec<u8>> {
    match outcome {
        Ok(session) => {
            // Never the token: each replica puts back the one its request carries.
            let mut without_token = SessionData::clone(session);
            without_token.access_token = String::new();
            postcard::to_extend(&without_token, vec![VALID]).ok()
        }
        Err(BearerError::InvalidToken) => Some(vec![INVALID]),
        Err(BearerError::Refused { why }) => {
            let mut bytes = vec![REFUSED];
            bytes.extend_from_slice(why.as_bytes());
            Some(bytes)
        }
        Err(BearerError::Unavailable { .. }) => None,
    }
}

/// The reasons a token is refused for, as `hf_auth_scopes::tokens::refusal` words them.
fn known_refusal(why: &[u8]) -> &'static str {
    use hf_auth_scopes::tokens::REFUSALS;
    REFUSALS
        .iter()
        .copied()
        .find(|known| known.as_bytes() == why)
        // A reason this version does not know (another version wrote it): still a refusal.
        .unwrap_or(REFUSALS[REFUSALS.len() - 1])
}

fn decode(bytes: &[u8], token: &str) -> Result<Outcome, SharedError> {
    match bytes.split_first() {
        Some((&VALID, rest)) => {
            let mut session: SessionData =
                postcard::from_bytes(rest).map_err(|_| SharedError::Corrupt)?;
            session.access_token = token.to_owned();
            Ok(Ok(std::sync::Arc::new(session)))
        }
        Some((&INVALID, [])) => Ok(Err(BearerError::InvalidToken)),
        Some((&REFUSED, why)) => Ok(Err(BearerError::Refused {
            why: known_refusal(why),
        })),
        _ => Err(SharedError::Corrupt),
    }
}

async fn within<T>(
    step: impl std::future::Future<Output = Result<T, redis::RedisError>>,
) -> Result<T, SharedError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, step).await {
        Ok(r) => r.map_err(SharedError::from),
        Err(_) => Err(SharedError::Timeout),
    }
}

impl SharedTokenCache {
    /// The shared cache over `conn` (the connection of the Redis session store), with keys
    /// under `prefix` (the store's, e.g. `hf-auth:`) named and sealed with `keys`.
    pub(crate) fn new(conn: ConnectionManager, prefix: &str, keys: StoreKeys) -> SharedTokenCache {
        SharedTokenCache {
            conn,
            prefix: prefix.into(),
            keys,
            skip_until_ms: AtomicU64::new(0),
            warned: AtomicBool::new(false),
        }
    }

    fn value_key(&self, hash: &TokenHash) -> String {
        format!("{}token:{}", self.prefix, self.keys.token_name(hash))
    }

    fn lock_key(&self, hash: &TokenHash) -> String {
        format!("{}token-lock:{}", self.prefix, self.keys.token_name(hash))
    }

    /// Notes a failure: logged at warn once per outage, and Redis is skipped for a while.
    fn failed(&self, e: &SharedError) {
        self.skip_until_ms.fetch_max(
            now_ms() + SKIP_AFTER_FAILURE.as_millis() as u64,
            Ordering::Relaxed,
        );
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error = %e,
                "the shared token cache (Redis) failed; bearer tokens are checked with whoami by each replica until it answers again"
            );
        } else {
            tracing::debug!(error = %e, "the shared token cache (Redis) failed");
        }
    }

    fn succeeded(&self) {
        if self.warned.swap(false, Ordering::Relaxed) {
            tracing::info!("the shared token cache (Redis) answers again");
        }
    }

    fn skipping(&self) -> bool {
        self.skip_until_ms.load(Ordering::Relaxed) > now_ms()
    }

    /// The stored outcome for `hash` and its remaining TTL, if any.
    async fn read(
        &self,
        hash: &TokenHash,
        token: &str,
    ) -> Result<Option<(Outcome, Duration)>, SharedError> {
        let key = self.value_key(hash);
        let (value, pttl): (Option<Vec<u8>>, i64) = within(
            redis::pipe()
                .atomic()
                .get(&key)
                .cmd("PTTL")
                .arg(&key)
                .query_async(&mut self.conn.clone()),
        )
        .await?;
        match (value, u64::try_from(pttl)) {
            (Some(sealed), Ok(left)) if left > 0 => {
                let bytes = self.keys.open(&key, &sealed).ok_or(SharedError::Corrupt)?;
                Ok(Some((decode(&bytes, token)?, Duration::from_millis(left))))
            }
            _ => Ok(None),
        }
    }

    /// Another replica's answer for `token`, or the duty to ask whoami (holding `lock_for`
    /// at most), or [`Shared::Alone`].
    pub(crate) async fn lookup(&self, hash: &TokenHash, token: &str, lock_for: Duration) -> Shared {
        if self.skipping() {
            return Shared::Alone;
        }
        match self.try_lookup(hash, token, lock_for).await {
            Ok(found) => {
                self.succeeded();
                found
            }
            Err(e) => {
                self.failed(&e);
                Shared::Alone
            }
        }
    }

    async fn try_lookup(
        &self,
        hash: &TokenHash,
        token: &str,
        lock_for: Duration,
    ) -> Result<Shared, SharedError> {
        if let Some((outcome, left)) = self.read(hash, token).await? {
            return Ok(Shared::Found(outcome, left));
        }
        let value: u128 = rand::random();
        let lock_key = self.lock_key(hash);
        let locked: Option<String> = within(
            redis::cmd("SET")
                .arg(&lock_key)
                .arg(value.to_string())
                .arg("NX")
                .arg("PX")
                .arg(lock_for.as_millis().max(1) as u64)
                .query_async(&mut self.conn.clone()),
        )
        .await?;
        if locked.is_some() {
            return Ok(Shared::Lead(Lock { value }));
        }
        // Another replica asks whoami: wait for its answer, while it holds the lock.
        let deadline = Instant::now() + POLL_FOR;
        while Instant::now() < deadline {
            tokio::time::sleep(POLL_EVERY).await;
            if let Some((outcome, left)) = self.read(hash, token).await? {
                return Ok(Shared::Found(outcome, left));
            }
            let held: bool = within(
                redis::cmd("EXISTS")
                    .arg(&lock_key)
                    .query_async(&mut self.conn.clone()),
            )
            .await?;
            if !held {
                // It gave up without an answer to share (whoami unavailable): ask ourselves.
                break;
            }
        }
        Ok(Shared::Alone)
    }

    /// Shares `outcome` for `ttl` (nothing for an outcome that is not shared, or a zero TTL).
    pub(crate) async fn store(&self, hash: &TokenHash, outcome: &Outcome, ttl: Duration) {
        let ms = ttl.as_millis() as u64;
        let Some(bytes) = encode(outcome).filter(|_| ms > 0) else {
            return;
        };
        if self.skipping() {
            return;
        }
        let key = self.value_key(hash);
        let sealed = self.keys.seal(&key, &bytes);
        let set = within(
            redis::cmd("SET")
                .arg(&key)
                .arg(sealed)
                .arg("PX")
                .arg(ms)
                .query_async::<()>(&mut self.conn.clone()),
        )
        .await;
        match set {
            Ok(()) => self.succeeded(),
            Err(e) => self.failed(&e),
        }
    }

    /// Gives the lock back (only if it is still ours).
    pub(crate) async fn unlock(&self, hash: &TokenHash, lock: Lock) {
        if self.skipping() {
            return;
        }
        let unlocked = within(
            redis::cmd("EVAL")
                .arg(UNLOCK)
                .arg(1)
                .arg(self.lock_key(hash))
                .arg(lock.value.to_string())
                .query_async::<i64>(&mut self.conn.clone()),
        )
        .await;
        if let Err(e) = unlocked {
            self.failed(&e);
        }
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests;
