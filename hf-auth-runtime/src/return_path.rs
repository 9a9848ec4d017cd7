//! The path a user comes back to after login or logout (`_target_url`): attacker-controlled
//! input that must never lead off the site.

use percent_encoding::percent_decode_str;

/// The most bytes a return path may have.
const MAX_LEN: usize = 2048;

/// Keeps `target` only if it is a same-site relative path (`/x`, `/x?y#z`); anything that could
/// leave the site (`//host`, `/\host`, `https://...`, `javascript:`, encoded or with control
/// characters) becomes `/`.
///
/// ```
/// use hf_auth_runtime::safe_return_path;
/// assert_eq!(safe_return_path(Some("/models?sort=likes")), "/models?sort=likes");
/// assert_eq!(safe_return_path(Some("//evil.example")), "/");
/// assert_eq!(safe_return_path(Some("/%2F%2Fevil.example")), "/");
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a browser could make of a Location value: it must stay on this site.
    fn stays_on_site(location: &str) -> bool {
        let base = url::Url::parse("https://app.example/").unwrap();
        location.starts_with('/')
            && !location.starts_with("//")
            && base
                .join(location)
                .is_ok_and(|u| u.host_str() == Some("app.example"))
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
        fn plain_local_paths_are_kept(path in "(/[a-z0-9_-]{1,8}){1,4}(\\?[a-z]=[0-9]{1,3})?") {
            prop_assert_eq!(safe_return_path(Some(&path)), path.as_str());
        }
    }

    #[test]
    fn keeps_local_paths() {
        for ok in ["/", "/me", "/a/b?c=d&e=f#g", "/%C3%A9t%C3%A9", "/x%2Fy"] {
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
        ] {
            assert_eq!(safe_return_path(Some(bad)), "/", "{bad:?} accepted");
        }
        assert_eq!(
            safe_return_path(Some(&format!("/{}", "a".repeat(3000)))),
            "/"
        );
    }
}
