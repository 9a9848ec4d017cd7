//! [`HfAuthBuilder`]: every setting, with its default and its setter.

use std::time::Duration;

use super::{
    redacted_url, DEFAULT_DISCOVERY_TIMEOUT, DEFAULT_SESSION_LIFETIME, DEFAULT_TOKEN_CACHE_TTL,
};
use crate::{mock::MockUser, registry::ScopeCheck, SessionChange};

/// Builds an [`HfAuth`](crate::HfAuth); every method overrides what [`HfAuth::from_env`](crate::HfAuth::from_env) read.
#[derive(Clone)]
pub struct HfAuthBuilder {
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) scopes: Option<Vec<String>>,
    pub(super) provider_url: Option<String>,
    pub(super) public_url: Option<String>,
    pub(super) space_id: Option<String>,
    pub(super) space_host: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) route_prefix: String,
    pub(super) cookie_key: Option<Vec<u8>>,
    pub(super) previous_cookie_key: Option<Vec<u8>>,
    pub(super) mock: Option<bool>,
    pub(super) listen_address: Option<std::net::IpAddr>,
    pub(super) trusted_origins: Vec<String>,
    pub(super) session_lifetime: Duration,
    pub(super) mock_user: Option<MockUser>,
    pub(super) scope_check: ScopeCheck,
    pub(super) http_timeout: Duration,
    pub(super) discovery_attempts: u32,
    pub(super) discovery_timeout: Duration,
    pub(super) max_login_retries: u32,
    pub(super) whoami_url: Option<String>,
    pub(super) token_cache_ttl: Duration,
    pub(super) whoami_budget: u32,
    pub(super) incremental_consent: bool,
    pub(super) session_store: Option<String>,
    pub(super) session_store_ca: Option<std::path::PathBuf>,
    pub(super) session_store_cache: bool,
    pub(super) session_hook: Option<crate::session_change::SessionHook>,
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
            whoami_budget: crate::bearer::DEFAULT_WHOAMI_BUDGET,
            incremental_consent: false,
            session_store: None,
            session_store_ca: None,
            session_store_cache: true,
            session_hook: None,
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
            .field(
                "session_store",
                &self.session_store.as_deref().map(redacted_url),
            )
            .field("session_store_ca", &self.session_store_ca)
            .field("session_hook", &self.session_hook)
            .finish_non_exhaustive()
    }
}

