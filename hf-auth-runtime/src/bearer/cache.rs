//! The cache of checked tokens: keyed by the SHA-256 of the token (the token itself is never a
//! key), sharded, bounded in entries and in bytes, with one whoami call in flight per token.
//!
//! A valid token's entry is also indexed by a seeded 64-bit hash of the token (its length and
//! last 16 bytes, with this process's random seed), which also picks the shard. The index holds
//! what a hit needs (the entry's session and expiry), so a hit is one lookup and costs no
//! SHA-256; it is used only if the token is byte for byte the one the session holds (compared in
//! constant time), so it answers exactly what the SHA-256 lookup would.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::BearerError;
use crate::session::SessionData;

/// Shards of the cache: requests for different tokens rarely wait for the same lock.
const SHARDS: usize = 16;

/// The SHA-256 of a token.
pub(crate) type TokenHash = [u8; 32];

/// Hashes a token, on the stack.
pub(crate) fn hash_token(token: &[u8]) -> TokenHash {
    Sha256::digest(token).into()
}

/// What a finished check answers.
pub(crate) type Outcome = Result<Arc<SessionData>, BearerError>;

/// A check in flight: its leader sends the outcome once; followers wait on a receiver.
pub(crate) type Flight = watch::Receiver<Option<Outcome>>;

enum Entry {
    Ready {
        outcome: Outcome,
        until: Instant,
        bytes: usize,
        /// The token's fast hash, for a valid token (indexed in `Shard::fast`).
        fast: Option<u64>,
    },
    /// A check in flight, and the id of its leader.
    Pending(Flight, u64),
}

/// Ids of flights, to tell a leader's own entry from one a later leader put in its place.
static FLIGHTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Whether two tokens are equal, in time that depends on their length only (no early exit at
/// the first differing byte): eight bytes at a time, then the last `len % 8` bytes one at a
/// time (fixed-size loads, no copy into a buffer).
fn same_token(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    let diff = a8.zip(b8).fold(u64::from(tail), |acc, (x, y)| {
        acc | (u64::from_le_bytes(x.try_into().expect("8 bytes"))
            ^ u64::from_le_bytes(y.try_into().expect("8 bytes")))
    });
    std::hint::black_box(diff) == 0
}

/// Hashes an already uniform key (a SHA-256) by taking 8 of its bytes.
#[derive(Default, Clone, Copy)]
struct BuildDigestHasher;

struct DigestHasher(u64);

impl std::hash::BuildHasher for BuildDigestHasher {
    type Hasher = DigestHasher;
    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Keys are SHA-256 digests: any 8 of their bytes are uniform.
        if let Some(b) = bytes.get(8..16) {
            self.0 = u64::from_le_bytes(b.try_into().expect("8 bytes"));
        }
    }
    fn write_usize(&mut self, _: usize) {}
    fn write_u64(&mut self, v: u64) {
        // The fast index's keys are outputs of a seeded multiplicative hash: already mixed.
        self.0 = v;
    }
}

/// A valid token's entry as the fast index holds it: the entry's key, and copies of what a hit
/// answers (the same `Arc` and expiry as the entry), so that a hit needs one lookup.
#[derive(Clone)]
struct Valid {
    /// The SHA-256 of the token: the key of the entry this stands for.
    sha: TokenHash,
    session: Arc<SessionData>,
    until: Instant,
}

#[derive(Default)]
struct Shard {
    map: HashMap<TokenHash, Entry, BuildDigestHasher>,
    /// Each valid token's entry, by the token's fast hash. An index entry exists only while
    /// the `Ready` entry of its `sha` does and names it back (`fast`): every removal or
    /// replacement of a ready entry unindexes it.
    fast: HashMap<u64, Valid, BuildDigestHasher>,
    /// Bytes held by the ready entries.
    bytes: usize,
}

/// Removes the index entry of `key`'s ready entry (`fast`, its fast hash, when valid), if the
/// index still stands for it (a colliding token's entry may have replaced it).
fn unindex(index: &mut HashMap<u64, Valid, BuildDigestHasher>, key: &TokenHash, fast: Option<u64>) {
    if let Some(fast) = fast {
        if index.get(&fast).is_some_and(|v| v.sha == *key) {
            index.remove(&fast);
        }
    }
}

