//! [`HfAuthBuilder::build`]: every check of the configuration, discovery, the keys, and the
//! state the routes and guards share.

use std::sync::Arc;

use super::{HfAuth, HfAuthBuilder, MAX_SESSION_LIFETIME, MAX_WHOAMI_BUDGET};
use crate::{
    cookies::CookiePolicy,
    cross_site::TrustedOrigins,
    crypto::{CookieKey, Mode, Purpose, MIN_KEY_BYTES},
    error::ConfigError,
    provider::Provider,
    registry,
    state::{AuthState, Backend, Routes},
};

impl HfAuthBuilder {
    fn bearer(
        &self,
        mock: bool,
        scopes: &[String],
    ) -> Result<crate::bearer::BearerAuth, ConfigError> {
        use crate::bearer::{BearerAuth, BearerConfig};
        if !super::token_cache_ttl_ok(self.token_cache_ttl) {
            return Err(ConfigError::Invalid {
                variable: "token_cache_ttl",
                reason: "the bearer-token cache TTL is between 1 second and 1 hour".into(),
            });
        }
        if !super::whoami_budget_ok(self.whoami_budget) {
            return Err(ConfigError::Invalid {
                variable: "whoami_budget",
                reason: format!(
                    "the whoami budget is from 1 to {MAX_WHOAMI_BUDGET} calls a minute"
                ),
            });
        }
        let url = self.whoami_url.clone().unwrap_or_else(|| {
            let provider = self
                .provider_url
                .as_deref()
                .unwrap_or("https://huggingface.co");
            format!("{}/api/whoami-v2", provider.trim_end_matches('/'))
        });
        // Mock mode never calls whoami.
        match url::Url::parse(&url) {
            _ if mock => {}
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            _ => {
                return Err(ConfigError::Invalid {
                    variable: "whoami_url",
                    reason: format!("{url:?} must be an http(s) URL with a host"),
                })
            }
        }
        let mut config = BearerConfig::new(url);
        config.ttl = self.token_cache_ttl;
        config.http_timeout = self.http_timeout;
        config.whoami_budget = self.whoami_budget;
        let built = if mock {
            let user = self.mock_user.clone().unwrap_or_default();
            BearerAuth::mock(config, &user, scopes)
        } else {
            BearerAuth::new(config)
        };
        built.map_err(|e| ConfigError::Invalid {
            variable: "whoami_url",
            reason: format!("the HTTP client for whoami cannot be built: {e}"),
        })
    }

    fn scopes_or_default(&self) -> Result<Vec<String>, ConfigError> {
        let mut scopes = self
            .scopes
            .clone()
            .unwrap_or_else(|| vec!["openid".into(), "profile".into()]);
        for s in &scopes {
            if !s
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
            {
                return Err(ConfigError::Invalid {
                    variable: "OAUTH_SCOPES",
                    reason: format!("{s:?} is not a scope name"),
                });
            }
        }
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        scopes.dedup();
        Ok(scopes)
    }

