//! Configuration: from the Spaces environment or a builder, checked once at start-up.
//!
//! [`HfAuth`] (here) is what an app holds; [`HfAuthBuilder`] (`builder`) is what it sets;
//! `env` reads the environment into a builder, `mock_mode` decides whether mock mode may switch
//! on (and, switched on by itself, which requests it signs in), and `build` checks everything and builds the state the routes and guards share.

use std::{sync::Arc, time::Duration};

use axum::Router;

use crate::{
    error::{ConfigError, RevokeError},
    layer::HfAuthLayer,
    state::{AuthState, Backend},
};

mod build;
mod builder;
mod env;
mod mock_mode;

pub use builder::HfAuthBuilder;
pub(crate) use mock_mode::foreign_host;

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
/// The largest whoami budget accepted, in calls a minute (see [`HfAuthBuilder::whoami_budget`]).
pub const MAX_WHOAMI_BUDGET: u32 = 100_000;

/// Whether a bearer-token cache TTL is accepted (from 1 second to [`MAX_TOKEN_CACHE_TTL`]): the
/// one rule for the builder and `HF_AUTH_TOKEN_CACHE_TTL`.
fn token_cache_ttl_ok(ttl: Duration) -> bool {
    !ttl.is_zero() && ttl <= MAX_TOKEN_CACHE_TTL
}

/// Whether a whoami budget is accepted (from 1 to [`MAX_WHOAMI_BUDGET`] calls a minute): the one
/// rule for the builder and `HF_AUTH_WHOAMI_BUDGET`.
fn whoami_budget_ok(calls_per_minute: u32) -> bool {
    (1..=MAX_WHOAMI_BUDGET).contains(&calls_per_minute)
}

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
    /// `HF_AUTH_WHOAMI_BUDGET` (calls a minute, see [`HfAuthBuilder::whoami_budget`]),
    /// `HF_AUTH_SCOPE_CHECK` (`deny`, `warn`, `off`), `HF_AUTH_TRUSTED_ORIGINS`
    /// (comma-separated origins, see [`HfAuthBuilder::trusted_origins`]), `HF_AUTH_MOCK`
    /// (`1`/`true` or `0`/`false`, see [`HfAuthBuilder::mock`]), the session store's
    /// `HF_AUTH_SESSION_STORE`, `HF_AUTH_SESSION_STORE_CA` and `HF_AUTH_SESSION_STORE_CACHE`
    /// (see [`HfAuthBuilder::session_store`]) and the mock user's `HF_AUTH_MOCK_*`.
    /// Builder methods called afterwards override what the environment says.
    pub fn from_env() -> Result<HfAuthBuilder, ConfigError> {
        HfAuthBuilder::from_vars(&|name| std::env::var(name).ok())
    }

    /// Whether this is mock mode (local development, no provider).
    pub fn is_mock(&self) -> bool {
        matches!(self.state.backend, Backend::Mock { .. })
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

    /// The [trusted origins](Self::trusted_origins) as header values, for a CORS layer that
    /// must admit the same origins (`tower_http::cors::AllowOrigin::list(auth.cors_origins())`):
    /// one list, `HF_AUTH_TRUSTED_ORIGINS`, for both. See the composing guide, "CORS".
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), hf_auth_runtime::ConfigError> {
    /// use axum::http::HeaderValue;
    /// use hf_auth_runtime::HfAuth;
    ///
    /// let auth = HfAuth::builder()
    ///     .public_url("http://localhost:7860")
    ///     .trusted_origins(["https://partner.example"])
    ///     .mock(true)
    ///     .build()
    ///     .await?;
    /// let origins: Vec<HeaderValue> = auth.cors_origins().collect();
    /// assert_eq!(origins, ["http://localhost:7860", "https://partner.example"]);
    /// # Ok(()) }
    /// ```
    pub fn cors_origins(&self) -> impl Iterator<Item = axum::http::HeaderValue> + '_ {
        self.state
            .trusted_origins
            .iter()
            // An origin's ASCII serialization is always a valid header value.
            .filter_map(|o| axum::http::HeaderValue::from_str(o).ok())
    }

    /// Whether sessions are kept in a session store ([`HfAuthBuilder::session_store`]).
    pub fn has_session_store(&self) -> bool {
        #[cfg(feature = "redis")]
        return self.state.server_sessions.is_some();
        #[cfg(not(feature = "redis"))]
        false
    }

    /// Ends every session of the user `sub` (their Hugging Face id, [`HfUser::id`]) on every
    /// replica: the store deletes them at once, and each replica's cache drops them within a
    /// second. Returns how many sessions ended. Needs a session store; stateless cookie
    /// sessions cannot be revoked ([`RevokeError::NoSessionStore`]). API tokens are not
    /// sessions: revoke those on Hugging Face.
    ///
    /// ```no_run
    /// # async fn run(auth: hf_auth_runtime::HfAuth) -> Result<(), hf_auth_runtime::RevokeError> {
    /// let ended = auth.revoke_user("62f264b9f3c90f4b6514a269").await?;
    /// println!("{ended} sessions ended");
    /// # Ok(()) }
    /// ```
    ///
    /// [`HfUser::id`]: crate::HfUser::id
    pub async fn revoke_user(&self, sub: &str) -> Result<usize, RevokeError> {
        #[cfg(feature = "redis")]
        if let Some(server) = &self.state.server_sessions {
            return crate::session::server_side::revoke_in(server.store(), sub).await;
        }
        let _ = sub;
        Err(RevokeError::NoSessionStore)
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

/// A URL for logs and errors: without its password (`redis://:secret@host` carries one).
pub(crate) fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<not a URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn a_store_url_is_shown_without_its_password() {
        for (url, shown) in [
            (
                "redis://:hunter2@127.0.0.1:6379/0",
                "redis://:redacted@127.0.0.1:6379/0",
            ),
            (
                "rediss://:hunter2@redis.example.com:6380/0",
                "rediss://:redacted@redis.example.com:6380/0",
            ),
            (
                "rediss://default:hunter2@redis.example.com:6380/1",
                "rediss://default:redacted@redis.example.com:6380/1",
            ),
            (
                "rediss://redis.example.com:6380/0",
                "rediss://redis.example.com:6380/0",
            ),
            ("rediss://:hunter2@[not a url", "<not a URL>"),
        ] {
            assert_eq!(redacted_url(url), shown, "{url}");
            assert!(!redacted_url(url).contains("hunter2"));
        }
    }
}