/// A token's keys: its SHA-256 (the entry's key, and the shared cache's) and its fast hash
/// (the shard, and the index of valid tokens).
#[derive(Clone, Copy)]
pub(crate) struct Key {
    pub sha: TokenHash,
    fast: u64,
}

/// The bounds of the cache, over all shards.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub max_entries: usize,
    pub max_bytes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_entries: 10_000,
            max_bytes: 32 << 20,
        }
    }
}

/// What a lookup found.
pub(crate) enum Lookup<'a> {
    /// A fresh answer.
    Hit(Outcome),
    /// Another request checks this token now: wait for its answer.
    Wait(Flight),
    /// Nobody checks it: the caller must, and send the outcome to [`TokenCache::finish`].
    Lead(Leader<'a>),
}

/// The duty of the one request that calls whoami for a token. Dropped without
/// [`TokenCache::finish`] (its request was cancelled while whoami was asked, or it panicked),
/// it removes its pending entry, so that an abandoned check never stays in the cache nor
/// counts against its bounds, and wakes its followers, one of whom takes over.
pub(crate) struct Leader<'a> {
    cache: &'a TokenCache,
    pub key: Key,
    id: u64,
    tx: watch::Sender<Option<Outcome>>,
    /// Set by `finish`: the entry is the outcome's now, not the leader's to remove.
    finished: bool,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.cache.abandon(&self.key, self.id);
        }
    }
}

pub(crate) struct TokenCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: Bounds,
    /// The seed of the fast hash, random for each process.
    seed: u64,
}

/// The bytes an entry holds, roughly: its strings and a fixed overhead.
pub(crate) fn size_of_outcome(o: &Outcome) -> usize {
    const OVERHEAD: usize = 256;
    match o {
        Ok(s) => {
            OVERHEAD
                + s.sub.len()
                + s.handle.len()
                + s.name.as_ref().map_or(0, String::len)
                + s.avatar.as_ref().map_or(0, String::len)
                + s.access_token.len()
                + s.orgs.iter().map(|o| o.handle.len() + 32).sum::<usize>()
                + s.scopes.extra().iter().map(|e| e.len() + 24).sum::<usize>()
        }
        Err(_) => OVERHEAD,
    }
}

