//! Whether mock mode switches on: by itself only when everything says the app is local.

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
