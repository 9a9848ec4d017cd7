//! Configuration: from the Spaces environment or a builder, checked once at start-up.

use std::{sync::Arc, time::Duration};

use axum::Router;

use crate::{
    cookies::CookiePolicy,
    cross_site::TrustedOrigins,
    crypto::{decode_key_text, CookieKey, Mode, Purpose, MIN_KEY_BYTES},
    error::ConfigError,
    layer::HfAuthLayer,
    mock::MockUser,
    provider::Provider,
    registry::{self, ScopeCheck},
    state::{AuthState, Backend, Routes},
};

/// The default session lifetime: 8 hours, Hugging Face's default access-token lifetime.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long discovery may take at start-up, all attempts included, before `build` fails.
pub const DEFAULT_DISCOVERY_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest session lifetime accepted: 30 days, Hugging Face's longest token lifetime.
pub const MAX_SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a checked bearer token is trusted by default before whoami is asked again.
pub const DEFAULT_TOKEN_CACHE_TTL: Duration = Duration::from_secs(300);
/// The longest bearer-token cache TTL accepted.
pub const MAX_TOKEN_CACHE_TTL: Duration = Duration::from_secs(3600);

/// A configured "Sign in with Hugging Face": build it once at start-up, then
/// [`attach`](HfAuth::attach) it to your router.
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use hf_auth_runtime::HfAuth;
///
/// # async fn run() -> Result<(), hf_auth_runtime::ConfigError> {
/// let auth = HfAuth::from_env()?.build().await?;
/// let app: Router = auth.attach(Router::new().route("/", get(|| async { "hi" })));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HfAuth {
    pub(crate) state: Arc<AuthState>,
}

impl std::fmt::Debug for HfAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfAuth")
            .field("mock", &self.is_mock())
            .field("login", &self.state.routes.login)
            .field("scopes", &self.state.scopes)
            .finish_non_exhaustive()
    }
}

impl HfAuth {
    /// A builder with explicit values and nothing read from the environment.
    pub fn builder() -> HfAuthBuilder {
        HfAuthBuilder::default()
    }

    /// A builder filled from the Spaces environment: `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET`,
    /// `OAUTH_SCOPES`, `OPENID_PROVIDER_URL`, `SPACE_ID`, `SPACE_HOST`, `PORT`, and hf-auth's own
    /// `HF_AUTH_PUBLIC_URL`, `HF_AUTH_COOKIE_KEY` and `HF_AUTH_COOKIE_KEY_PREVIOUS` (hex or
    /// base64 of 32 bytes or more; see [`HfAuthBuilder::cookie_key`]), `HF_AUTH_SESSION_LIFETIME`
    /// (seconds), `HF_AUTH_TOKEN_CACHE_TTL` (seconds, see [`HfAuthBuilder::token_cache_ttl`]),
    /// `HF_AUTH_SCOPE_CHECK` (`deny`, `warn`, `off`), `HF_AUTH_TRUSTED_ORIGINS`
    /// (comma-separated origins, see [`HfAuthBuilder::trusted_origins`]), `HF_AUTH_MOCK`
    /// (`1`/`true` or `0`/`false`, see [`HfAuthBuilder::mock`]) and the mock user's
    /// `HF_AUTH_MOCK_*`.
    /// Builder methods called afterwards override what the environment says.
    pub fn from_env() -> Result<HfAuthBuilder, ConfigError> {
        HfAuthBuilder::from_vars(&|name| std::env::var(name).ok())
    }

    /// Whether this is mock mode (local development, no provider).
    pub fn is_mock(&self) -> bool {
        matches!(self.state.backend, Backend::Mock(_))
    }

    /// Mock mode's bearer token for the mock user (`hf_mock_...`, random at each start), to
    /// print for `curl -H "Authorization: Bearer ..."`; `None` outside mock mode.
    pub fn mock_token(&self) -> Option<&str> {
        self.state.bearer.mock_token()
    }

    /// The origins whose cookie-authenticated requests with an unsafe method are this app's own
    /// (the public URL's, `SPACE_HOST`'s and the allow-list's), as browsers write `Origin`.
    pub fn trusted_origins(&self) -> impl Iterator<Item = &str> {
        self.state.trusted_origins.iter()
    }

