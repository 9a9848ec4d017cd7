//! The session: what a signed-in browser carries, and how it is kept in encrypted cookies.
//!
//! Sessions live entirely in cookies (nothing is stored in the server), encoded compactly with
//! `postcard`, sealed with AES-256-GCM ([`crate::crypto`]) and split over up to
//! [`MAX_CHUNKS`] cookies when a user belongs to very many orgs, so no cookie passes the
//! browsers' 4 KiB limit.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header::COOKIE, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

use crate::{crypto::CookieKey, user::Org};

/// The name of the (first) session cookie.
pub const SESSION_COOKIE: &str = "hf_auth_session";
/// The most cookies one session may be split over.
pub const MAX_CHUNKS: usize = 5;
/// Plaintext bytes per cookie: sealed and base64-encoded, name and value stay under 3.95 KB
/// (browsers allow 4096 bytes).
const CHUNK_DATA: usize = 2900;
const FORMAT: u8 = 1;
const HEADER_LEN: usize = 1 + 1 + 1 + 8;

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
    /// Granted documented scopes, as a mask over `hf_auth_scopes::SCOPES`.
    pub scope_mask: u32,
    /// Granted scopes outside the catalogue.
    pub extra_scopes: Vec<String>,
    pub access_token: String,
    /// Unix seconds at which the access token expires.
    pub expires_at: u64,
    pub refresh_token: Option<String>,
    /// Unix seconds after which the session ends even if tokens could be refreshed.
    pub session_ends_at: u64,
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How cookies are set: `Secure; SameSite=None; Partitioned` behind https (Spaces show apps in
/// an iframe on huggingface.co, where browsers increasingly block unpartitioned third-party
/// cookies; a partitioned cookie is kept per top-level site, CHIPS), `SameSite=Lax` on
/// plain-http localhost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    pub fn build(&self, name: String, value: String, max_age_secs: i64) -> Cookie<'static> {
        let mut c = Cookie::new(name, value);
        c.set_path("/");
        c.set_http_only(true);
        if self.secure {
            c.set_secure(true);
            c.set_same_site(SameSite::None);
            c.set_partitioned(true);
        } else {
            c.set_same_site(SameSite::Lax);
        }
        c.set_max_age(cookie::time::Duration::seconds(max_age_secs.max(0)));
        c
    }

    /// A cookie that tells the browser to forget `name`.
    pub fn removal(&self, name: String) -> Cookie<'static> {
        self.build(name, String::new(), 0)
    }

    /// A `Set-Cookie` header value.
    pub fn header(&self, name: String, value: String, max_age_secs: i64) -> HeaderValue {
        to_header(self.build(name, value, max_age_secs))
    }

    /// A `Set-Cookie` header value that removes `name`.
    pub fn removal_header(&self, name: String) -> HeaderValue {
        to_header(self.removal(name))
    }
}

fn to_header(c: Cookie<'static>) -> HeaderValue {
    // Names and values are ours: ASCII without separators (base64url and fixed names).
    HeaderValue::try_from(c.to_string()).expect("hf-auth's cookies are valid header values")
}

/// The names of the request's cookies that start with `prefix`.
pub(crate) fn cookie_names_with_prefix<'h>(
    headers: &'h HeaderMap,
    prefix: &'h str,
) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|h| cookie_pairs(h.as_bytes()))
        .filter_map(|pair| {
            let name = &pair[..memchr::memchr(b'=', pair)?];
            std::str::from_utf8(name).ok()
        })
        .filter(move |n| n.starts_with(prefix))
}

/// The names of a session's cookies, in order: `hf_auth_session`, then `hf_auth_session_1`...
const CHUNK_NAMES: [&str; MAX_CHUNKS] = [
    SESSION_COOKIE,
    "hf_auth_session_1",
    "hf_auth_session_2",
    "hf_auth_session_3",
    "hf_auth_session_4",
];

fn chunk_name(i: usize) -> String {
    CHUNK_NAMES[i].to_owned()
}

/// Errors of encoding a session.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EncodeError {
    #[error("the session needs {0} bytes, more than {MAX_CHUNKS} cookies hold")]
    TooLarge(usize),
}

