//! Reading the environment (`HF_AUTH_*`, the variables Spaces inject) into a builder.

use std::time::Duration;

use super::{HfAuthBuilder, MAX_TOKEN_CACHE_TTL, MAX_WHOAMI_BUDGET};
use crate::{crypto::decode_key_text, error::ConfigError, mock::MockUser, registry::ScopeCheck};

/// Decodes a cookie key given as text (see [`HfAuthBuilder::cookie_key`]).
fn key_from_text(
    text: Option<String>,
    variable: &'static str,
) -> Result<Option<Vec<u8>>, ConfigError> {
    text.map(|t| {
        decode_key_text(&t).map_err(|e| ConfigError::Invalid {
            variable,
            reason: format!(
                "{e}; it must be hex or base64 of at least 32 random bytes, e.g. from `openssl rand -hex 32`"
            ),
        })
    })
    .transpose()
}

/// An on/off variable: `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`, in any case;
/// anything else is an error naming `variable` and what `1` turns on (`what`).
fn flag(variable: &'static str, value: &str, what: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::Invalid {
            variable,
            reason: format!(
                "{:?}: use 1 ({what}) or 0",
                crate::error::Escaped::str(value)
            ),
        }),
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl HfAuthBuilder {
    /// Reads the environment through `var`; see [`HfAuth::from_env`](crate::HfAuth::from_env).
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<HfAuthBuilder, ConfigError> {
        let var = |name: &str| non_empty(var(name));
        let mut b = HfAuthBuilder {
            client_id: var("OAUTH_CLIENT_ID"),
            client_secret: var("OAUTH_CLIENT_SECRET"),
            scopes: var("OAUTH_SCOPES").map(|s| s.split_whitespace().map(str::to_owned).collect()),
            provider_url: var("OPENID_PROVIDER_URL"),
            public_url: var("HF_AUTH_PUBLIC_URL"),
            space_id: var("SPACE_ID"),
            space_host: var("SPACE_HOST"),
            cookie_key: key_from_text(var("HF_AUTH_COOKIE_KEY"), "HF_AUTH_COOKIE_KEY")?,
            previous_cookie_key: key_from_text(
                var("HF_AUTH_COOKIE_KEY_PREVIOUS"),
                "HF_AUTH_COOKIE_KEY_PREVIOUS",
            )?,
            trusted_origins: var("HF_AUTH_TRUSTED_ORIGINS")
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|o| !o.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            mock_user: MockUser::from_env(&var)?,
            ..HfAuthBuilder::default()
        };
        if let Some(mock) = var("HF_AUTH_MOCK") {
            b.mock = Some(flag("HF_AUTH_MOCK", &mock, "mock mode")?);
        }
        if let Some(port) = var("PORT") {
            b.port = Some(port.parse().map_err(|_| ConfigError::Invalid {
                variable: "PORT",
                reason: format!("{port:?} is not a port number"),
            })?);
        }
        b.session_store = var("HF_AUTH_SESSION_STORE");
        b.session_store_ca = var("HF_AUTH_SESSION_STORE_CA").map(Into::into);
        if let Some(on) = var("HF_AUTH_SESSION_STORE_CACHE") {
            b.session_store_cache = flag("HF_AUTH_SESSION_STORE_CACHE", &on, "the replica cache")?;
        }
        if let Some(on) = var("HF_AUTH_INCREMENTAL_CONSENT") {
            b.incremental_consent =
                flag("HF_AUTH_INCREMENTAL_CONSENT", &on, "incremental consent")?;
        }
        if let Some(secs) = var("HF_AUTH_SESSION_LIFETIME") {
            let secs: u64 = secs.parse().map_err(|_| ConfigError::Invalid {
                variable: "HF_AUTH_SESSION_LIFETIME",
                reason: format!("{secs:?} is not a number of seconds"),
            })?;
            b.session_lifetime = Duration::from_secs(secs);
        }
        if let Some(secs) = var("HF_AUTH_TOKEN_CACHE_TTL") {
            let ttl = secs.parse().ok().map(Duration::from_secs);
            b.token_cache_ttl = ttl
                .filter(|t| super::token_cache_ttl_ok(*t))
                .ok_or_else(|| ConfigError::Invalid {
                    variable: "HF_AUTH_TOKEN_CACHE_TTL",
                    reason: format!(
                        "{:?}: use a number of seconds from 1 to {} (an hour)",
                        crate::error::Escaped::str(&secs),
                        MAX_TOKEN_CACHE_TTL.as_secs()
                    ),
                })?;
        }
        if let Some(calls) = var("HF_AUTH_WHOAMI_BUDGET") {
            b.whoami_budget = calls
                .trim()
                .parse()
                .ok()
                .filter(|n| super::whoami_budget_ok(*n))
                .ok_or_else(|| ConfigError::Invalid {
                    variable: "HF_AUTH_WHOAMI_BUDGET",
                    reason: format!(
                        "{:?}: use a number of whoami calls a minute from 1 to {MAX_WHOAMI_BUDGET}",
                        crate::error::Escaped::str(&calls),
                    ),
                })?;
        }
        if let Some(check) = var("HF_AUTH_SCOPE_CHECK") {
            b.scope_check = match check.as_str() {
                "deny" => ScopeCheck::Deny,
                "warn" => ScopeCheck::Warn,
                "off" => ScopeCheck::Off,
                other => {
                    return Err(ConfigError::Invalid {
                        variable: "HF_AUTH_SCOPE_CHECK",
                        reason: format!("{other:?}: use deny, warn or off"),
                    })
                }
            };
        }
        Ok(b)
    }
}
