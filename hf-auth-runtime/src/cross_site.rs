//! The cross-site rule for cookie-authenticated requests: which requests a page on another site
//! may have made, judged from the method, `Sec-Fetch-Site` and `Origin`.
//!
//! The session cookie is `SameSite=None` over https (a Space runs in an iframe on
//! huggingface.co), so the browser attaches it to requests that another site starts, a form
//! that auto-submits a `POST` among them. [`check`] refuses those:
//!
//! 1. `GET`, `HEAD` and `OPTIONS` always pass: links from other sites must work, and safe
//!    methods must not change anything.
//! 2. `Sec-Fetch-Site: same-origin` or `none` (the user typed the URL, used a bookmark) passes.
//!    `cross-site`, `same-site` or any other value is refused unless the `Origin` is trusted.
//! 3. Without `Sec-Fetch-Site` (older browsers), an `Origin` that is present must be trusted;
//!    `Origin: null` (sandboxed frames, `data:` pages, some redirects) never is.
//! 4. Neither header: not a browser (`curl`, a server), which cannot be made to send the
//!    victim's cookies; it passes.
//!
//! Trusted origins are the app's own ([`TrustedOrigins`]): the configured public URL's origin,
//! `https://{host}` for each host in `SPACE_HOST`, and an allow-list (`HF_AUTH_TRUSTED_ORIGINS`).
//! The decision allocates nothing when the request passes.

use axum::http::{HeaderMap, HeaderValue, Method};

use crate::error::{ConfigError, Escaped};

/// What a refusal tells the app's developer: how to let another origin of theirs through.
pub(crate) const TRUSTED_ORIGINS_HINT: &str = "Only the app's own pages and those of the origins \
     in HF_AUTH_TRUSTED_ORIGINS (comma-separated scheme://host[:port]) may send it with the \
     session cookie; a client without the cookie is answered as signed out.";

/// The `Sec-Fetch-Site` request header (a fetch metadata header).
pub(crate) const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Why a request that another site may have made was refused. Its text names the header and
/// its value, escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrossSiteRefusal {
    /// The browser says another site made the request (`Sec-Fetch-Site`), and its `Origin` is
    /// missing or not trusted.
    #[error("cross-site request refused: Sec-Fetch-Site is \"{site}\" and {}", origin_text(.origin))]
    CrossSite {
        /// The `Sec-Fetch-Site` value, escaped.
        site: String,
        /// The `Origin` value, escaped, if the request had one.
        origin: Option<String>,
    },
    /// The request's `Origin` is neither this app's nor in the allow-list.
    #[error(
        "cross-site request refused: the Origin \"{0}\" is not this app's origin nor a trusted one"
    )]
    UntrustedOrigin(String),
    /// `Origin: null`: an opaque origin (a sandboxed frame, a `data:` page) made the request.
    #[error("cross-site request refused: the Origin is \"null\" (an opaque origin)")]
    NullOrigin,
    /// A header appears more than once, so no single value can be trusted.
    #[error("cross-site request refused: the {0} header appears more than once")]
    Repeated(&'static str),
}

fn origin_text(origin: &Option<String>) -> String {
    match origin {
        Some(o) => format!("the Origin \"{o}\" is not trusted"),
        None => "there is no Origin".to_owned(),
    }
}

/// The origins whose requests are this app's own, built once at start-up. Each is kept in its
/// ASCII serialization (`https://host[:port]`, lowercase, default port left out, IPv6 in
/// brackets, international names in punycode), which is how browsers send `Origin`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedOrigins {
    origins: Vec<Box<str>>,
}