/// Seals a session into its cookie values `(name, value)`, first cookie first.
pub(crate) fn encode(
    key: &CookieKey,
    data: &SessionData,
) -> Result<Vec<(String, String)>, EncodeError> {
    let bytes = postcard::to_allocvec(data).expect("a session always serializes");
    let count = bytes.len().div_ceil(CHUNK_DATA).max(1);
    if count > MAX_CHUNKS {
        return Err(EncodeError::TooLarge(bytes.len()));
    }
    let group: [u8; 8] = rand::random();
    Ok(bytes
        .chunks(CHUNK_DATA)
        .enumerate()
        .map(|(i, part)| {
            let mut plain = Vec::with_capacity(HEADER_LEN + part.len());
            plain.push(FORMAT);
            plain.push(count as u8);
            plain.push(i as u8);
            plain.extend_from_slice(&group);
            plain.extend_from_slice(part);
            let name = chunk_name(i);
            let value = key.seal(&name, &plain);
            (name, value)
        })
        .collect())
}

/// The `name=value` pairs of one `Cookie` header, leading spaces trimmed. `;` is found with
/// `memchr` (SIMD): a session of 100 orgs makes a 3.5 KB header, scanned on every request.
fn cookie_pairs(header: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b';', header)
        .chain(std::iter::once(header.len()))
        .map(move |end| {
            let pair = &header[start..end];
            start = end + 1;
            let skip = pair.iter().position(|&b| b != b' ').unwrap_or(pair.len());
            &pair[skip..]
        })
}

/// Finds the value of cookie `name` in the request's `Cookie` headers, without parsing the rest
/// (and without validating the whole header as text: only the value found).
pub(crate) fn find_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    std::str::from_utf8(find_cookie_bytes(headers, name)?).ok()
}

/// [`find_cookie`], its value as bytes (not checked to be text).
fn find_cookie_bytes<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h [u8]> {
    let name = name.as_bytes();
    let mut found: Option<&'h [u8]> = None;
    for header in headers.get_all(COOKIE) {
        for pair in cookie_pairs(header.as_bytes()) {
            if pair.len() > name.len() && pair.starts_with(name) && pair[name.len()] == b'=' {
                if found.is_some() {
                    // Two cookies of the same name (e.g. one planted for a parent domain):
                    // refuse both rather than guess which one is ours.
                    return None;
                }
                found = Some(&pair[name.len() + 1..]);
            }
        }
    }
    let value = found?;
    let end = value.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    Some(&value[..end])
}

/// Reads and verifies the session in a request's cookies. Anything forged, truncated, mixed
/// from two sessions, sealed with another key or in an old format is `None`: not signed in.
#[cfg(any(test, feature = "testing", feature = "fuzzing"))]
pub(crate) fn decode(key: &CookieKey, headers: &HeaderMap) -> Option<SessionData> {
    decode_counting(key, headers).map(|(data, _)| data)
}

/// [`decode`], and how many cookies the session was split over.
fn decode_counting(key: &CookieKey, headers: &HeaderMap) -> Option<(SessionData, usize)> {
    let first = key.open(SESSION_COOKIE, find_cookie(headers, SESSION_COOKIE)?)?;
    if first.len() < HEADER_LEN || first[0] != FORMAT || first[2] != 0 {
        return None;
    }
    let count = usize::from(first[1]);
    if count == 0 || count > MAX_CHUNKS {
        return None;
    }
    let group = &first[3..HEADER_LEN];
    if count == 1 {
        return postcard::from_bytes(&first[HEADER_LEN..])
            .ok()
            .map(|d| (d, 1));
    }
    let mut bytes = first[HEADER_LEN..].to_vec();
    for (i, &name) in CHUNK_NAMES.iter().enumerate().take(count).skip(1) {
        let part = key.open(name, find_cookie(headers, name)?)?;
        if part.len() < HEADER_LEN
            || part[0] != FORMAT
            || usize::from(part[1]) != count
            || usize::from(part[2]) != i
            || &part[3..HEADER_LEN] != group
        {
            return None;
        }
        bytes.extend_from_slice(&part[HEADER_LEN..]);
    }
    postcard::from_bytes(&bytes).ok().map(|d| (d, count))
}

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
        SessionCache {
            shards: (0..CACHE_SHARDS).map(|_| Default::default()).collect(),
        }
    }
}

