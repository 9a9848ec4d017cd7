//! Cookies as hf-auth reads and sets them: the `Cookie` header scanner (finds one cookie
//! without parsing the rest) and the [`CookiePolicy`] every `Set-Cookie` of hf-auth follows.

use axum::http::{
    header::{CACHE_CONTROL, COOKIE, SET_COOKIE},
    HeaderMap, HeaderValue,
};
use cookie::{Cookie, SameSite};

use crate::session::codec::{Names, HOST_NAMES, PLAIN_NAMES};

/// How cookies are set: `Secure; SameSite=None; Partitioned` behind https (Spaces show apps in
/// an iframe on huggingface.co, where browsers increasingly block unpartitioned third-party
/// cookies; a partitioned cookie is kept per top-level site, CHIPS), `SameSite=Lax` on
/// plain-http localhost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    /// The names of the session's cookies: `__Host-` prefixed when they are `Secure`. The only
    /// names a session is read from: behind https a plain `hf_auth_session` (which a sibling
    /// subdomain could plant) is no session.
    pub fn session_names(&self) -> Names {
        if self.secure {
            HOST_NAMES
        } else {
            PLAIN_NAMES
        }
    }

    /// The prefix of the flow cookies' names.
    pub fn flow_prefix(&self) -> &'static str {
        if self.secure {
            "__Host-hf_auth_flow_"
        } else {
            "hf_auth_flow_"
        }
    }

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

pub(crate) fn to_header(c: Cookie<'static>) -> HeaderValue {
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

/// The `name=value` pairs of one `Cookie` header, leading spaces trimmed. `;` is found with
/// `memchr` (SIMD): a session of 100 orgs makes a 3.5 KB header, scanned on every request.
pub(crate) fn cookie_pairs(header: &[u8]) -> impl Iterator<Item = &[u8]> {
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
pub(crate) fn find_cookie_bytes<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h [u8]> {
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

/// Adds `Set-Cookie` headers to a response; a response that sets or clears a cookie of
/// hf-auth is never stored by a shared cache (`Cache-Control: private, no-store`).
pub(crate) fn append(response: &mut HeaderMap, set_cookies: Vec<HeaderValue>) {
    if set_cookies.is_empty() {
        return;
    }
    for value in set_cookies {
        response.append(SET_COOKIE, value);
    }
    response.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SESSION_COOKIE;

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