impl TrustedOrigins {
    /// The public URL's origin, `https://{host}` for each host of `space_hosts` (comma-separated,
    /// as `SPACE_HOST`), and each origin of `allow` (as `HF_AUTH_TRUSTED_ORIGINS`: `scheme://host`
    /// with an optional port and nothing else).
    pub(crate) fn new(
        public_url: &url::Url,
        space_hosts: Option<&str>,
        allow: &[String],
    ) -> Result<TrustedOrigins, ConfigError> {
        let mut out = TrustedOrigins::default();
        out.push(public_url.origin().ascii_serialization());
        for host in space_hosts
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
        {
            let origin = parse_origin(&format!("https://{host}")).map_err(|reason| {
                ConfigError::Invalid {
                    variable: "SPACE_HOST",
                    reason: format!("{:?} is not a host name: {reason}", Escaped::str(host)),
                }
            })?;
            out.push(origin);
        }
        for raw in allow.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
            let origin = parse_origin(raw).map_err(|reason| ConfigError::Invalid {
                variable: "HF_AUTH_TRUSTED_ORIGINS",
                reason: format!(
                    "{:?} is not an origin: {reason}; write scheme://host[:port], e.g. https://example.com",
                    Escaped::str(raw)
                ),
            })?;
            out.push(origin);
        }
        Ok(out)
    }

    fn push(&mut self, origin: String) {
        if !self.origins.iter().any(|o| **o == *origin) {
            self.origins.push(origin.into_boxed_str());
        }
    }

    /// Whether `origin` (a header value, surrounding spaces and tabs ignored, ASCII case
    /// ignored) is one of these.
    pub(crate) fn contains(&self, origin: &[u8]) -> bool {
        let origin = origin.trim_ascii();
        self.origins
            .iter()
            .any(|o| o.as_bytes().eq_ignore_ascii_case(origin))
    }

    /// The trusted origins, in the order they were added (the public URL's first).
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.origins.iter().map(|o| &**o)
    }
}

/// Parses one origin of the allow-list into its ASCII serialization.
fn parse_origin(raw: &str) -> Result<String, &'static str> {
    if raw.eq_ignore_ascii_case("null") {
        return Err("\"null\" is the origin of sandboxed and data: pages, never trusted");
    }
    let url = url::Url::parse(raw).map_err(|_| "not a URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("only http and https origins exist for a web app");
    }
    if url.host().is_none() {
        return Err("no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("an origin has no user name or password");
    }
    // `Url` makes an empty path `/`; anything longer, a query or a fragment is not an origin.
    let bare = raw.trim_end_matches('/');
    if url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || bare.len() + 1 < raw.len()
    {
        return Err("an origin has no path, query or fragment");
    }
    Ok(url.origin().ascii_serialization())
}

/// Whether a request may have been made by another site and must be refused, for a request
/// that a session cookie would authenticate. See the module's documentation for the rules.
pub(crate) fn check(
    method: &Method,
    headers: &HeaderMap,
    trusted: &TrustedOrigins,
) -> Result<(), CrossSiteRefusal> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let site = single(headers, SEC_FETCH_SITE, "Sec-Fetch-Site")?;
    let origin = single(headers, axum::http::header::ORIGIN.as_str(), "Origin")?;
    if let Some(site) = site {
        let value = site.as_bytes().trim_ascii();
        if value.eq_ignore_ascii_case(b"same-origin") || value.eq_ignore_ascii_case(b"none") {
            return Ok(());
        }
        // `cross-site`, `same-site` (a sibling subdomain is another origin) and anything
        // unknown: only a trusted origin passes.
        return match origin {
            Some(o) if trusted.contains(o.as_bytes()) => Ok(()),
            _ => Err(CrossSiteRefusal::CrossSite {
                site: Escaped::bytes(value).to_string(),
                origin: origin.map(|o| Escaped::bytes(o.as_bytes().trim_ascii()).to_string()),
            }),
        };
    }
    match origin {
        None => Ok(()),
        Some(o) => {
            let value = o.as_bytes().trim_ascii();
            if value.eq_ignore_ascii_case(b"null") {
                Err(CrossSiteRefusal::NullOrigin)
            } else if trusted.contains(value) {
                Ok(())
            } else {
                Err(CrossSiteRefusal::UntrustedOrigin(
                    Escaped::bytes(value).to_string(),
                ))
            }
        }
    }
}

