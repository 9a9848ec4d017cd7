//! The session's cookie codec: `postcard`, sealed per cookie, split over up to [`MAX_CHUNKS`]
//! cookies that must all come from the same session.

use axum::http::{HeaderMap, HeaderValue};

use super::{now_unix, SessionData, MAX_CHUNKS, SECURE_SESSION_COOKIE, SESSION_COOKIE};
use crate::{
    cookies::{cookie_names_with_prefix, find_cookie, CookiePolicy},
    crypto::CookieKey,
};

/// Plaintext bytes per cookie: sealed and base64-encoded, name and value stay under 3.95 KB
/// (browsers allow 4096 bytes).
const CHUNK_DATA: usize = 2900;
const FORMAT: u8 = 1;
const HEADER_LEN: usize = 1 + 1 + 1 + 8;

/// The names of a session's cookies, in order.
pub(crate) type Names = &'static [&'static str; MAX_CHUNKS];

/// Over plain http: `hf_auth_session`, then `hf_auth_session_1`...
pub(crate) const PLAIN_NAMES: Names = &[
    SESSION_COOKIE,
    "hf_auth_session_1",
    "hf_auth_session_2",
    "hf_auth_session_3",
    "hf_auth_session_4",
];

/// Over https: `__Host-` names, which the browser accepts only `Secure`, with `Path=/` and no
/// `Domain`, so a sibling subdomain cannot plant or toss them.
pub(crate) const HOST_NAMES: Names = &[
    SECURE_SESSION_COOKIE,
    "__Host-hf_auth_session_1",
    "__Host-hf_auth_session_2",
    "__Host-hf_auth_session_3",
    "__Host-hf_auth_session_4",
];

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
    names: Names,
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
            let name = names[i].to_owned();
            let value = key.seal(&name, &plain);
            (name, value)
        })
        .collect())
}

/// Reads and verifies the session in a request's cookies. Anything forged, truncated, mixed
/// from two sessions, sealed with another key or in an old format is `None`: not signed in.
#[cfg(any(test, feature = "bench-hooks", feature = "fuzzing"))]
pub(crate) fn decode(key: &CookieKey, headers: &HeaderMap) -> Option<SessionData> {
    decode_counting(key, headers, PLAIN_NAMES).map(|(data, _)| data)
}

/// [`decode`], and how many cookies the session was split over.
pub(crate) fn decode_counting(
    key: &CookieKey,
    headers: &HeaderMap,
    names: Names,
) -> Option<(SessionData, usize)> {
    let first = key.open(names[0], find_cookie(headers, names[0])?)?;
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
    for (i, &name) in names.iter().enumerate().take(count).skip(1) {
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

/// The `Set-Cookie` headers that store a session under the policy's names, and remove chunks
/// a larger earlier session left in the request.
pub(crate) fn write(
    request: &HeaderMap,
    policy: CookiePolicy,
    key: &CookieKey,
    data: &SessionData,
) -> Result<Vec<HeaderValue>, EncodeError> {
    let values = encode(key, data, policy.session_names())?;
    Ok(write_values(request, policy, values, data.session_ends_at))
}

/// The `Set-Cookie` headers of sealed session cookie values (the first names of the policy),
/// lasting until `ends_at`; removes the further chunks the request carried.
pub(crate) fn write_values(
    request: &HeaderMap,
    policy: CookiePolicy,
    values: Vec<(String, String)>,
    ends_at: u64,
) -> Vec<HeaderValue> {
    let names = policy.session_names();
    let max_age = ends_at.saturating_sub(now_unix()) as i64;
    let written = values.len();
    let mut out: Vec<HeaderValue> = values
        .into_iter()
        .map(|(name, value)| policy.header(name, value, max_age))
        .collect();
    out.extend(removals(request, policy, &names[written..]));
    out
}

/// The `Set-Cookie` headers that remove every session cookie the request carried (and the
/// first one always).
pub(crate) fn clear(request: &HeaderMap, policy: CookiePolicy) -> Vec<HeaderValue> {
    let names = policy.session_names();
    let mut out = vec![policy.removal_header(names[0].to_owned())];
    out.extend(removals(request, policy, &names[1..]));
    out
}

/// Removals of those of `names` that the request carries.
fn removals<'a>(
    request: &'a HeaderMap,
    policy: CookiePolicy,
    names: &'a [&'static str],
) -> impl Iterator<Item = HeaderValue> + 'a {
    names
        .iter()
        .filter(|name| cookie_names_with_prefix(request, name).any(|n| n == **name))
        .map(move |name| policy.removal_header((*name).to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::{headers_of, key, user_in_orgs};
    use crate::user::Org;
    use axum::http::header::COOKIE;
    use hf_auth_scopes::Role;

    #[test]
    fn round_trips_and_every_cookie_stays_under_4k() {
        for n in [0, 10, 100, 300] {
            let data = user_in_orgs(n);
            let cookies = encode(&key(), &data, PLAIN_NAMES).unwrap();
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
        assert_eq!(
            encode(&key(), &user_in_orgs(100), PLAIN_NAMES)
                .unwrap()
                .len(),
            1
        );
        assert!(
            encode(&key(), &user_in_orgs(300), PLAIN_NAMES)
                .unwrap()
                .len()
                > 1
        );
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
                .map(|(handle, r)| Org { handle, role: r.checked_sub(1).map(|i| Role::ALL[usize::from(i)]), sub: None })
                .collect();
            data.scopes = hf_auth_scopes::ScopeSet::from_mask(mask);
            data.access_token = token;
            data.refresh_token = refresh;
            let cookies = encode(&key(), &data, PLAIN_NAMES).unwrap();
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
            let cookies = encode(&key(), &user_in_orgs(3), PLAIN_NAMES).unwrap();
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
        let a = encode(&key(), &user_in_orgs(300), PLAIN_NAMES).unwrap();
        let b = encode(&key(), &user_in_orgs(300), PLAIN_NAMES).unwrap();
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
    fn chunk_names_follow_the_pattern() {
        for (i, name) in PLAIN_NAMES.iter().enumerate().skip(1) {
            assert_eq!(*name, format!("{SESSION_COOKIE}_{i}"));
            assert_eq!(HOST_NAMES[i], format!("{SECURE_SESSION_COOKIE}_{i}"));
        }
    }

    #[test]
    fn duplicated_cookie_is_refused() {
        let a = encode(&key(), &user_in_orgs(1), PLAIN_NAMES).unwrap();
        let twice = vec![a[0].clone(), a[0].clone()];
        assert!(decode(&key(), &headers_of(&twice)).is_none());
        assert!(decode(&key(), &headers_of(&a)).is_some());
    }
}
