//! Hooks for the benchmarks in `hf-auth-runtime/benches/` (feature `bench-hooks`): the session
//! codec is crate-private, and these let a bench time its parts on their own. Not a public API.

use std::sync::Arc;

use axum::http::{request::Parts, HeaderMap};

use crate::{
    config::HfAuth,
    context::{CtxHandle, RequestCtx},
    session,
    state::Backend,
    user::HfUser,
};

/// Decodes and verifies the session in `headers` with `auth`'s key: the first thing every guard
/// does (the expiry check and the requirement come after).
pub fn bench_decode_session(auth: &HfAuth, headers: &HeaderMap) -> Option<HfUser> {
    session::decode(&auth.state.key, headers).map(|data| HfUser(Arc::new(data)))
}

/// Gives bare request parts the context [`HfAuthLayer`](crate::HfAuthLayer) gives every
/// request (once: parts that have it keep theirs), so that an extractor such as `Guarded<R>`
/// can run on them.
pub fn bench_attach(auth: &HfAuth, parts: &mut Parts) {
    if parts.extensions.get::<CtxHandle>().is_none() {
        let ctx = Arc::new(RequestCtx::new(auth.state.clone()));
        parts.extensions.insert(CtxHandle(ctx));
    }
}

/// Seals `user`'s session into its cookies `(name, value)`, as a login does.
pub fn bench_encode_session(auth: &HfAuth, user: &HfUser) -> Vec<(String, String)> {
    session::encode(&auth.state.key, &user.0, auth.state.policy.session_names())
        .expect("the session fits in cookies")
}

/// Parses and verifies `id_token` as the callback does once the token endpoint has answered:
/// signature against the JWKS fetched at start-up, `iss`, `aud`, `exp`, `iat`, `nonce`. Yields
/// the subject; `None` when the token is refused or `auth` is in mock mode.
pub fn bench_verify_id_token(auth: &HfAuth, id_token: &str, nonce: &str) -> Option<String> {
    let Backend::Real(provider) = &auth.state.backend else {
        return None;
    };
    let token: openidconnect::core::CoreIdToken = id_token.parse().ok()?;
    provider
        .verify_with_cached_jwks(&token, &openidconnect::Nonce::new(nonce.to_owned()))
        .ok()
}

/// The fast path of a bearer token: reads `Authorization` and looks the token up in the cache,
/// without await. `true` for a cached valid token.
pub fn bench_cached_bearer(auth: &HfAuth, headers: &HeaderMap) -> bool {
    match crate::bearer::bearer_token(headers) {
        Ok(Some(token)) => matches!(auth.state.bearer.cached(token), Some(Ok(_))),
        _ => false,
    }
}

/// Checks `token` (through the cache, with whoami on a miss), e.g. to warm the cache before a
/// bench. `true` when it gives a user.
pub async fn bench_identify_bearer(auth: &HfAuth, token: &str) -> bool {
    auth.state.bearer.identify(token).await.is_ok()
}

/// The bearer cache of `auth`: its ready entries and the bytes they hold (as the cache counts
/// them against its bounds).
pub fn bench_bearer_cache_size(auth: &HfAuth) -> (usize, usize) {
    auth.state.bearer.cache_size()
}

/// A bearer-token checker on its own, with cache bounds of its choosing, for the load test of
/// the cache (how it behaves when more tokens arrive than it may hold).
pub struct BenchBearer(crate::bearer::BearerAuth);

impl BenchBearer {
    /// A checker that asks `whoami_url`, trusts an answer for `ttl`, and holds at most
    /// `max_entries` entries and `max_bytes` bytes.
    pub fn new(
        whoami_url: &str,
        ttl: std::time::Duration,
        max_entries: usize,
        max_bytes: usize,
    ) -> BenchBearer {
        let mut config = crate::bearer::BearerConfig::new(whoami_url.to_owned());
        config.ttl = ttl;
        config.bounds = crate::bearer::Bounds {
            max_entries,
            max_bytes,
        };
        // The load tests send thousands of new tokens: they measure the cache, not the budget.
        config.whoami_budget = crate::config::MAX_WHOAMI_BUDGET;
        BenchBearer(crate::bearer::BearerAuth::new(config).expect("an HTTP client"))
    }

    /// Checks `token` (cache, then whoami). `true` when it gives a user.
    pub async fn identify(&self, token: &str) -> bool {
        self.0.identify(token).await.is_ok()
    }

    /// Whether `token` is answered from the cache as a valid token, without await.
    pub fn cached(&self, token: &str) -> bool {
        matches!(self.0.cached(token.as_bytes()), Some(Ok(_)))
    }

    /// The cache's ready entries and the bytes they hold.
    pub fn cache_size(&self) -> (usize, usize) {
        self.0.cache_size()
    }
}
