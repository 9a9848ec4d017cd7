//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not a public API.

use axum::http::{header::COOKIE, HeaderMap, HeaderValue};

use crate::crypto::CookieKey;

/// Decodes `header` as a `Cookie` header with a fixed key; `true` if it held a valid session
/// (which random input never may).
pub fn session_from_cookie_header(header: &[u8]) -> bool {
    let key = CookieKey::derive(b"fuzzing key, 32 bytes or more....", "fuzz");
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(header) {
        headers.insert(COOKIE, v);
    }
    crate::session::decode(&key, &headers).is_some()
}

/// Parses a callback query; never panics.
pub fn callback_query(query: &str) {
    let _ = crate::flow::query::CallbackParams::parse(Some(query));
}