impl SessionCache {
    /// [`decode`] through the cache.
    pub(crate) fn decode(
        &self,
        key: &CookieKey,
        headers: &HeaderMap,
    ) -> Option<std::sync::Arc<SessionData>> {
        // Compared as bytes with what the cache holds (text, checked when it was decoded).
        let value = find_cookie_bytes(headers, SESSION_COOKIE)?;
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
                .all(|(i, v)| find_cookie_bytes(headers, CHUNK_NAMES[i + 1]) == Some(v.as_bytes()));
            if same {
                return Some(data);
            }
        }
        let (data, chunks) = decode_counting(key, headers)?;
        let data = std::sync::Arc::new(data);
        // Decoded: every value is the session's, and text.
        let values: Vec<&str> = CHUNK_NAMES[..chunks]
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

/// The `Set-Cookie` headers that store a session, and remove chunks a larger earlier session
/// left in the request.
pub(crate) fn write(
    request: &HeaderMap,
    policy: CookiePolicy,
    key: &CookieKey,
    data: &SessionData,
) -> Result<Vec<HeaderValue>, EncodeError> {
    let values = encode(key, data)?;
    let max_age = data.session_ends_at.saturating_sub(now_unix()) as i64;
    let written = values.len();
    let mut out: Vec<HeaderValue> = values
        .into_iter()
        .map(|(name, value)| policy.header(name, value, max_age))
        .collect();
    for i in written..MAX_CHUNKS {
        let name = chunk_name(i);
        if cookie_names_with_prefix(request, &name).any(|n| n == name) {
            out.push(policy.removal_header(name));
        }
    }
    Ok(out)
}

/// The `Set-Cookie` headers that remove every session cookie the request carried.
pub(crate) fn clear(request: &HeaderMap, policy: CookiePolicy) -> Vec<HeaderValue> {
    (0..MAX_CHUNKS)
        .map(chunk_name)
        .enumerate()
        .filter(|(i, name)| *i == 0 || cookie_names_with_prefix(request, name).any(|n| n == name))
        .map(|(_, name)| policy.removal_header(name))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use hf_auth_scopes::{mask_of, Role};

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
                })
                .collect(),
            scope_mask: mask_of(&["openid", "profile", "read-repos", "write-repos"]),
            extra_scopes: vec![],
            access_token: format!("hf_oauth_{}", "x".repeat(40)),
            expires_at: now_unix() + 28800,
            refresh_token: Some(format!("hf_oauth_refresh_{}", "y".repeat(40))),
            session_ends_at: now_unix() + 28800,
        }
    }

    fn headers_of(pairs: &[(String, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        let joined = pairs
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        h.insert(COOKIE, HeaderValue::from_str(&joined).unwrap());
        h
    }

    fn key() -> CookieKey {
        CookieKey::derive(b"0123456789abcdef0123456789abcdef", "test")
    }

    #[test]
    fn round_trips_and_every_cookie_stays_under_4k() {
        for n in [0, 10, 100, 300] {
            let data = user_in_orgs(n);
            let cookies = encode(&key(), &data).unwrap();
            let sizes: Vec<usize> = cookies.iter().map(|(n, v)| n.len() + 1 + v.len()).collect();
            eprintln!("{n} orgs: cookie bytes {sizes:?}");
            for (name, value) in &cookies {
                // name=value plus the attributes the browser counts
                assert!(
                    name.len() + value.len() + 1 < 4000,
                    "{n} orgs: {} bytes",
                    value.len()
                );
            }
            assert!(
                decode(&key(), &headers_of(&cookies)) == Some(data),
                "{n} orgs"
            );
        }
        // 100 orgs with 23-character handles still fit one cookie.
        assert_eq!(encode(&key(), &user_in_orgs(100)).unwrap().len(), 1);
        assert!(encode(&key(), &user_in_orgs(300)).unwrap().len() > 1);
    }

    proptest::proptest! {
        #[test]
        fn codec_round_trips(
            orgs in proptest::collection::vec(("[a-zA-Z0-9-]{1,40}", 0u8..5), 0..150),
            mask in proptest::num::u32::ANY,
            token in "[ -~]{0,200}",
            refresh in proptest::option::of("[ -~]{0,200}"),
        ) {
            let mut data = user_in_orgs(0);
            data.orgs = orgs
                .into_iter()
                .map(|(handle, r)| Org { handle, role: r.checked_sub(1).map(|i| Role::ALL[usize::from(i)]) })
                .collect();
            data.scope_mask = mask;
            data.access_token = token;
            data.refresh_token = refresh;
            let cookies = encode(&key(), &data).unwrap();
            proptest::prop_assert!(cookies.iter().all(|(n, v)| n.len() + v.len() + 1 < 4000));
            proptest::prop_assert!(decode(&key(), &headers_of(&cookies)) == Some(data));
        }

        #[test]
        fn arbitrary_cookie_headers_never_panic_nor_sign_in(header in "[ -~]{0,600}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&header) {
                h.insert(COOKIE, v);
            }
            proptest::prop_assert!(decode(&key(), &h).is_none());
        }

        #[test]
        fn flipping_any_byte_of_a_sealed_session_is_refused(pos in 0usize..400, bit in 0u8..8) {
            let cookies = encode(&key(), &user_in_orgs(3)).unwrap();
            let mut value = cookies[0].1.clone().into_bytes();
            let i = pos % value.len();
            value[i] ^= 1 << bit;
            if let Ok(v) = String::from_utf8(value) {
                if v != cookies[0].1 {
                    let mut h = HeaderMap::new();
                    if let Ok(hv) = HeaderValue::from_str(&format!("{}={v}", cookies[0].0)) {
                        h.insert(COOKIE, hv);
                        // base64url has unused low bits in its last character: a flip there
                        // can decode to the same bytes, which is not a forgery.
                        let decoded = decode(&key(), &h);
                        proptest::prop_assert!(decoded.is_none() || decoded == decode(&key(), &headers_of(&cookies)));
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_missing_mixed_and_foreign_chunks() {
        let a = encode(&key(), &user_in_orgs(300)).unwrap();
        let b = encode(&key(), &user_in_orgs(300)).unwrap();
        assert!(a.len() > 1);
        // a missing chunk
        assert!(decode(&key(), &headers_of(&a[..1])).is_none());
        // a chunk of another session
        let mixed = vec![a[0].clone(), b[1].clone()];
        assert!(decode(&key(), &headers_of(&mixed)).is_none());
        // chunk values swapped between names
        let swapped = vec![
            (a[0].0.clone(), a[1].1.clone()),
            (a[1].0.clone(), a[0].1.clone()),
        ];
        assert!(decode(&key(), &headers_of(&swapped)).is_none());
        // another key
        let other = CookieKey::derive(b"another secret, just as long ....", "test");
        assert!(decode(&other, &headers_of(&a)).is_none());
    }

    #[test]
    fn the_cache_answers_what_decoding_answers_and_stays_bounded() {
        let cache = SessionCache::default();
        let data = user_in_orgs(2);
        let cookies = encode(&key(), &data).unwrap();
        let h = headers_of(&cookies);
        assert!(*cache.decode(&key(), &h).unwrap() == data);
        assert!(*cache.decode(&key(), &h).unwrap() == data, "a hit");
        assert_eq!(cache.len(), 1);
        // Same tag (last 16 characters), different value: not a hit, and refused.
        let (name, value) = &cookies[0];
        let forged = format!(
            "{}{}",
            "A".repeat(value.len() - 16),
            &value[value.len() - 16..]
        );
        assert!(cache
            .decode(&key(), &headers_of(&[(name.clone(), forged)]))
            .is_none());
        // Another key: the cache of that app is another cache, and decoding fails.
        let other = CookieKey::derive(b"another secret, just as long ....", "test");
        assert!(SessionCache::default().decode(&other, &h).is_none());
        // Bounded.
        for _ in 0..3000 {
            let c = encode(&key(), &user_in_orgs(0)).unwrap();
            assert!(cache.decode(&key(), &headers_of(&c)).is_some());
        }
        assert!(cache.len() <= CACHE_SHARDS * CACHE_PER_SHARD);
    }

    #[test]
    fn split_sessions_are_cached_only_with_all_their_cookies() {
        let cache = SessionCache::default();
        let data = user_in_orgs(300);
        let a = encode(&key(), &data).unwrap();
        assert!(a.len() >= 3, "{} cookies", a.len());
        assert!(*cache.decode(&key(), &headers_of(&a)).unwrap() == data);
        assert_eq!(cache.len(), 1);
        assert!(
            *cache.decode(&key(), &headers_of(&a)).unwrap() == data,
            "a hit"
        );
        // The first cookie matches the entry, a further one does not: decoded, and refused.
        let b = encode(&key(), &user_in_orgs(300)).unwrap();
        let mut mixed = a.clone();
        mixed[1] = b[1].clone();
        assert!(cache.decode(&key(), &headers_of(&mixed)).is_none());
        let mut tampered = a.clone();
        tampered[2].1.replace_range(..4, "AAAA");
        assert!(cache.decode(&key(), &headers_of(&tampered)).is_none());
        // A missing further cookie is no hit either.
        assert!(cache
            .decode(&key(), &headers_of(&a[..a.len() - 1]))
            .is_none());
        // The entry survived the refusals and still answers the whole session.
        assert!(*cache.decode(&key(), &headers_of(&a)).unwrap() == data);
        // Bounded in bytes as well as in entries.
        for _ in 0..200 {
            let c = encode(&key(), &user_in_orgs(300)).unwrap();
            assert!(cache.decode(&key(), &headers_of(&c)).is_some());
        }
        for shard in &cache.shards {
            let shard = shard.lock().unwrap();
            let held: usize = shard.map.values().map(CacheEntry::bytes).sum();
            assert_eq!(held, shard.bytes);
            assert!(held <= CACHE_BYTES_PER_SHARD);
        }
    }

    #[test]
    fn chunk_names_follow_the_pattern() {
        for (i, name) in CHUNK_NAMES.iter().enumerate().skip(1) {
            assert_eq!(*name, format!("{SESSION_COOKIE}_{i}"));
        }
    }

    #[test]
    fn duplicated_cookie_is_refused() {
        let a = encode(&key(), &user_in_orgs(1)).unwrap();
        let twice = vec![a[0].clone(), a[0].clone()];
        assert!(decode(&key(), &headers_of(&twice)).is_none());
        assert!(decode(&key(), &headers_of(&a)).is_some());
    }

    #[test]
    fn finds_cookie_among_others_without_prefix_confusion() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("hf_auth_session_1=b; x=1;hf_auth_session=a"),
        );
        assert_eq!(find_cookie(&h, SESSION_COOKIE), Some("a"));
        assert_eq!(find_cookie(&h, "hf_auth_session_1"), Some("b"));
        assert_eq!(find_cookie(&h, "hf_auth"), None);
    }

    #[test]
    fn cookie_header_edges() {
        let header = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(COOKIE, HeaderValue::from_static(v));
            h
        };
        assert_eq!(find_cookie(&header(""), SESSION_COOKIE), None);
        assert_eq!(find_cookie(&header(";;"), SESSION_COOKIE), None);
        assert_eq!(
            find_cookie(&header("hf_auth_session="), SESSION_COOKIE),
            Some("")
        );
        assert_eq!(
            find_cookie(&header("hf_auth_session"), SESSION_COOKIE),
            None
        );
        assert_eq!(
            find_cookie(&header("x=1;   hf_auth_session=v  ;"), SESSION_COOKIE),
            Some("v")
        );
        assert_eq!(
            find_cookie(&header("a=1; hf_auth_session=v; b=2"), SESSION_COOKIE),
            Some("v")
        );
        // Two `Cookie` headers count together, for finding and for refusing duplicates.
        let mut h = header("a=1");
        h.append(COOKIE, HeaderValue::from_static("hf_auth_session=v"));
        assert_eq!(find_cookie(&h, SESSION_COOKIE), Some("v"));
        h.append(COOKIE, HeaderValue::from_static("hf_auth_session=w"));
        assert_eq!(find_cookie(&h, SESSION_COOKIE), None);
        let flows = header("hf_flow_a=1;x=2; hf_flow_b=3;hf_flow_c");
        let names: Vec<_> = cookie_names_with_prefix(&flows, "hf_flow_").collect();
        assert_eq!(names, ["hf_flow_a", "hf_flow_b"]);
    }
}
