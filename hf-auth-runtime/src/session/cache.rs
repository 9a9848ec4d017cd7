//! Sessions already decoded, so that a browser's next requests skip decryption.

use axum::http::HeaderMap;

use super::{
    codec::{decode_counting, Names},
    SessionData,
};
use crate::{
    cookies::{find_cookie, find_cookie_bytes},
    crypto::CookieKey,
};

const CACHE_SHARDS: usize = 16;
const CACHE_PER_SHARD: usize = 64;
/// Cookie bytes one shard may hold (a session split over 5 cookies is ~17 KB): at most 4 MiB of
/// cookie values in all, and their decoded sessions.
const CACHE_BYTES_PER_SHARD: usize = 256 * 1024;

/// Sessions already decoded, so that a browser's next requests with the same cookies skip the
/// base64 decoding, decryption and deserialization.
///
/// An entry is found by characters of the first sealed value's end (its random AES-GCM tag: one
/// picks the shard, the last eight the entry) and used only if every cookie of the session is
/// byte-for-byte the one decoded, so it answers exactly what decrypting would. Bounded: 16
/// shards of at most 64 sessions and 256 KiB of cookie values each; a full shard is emptied. A
/// lock is held only for a lookup or an insert, never across an await, and never while the
/// further cookies of a split session are compared.
pub(crate) struct SessionCache {
    shards: Vec<std::sync::Mutex<CacheShard>>,
    /// Given to each session decoded, so that a handler can watch its end.
    link: super::end::EndLink,
}

#[derive(Default)]
struct CacheShard {
    map: std::collections::HashMap<u64, CacheEntry, BuildTagHasher>,
    /// The cookie bytes its entries hold.
    bytes: usize,
}

/// Hashes a cache key, already random (8 bytes of an AES-GCM tag in base64), with one
/// multiplication instead of SipHash. A crafted cookie can at worst make its shard's 64 keys
/// collide: a lookup then compares 64 integers.
#[derive(Default, Clone, Copy)]
struct BuildTagHasher;

struct TagHasher(u64);

impl std::hash::BuildHasher for BuildTagHasher {
    type Hasher = TagHasher;
    fn build_hasher(&self) -> TagHasher {
        TagHasher(0)
    }
}