    pub(super) fn public_url_or_default(&self) -> Result<url::Url, ConfigError> {
        let (raw, variable) = match (&self.public_url, &self.space_host) {
            (Some(u), _) => (u.clone(), "HF_AUTH_PUBLIC_URL"),
            (None, Some(hosts)) => {
                let first = hosts.split(',').map(str::trim).find(|h| !h.is_empty());
                let Some(first) = first else {
                    return Err(ConfigError::Invalid {
                        variable: "SPACE_HOST",
                        reason: "it lists no host".into(),
                    });
                };
                (format!("https://{first}"), "SPACE_HOST")
            }
            (None, None) => (
                format!("http://localhost:{}", self.port.unwrap_or(7860)),
                "PORT",
            ),
        };
        let url = url::Url::parse(&raw).map_err(|e| ConfigError::Invalid {
            variable,
            reason: format!("{raw:?} is not a URL ({e})"),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::Invalid {
                variable,
                reason: format!("{raw:?} must be an http(s) URL with a host"),
            });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::Invalid {
                variable,
                reason: format!("{raw:?} must not have a query or fragment"),
            });
        }
        Ok(url)
    }

    fn route_prefix_normalized(&self) -> Result<String, ConfigError> {
        let p = self.route_prefix.trim_matches('/');
        if p.is_empty() {
            return Ok(String::new());
        }
        if !p
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'.'))
        {
            return Err(ConfigError::Invalid {
                variable: "route prefix",
                reason: format!("{p:?} may only have letters, digits, `-`, `_`, `.` and `/`"),
            });
        }
        Ok(format!("/{p}"))
    }

    /// Checks the configuration, discovers the provider (real mode) and runs the start-up scope
    /// check. Fails with a message that names the variable and the fix.
    pub async fn build(self) -> Result<HfAuth, ConfigError> {
        let scopes = self.scopes_or_default()?;
        let public_url = self.public_url_or_default()?;
        let prefix = self.route_prefix_normalized()?;
        let routes = Routes::new(&prefix);
        if self.session_lifetime.is_zero() || self.session_lifetime > MAX_SESSION_LIFETIME {
            return Err(ConfigError::Invalid {
                variable: "HF_AUTH_SESSION_LIFETIME",
                reason: "a session lasts between 1 second and 30 days".into(),
            });
        }
        for (key, variable) in [
            (&self.cookie_key, "HF_AUTH_COOKIE_KEY"),
            (&self.previous_cookie_key, "HF_AUTH_COOKIE_KEY_PREVIOUS"),
        ] {
            if key.as_ref().is_some_and(|k| k.len() < MIN_KEY_BYTES) {
                return Err(ConfigError::Invalid {
                    variable,
                    reason: "the cookie key needs at least 32 bytes; generate one with `openssl rand -hex 32`".into(),
                });
            }
        }
        if self.client_id.is_none() && self.client_secret.is_some() {
            return Err(ConfigError::Missing {
                variable: "OAUTH_CLIENT_ID",
                fix: "OAUTH_CLIENT_SECRET is set without it; set both (real sign-in) or neither (mock mode)",
            });
        }
        let mock = self.mock_mode(&public_url)?;
        let mode = if mock { Mode::Mock } else { Mode::Real };
        // Said once the whole configuration is accepted, never before a refusal to start.
        let started;
        let client_id_text = self.client_id.as_deref().unwrap_or("");
        let keys = |master: &[u8]| {
            let mut session =
                CookieKey::for_purpose(master, Purpose::Session, mode, client_id_text);
            let mut flow = CookieKey::for_purpose(master, Purpose::Flow, mode, client_id_text);
            if let Some(previous) = &self.previous_cookie_key {
                session = session.with_previous(CookieKey::for_purpose(
                    previous,
                    Purpose::Session,
                    mode,
                    client_id_text,
                ));
                flow = flow.with_previous(CookieKey::for_purpose(
                    previous,
                    Purpose::Flow,
                    mode,
                    client_id_text,
                ));
            }
            (session, flow)
        };
        // The master secret of every derived key: the cookies' and the session store's.
        let (backend, master) = if mock {
            let user = self.mock_user.clone().unwrap_or_default();
            // Switched on by itself (not asked for), it signs in only requests addressed to
            // this machine: the login route refuses any other `Host`.
            let opted_in = self.mock == Some(true);
            started = Started::Mock {
                handle: user.handle.clone(),
                opted_in,
            };
            let master = match &self.cookie_key {
                Some(k) => k.clone(),
                None => CookieKey::random_master().to_vec(),
            };
            (Backend::Mock { user, opted_in }, master)
        } else {
            let Some(client_id) = self.client_id.clone() else {
                return Err(ConfigError::Missing {
                    variable: "OAUTH_CLIENT_ID",
                    fix: "SPACE_ID is set, so this is a Space and mock mode is off; add `hf_oauth: true` to the Space README's metadata so that Spaces injects the OAuth credentials",
                });
            };
            let master = match (&self.cookie_key, &self.client_secret) {
                (Some(k), _) => k.clone(),
                (None, Some(secret)) if secret.len() >= 16 => secret.as_bytes().to_vec(),
                (None, Some(_)) => {
                    return Err(ConfigError::Invalid {
                        variable: "OAUTH_CLIENT_SECRET",
                        reason: "it is too short to key the session cookies; set HF_AUTH_COOKIE_KEY (32+ bytes) instead".into(),
                    })
                }
                (None, None) if self.space_id.is_some() => {
                    return Err(ConfigError::Missing {
                        variable: "OAUTH_CLIENT_SECRET",
                        fix: "SPACE_ID is set, so this is a Space and mock mode is off; add `hf_oauth: true` to the Space README's metadata so that Spaces injects the OAuth credentials",
                    })
                }
                (None, None) => {
                    return Err(ConfigError::Missing {
                        variable: "HF_AUTH_COOKIE_KEY",
                        fix: "a public client (no OAUTH_CLIENT_SECRET) needs an explicit cookie key of 32+ bytes, e.g. from `openssl rand -hex 32`",
                    })
                }
            };
            let provider_url = self
                .provider_url
                .clone()
                .unwrap_or_else(|| "https://huggingface.co".into());
            let redirect = format!(
                "{}{}",
                public_url.as_str().trim_end_matches('/'),
                routes.callback
            );
            let provider = Provider::discover(
                &provider_url,
                &client_id,
                self.client_secret.as_deref(),
                &redirect,
                self.http_timeout,
                self.discovery_attempts,
                self.discovery_timeout,
            )
            .await?;
            started = Started::Real {
                provider: provider_url,
                redirect_uri: redirect,
            };
            (Backend::Real(Box::new(provider)), master)
        };
        let (key, flow_key) = keys(&master);
        // Mock mode with no scopes given asks for (and its default mock user grants) every scope
        // the linked handlers declare, so each annotated route works at once. Real mode asks for
        // exactly what it is told, and the check below stays strict there.
        let scopes = if self.scopes.is_none() && matches!(backend, Backend::Mock { .. }) {
            registry::with_declared_scopes(scopes)
        } else {
            scopes
        };
        let trusted_origins = TrustedOrigins::new(
            &public_url,
            self.space_host.as_deref(),
            &self.trusted_origins,
        )?;
        registry::check_scopes(&scopes, self.scope_check)?;
        #[cfg_attr(not(feature = "redis"), allow(unused_mut))]
        let mut bearer = self.bearer(mock, &scopes)?;
        if self.session_store_ca.is_some() && self.session_store.is_none() {
            return Err(ConfigError::Invalid {
                variable: "HF_AUTH_SESSION_STORE_CA",
                reason: "it is set without HF_AUTH_SESSION_STORE: set the store's rediss:// URL too, or unset it".into(),
            });
        }
        let session_ends = Arc::new(crate::session::end::SessionEnds::default());
        #[cfg(feature = "redis")]
        let mut store_notice = None;
        #[cfg(feature = "redis")]
        let server_sessions = match &self.session_store {
            None => None,
            Some(url) => {
                let ca = self
                    .session_store_ca
                    .as_deref()
                    .map(crate::session::store::endpoint::StoreCa::read)
                    .transpose()
                    .map_err(|e| ConfigError::Invalid {
                        variable: "HF_AUTH_SESSION_STORE_CA",
                        reason: e.to_string(),
                    })?;
                // Sessions and the shared token cache are sealed in Redis with a key of their
                // own, derived from the same master secret as the cookie keys.
                let store_keys = crate::session::store::sealing::StoreKeys::derive(
                    &master,
                    self.previous_cookie_key.as_deref(),
                    mode,
                    client_id_text,
                );
                let sessions = crate::session::server_side::ServerSessions::connect(
                    url,
                    ca.as_ref(),
                    store_keys.clone(),
                    self.session_store_cache,
                    session_ends.clone(),
                )
                .await
                .map_err(|e| ConfigError::SessionStore {
                    url: super::redacted_url(url),
                    reason: e.to_string(),
                })?;
                store_notice = Some(super::redacted_url(url));
                // With a store, the replicas share the token check's cache too: one whoami
                // call per token per TTL for all of them.
                let (conn, prefix) = sessions.store().connection();
                bearer.with_shared_cache(crate::bearer::shared::SharedTokenCache::new(
                    conn, prefix, store_keys,
                ));
                Some(sessions)
            }
        };
        #[cfg(not(feature = "redis"))]
        let _ = &master;
        #[cfg(not(feature = "redis"))]
        if self.session_store.is_some() {
            return Err(ConfigError::Invalid {
                variable: "HF_AUTH_SESSION_STORE",
                reason: "this build of hf-auth-runtime has no session store: enable its `redis` feature (hf-auth-runtime = { features = [\"redis\"] })".into(),
            });
        }
        let direct_url = self.space_host.as_ref().and_then(|hosts| {
            hosts
                .split(',')
                .map(str::trim)
                .find(|h| !h.is_empty())
                .map(|h| format!("https://{h}"))
        });
        let public_base = public_url.as_str().trim_end_matches('/').to_owned();
        started.announce(&public_base, &routes, bearer.mock_token());
        #[cfg(feature = "redis")]
        if let Some(store) = store_notice {
            tracing::info!(%store, "sessions are kept in the session store");
        }
        Ok(HfAuth {
            state: Arc::new(AuthState {
                public_base,
                routes,
                policy: CookiePolicy {
                    secure: public_url.scheme() == "https",
                },
                key,
                flow_key,
                trusted_origins,
                cache: crate::session::SessionCache::linked(crate::session::end::EndLink::Cookie(
                    session_ends.clone(),
                )),
                session_ends,
                scopes,
                session_lifetime: self.session_lifetime.as_secs(),
                backend,
                direct_url,
                max_login_retries: self.max_login_retries,
                incremental: self.incremental_consent,
                refreshes: Default::default(),
                bearer,
                #[cfg(feature = "redis")]
                server_sessions,
                session_hook: self.session_hook.clone(),
            }),
        })
    }
}