    /// The path of the login route (`/oauth/huggingface/login` unless a prefix was set).
    pub fn login_path(&self) -> &str {
        &self.state.routes.login
    }

    /// The path of the logout route.
    pub fn logout_path(&self) -> &str {
        &self.state.routes.logout
    }

    /// The scopes the app asks for. In mock mode without configured scopes, `openid profile`
    /// plus every scope the linked handlers declare (what the default mock user grants).
    pub fn scopes(&self) -> &[String] {
        &self.state.scopes
    }

    /// Adds the login, callback and logout routes (at `{route_prefix}/oauth/huggingface/...`)
    /// and the layer the guards need: `router.merge(routes).layer(self.layer())`, where the
    /// routes are [`routes`](HfAuth::routes) placed under the prefix.
    /// Call it on the app's top-level router, after adding your own routes: layers apply to
    /// the routes already present.
    ///
    /// To place the pieces yourself (nested routers, `ServiceBuilder` stacks, `route_layer`),
    /// use [`layer`](HfAuth::layer) and [`routes`](HfAuth::routes); the composing guide shows
    /// each way.
    pub fn attach<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        router
            .merge(crate::flow::router(
                self.state.clone(),
                &self.state.routes.prefix,
            ))
            .layer(self.layer())
    }

    /// The middleware the guards and extractors need, to put in front of every protected
    /// handler: with [`Router::layer`], [`Router::route_layer`] or in a `tower::ServiceBuilder`.
    /// See [`HfAuthLayer`].
    pub fn layer(&self) -> HfAuthLayer {
        HfAuthLayer {
            state: self.state.clone(),
        }
    }

    /// The login, callback and logout routes, at `/oauth/huggingface/{login,callback,logout}`,
    /// as a router of any state. Merge it into the app's top-level router, or, with
    /// [`route_prefix("/auth")`](HfAuthBuilder::route_prefix), nest it there:
    /// `app.nest("/auth", auth.routes())`. The routes carry their own configuration, so they
    /// work with or without [`layer`](HfAuth::layer) in front of them. Reached at another
    /// path than the configuration says, they answer 500 and log how to fix it.
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use hf_auth_runtime::HfAuth;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let auth = HfAuth::builder().route_prefix("/auth").build().await.unwrap();
    /// let app: Router = Router::new()
    ///     .route("/", get(|| async { "home" }))
    ///     .nest("/auth", auth.routes())
    ///     .layer(auth.layer());
    /// assert_eq!(auth.login_path(), "/auth/oauth/huggingface/login");
    /// # }
    /// ```
    pub fn routes<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        crate::flow::router(self.state.clone(), "")
    }
}

/// Builds an [`HfAuth`]; every method overrides what [`HfAuth::from_env`] read.
#[derive(Clone)]
pub struct HfAuthBuilder {
    client_id: Option<String>,
    client_secret: Option<String>,
    scopes: Option<Vec<String>>,
    provider_url: Option<String>,
    public_url: Option<String>,
    space_id: Option<String>,
    space_host: Option<String>,
    port: Option<u16>,
    route_prefix: String,
    cookie_key: Option<Vec<u8>>,
    previous_cookie_key: Option<Vec<u8>>,
    mock: Option<bool>,
    listen_address: Option<std::net::IpAddr>,
    trusted_origins: Vec<String>,
    session_lifetime: Duration,
    mock_user: Option<MockUser>,
    scope_check: ScopeCheck,
    http_timeout: Duration,
    discovery_attempts: u32,
    discovery_timeout: Duration,
    max_login_retries: u32,
    whoami_url: Option<String>,
    token_cache_ttl: Duration,
}

impl Default for HfAuthBuilder {
    fn default() -> Self {
        HfAuthBuilder {
            client_id: None,
            client_secret: None,
            scopes: None,
            provider_url: None,
            public_url: None,
            space_id: None,
            space_host: None,
            port: None,
            route_prefix: String::new(),
            cookie_key: None,
            previous_cookie_key: None,
            mock: None,
            listen_address: None,
            trusted_origins: Vec::new(),
            session_lifetime: DEFAULT_SESSION_LIFETIME,
            mock_user: None,
            scope_check: ScopeCheck::Deny,
            http_timeout: Duration::from_secs(10),
            discovery_attempts: 6,
            discovery_timeout: DEFAULT_DISCOVERY_TIMEOUT,
            max_login_retries: 2,
            whoami_url: None,
            token_cache_ttl: DEFAULT_TOKEN_CACHE_TTL,
        }
    }
}

