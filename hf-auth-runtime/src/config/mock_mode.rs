//! Whether mock mode switches on: by itself only when everything says the app is local; and
//! then, whom it signs in: only requests addressed to this machine. One loopback rule for both.

use axum::http::{header::HOST, HeaderMap, Uri};

use super::HfAuthBuilder;
use crate::error::ConfigError;

/// Whether the URL's host is `localhost`, in `127.0.0.0/8` or `::1`.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether `host`, as a `Host` header gives it (`name[:port]`, `[v6][:port]`), is loopback by
/// [`is_loopback`]; anything more than a host and a port is not.
fn is_loopback_host(host: &[u8]) -> bool {
    let Ok(host) = std::str::from_utf8(host) else {
        return false;
    };
    url::Url::parse(&format!("http://{host}")).is_ok_and(|u| {
        is_loopback(&u)
            && u.username().is_empty()
            && u.password().is_none()
            && u.path() == "/"
            && u.query().is_none()
            && u.fragment().is_none()
    })
}

/// The first name a request gives for this server that is not loopback: its `Host`, the
/// authority of its URI (HTTP/2's `:authority`, an absolute-form request) and each host of an
/// `X-Forwarded-Host` (a proxy or tunnel that rewrote `Host`). `None` when every name given is
/// loopback, or none is given: a browser always sends `Host`, and any other client could as
/// well send `Host: localhost`, so refusing a request without one would protect nothing.
pub(crate) fn foreign_host<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Option<&'a [u8]> {
    let hosts = headers.get_all(HOST).iter().map(|v| v.as_bytes());
    let authority = uri.authority().map(|a| a.as_str().as_bytes());
    let forwarded = headers
        .get_all("x-forwarded-host")
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii);
    hosts
        .chain(authority)
        .chain(forwarded)
        .find(|h| !is_loopback_host(h))
}

impl HfAuthBuilder {
    /// Whether [`build`](Self::build) will run in mock mode, or the error it will fail with
    /// because mock mode may not switch on. Lets a binary refuse before it binds a socket.
    pub fn will_mock(&self) -> Result<bool, ConfigError> {
        if self.client_id.is_none() && self.client_secret.is_some() {
            return Ok(false);
        }
        self.mock_mode(&self.public_url_or_default()?)
    }

    /// Whether mock mode is on; an error if it must be but may not, or may not be and must.
    pub(super) fn mock_mode(&self, public_url: &url::Url) -> Result<bool, ConfigError> {
        if self.mock == Some(true) {
            if self.space_id.is_some() {
                return Err(ConfigError::Invalid {
                    variable: "HF_AUTH_MOCK",
                    reason: "SPACE_ID is set, so this is a Space, where mock mode would sign every visitor in; unset HF_AUTH_MOCK and add `hf_oauth: true` to the Space README's metadata".into(),
                });
            }
            if self.client_id.is_some() {
                return Err(ConfigError::Invalid {
                    variable: "HF_AUTH_MOCK",
                    reason:
                        "OAUTH_CLIENT_ID is set too; unset one of them: real sign-in or mock mode"
                            .into(),
                });
            }
            return Ok(true);
        }
        if self.client_id.is_some() || self.space_id.is_some() {
            return Ok(false);
        }
        // No credentials and no Space: only a loopback-only configuration may mock by itself.
        let public = std::iter::once(public_url.clone()).chain(
            self.space_host
                .iter()
                .flat_map(|hosts| hosts.split(','))
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .filter_map(|h| url::Url::parse(&format!("https://{h}")).ok()),
        );
        let mut not_loopback = public
            .filter(|u| !is_loopback(u))
            .map(|u| u.origin().ascii_serialization())
            .collect::<Vec<_>>();
        if let Some(ip) = self.listen_address.filter(|ip| !ip.is_loopback()) {
            not_loopback.push(format!("the listening address {ip}"));
        }
        let reason = if self.mock == Some(false) {
            "HF_AUTH_MOCK is 0".to_owned()
        } else if !not_loopback.is_empty() {
            format!(
                "{} {} not loopback (localhost, 127.0.0.0/8, ::1), so this looks like a public deployment",
                not_loopback.join(", "),
                if not_loopback.len() == 1 { "is" } else { "are" }
            )
        } else {
            return Ok(true);
        };
        Err(ConfigError::MockNotAllowed(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn foreign(pairs: &[(&'static str, &'static str)], uri: &str) -> Option<String> {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        let uri: Uri = uri.parse().unwrap();
        foreign_host(&h, &uri).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    #[test]
    fn a_request_is_local_when_every_name_it_gives_is_loopback() {
        for host in [
            "localhost",
            "LOCALHOST:7860",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.9.9.9:1",
            "[::1]",
            "[::1]:7860",
        ] {
            assert_eq!(foreign(&[("host", host)], "/login"), None, "{host}");
        }
        assert_eq!(foreign(&[], "/login"), None, "no name at all");
        assert_eq!(foreign(&[], "http://localhost:7860/login"), None);
        assert_eq!(
            foreign(
                &[
                    ("host", "127.0.0.1"),
                    ("x-forwarded-host", "localhost:5173")
                ],
                "/login"
            ),
            None
        );
        for host in [
            "app.example",
            "192.168.1.20:7860",
            "0.0.0.0:7860",
            "[::]:7860",
            "localhost.example",
            "localhost@evil.example",
            "localhost/x",
            "localhost?x",
            "localhost:99999",
            "",
        ] {
            assert_eq!(
                foreign(&[("host", host)], "/login").as_deref(),
                Some(host),
                "{host:?}"
            );
        }
        assert_eq!(
            foreign(&[], "http://app.example/login").as_deref(),
            Some("app.example")
        );
        assert_eq!(
            foreign(
                &[
                    ("host", "localhost:7860"),
                    ("x-forwarded-host", "localhost, tunnel.example")
                ],
                "/login"
            )
            .as_deref(),
            Some("tunnel.example")
        );
        assert_eq!(
            foreign(&[("host", "localhost"), ("host", "app.example")], "/login").as_deref(),
            Some("app.example")
        );
    }
}