impl HfAuthBuilder {
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
    /// the guards and [`AuthLinks`](crate::AuthLinks) use it. [`HfAuth::attach`](crate::HfAuth::attach) places the
    /// routes there; with [`HfAuth::routes`](crate::HfAuth::routes), nest them there yourself.
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
    /// credentials, [`build`](Self::build) fails. Switched on by itself, it signs in only
    /// requests addressed to this machine (the login route refuses a `Host` that is not
    /// loopback); `true` lifts that limit too. It is refused in a Space (`SPACE_ID` set) and
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
    /// Incremental consent (default off; `HF_AUTH_INCREMENTAL_CONSENT=1`): the first login asks
    /// only for `openid profile` (plus the scopes a login link names), and a route that needs
    /// more of the configured scopes offers a "Grant access" button that asks for them. Granted
    /// scopes accumulate in the session.
    pub fn incremental_consent(mut self, on: bool) -> Self {
        self.incremental_consent = on;
        self
    }
    /// Calls `hook` when a session begins (a login, the mock login, a "Grant access" step-up)
    /// and when the logout route ends one, with the request's parts and before the answer
    /// leaves: the place to begin or end what the app keeps per browser itself, such as a
    /// `tower-sessions` session (whose layer must then wrap hf-auth's routes too, i.e. be added
    /// after [`HfAuth::attach`](crate::HfAuth::attach)). What the hook returns is added to the
    /// answer like a handler's response parts: `()`, a cookie jar that removes the app's
    /// cookie, headers. A part that cannot be added (an invalid header) turns the answer into
    /// axum's error answer, as in a handler.
    ///
    /// Nothing is called when a session ends without a request of its browser: at its end time,
    /// or revoked from another replica. Key what you keep on [`HfUser::id`](crate::HfUser::id)
    /// and compare it with the signed-in user before you use it.
    ///
    /// ```
    /// use axum::http::request::Parts;
    /// use hf_auth_runtime::{HfAuth, SessionChange};
    ///
    /// let builder = HfAuth::builder().on_session_change(|change: SessionChange, parts: Parts| async move {
    ///     match change {
    ///         SessionChange::SignedIn(user) => tracing::info!(user = user.handle(), "signed in"),
    ///         SessionChange::SignedOut(_) => tracing::info!(path = %parts.uri.path(), "signed out"),
    ///         _ => {}
    ///     }
    /// });
    /// ```
    ///
    /// The composing guide ("Your own session data") shows it with `tower-sessions`.
    pub fn on_session_change<F, Fut, R>(mut self, hook: F) -> Self
    where
        F: Fn(SessionChange, axum::http::request::Parts) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = R> + Send + 'static,
        R: axum::response::IntoResponseParts + Send + 'static,
    {
        self.session_hook = Some(crate::session_change::SessionHook::new(hook));
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
    /// Keeps sessions server-side in Redis at `url` (environment: `HF_AUTH_SESSION_STORE`),
    /// instead of in the cookies: the cookie then holds only a sealed random id, logout and
    /// [`HfAuth::revoke_user`](crate::HfAuth::revoke_user) end a session on every replica at
    /// once, and replicas refresh a session one at a time. Needs the crate's `redis` feature;
    /// Redis unreachable at start-up (or refusing the password, or with an untrusted
    /// certificate) fails [`build`](Self::build). See the "Scaling out" guide.
    ///
    /// The URL is `redis://host:port/db` in plain TCP, or `rediss://host:port/db` over TLS
    /// (what a managed Redis reached over the internet needs), with a password as
    /// `rediss://:password@host:port/db` or `rediss://user:password@host:port/db`. Over TLS the
    /// server's certificate is checked against the system's roots, or against a private CA
    /// ([`session_store_ca`](Self::session_store_ca)); there is no mode without the check.
    /// Every value hf-auth writes there is encrypted and authenticated with a key derived from
    /// the cookie key.
    ///
    /// ```no_run
    /// use hf_auth_runtime::HfAuth;
    ///
    /// # async fn run() -> Result<(), hf_auth_runtime::ConfigError> {
    /// let auth = HfAuth::from_env()?
    ///     .session_store("rediss://:s3cret@redis.example.com:6380/0")
    ///     .build()
    ///     .await?;
    /// # let _ = auth; Ok(()) }
    /// ```
    pub fn session_store(mut self, url: impl Into<String>) -> Self {
        self.session_store = Some(url.into());
        self
    }

    /// With a `rediss://` session store: the PEM file of the private CA that signed the
    /// server's certificate, trusted instead of the system's roots (environment:
    /// `HF_AUTH_SESSION_STORE_CA=/path/ca.pem`). A file that cannot be read or holds no PEM
    /// certificate fails [`build`](Self::build), and so does a CA with a `redis://` URL.
    ///
    /// ```no_run
    /// use hf_auth_runtime::HfAuth;
    ///
    /// # async fn run() -> Result<(), hf_auth_runtime::ConfigError> {
    /// let auth = HfAuth::from_env()?
    ///     .session_store("rediss://:s3cret@10.0.0.5:6380/0")
    ///     .session_store_ca("/etc/redis/ca.pem")
    ///     .build()
    ///     .await?;
    /// # let _ = auth; Ok(()) }
    /// ```
    pub fn session_store_ca(mut self, pem_file: impl Into<std::path::PathBuf>) -> Self {
        self.session_store_ca = Some(pem_file.into());
        self
    }

    /// With a session store: whether each replica caches the sessions it has seen (default
    /// `true`; environment `HF_AUTH_SESSION_STORE_CACHE=0` turns it off). Cached, a session
    /// costs no round trip to Redis, and a logout or revocation reaches every replica's cache
    /// through Redis pub/sub within a second; off, every protected request asks Redis (one
    /// round trip) and a revocation is seen by the next request.
    pub fn session_store_cache(mut self, on: bool) -> Self {
        self.session_store_cache = on;
        self
    }

    /// How long a checked bearer token is trusted before whoami is asked again (default 5
    /// minutes, at least 1 second, at most an hour; never past the token's own expiry). In the
    /// environment: `HF_AUTH_TOKEN_CACHE_TTL`, in seconds.
    pub fn token_cache_ttl(mut self, ttl: Duration) -> Self {
        self.token_cache_ttl = ttl;
        self
    }

    /// How many whoami calls a minute this replica may spend on bearer tokens it has never
    /// seen valid (default 60, at least 1, at most [`MAX_WHOAMI_BUDGET`](crate::config::MAX_WHOAMI_BUDGET)).
    /// Beyond it such a token is answered 503 with `Retry-After` and costs no call, so that
    /// random tokens cannot spend Hugging Face's strict whoami rate limit for everyone; a token
    /// seen valid before is re-checked outside the budget. In the environment:
    /// `HF_AUTH_WHOAMI_BUDGET`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), hf_auth_runtime::ConfigError> {
    /// // An API that expects many new tokens a minute.
    /// let auth = hf_auth_runtime::HfAuth::from_env()?.whoami_budget(600).build().await?;
    /// # drop(auth); Ok(()) }
    /// ```
    pub fn whoami_budget(mut self, calls_per_minute: u32) -> Self {
        self.whoami_budget = calls_per_minute;
        self
    }
}