impl std::hash::Hasher for TagHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        // Fibonacci hashing spreads the bits, so the table's high-bit tags differ too.
        self.0 = (self.0 ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

struct CacheEntry {
    /// The first cookie's value.
    value: Box<str>,
    /// The values of the further cookies of a session split over several, in order.
    rest: Option<std::sync::Arc<[Box<str>]>>,
    data: std::sync::Arc<SessionData>,
}

impl CacheEntry {
    fn bytes(&self) -> usize {
        self.value.len()
            + self
                .rest
                .iter()
                .flat_map(|r| r.iter())
                .map(|v| v.len())
                .sum::<usize>()
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache::linked(Default::default())
    }
}

impl SessionCache {
    /// A cache whose sessions link to `link` (the app's watched sessions).
    pub(crate) fn linked(link: super::end::EndLink) -> SessionCache {
        SessionCache {
            shards: (0..CACHE_SHARDS).map(|_| Default::default()).collect(),
            link,
        }
    }

    /// [`decode`] through the cache.
    pub(crate) fn decode(
        &self,
        key: &CookieKey,
        headers: &HeaderMap,
        names: Names,
    ) -> Option<std::sync::Arc<SessionData>> {
        // Compared as bytes with what the cache holds (text, checked when it was decoded).
        let value = find_cookie_bytes(headers, names[0])?;
        let tail: [u8; 16] = value.get(value.len().checked_sub(16)?..)?.try_into().ok()?;
        let tag = u64::from_le_bytes(tail[8..].try_into().expect("8 bytes"));
        let shard = &self.shards[usize::from(tail[0]) % CACHE_SHARDS];
        let split = {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            match shard.map.get(&tag) {
                Some(hit) if hit.value.as_bytes() == value => match &hit.rest {
                    None => return Some(hit.data.clone()),
                    Some(rest) => Some((rest.clone(), hit.data.clone())),
                },
                _ => None,
            }
        };
        if let Some((rest, data)) = split {
            let same = rest
                .iter()
                .enumerate()
                .all(|(i, v)| find_cookie_bytes(headers, names[i + 1]) == Some(v.as_bytes()));
            if same {
                return Some(data);
            }
        }
        let (mut data, chunks) = decode_counting(key, headers, names)?;
        data.end_link = self.link.clone();
        let data = std::sync::Arc::new(data);
        // Decoded: every value is the session's, and text.
        let values: Vec<&str> = names[..chunks]
            .iter()
            .map(|name| find_cookie(headers, name))
            .collect::<Option<_>>()?;
        let bytes: usize = values.iter().map(|v| v.len()).sum();
        let entry = CacheEntry {
            value: values[0].into(),
            rest: (chunks > 1).then(|| values[1..].iter().map(|&v| v.into()).collect()),
            data: data.clone(),
        };
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if shard.map.len() >= CACHE_PER_SHARD || shard.bytes + bytes > CACHE_BYTES_PER_SHARD {
            shard.map.clear();
            shard.bytes = 0;
        }
        if let Some(old) = shard.map.insert(tag, entry) {
            shard.bytes -= old.bytes();
        }
        shard.bytes += bytes;
        Some(data)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap().map.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{
        codec::{encode, PLAIN_NAMES},
        tests::{headers_of, key, user_in_orgs},
    };

    #[test]
    fn the_cache_answers_what_decoding_answers_and_stays_bounded() {
        let cache = SessionCache::default();
        let data = user_in_orgs(2);
        let cookies = encode(&key(), &data, PLAIN_NAMES).unwrap();
        let h = headers_of(&cookies);
        assert!(*cache.decode(&key(), &h, PLAIN_NAMES).unwrap() == data);
        assert!(
            *cache.decode(&key(), &h, PLAIN_NAMES).unwrap() == data,
            "a hit"
        );
        assert_eq!(cache.len(), 1);
        // Same tag (last 16 characters), different value: not a hit, and refused.
        let (name, value) = &cookies[0];
        let forged = format!(
            "{}{}",
            "A".repeat(value.len() - 16),
            &value[value.len() - 16..]
        );
        assert!(cache
            .decode(&key(), &headers_of(&[(name.clone(), forged)]), PLAIN_NAMES)
            .is_none());
        // Another key: the cache of that app is another cache, and decoding fails.
        let other = CookieKey::derive(b"another secret, just as long ....", "test");
        assert!(SessionCache::default()
            .decode(&other, &h, PLAIN_NAMES)
            .is_none());
        // Bounded.
        for _ in 0..3000 {
            let c = encode(&key(), &user_in_orgs(0), PLAIN_NAMES).unwrap();
            assert!(cache.decode(&key(), &headers_of(&c), PLAIN_NAMES).is_some());
        }
        assert!(cache.len() <= CACHE_SHARDS * CACHE_PER_SHARD);
    }

    #[test]
    fn split_sessions_are_cached_only_with_all_their_cookies() {
        let cache = SessionCache::default();
        let data = user_in_orgs(300);
        let a = encode(&key(), &data, PLAIN_NAMES).unwrap();
        assert!(a.len() >= 3, "{} cookies", a.len());
        assert!(*cache.decode(&key(), &headers_of(&a), PLAIN_NAMES).unwrap() == data);
        assert_eq!(cache.len(), 1);
        assert!(
            *cache.decode(&key(), &headers_of(&a), PLAIN_NAMES).unwrap() == data,
            "a hit"
        );
        // The first cookie matches the entry, a further one does not: decoded, and refused.
        let b = encode(&key(), &user_in_orgs(300), PLAIN_NAMES).unwrap();
        let mut mixed = a.clone();
        mixed[1] = b[1].clone();
        assert!(cache
            .decode(&key(), &headers_of(&mixed), PLAIN_NAMES)
            .is_none());
        let mut tampered = a.clone();
        tampered[2].1.replace_range(..4, "AAAA");
        assert!(cache
            .decode(&key(), &headers_of(&tampered), PLAIN_NAMES)
            .is_none());
        // A missing further cookie is no hit either.
        assert!(cache
            .decode(&key(), &headers_of(&a[..a.len() - 1]), PLAIN_NAMES)
            .is_none());
        // The entry survived the refusals and still answers the whole session.
        assert!(*cache.decode(&key(), &headers_of(&a), PLAIN_NAMES).unwrap() == data);
        // Bounded in bytes as well as in entries.
        for _ in 0..200 {
            let c = encode(&key(), &user_in_orgs(300), PLAIN_NAMES).unwrap();
            assert!(cache.decode(&key(), &headers_of(&c), PLAIN_NAMES).is_some());
        }
        for shard in &cache.shards {
            let shard = shard.lock().unwrap();
            let held: usize = shard.map.values().map(CacheEntry::bytes).sum();
            assert_eq!(held, shard.bytes);
            assert!(held <= CACHE_BYTES_PER_SHARD);
        }
    }
}