/// The header's only value, `None` if it is absent; refused if it appears more than once.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &str,
    shown: &'static str,
) -> Result<Option<&'a HeaderValue>, CrossSiteRefusal> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(CrossSiteRefusal::Repeated(shown));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> TrustedOrigins {
        TrustedOrigins::new(
            &url::Url::parse("https://me-app.hf.space/").unwrap(),
            Some(" me-app.hf.space , app.example.com,,"),
            &[
                "https://partner.example:8443".into(),
                " http://[::1]:7860/ ".into(),
                "HTTPS://Büro.Example".into(),
            ],
        )
        .unwrap()
    }

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        h
    }

    fn post(pairs: &[(&str, &[u8])]) -> Result<(), CrossSiteRefusal> {
        check(&Method::POST, &headers(pairs), &trusted())
    }

    #[test]
    fn trusted_origins_are_normalised_and_deduplicated() {
        let t = trusted();
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [
                "https://me-app.hf.space",
                "https://app.example.com",
                "https://partner.example:8443",
                "http://[::1]:7860",
                "https://xn--bro-hoa.example",
            ]
        );
        // Default ports are left out, as browsers leave them out of Origin.
        let t = TrustedOrigins::new(
            &url::Url::parse("http://localhost:80/app/").unwrap(),
            None,
            &["https://a.example:443".into()],
        )
        .unwrap();
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            ["http://localhost", "https://a.example"]
        );
    }

    #[test]
    fn allow_list_entries_that_are_not_origins_are_refused() {
        let public = url::Url::parse("https://me-app.hf.space").unwrap();
        for bad in [
            "null",
            "NULL",
            "me-app.hf.space",
            "https://a.example/path",
            "https://a.example?q",
            "https://a.example#f",
            "https://a.example//",
            "https://user@a.example",
            "ftp://a.example",
            "data:text/html,x",
            "file:///etc",
            "https://",
            "https://a.example:99999",
        ] {
            let err = TrustedOrigins::new(&public, None, &[bad.into()]).unwrap_err();
            assert!(
                err.to_string().contains("HF_AUTH_TRUSTED_ORIGINS"),
                "{bad}: {err}"
            );
        }
        let err = TrustedOrigins::new(&public, Some("a.example/x y"), &[]).unwrap_err();
        assert!(err.to_string().contains("SPACE_HOST"), "{err}");
    }

    #[test]
    fn safe_methods_always_pass() {
        let hostile = headers(&[
            ("sec-fetch-site", b"cross-site"),
            ("origin", b"https://evil.example"),
        ]);
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert_eq!(check(&m, &hostile, &trusted()), Ok(()), "{m}");
        }
        for m in [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::TRACE,
            Method::CONNECT,
            Method::from_bytes(b"PROPFIND").unwrap(),
            Method::from_bytes(b"get").unwrap(),
        ] {
            assert!(check(&m, &hostile, &trusted()).is_err(), "{m}");
        }
    }

    #[test]
    fn fetch_metadata_same_origin_and_none_pass() {
        for v in [
            &b"same-origin"[..],
            b"none",
            b" same-origin ",
            b"\tnone",
            b"Same-Origin",
            b"NONE",
        ] {
            assert_eq!(post(&[("sec-fetch-site", v)]), Ok(()), "{v:?}");
            // Sec-Fetch-Site wins over Origin, as in Go: the browser sets both.
            assert_eq!(
                post(&[("sec-fetch-site", v), ("origin", b"https://evil.example")]),
                Ok(()),
                "{v:?}"
            );
        }
    }

    #[test]
    fn fetch_metadata_cross_site_and_same_site_are_refused_unless_trusted() {
        for v in [
            &b"cross-site"[..],
            b"same-site",
            b"CROSS-SITE",
            b" same-site\t",
            b"bogus",
            b"",
            b"same-origin, cross-site",
            b"same-originx",
        ] {
            let err = post(&[("sec-fetch-site", v)]).unwrap_err();
            assert!(
                matches!(&err, CrossSiteRefusal::CrossSite { origin: None, .. }),
                "{v:?}: {err:?}"
            );
            assert!(
                matches!(
                    post(&[("sec-fetch-site", v), ("origin", b"https://evil.example")]),
                    Err(CrossSiteRefusal::CrossSite {
                        origin: Some(_),
                        ..
                    })
                ),
                "{v:?}"
            );
            assert!(post(&[("sec-fetch-site", v), ("origin", b"null")]).is_err());
            // A sibling subdomain of the Space is another origin.
            assert!(post(&[("sec-fetch-site", v), ("origin", b"https://evil.hf.space")]).is_err());
            // Trusted origins pass, also as same-site (a custom domain's sibling).
            for ok in [
                &b"https://me-app.hf.space"[..],
                b"https://app.example.com",
                b"https://partner.example:8443",
                b" HTTPS://PARTNER.EXAMPLE:8443 ",
            ] {
                assert_eq!(
                    post(&[("sec-fetch-site", v), ("origin", ok)]),
                    Ok(()),
                    "{v:?} {ok:?}"
                );
            }
        }
    }

    #[test]
    fn without_fetch_metadata_the_origin_must_be_trusted() {
        for ok in [
            &b"https://me-app.hf.space"[..],
            b"https://ME-APP.hf.space",
            b"  https://me-app.hf.space\t",
            b"https://app.example.com",
            b"https://partner.example:8443",
            b"http://[::1]:7860",
            b"https://xn--bro-hoa.example",
        ] {
            assert_eq!(post(&[("origin", ok)]), Ok(()), "{ok:?}");
        }
        for bad in [
            // Another site, a sibling, a look-alike.
            &b"https://evil.example"[..],
            b"https://evil.hf.space",
            b"https://me-app.hf.space.evil.example",
            b"https://evilme-app.hf.space",
            // The right host over http: an attacker on the network can serve that page.
            b"http://me-app.hf.space",
            b"http://app.example.com",
            // Ports are part of the origin.
            b"https://me-app.hf.space:8443",
            b"https://partner.example",
            b"https://partner.example:443",
            b"http://[::1]:7861",
            b"http://[::1]",
            b"http://[::2]:7860",
            // Malformed: a path, a trailing slash, userinfo, two values, garbage, bytes.
            b"https://me-app.hf.space/",
            b"https://me-app.hf.space/x",
            b"https://user@me-app.hf.space",
            b"https://me-app.hf.space, https://me-app.hf.space",
            b"me-app.hf.space",
            b"",
            b"\xffhttps://me-app.hf.space",
            b"https://b\xc3\xbcro.example",
        ] {
            let err = post(&[("origin", bad)]).unwrap_err();
            assert!(
                matches!(err, CrossSiteRefusal::UntrustedOrigin(_)),
                "{bad:?}: {err:?}"
            );
        }
        for null in [&b"null"[..], b"NULL", b" null "] {
            assert_eq!(post(&[("origin", null)]), Err(CrossSiteRefusal::NullOrigin));
        }
    }

    #[test]
    fn neither_header_is_a_non_browser_client_and_passes() {
        assert_eq!(post(&[]), Ok(()));
        assert_eq!(
            post(&[("referer", b"https://evil.example/"), ("cookie", b"a=b")]),
            Ok(())
        );
    }

    #[test]
    fn repeated_headers_are_refused() {
        assert_eq!(
            post(&[
                ("sec-fetch-site", b"same-origin"),
                ("sec-fetch-site", b"same-origin")
            ]),
            Err(CrossSiteRefusal::Repeated("Sec-Fetch-Site"))
        );
        assert_eq!(
            post(&[
                ("origin", b"https://me-app.hf.space"),
                ("origin", b"https://me-app.hf.space")
            ]),
            Err(CrossSiteRefusal::Repeated("Origin"))
        );
    }

    #[test]
    fn refusals_name_the_header_and_escape_its_value() {
        let text = post(&[("origin", b"https://evil.example\xff\tx")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            text,
            "cross-site request refused: the Origin \"https://evil.example\\xff\\tx\" is not this app's origin nor a trusted one"
        );
        let text = post(&[
            ("sec-fetch-site", b"cross-site"),
            ("origin", b"https://evil.example\"x"),
        ])
        .unwrap_err()
        .to_string();
        assert_eq!(
            text,
            "cross-site request refused: Sec-Fetch-Site is \"cross-site\" and the Origin \"https://evil.example\\\"x\" is not trusted"
        );
        let text = post(&[("sec-fetch-site", b"same-site")])
            .unwrap_err()
            .to_string();
        assert!(text.contains("there is no Origin"), "{text}");
        assert!(CrossSiteRefusal::NullOrigin.to_string().contains("null"));
    }

    #[test]
    fn the_localhost_default_is_trusted_over_http() {
        let t = TrustedOrigins::new(
            &url::Url::parse("http://localhost:7860").unwrap(),
            None,
            &[],
        )
        .unwrap();
        let h = headers(&[("origin", b"http://localhost:7860")]);
        assert_eq!(check(&Method::POST, &h, &t), Ok(()));
        let h = headers(&[("origin", b"http://127.0.0.1:7860")]);
        assert!(check(&Method::POST, &h, &t).is_err());
    }
}