impl TokenCache {
    pub fn new(bounds: Bounds) -> TokenCache {
        TokenCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            // Rounded down, so that all shards together stay within the bounds (a bound below
            // one entry per shard still allows one per shard).
            per_shard: Bounds {
                max_entries: (bounds.max_entries / SHARDS).max(1),
                max_bytes: (bounds.max_bytes / SHARDS).max(1),
            },
            seed: rand::random(),
        }
    }

    /// A seeded hash of the token's length and last 16 bytes (the random part of a Hugging Face
    /// token), for the index of valid tokens: two multiplications instead of SipHash over the
    /// whole token. A collision costs nothing but speed: a hit is used only if the whole token
    /// is the cached one, and only valid tokens enter the index.
    fn fast_hash(&self, b: &[u8]) -> u64 {
        // The last 16 bytes in one fixed-size load (a shorter token, zero-padded, byte by byte).
        let tail = match b.last_chunk::<16>() {
            Some(last) => u128::from_le_bytes(*last),
            None => b.iter().rev().fold(0u128, |w, c| (w << 8) | u128::from(*c)),
        };
        let mut h = self.seed ^ (b.len() as u64);
        for word in [tail as u64, (tail >> 64) as u64] {
            h = (h ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            h ^= h >> 29;
        }
        h
    }

    /// The keys of `token` (its SHA-256 is computed here).
    pub fn key(&self, token: &[u8]) -> Key {
        Key {
            sha: hash_token(token),
            fast: self.fast_hash(token),
        }
    }

    fn shard(&self, fast: u64) -> std::sync::MutexGuard<'_, Shard> {
        // Bits the maps' own bucket choice (low bits) and tags (top 7) do not use.
        self.shards[(fast >> 32) as usize % SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The session of `token` if it is a valid token cached and fresh, without its SHA-256:
    /// one lookup in the fast index. No allocation: an `Arc` is cloned.
    pub fn get_valid(&self, token: &[u8], now: Instant) -> Option<Arc<SessionData>> {
        let fast = self.fast_hash(token);
        let shard = self.shard(fast);
        match shard.fast.get(&fast) {
            Some(v) if v.until > now && same_token(v.session.access_token.as_bytes(), token) => {
                Some(v.session.clone())
            }
            _ => None,
        }
    }

    /// A fresh answer for `key`, if there is one. No allocation: an `Arc` is cloned.
    pub fn get(&self, key: &Key, now: Instant) -> Option<Outcome> {
        match self.shard(key.fast).map.get(&key.sha) {
            Some(Entry::Ready { outcome, until, .. }) if *until > now => Some(outcome.clone()),
            _ => None,
        }
    }

    /// A fresh answer, the check in flight, or the duty to check.
    pub fn lookup(&self, key: Key, now: Instant) -> Lookup<'_> {
        let mut shard = self.shard(key.fast);
        match shard.map.get(&key.sha) {
            Some(Entry::Ready { outcome, until, .. }) if *until > now => {
                return Lookup::Hit(outcome.clone())
            }
            // A flight whose leader is gone (its request was cancelled) is taken over.
            Some(Entry::Pending(rx, _)) if rx.has_changed().is_ok() => {
                return Lookup::Wait(rx.clone())
            }
            _ => {}
        }
        let (tx, rx) = watch::channel(None);
        let id = FLIGHTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(Entry::Ready { bytes, fast, .. }) =
            shard.map.insert(key.sha, Entry::Pending(rx, id))
        {
            shard.bytes -= bytes;
            unindex(&mut shard.fast, &key.sha, fast);
        }
        Lookup::Lead(Leader {
            cache: self,
            key,
            id,
            tx,
            finished: false,
        })
    }

    /// Removes the pending entry of the flight `id`, if it is still there: its leader is gone.
    fn abandon(&self, key: &Key, id: u64) {
        take_pending(&mut self.shard(key.fast), &key.sha, id);
    }

    /// Ends a flight: stores the outcome until `until` (or drops the entry when `until` is
    /// `None`), then wakes the followers.
    pub fn finish(
        &self,
        mut leader: Leader<'_>,
        outcome: Outcome,
        until: Option<Instant>,
        now: Instant,
    ) {
        leader.finished = true;
        {
            let mut shard = self.shard(leader.key.fast);
            let key = leader.key.sha;
            if take_pending(&mut shard, &key, leader.id) {
                let bytes = size_of_outcome(&outcome);
                if let Some(until) = until.filter(|u| *u > now) {
                    if bytes <= self.per_shard.max_bytes {
                        make_room(&mut shard, self.per_shard, bytes, now);
                        shard.bytes += bytes;
                        // A valid token is indexed; a colliding token's mapping is replaced:
                        // that token is then found by its SHA-256 instead.
                        let fast = match &outcome {
                            Ok(session) => {
                                let valid = Valid {
                                    sha: key,
                                    session: session.clone(),
                                    until,
                                };
                                shard.fast.insert(leader.key.fast, valid);
                                Some(leader.key.fast)
                            }
                            Err(_) => None,
                        };
                        shard.map.insert(
                            key,
                            Entry::Ready {
                                outcome: outcome.clone(),
                                until,
                                bytes,
                                fast,
                            },
                        );
                    }
                }
            }
        }
        let _ = leader.tx.send(Some(outcome));
    }

    /// Ready entries, over all shards.
    #[cfg(any(test, feature = "bench-hooks"))]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(|e| e.into_inner());
                s.map
                    .values()
                    .filter(|e| matches!(e, Entry::Ready { .. }))
                    .count()
            })
            .sum()
    }

    /// Every entry, ready or pending, over all shards: what counts against the bounds.
    #[cfg(test)]
    pub fn entries(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).map.len())
            .sum()
    }

    /// Bytes held, over all shards.
    #[cfg(any(test, feature = "bench-hooks"))]
    pub fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).bytes)
            .sum()
    }
}

/// Drops expired entries, then the entries closest to expiry, until one of `bytes` fits.
/// Removes the pending entry of the flight `id` under `key`, if that is what is there (a later
/// flight's entry, or an outcome, stays): whether it did.
fn take_pending(shard: &mut Shard, key: &TokenHash, id: u64) -> bool {
    let ours = matches!(shard.map.get(key), Some(Entry::Pending(_, pending)) if *pending == id);
    if ours {
        shard.map.remove(key);
    }
    ours
}