/// What a successful start-up says, held until the whole configuration is accepted: a
/// configuration refused after discovery must not have logged "ready" first.
enum Started {
    Real {
        provider: String,
        redirect_uri: String,
    },
    Mock {
        handle: String,
        opted_in: bool,
    },
}

impl Started {
    fn announce(self, public_base: &str, routes: &Routes, mock_token: Option<&str>) {
        match self {
            Started::Real {
                provider,
                redirect_uri,
            } => {
                tracing::info!(%provider, %redirect_uri, "Sign in with Hugging Face is ready");
            }
            Started::Mock { handle, opted_in } => {
                crate::notice::warn(format_args!(
                    "MOCK MODE IS ON: no OAuth credentials and no SPACE_ID, so the login route signs in the mock user {handle} without Hugging Face{}. Never deploy like this.",
                    if opted_in {
                        ""
                    } else {
                        " (only requests addressed to localhost; HF_AUTH_MOCK=1 to serve other machines)"
                    }
                ));
                // The page to open, on the public URL (`PORT`, `HF_AUTH_PUBLIC_URL`): the login
                // signs the mock user in and comes back to the app's `/`.
                crate::notice::warn(format_args!(
                    "mock mode: open {public_base}{} to sign in as {handle}",
                    routes.login
                ));
                if let Some(token) = mock_token {
                    // A development token, valid only in this process: what a developer needs
                    // to call the protected routes with curl, offline.
                    crate::notice::warn(format_args!(
                        "mock mode: API clients can call the protected routes as the mock user with `Authorization: Bearer {token}` (valid until this process stops)"
                    ));
                }
            }
        }
    }
}
