//! The path a user comes back to after login or logout (`_target_url`): attacker-controlled
//! input that must never lead off the site.

use percent_encoding::percent_decode_str;

/// The most bytes a return path may have.
const MAX_LEN: usize = 2048;

/// Keeps `target` only if it is a same-site relative path (`/x`, `/x?y#z`); anything that could
/// leave the site (`//host`, `/\host`, `https://...`, `javascript:`, encoded or with control
/// characters) becomes `/`. Dot segments (`/./`, `/../`, also percent-encoded as `%2e`, which
/// browsers treat as dots) are resolved before the check, so `/.//evil.example` and
/// `/a/..//evil.example`, which a browser resolves to the path `//evil.example`, become `/` too;
/// a path whose resolved form is safe is kept as given (the browser resolves it the same way).
///
/// ```
/// use hf_auth_runtime::safe_return_path;
/// assert_eq!(safe_return_path(Some("/models?sort=likes")), "/models?sort=likes");
/// assert_eq!(safe_return_path(Some("//evil.example")), "/");
/// assert_eq!(safe_return_path(Some("/%2F%2Fevil.example")), "/");
/// assert_eq!(safe_return_path(Some("/a/..//evil.example")), "/");
/// assert_eq!(safe_return_path(None), "/");
/// ```
pub fn safe_return_path(target: Option<&str>) -> &str {
    match target {
        Some(t) if is_safe(t) => t,
        _ => "/",
    }
}

fn is_safe(t: &str) -> bool {
    if t.is_empty() || t.len() > MAX_LEN || !t.starts_with('/') {
        return false;
    }
    // Only visible ASCII: no spaces, tabs, newlines (header injection) or non-ASCII tricks.
    if !t.bytes().all(|b| (0x21..=0x7e).contains(&b)) || t.contains('\\') {
        return false;
    }
    // Browsers decode before they resolve in places; check the decoded form too, repeatedly.
    let mut current = std::borrow::Cow::Borrowed(t);
    for _ in 0..3 {
        let decoded = percent_decode_str(&current)
            .decode_utf8_lossy()
            .into_owned();
        let path_start: String = decoded.chars().take(2).collect();
        if path_start.starts_with("//")
            || resolves_to_two_slashes(&decoded)
            || decoded.contains('\\')
            || decoded.chars().any(char::is_control)
            || !decoded.starts_with('/')
        {
            return false;
        }
        if decoded == current {
            break;
        }
        current = std::borrow::Cow::Owned(decoded);
    }
    true
}

/// Whether the path part of `decoded` (before `?` or `#`), once its dot segments are removed as
/// RFC 3986 section 5.2.4 says, starts with `//` (another host, to whoever reads it as a URL).
fn resolves_to_two_slashes(decoded: &str) -> bool {
    let path = decoded.split(['?', '#']).next().unwrap_or_default();
    if !path.split('/').any(|s| s == "." || s == "..") {
        return false;
    }
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
        if last && matches!(*seg, "." | "..") {
            out.push("");
        }
    }
    // The resolved path is `/` + the segments joined by `/`: it starts with `//` exactly when
    // there are two or more segments and the first is empty.
    out.len() >= 2 && out[0].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a browser could make of a Location value: it must stay on this site.
    fn stays_on_site(location: &str) -> bool {
        let base = url::Url::parse("https://app.example/").unwrap();
        location.starts_with('/')
            && !location.starts_with("//")
            && base.join(location).is_ok_and(|u| {
                // Resolved as a browser does (dot segments, `%2e` included): one leading slash,
                // so a later redirect to the path cannot name another host.
                u.host_str() == Some("app.example") && !u.path().starts_with("//")
            })
    }

    proptest! {
        #[test]
        fn any_target_yields_a_same_site_path(target in ".{0,64}") {
            let out = safe_return_path(Some(&target));
            prop_assert!(stays_on_site(out), "{target:?} -> {out:?}");
            prop_assert!(axum::http::HeaderValue::from_str(out).is_ok());
        }

        #[test]
        fn slash_and_percent_soup_never_leaves(target in "[/\\%2fF5cC0-9a-z:.\t\n]{0,24}") {
            let out = safe_return_path(Some(&target));
            prop_assert!(stays_on_site(out), "{target:?} -> {out:?}");
        }

        #[test]
        fn dot_segment_soup_never_resolves_to_two_slashes(
            target in "(/(\\.|\\.\\.|%2e|%2E%2e|\\.%2e|%252e|a|)){1,8}(\\?/.//x)?"
        ) {
            let out = safe_return_path(Some(&target));
            prop_assert!(stays_on_site(out), "{target:?} -> {out:?}");
        }

        #[test]
        fn plain_local_paths_are_kept(path in "(/[a-z0-9_-]{1,8}){1,4}(\\?[a-z]=[0-9]{1,3})?") {
            prop_assert_eq!(safe_return_path(Some(&path)), path.as_str());
        }
    }

    #[test]
    fn the_oracle_resolves_dot_segments_as_browsers_do() {
        for bad in [
            "/.//evil.example",
            "/a/..//evil.example",
            "/a/%2e%2e//evil.example",
        ] {
            assert!(!stays_on_site(bad), "{bad}");
        }
        assert!(stays_on_site("/a/../b"));
    }

    #[test]
    fn keeps_local_paths() {
        for ok in ["/", "/me", "/a/b?c=d&e=f#g", "/%C3%A9t%C3%A9", "/x%2Fy"] {
            assert_eq!(safe_return_path(Some(ok)), ok);
        }
        // Dot segments that resolve to a local path are kept; so are dots that are not segments,
        // and dots after the path.
        for ok in [
            "/a/../b",
            "/./b",
            "/..",
            "/a/b/..",
            "/a/./b/",
            "/.well-known/x",
            "/a.b/..c/d..",
            "/x?next=/.//evil.example",
            "/x#/..//evil.example",
        ] {
            assert_eq!(safe_return_path(Some(ok)), ok);
        }
    }

    #[test]
    fn refuses_everything_that_can_leave_the_site() {
        for bad in [
            "",
            "//evil.example",
            "///evil.example",
            "////evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "http:/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/%2F%2Fevil.example",
            "%2F%2Fevil.example",
            "/%2fevil.example",
            "/%5Cevil.example",
            "/%252F%252Fevil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ok\r\nSet-Cookie: a=b",
            "/%0d%0aSet-Cookie:%20a=b",
            "/ /evil",
            "/é",
            "/.//evil.example",
            "/./\\/evil.example",
            "/a/..//evil.example",
            "/a/b/../..//evil.example",
            "/..//evil.example",
            "/a/%2e%2e//evil.example",
            "/a/%2E%2E//evil.example",
            "/a/.%2e//evil.example",
            "/%2e//evil.example",
            "/a/%252e%252e//evil.example",
            "/a/%2e%2e/%2fevil.example",
        ] {
            assert_eq!(safe_return_path(Some(bad)), "/", "{bad:?} accepted");
        }
        assert_eq!(
            safe_return_path(Some(&format!("/{}", "a".repeat(3000)))),
            "/"
        );
    }
}