fn make_room(shard: &mut Shard, bounds: Bounds, bytes: usize, now: Instant) {
    let full = |s: &Shard| s.map.len() >= bounds.max_entries || s.bytes + bytes > bounds.max_bytes;
    if !full(shard) {
        return;
    }
    let mut freed = 0;
    let index = &mut shard.fast;
    shard.map.retain(|key, e| match e {
        Entry::Ready {
            until, bytes, fast, ..
        } if *until <= now => {
            freed += *bytes;
            unindex(index, key, *fast);
            false
        }
        _ => true,
    });
    shard.bytes -= freed;
    while full(shard) {
        let oldest = shard
            .map
            .iter()
            .filter_map(|(k, e)| match e {
                Entry::Ready { until, .. } => Some((*until, *k)),
                Entry::Pending(..) => None,
            })
            .min();
        let Some((_, key)) = oldest else { break };
        if let Some(Entry::Ready { bytes, fast, .. }) = shard.map.remove(&key) {
            shard.bytes -= bytes;
            unindex(&mut shard.fast, &key, fast);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn same_token_is_equality() {
        assert!(same_token(
            b"hf_abcdefghijklmnopqrstuvwxyz0123456789",
            b"hf_abcdefghijklmnopqrstuvwxyz0123456789"
        ));
        assert!(!same_token(
            b"hf_abcdefghijklmnopqrstuvwxyz0123456789",
            b"hf_abcdefghijklmnopqrstuvwxyz012345678X"
        ));
        assert!(!same_token(
            b"Xf_abcdefghijklmnopqrstuvwxyz0123456789",
            b"hf_abcdefghijklmnopqrstuvwxyz0123456789"
        ));
        assert!(!same_token(b"hf_abc", b"hf_abcd"));
        assert!(!same_token(b"hf_abc\0", b"hf_abc"));
        assert!(same_token(b"", b""));
        // Every byte counts, in the 8-byte words and in the shorter tail.
        for len in 0..26u8 {
            let a: Vec<u8> = (0..len).collect();
            assert!(same_token(&a, &a.clone()));
            for i in 0..usize::from(len) {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!same_token(&a, &b), "length {len}, byte {i}");
            }
        }
    }

    #[test]
    fn the_fast_hash_tells_apart_tokens_that_differ_in_their_last_16_bytes() {
        let cache = TokenCache::new(Bounds::default());
        for len in 0..40usize {
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert_eq!(cache.fast_hash(&a), cache.fast_hash(&a.clone()));
            for i in len.saturating_sub(16)..len {
                let mut b = a.clone();
                b[i] = b'Z';
                assert_ne!(
                    cache.fast_hash(&a),
                    cache.fast_hash(&b),
                    "length {len}, byte {i}"
                );
            }
        }
    }

    fn session(token: &str, orgs: usize) -> Arc<SessionData> {
        Arc::new(SessionData {
            sub: "s".into(),
            handle: "h".into(),
            name: None,
            avatar: None,
            is_pro: None,
            can_pay: None,
            orgs: (0..orgs)
                .map(|i| crate::user::Org {
                    handle: format!("org-{i:04}"),
                    role: None,
                    sub: None,
                })
                .collect(),
            scopes: Default::default(),
            access_token: token.into(),
            expires_at: 0,
            refresh_token: None,
            session_ends_at: 0,
            end_link: Default::default(),
        })
    }

    /// The fast index's invariant: each of its entries stands for a ready entry of a valid token
    /// in the same shard, which names it back, with the same session and expiry.
    fn assert_index_consistent(cache: &TokenCache) {
        for shard in &cache.shards {
            let shard = shard.lock().unwrap();
            assert!(shard.fast.len() <= shard.map.len());
            for (fast, v) in &shard.fast {
                match shard.map.get(&v.sha) {
                    Some(Entry::Ready {
                        outcome: Ok(session),
                        until,
                        fast: Some(back),
                        ..
                    }) => {
                        assert_eq!(back, fast, "the entry names its index entry");
                        assert!(Arc::ptr_eq(session, &v.session), "the same session");
                        assert_eq!(*until, v.until, "the same expiry");
                    }
                    _ => panic!("an index entry without the ready entry of a valid token"),
                }
            }
        }
    }

    fn fill(cache: &TokenCache, token: &str, outcome: Outcome, ttl: Duration, now: Instant) {
        let Lookup::Lead(l) = cache.lookup(cache.key(token.as_bytes()), now) else {
            panic!("{token} should be new");
        };
        cache.finish(l, outcome, Some(now + ttl), now);
    }

    #[test]
    fn hit_until_ttl_then_miss() {
        let cache = TokenCache::new(Bounds::default());
        let now = Instant::now();
        fill(
            &cache,
            "a",
            Ok(session("a", 0)),
            Duration::from_secs(60),
            now,
        );
        let key = cache.key(b"a");
        assert!(matches!(cache.get(&key, now), Some(Ok(_))));
        assert!(cache.get(&key, now + Duration::from_secs(59)).is_some());
        assert!(cache.get(&key, now + Duration::from_secs(60)).is_none());
        assert!(matches!(
            cache.lookup(key, now + Duration::from_secs(61)),
            Lookup::Lead(_)
        ));
    }

    #[test]
    fn a_valid_token_is_found_without_its_sha256_and_only_for_itself() {
        let cache = TokenCache::new(Bounds::default());
        let now = Instant::now();
        fill(
            &cache,
            "hf_a",
            Ok(session("hf_a", 0)),
            Duration::from_secs(60),
            now,
        );
        let hit = cache
            .get_valid(b"hf_a", now)
            .expect("found by its fast hash");
        assert_eq!(hit.access_token, "hf_a");
        assert!(cache
            .get_valid(b"hf_a", now + Duration::from_secs(60))
            .is_none());
        assert!(cache.get_valid(b"hf_b", now).is_none());
        // Were another token's fast hash to collide with it, its index would hold the first
        // token's session: the token comparison refuses it.
        let (a, b) = (cache.key(b"hf_a"), cache.key(b"hf_b"));
        let first = cache.shard(a.fast).fast[&a.fast].clone();
        cache.shard(b.fast).fast.insert(b.fast, first);
        assert!(
            cache.get_valid(b"hf_b", now).is_none(),
            "never another token's session"
        );
        cache.shard(b.fast).fast.remove(&b.fast);
        // An invalid token is cached, but only found by its SHA-256.
        fill(
            &cache,
            "hf_bad",
            Err(BearerError::InvalidToken),
            Duration::from_secs(60),
            now,
        );
        assert!(cache.get_valid(b"hf_bad", now).is_none());
        assert!(matches!(
            cache.get(&cache.key(b"hf_bad"), now),
            Some(Err(BearerError::InvalidToken))
        ));
    }

    #[test]
    fn a_token_checked_again_leaves_the_index_until_it_is_valid_again() {
        let cache = TokenCache::new(Bounds::default());
        let now = Instant::now();
        let first = session("hf_a", 0);
        fill(
            &cache,
            "hf_a",
            Ok(first.clone()),
            Duration::from_secs(1),
            now,
        );
        let hit = cache.get_valid(b"hf_a", now).expect("a hit");
        assert!(Arc::ptr_eq(&hit, &first));
        // Expired: the next lookup leads a new check, and the index drops the old session.
        let later = now + Duration::from_secs(2);
        let Lookup::Lead(leader) = cache.lookup(cache.key(b"hf_a"), later) else {
            panic!("an expired token is checked again")
        };
        assert_index_consistent(&cache);
        assert!(cache.get_valid(b"hf_a", later).is_none());
        // Now revoked: cached as invalid, and never a hit of the index.
        let until = later + Duration::from_secs(30);
        cache.finish(leader, Err(BearerError::InvalidToken), Some(until), later);
        assert_index_consistent(&cache);
        assert!(cache.get_valid(b"hf_a", later).is_none());
        assert!(matches!(
            cache.get(&cache.key(b"hf_a"), later),
            Some(Err(BearerError::InvalidToken))
        ));
        // Valid again after the negative entry expired: the index holds the new session.
        let again = until + Duration::from_secs(1);
        let second = session("hf_a", 1);
        fill(
            &cache,
            "hf_a",
            Ok(second.clone()),
            Duration::from_secs(60),
            again,
        );
        assert_index_consistent(&cache);
        let hit = cache.get_valid(b"hf_a", again).expect("a hit");
        assert!(Arc::ptr_eq(&hit, &second));
    }

    #[test]
    fn the_fast_index_never_outgrows_the_entries() {
        let cache = TokenCache::new(Bounds {
            max_entries: 64,
            max_bytes: usize::MAX / 2,
        });
        let now = Instant::now();
        for i in 0..1000 {
            let t = format!("hf_token-{i}");
            let later = now + Duration::from_millis(i);
            fill(
                &cache,
                &t,
                Ok(session(&t, 0)),
                Duration::from_millis(500),
                later,
            );
        }
        assert_index_consistent(&cache);
        let last = now + Duration::from_millis(999);
        assert!(cache.get_valid(b"hf_token-999", last).is_some());
        assert!(cache.get_valid(b"hf_token-0", last).is_none());
    }

    #[test]
    fn a_flight_is_joined_then_its_outcome_cached() {
        let cache = TokenCache::new(Bounds::default());
        let now = Instant::now();
        let key = cache.key(b"t");
        let Lookup::Lead(leader) = cache.lookup(key, now) else {
            panic!()
        };
        let Lookup::Wait(rx) = cache.lookup(key, now) else {
            panic!("a second lookup joins the flight")
        };
        cache.finish(
            leader,
            Err(BearerError::InvalidToken),
            Some(now + Duration::from_secs(5)),
            now,
        );
        assert!(matches!(*rx.borrow(), Some(Err(BearerError::InvalidToken))));
        assert!(matches!(
            cache.get(&key, now),
            Some(Err(BearerError::InvalidToken))
        ));
    }

    #[test]
    fn an_abandoned_flight_is_taken_over() {
        let cache = TokenCache::new(Bounds::default());
        let now = Instant::now();
        let key = cache.key(b"t");
        let Lookup::Lead(leader) = cache.lookup(key, now) else {
            panic!()
        };
        drop(leader);
        assert!(matches!(cache.lookup(key, now), Lookup::Lead(_)));
    }

    #[test]
    fn thousands_of_cancelled_checks_leave_nothing_behind() {
        let cache = TokenCache::new(Bounds {
            max_entries: 64,
            max_bytes: usize::MAX / 2,
        });
        let now = Instant::now();
        for i in 0..5000 {
            let key = cache.key(format!("hf_cancelled-{i}").as_bytes());
            let Lookup::Lead(leader) = cache.lookup(key, now) else {
                panic!("a new token is led")
            };
            let Lookup::Wait(follower) = cache.lookup(key, now) else {
                panic!("a second request follows")
            };
            // The leader's request is cancelled while whoami is asked.
            drop(leader);
            assert!(follower.has_changed().is_err(), "its follower is woken");
        }
        assert_eq!(cache.entries(), 0, "no abandoned check is left pending");
        // The cache still holds valid tokens, within its bounds, as if nothing happened.
        fill_tokens(&cache, 64, now, |cache| {
            assert!(cache.entries() <= 64, "{} entries", cache.entries());
        });
        assert_index_consistent(&cache);
        assert!(
            cache.len() >= 32,
            "only {} valid tokens cached",
            cache.len()
        );
        assert!(cache.get_valid(b"token-63", now).is_some());
        // A cancelled check of a token whose answer expired does not lose the next answer.
        let later = now + Duration::from_secs(3600);
        let key = cache.key(b"token-63");
        let Lookup::Lead(leader) = cache.lookup(key, later) else {
            panic!("an expired token is checked again")
        };
        drop(leader);
        assert!(matches!(cache.lookup(key, later), Lookup::Lead(_)));
    }

    #[test]
    fn a_finished_leader_keeps_its_answer() {
        let cache = TokenCache::new(Bounds::default());
        let now = Instant::now();
        let key = cache.key(b"hf_kept");
        let Lookup::Lead(leader) = cache.lookup(key, now) else {
            panic!()
        };
        let ttl = Some(now + Duration::from_secs(60));
        cache.finish(leader, Ok(session("hf_kept", 0)), ttl, now);
        assert_eq!(cache.entries(), 1);
        assert!(cache.get_valid(b"hf_kept", now).is_some());
    }

    #[test]
    fn an_outcome_without_until_is_not_cached() {
        let cache = TokenCache::new(Bounds::default());
        let now = Instant::now();
        let Lookup::Lead(l) = cache.lookup(cache.key(b"t"), now) else {
            panic!()
        };
        let e = BearerError::Unavailable {
            retry_after: Duration::from_secs(3),
        };
        cache.finish(l, Err(e), None, now);
        assert_eq!(cache.len(), 0);
        assert!(matches!(
            cache.lookup(cache.key(b"t"), now),
            Lookup::Lead(_)
        ));
    }

    /// Caches `n` valid tokens `token-0`, `token-1`, ..., each expiring a second after the one
    /// before, and runs `after_each` after each.
    fn fill_tokens(cache: &TokenCache, n: u64, now: Instant, after_each: impl Fn(&TokenCache)) {
        for i in 0..n {
            let t = format!("token-{i}");
            fill(
                cache,
                &t,
                Ok(session(&t, 0)),
                Duration::from_secs(60 + i),
                now,
            );
            after_each(cache);
        }
    }

    #[test]
    fn bounded_in_entries() {
        let cache = TokenCache::new(Bounds {
            max_entries: 64,
            max_bytes: usize::MAX / 2,
        });
        let now = Instant::now();
        fill_tokens(&cache, 1000, now, assert_index_consistent);
        assert!(cache.len() <= 64, "{} entries", cache.len());
        assert!(cache.len() >= 32, "{} entries", cache.len());
        // The newest (latest to expire) survive.
        assert!(cache.get(&cache.key(b"token-999"), now).is_some());
        assert!(cache.get(&cache.key(b"token-0"), now).is_none());
    }

    #[test]
    fn bounds_that_are_not_a_multiple_of_the_shards_still_hold() {
        let cache = TokenCache::new(Bounds {
            max_entries: 100,
            max_bytes: 100 * 300,
        });
        let now = Instant::now();
        fill_tokens(&cache, 2000, now, |cache| {
            assert_index_consistent(cache);
            assert!(cache.len() <= 100, "{} entries", cache.len());
            assert!(cache.bytes() <= 100 * 300, "{} bytes", cache.bytes());
        });
        assert!(cache.len() >= 50, "{} entries", cache.len());
    }

    #[test]
    fn bounded_in_bytes() {
        let max_bytes = 64 * 1024;
        let cache = TokenCache::new(Bounds {
            max_entries: 100_000,
            max_bytes,
        });
        let now = Instant::now();
        for i in 0..500 {
            let t = format!("token-{i}");
            // About 1.3 KB each.
            fill(
                &cache,
                &t,
                Ok(session(&t, 25)),
                Duration::from_secs(60),
                now,
            );
        }
        assert!(cache.bytes() <= max_bytes, "{} bytes", cache.bytes());
        assert!(cache.len() < 100, "{} entries", cache.len());
        assert_index_consistent(&cache);
        let held: usize = cache.len();
        assert!(held > 0);
        // An entry larger than a shard's budget is not cached at all.
        fill(
            &cache,
            "huge",
            Ok(session("huge", 200)),
            Duration::from_secs(60),
            now,
        );
        assert!(cache.get(&cache.key(b"huge"), now).is_none());
    }

    #[test]
    fn expired_entries_are_dropped_first() {
        let cache = TokenCache::new(Bounds {
            max_entries: SHARDS,
            max_bytes: usize::MAX / 2,
        });
        let now = Instant::now();
        // One entry per shard at most: fill, expire, refill.
        fill(
            &cache,
            "old",
            Ok(session("old", 0)),
            Duration::from_secs(1),
            now,
        );
        let later = now + Duration::from_secs(2);
        for i in 0..200 {
            let t = format!("n-{i}");
            fill(
                &cache,
                &t,
                Ok(session(&t, 0)),
                Duration::from_secs(60),
                later,
            );
        }
        assert!(cache.len() <= SHARDS);
        assert_index_consistent(&cache);
        assert!(cache.get(&cache.key(b"old"), later).is_none());
    }
}