impl std::fmt::Debug for HfAuthBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfAuthBuilder")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .field("provider_url", &self.provider_url)
            .field("public_url", &self.public_url)
            .field("space_id", &self.space_id)
            .field(
                "cookie_key",
                &self.cookie_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "previous_cookie_key",
                &self.previous_cookie_key.as_ref().map(|_| "<redacted>"),
            )
            .field("mock", &self.mock)
            .field("trusted_origins", &self.trusted_origins)
            .finish_non_exhaustive()
    }
}

/// Whether the URL's host is `localhost`, in `127.0.0.0/8` or `::1`.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

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

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl HfAuthBuilder {
    /// Reads the environment through `var`; see [`HfAuth::from_env`].
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
            b.mock = Some(match mock.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        variable: "HF_AUTH_MOCK",
                        reason: format!(
                            "{:?}: use 1 (mock mode) or 0",
                            crate::error::Escaped::str(&mock)
                        ),
                    })
                }
            });
        }
        if let Some(port) = var("PORT") {
            b.port = Some(port.parse().map_err(|_| ConfigError::Invalid {
                variable: "PORT",
                reason: format!("{port:?} is not a port number"),
            })?);
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
                .filter(|t| !t.is_zero() && *t <= MAX_TOKEN_CACHE_TTL)
                .ok_or_else(|| ConfigError::Invalid {
                    variable: "HF_AUTH_TOKEN_CACHE_TTL",
                    reason: format!(
                        "{:?}: use a number of seconds from 1 to {} (an hour)",
                        crate::error::Escaped::str(&secs),
                        MAX_TOKEN_CACHE_TTL.as_secs()
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

    /// The OAuth client ID.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }
    /// The OAuth client secret. It is also the master secret of the cookie keys (through HKDF)
    /// unless [`cookie_key`](Self::cookie_key) is set.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }
    /// The scopes to ask for (space-separated). `openid` is always added. Default:
    /// `openid profile`; in mock mode, `openid profile` plus every scope that the annotated
    /// handlers linked into the program declare.
    pub fn scopes(mut self, scopes: &str) -> Self {
        self.scopes = Some(scopes.split_whitespace().map(str::to_owned).collect());
        self
    }
    /// The provider's issuer URL (default `https://huggingface.co`).
    pub fn provider_url(mut self, url: impl Into<String>) -> Self {
        self.provider_url = Some(url.into());
        self
    }
    /// The app's public URL, e.g. `https://me-app.hf.space`. The redirect URI is built on it.
    /// Default: `https://{first SPACE_HOST}` in a Space, else `http://localhost:{PORT}`.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }
    /// Marks the app as running in a Space (as `SPACE_ID` does): mock mode can never switch on.
    pub fn space_id(mut self, id: impl Into<String>) -> Self {
        self.space_id = Some(id.into());
        self
    }
    /// The Space's public host(s), as `SPACE_HOST` (comma-separated, the first one is used):
    /// the public URL defaults to it, and a login that keeps losing its cookie inside the
    /// Space's iframe is sent there.
    pub fn space_host(mut self, hosts: impl Into<String>) -> Self {
        self.space_host = Some(hosts.into());
        self
    }
    /// The public path under which the login, callback and logout routes are reached, e.g.
    /// `/auth` gives `/auth/oauth/huggingface/login`: the redirect URI, the login links of
    /// the guards and [`AuthLinks`](crate::AuthLinks) use it. [`HfAuth::attach`] places the
    /// routes there; with [`HfAuth::routes`], nest them there yourself.
    pub fn route_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.route_prefix = prefix.into();
        self
    }
    /// The master secret of the cookie keys (at least 32 random bytes), instead of the client
    /// secret; all replicas of an app must share it. Given here as raw bytes; the environment's
    /// `HF_AUTH_COOKIE_KEY` is text, decoded as hex (`openssl rand -hex 32`) when it is an even
    /// number of hex digits, else as base64 (`openssl rand -base64 32`; standard or URL-safe,
    /// padded or not), and it too must give 32 bytes or more.
    ///
    /// The session and flow cookies get separate keys derived from it (HKDF-SHA256), bound to
    /// the mode (mock or real) and the client ID: a session made in mock mode, or by another
    /// app sharing the secret, is never accepted.
    pub fn cookie_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.cookie_key = Some(key.into());
        self
    }
    /// The master secret used before the current one (raw bytes, 32 or more; in the
    /// environment `HF_AUTH_COOKIE_KEY_PREVIOUS`, decoded as for `HF_AUTH_COOKIE_KEY`). Cookies
    /// it sealed are still accepted; every cookie written is sealed with the current key. To
    /// rotate: move the old key here, set the new one, deploy; remove this once the old
    /// sessions have ended (at most the session lifetime).
    pub fn previous_cookie_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.previous_cookie_key = Some(key.into());
        self
    }
    /// Turns mock mode on (`true`: sign every visitor in as the mock user, without a provider)
    /// or keeps it off (`false`), as `HF_AUTH_MOCK` does. Unset, mock mode switches on by itself
    /// only when there is no `SPACE_ID`, no OAuth credentials, and the public URL and every
    /// `SPACE_HOST` are loopback (`localhost`, `127.0.0.0/8`, `::1`); in any other case with no
    /// credentials, [`build`](Self::build) fails. It is refused in a Space (`SPACE_ID` set) and
    /// together with a client ID.
    pub fn mock(mut self, on: bool) -> Self {
        self.mock = Some(on);
        self
    }
    /// The address the server listens on. A non-loopback one (`0.0.0.0`, a LAN address) makes
    /// the app reachable from other machines, so mock mode then needs the explicit opt-in
    /// ([`mock`](Self::mock), `HF_AUTH_MOCK=1`).
    pub fn listen_address(mut self, ip: std::net::IpAddr) -> Self {
        self.listen_address = Some(ip);
        self
    }
    /// More origins (`scheme://host[:port]`) whose cookie-authenticated requests with an unsafe
    /// method (anything but GET, HEAD, OPTIONS) are accepted although they come from another
    /// site, e.g. a front end on another domain that posts to this app. The app's own origins
    /// (the public URL's and `https://{host}` for each `SPACE_HOST`) are always trusted. In the
    /// environment: `HF_AUTH_TRUSTED_ORIGINS`, comma-separated. `null` is never accepted.
    pub fn trusted_origins<I, O>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = O>,
        O: Into<String>,
    {
        self.trusted_origins = origins.into_iter().map(Into::into).collect();
        self
    }
    /// How long a session lasts at most, refreshes included (default 8 hours, at most 30 days).
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }
    /// The user mock mode signs in (default [`MockUser::default`]).
    pub fn mock_user(mut self, user: MockUser) -> Self {
        self.mock_user = Some(user);
        self
    }
    /// What to do when the configured scopes do not cover a route's (default: refuse to start).
    /// The check counts every annotated handler linked into the program, routed or not:
    /// [`ScopeCheck::Warn`] or [`ScopeCheck::Off`] narrows it when some are not routed.
    pub fn scope_check(mut self, check: ScopeCheck) -> Self {
        self.scope_check = check;
        self
    }
    /// The timeout of each request to the provider (default 10 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }
    /// How many times discovery is tried at start-up, with exponential backoff from 250 ms
    /// (default 6). All attempts together stay within the
    /// [`discovery_timeout`](Self::discovery_timeout).
    pub fn discovery_attempts(mut self, attempts: u32) -> Self {
        self.discovery_attempts = attempts;
        self
    }
    /// The most time discovery takes at start-up before `build` fails, counting every
    /// attempt's connect and read time and the waits between attempts (default
    /// [`DEFAULT_DISCOVERY_TIMEOUT`], 15 s).
    pub fn discovery_timeout(mut self, timeout: Duration) -> Self {
        self.discovery_timeout = timeout;
        self
    }

    /// The URL of Hugging Face's whoami endpoint, which checks the bearer tokens of API clients
    /// (default `{provider_url}/api/whoami-v2`).
    pub fn whoami_url(mut self, url: impl Into<String>) -> Self {
        self.whoami_url = Some(url.into());
        self
    }
    /// How long a checked bearer token is trusted before whoami is asked again (default 5
    /// minutes, at least 1 second, at most an hour; never past the token's own expiry). In the
    /// environment: `HF_AUTH_TOKEN_CACHE_TTL`, in seconds.
    pub fn token_cache_ttl(mut self, ttl: Duration) -> Self {
        self.token_cache_ttl = ttl;
        self
    }

    fn bearer(
        &self,
        mock: bool,
        scopes: &[String],
    ) -> Result<crate::bearer::BearerAuth, ConfigError> {
        use crate::bearer::{BearerAuth, BearerConfig};
        if self.token_cache_ttl.is_zero() || self.token_cache_ttl > MAX_TOKEN_CACHE_TTL {
            return Err(ConfigError::Invalid {
                variable: "token_cache_ttl",
                reason: "the bearer-token cache TTL is between 1 second and 1 hour".into(),
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

    fn public_url_or_default(&self) -> Result<url::Url, ConfigError> {
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

    /// Whether [`build`](Self::build) will run in mock mode, or the error it will fail with
    /// because mock mode may not switch on. Lets a binary refuse before it binds a socket.
    pub fn will_mock(&self) -> Result<bool, ConfigError> {
        if self.client_id.is_none() && self.client_secret.is_some() {
            return Ok(false);
        }
        self.mock_mode(&self.public_url_or_default()?)
    }

    /// Whether mock mode is on; an error if it must be but may not, or may not be and must.
    fn mock_mode(&self, public_url: &url::Url) -> Result<bool, ConfigError> {
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
        let (backend, (key, flow_key)) = if mock {
            let user = self.mock_user.clone().unwrap_or_default();
            crate::notice::warn(format_args!(
                "MOCK MODE IS ON: no OAuth credentials and no SPACE_ID, so the login route signs in the mock user {} without Hugging Face. Never deploy like this.",
                user.handle
            ));
            let keys = match &self.cookie_key {
                Some(k) => keys(k),
                None => keys(&CookieKey::random_master()),
            };
            (Backend::Mock(user), keys)
        } else {
            let Some(client_id) = self.client_id.clone() else {
                return Err(ConfigError::Missing {
                    variable: "OAUTH_CLIENT_ID",
                    fix: "SPACE_ID is set, so this is a Space and mock mode is off; add `hf_oauth: true` to the Space README's metadata so that Spaces injects the OAuth credentials",
                });
            };
            let keys = match (&self.cookie_key, &self.client_secret) {
                (Some(k), _) => keys(k),
                (None, Some(secret)) if secret.len() >= 16 => keys(secret.as_bytes()),
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
            tracing::info!(provider = %provider_url, redirect_uri = %redirect, "Sign in with Hugging Face is ready");
            (Backend::Real(Box::new(provider)), keys)
        };
        // Mock mode with no scopes given asks for (and its default mock user grants) every scope
        // the linked handlers declare, so each annotated route works at once. Real mode asks for
        // exactly what it is told, and the check below stays strict there.
        let scopes = if self.scopes.is_none() && matches!(backend, Backend::Mock(_)) {
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
        let bearer = self.bearer(mock, &scopes)?;
        if let Some(token) = bearer.mock_token() {
            // A development token, valid only in this process: what a developer needs to call
            // the protected routes with curl, offline.
            crate::notice::warn(format_args!(
                "mock mode: API clients can call the protected routes as the mock user with `Authorization: Bearer {token}` (valid until this process stops)"
            ));
        }
        let direct_url = self.space_host.as_ref().and_then(|hosts| {
            hosts
                .split(',')
                .map(str::trim)
                .find(|h| !h.is_empty())
                .map(|h| format!("https://{h}"))
        });
        Ok(HfAuth {
            state: Arc::new(AuthState {
                routes,
                policy: CookiePolicy {
                    secure: public_url.scheme() == "https",
                },
                key,
                flow_key,
                trusted_origins,
                cache: Default::default(),
                scopes,
                session_lifetime: self.session_lifetime.as_secs(),
                backend,
                direct_url,
                max_login_retries: self.max_login_retries,
                refreshes: Default::default(),
                bearer,
            }),
        })
    }
}
