//! API clients: Hugging Face tokens in `Authorization: Bearer`, checked with Hugging Face's
//! `GET /api/whoami-v2` and cached.
//!
//! [`bearer_token`] reads the header; [`BearerAuth::cached`] answers a token seen recently
//! without awaiting or allocating; [`BearerAuth::identify`] asks whoami otherwise, once per token
//! however many requests carry it at the same time. The answers of RFC 6750 are
//! [`error_response`], [`insufficient_scope_response`] and [`bad_authorization_response`].
//!
//! What each kind of token grants is decided in `hf_auth_scopes::tokens`.

mod budget;
mod cache;
#[cfg(feature = "redis")]
pub(crate) mod shared;
mod whoami;

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{
    http::{
        header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE},
        HeaderMap, HeaderValue, StatusCode,
    },
    response::{IntoResponse, Response},
    Json,
};
use subtle::ConstantTimeEq;

use budget::WhoamiBudget;
pub(crate) use budget::DEFAULT_PER_MINUTE as DEFAULT_WHOAMI_BUDGET;
pub(crate) use cache::Bounds;
use cache::{Lookup, Outcome, TokenCache, TokenHash};
#[cfg(feature = "redis")]
pub(crate) use shared::SharedTokenCache;

use crate::{
    mock::MockUser,
    session::{now_unix, SessionData},
};

/// The realm of our `WWW-Authenticate` challenges.
pub(crate) const REALM: &str = "hf-auth";
/// The longest `Authorization` header read; longer ones are refused unread.
pub(crate) const MAX_AUTHORIZATION: usize = 4096;
/// The largest whoami answer read (a user in very many orgs stays far below).
const MAX_WHOAMI_BODY: usize = 1 << 20;
/// How long to wait after a failure whoami gave no delay for.
const DEFAULT_RETRY: Duration = Duration::from_secs(5);
/// What every Hugging Face token starts with.
const HF_TOKEN_PREFIX: &str = "hf_";
/// The longest delay honoured from `Retry-After` or `RateLimit`.
const MAX_RETRY: Duration = Duration::from_secs(3600);

/// Why a token gives no user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BearerError {
    /// Hugging Face does not know the token (wrong, expired or revoked).
    #[error("the access token is invalid, expired or revoked")]
    InvalidToken,
    /// Hugging Face could not be asked (rate limit, server error, timeout): retry later.
    #[error("Hugging Face cannot check the access token now; retry in {} s", retry_after.as_secs())]
    Unavailable {
        /// When to retry.
        retry_after: Duration,
    },
    /// The token is valid but of a kind hf-auth does not accept (an org's or an app's).
    #[error("{why}")]
    Refused {
        /// What is wrong with it, for the client.
        why: &'static str,
    },
}

/// Why an `Authorization` header cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadAuthorization {
    /// The header is empty or blank.
    #[error("the Authorization header is empty")]
    Empty,
    /// The header is longer than [`MAX_AUTHORIZATION`].
    #[error("the Authorization header is too long")]
    TooLong,
    /// Several `Authorization` headers.
    #[error("the request has several Authorization headers")]
    Repeated,
    /// Another scheme than `Bearer`.
    #[error("only the Bearer scheme is accepted")]
    NotBearer,
    /// `Bearer` without a token, or with a token that is not `token68` (RFC 6750 §2.1).
    #[error(
        "the Authorization header must be `Bearer <token>`, with one space and no other characters"
    )]
    Malformed,
}

/// The token of `Authorization: Bearer <token>`; `None` without an `Authorization` header.
/// The scheme is matched case-insensitively; anything but one space and a `token68` is an error.
/// As bytes: a cache hit compares bytes, so only a miss makes the text ([`token_text`]).
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&[u8]>, BadAuthorization> {
    let mut all = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(BadAuthorization::Repeated);
    }
    let b = value.as_bytes();
    if b.len() > MAX_AUTHORIZATION {
        return Err(BadAuthorization::TooLong);
    }
    if b.iter().all(|c| matches!(c, b' ' | b'\t')) {
        return Err(BadAuthorization::Empty);
    }
    // The scheme is the first six bytes, `Bearer` in any case, then one space (a header whose
    // first space is elsewhere has another scheme).
    let (scheme, rest) = b.split_at_checked(6).unwrap_or((b, &[]));
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(BadAuthorization::NotBearer);
    }
    let token = match rest {
        [b' ', token @ ..] => token,
        [] => return Err(BadAuthorization::Malformed),
        _ => return Err(BadAuthorization::NotBearer),
    };
    // `token68`: one or more of its characters, then any number of `=`.
    let body = token.len() - token.iter().rev().take_while(|c| **c == b'=').count();
    if body == 0 || !all_token68(&token[..body]) {
        return Err(BadAuthorization::Malformed);
    }
    Ok(Some(token))
}

/// The text of a token [`bearer_token`] read, for a whoami call: `token68` is ASCII, so this
/// never fails for such a token (any other is `Malformed`).
pub(crate) fn token_text(token: &[u8]) -> Result<&str, BadAuthorization> {
    std::str::from_utf8(token).map_err(|_| BadAuthorization::Malformed)
}

/// Whether the byte `c` is a `token68` character other than the final `=`s (RFC 7235: letters,
/// digits, `-._~+/`), by comparisons only (no table, no branch), so that the compiler checks a
/// 16-byte chunk with a few vector instructions. The tests hold it to the RFC's list for every
/// byte.
#[inline(always)]
fn is_token68_char(c: u8) -> bool {
    let letter = (c | 0x20).wrapping_sub(b'a') < 26;
    // `-`, `.`, `/` and the digits are contiguous: `-` (0x2D) to `9` (0x39).
    let digit = c.wrapping_sub(b'-') < 13;
    letter | digit | (c == b'+') | (c == b'_') | (c == b'~')
}

/// Whether every byte of `body` is a `token68` character other than `=`, without early exit
/// (this runs on every request with a token): 16 bytes at a time, the last chunk overlapping
/// the one before when the length is not a multiple of 16; a body shorter than 16 byte by byte.
fn all_token68(body: &[u8]) -> bool {
    let Some(last) = body.last_chunk::<16>() else {
        return body.iter().all(|c| is_token68_char(*c));
    };
    // One lane per byte of a chunk, or-ed over the chunks, then over the lanes.
    let mut lanes = [0u8; 16];
    let mut check = |chunk: &[u8]| {
        for (lane, c) in lanes.iter_mut().zip(chunk) {
            *lane |= u8::from(!is_token68_char(*c));
        }
    };
    body.chunks_exact(16).for_each(&mut check);
    check(last);
    lanes.iter().fold(0, |bad, lane| bad | lane) == 0
}

/// What [`BearerAuth`] is built from.
#[derive(Debug, Clone)]
pub(crate) struct BearerConfig {
    /// `{provider}/api/whoami-v2`.
    pub whoami_url: String,
    /// How long a valid token is trusted without asking again (never past its expiry).
    pub ttl: Duration,
    /// How long an invalid or refused token is answered without asking again.
    pub negative_ttl: Duration,
    /// The timeout of a whoami call.
    pub http_timeout: Duration,
    /// The cache's bounds.
    pub bounds: Bounds,
    /// Whoami calls a minute for tokens never seen valid (`budget`).
    pub whoami_budget: u32,
}

impl BearerConfig {
    /// The defaults: a 5-minute TTL, 30 s for invalid tokens, 10 s timeout, 60 whoami calls a
    /// minute for tokens never seen valid.
    pub fn new(whoami_url: String) -> BearerConfig {
        BearerConfig {
            whoami_url,
            ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(30),
            http_timeout: Duration::from_secs(10),
            bounds: Bounds::default(),
            whoami_budget: DEFAULT_WHOAMI_BUDGET,
        }
    }
}

/// Mock mode's token and the session it stands for.
struct MockToken {
    token: String,
    session: Arc<SessionData>,
}

/// Checks bearer tokens; built once at start-up.
pub(crate) struct BearerAuth {
    config: BearerConfig,
    client: reqwest::Client,
    cache: TokenCache,
    /// What tokens never seen valid may spend of whoami.
    budget: WhoamiBudget,
    /// Unix milliseconds before which whoami is not called (after a 429).
    backoff_until_ms: AtomicU64,
    mock: Option<MockToken>,
    /// The cache all replicas share, when sessions are in Redis.
    #[cfg(feature = "redis")]
    shared: Option<SharedTokenCache>,
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("whoami_url", &self.config.whoami_url)
            .field("ttl", &self.config.ttl)
            .field("mock_token", &self.mock.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Unix milliseconds now.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl BearerAuth {
    /// A checker that asks whoami.
    pub fn new(config: BearerConfig) -> Result<BearerAuth, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .connect_timeout(config.http_timeout)
            // The request carries the token: it goes to whoami and nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hf-auth/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(BearerAuth {
            cache: TokenCache::new(config.bounds),
            budget: WhoamiBudget::new(config.whoami_budget),
            config,
            client,
            backoff_until_ms: AtomicU64::new(0),
            mock: None,
            #[cfg(feature = "redis")]
            shared: None,
        })
    }

    /// Shares whoami's answers with the other replicas through Redis: on a miss in this
    /// replica's cache, another replica's answer is used, and only one replica calls whoami
    /// for a token at a time. The local cache still answers every hit, without Redis. Mock
    /// mode ignores it.
    #[cfg(feature = "redis")]
    pub fn with_shared_cache(&mut self, shared: SharedTokenCache) {
        self.shared = Some(shared);
    }

    /// A checker for mock mode: a random `hf_mock_...` token, minted now, stands for `user`
    /// (granted `user`'s scopes, or `app_scopes`); every other token is invalid, and no network
    /// is used. The mock session lasts a year.
    pub fn mock(
        config: BearerConfig,
        user: &MockUser,
        app_scopes: &[String],
    ) -> Result<BearerAuth, reqwest::Error> {
        use rand::{distributions::Alphanumeric, Rng};
        let suffix: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        let token = format!("hf_mock_{suffix}");
        let session = Arc::new(mock_session(user, app_scopes, &token));
        let mut auth = BearerAuth::new(config)?;
        auth.mock = Some(MockToken { token, session });
        Ok(auth)
    }

    /// The cache's ready entries and the bytes they hold, for the load test and benches.
    #[cfg(feature = "bench-hooks")]
    pub fn cache_size(&self) -> (usize, usize) {
        (self.cache.len(), self.cache.bytes())
    }

    /// Every entry of the cache, checks in flight included (what counts against its bounds).
    #[cfg(all(test, feature = "testing"))]
    pub fn cache_entries(&self) -> usize {
        self.cache.entries()
    }

    /// Mock mode's token, to print at start-up.
    pub fn mock_token(&self) -> Option<&str> {
        self.mock.as_ref().map(|m| m.token.as_str())
    }

    /// The answer for `token` if it is known: no await, no allocation. In mock mode every token
    /// is known, and so is a token that is not a Hugging Face token (no `hf_` prefix). While
    /// whoami asked us to back off, unknown tokens answer [`BearerError::Unavailable`].
    pub fn cached(&self, token: &[u8]) -> Option<Result<Arc<SessionData>, BearerError>> {
        if let Some(mock) = &self.mock {
            return Some(mock_answer(mock, token));
        }
        if !token.starts_with(HF_TOKEN_PREFIX.as_bytes()) {
            return Some(Err(BearerError::InvalidToken));
        }
        let now = Instant::now();
        // A valid token, without hashing it with SHA-256; then any token (an invalid one).
        if let Some(session) = self.cache.get_valid(token, now) {
            return Some(Ok(session));
        }
        if let Some(hit) = self.cache.get(&self.cache.key(token), now) {
            return Some(hit);
        }
        self.backoff()
            .map(|retry_after| Err(BearerError::Unavailable { retry_after }))
    }

    /// Who `token` belongs to: from the cache, from a whoami call in flight for it, or from a
    /// new whoami call.
    pub async fn identify(&self, token: &str) -> Result<Arc<SessionData>, BearerError> {
        if let Some(mock) = &self.mock {
            return mock_answer(mock, token.as_bytes());
        }
        let key = self.cache.key(token.as_bytes());
        // A follower whose leader was cancelled loops to take over; bounded.
        for _ in 0..4 {
            match self.cache.lookup(key, Instant::now()) {
                Lookup::Hit(outcome) => return outcome,
                Lookup::Wait(mut rx) => {
                    if let Ok(v) = rx.wait_for(Option::is_some).await {
                        if let Some(outcome) = &*v {
                            return outcome.clone();
                        }
                    }
                }
                Lookup::Lead(leader) => {
                    // Dropped with this future if the request is cancelled meanwhile: the
                    // pending entry goes with it.
                    let (outcome, until) = self.lead(token, &key.sha).await;
                    self.cache
                        .finish(leader, outcome.clone(), until, Instant::now());
                    return outcome;
                }
            }
        }
        Err(BearerError::Unavailable {
            retry_after: Duration::from_secs(1),
        })
    }

    /// Finds out about a token nobody on this replica is checking: from the shared cache when
    /// there is one (and the token may be a Hugging Face token), else from whoami.
    async fn lead(&self, token: &str, key: &TokenHash) -> (Outcome, Option<Instant>) {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            if token.starts_with(HF_TOKEN_PREFIX) && self.backoff().is_none() {
                return self.check_shared(shared, token, key).await;
            }
        }
        self.check(token, key).await
    }

    /// [`check`](Self::check) through the shared cache: another replica's answer, or one
    /// whoami call for all replicas (whose outcome is then shared), or, when Redis fails or
    /// the replica that asks whoami takes too long, a call of our own.
    #[cfg(feature = "redis")]
    async fn check_shared(
        &self,
        shared: &SharedTokenCache,
        token: &str,
        key: &TokenHash,
    ) -> (Outcome, Option<Instant>) {
        use shared::Shared;
        let lock_for = self.config.http_timeout + Duration::from_secs(1);
        let lock = match shared.lookup(key, token, lock_for).await {
            Shared::Found(outcome, left) => {
                // Never longer than this replica would trust the answer itself.
                let most = match outcome {
                    Ok(_) => {
                        self.budget.note_valid(key);
                        self.config.ttl
                    }
                    Err(_) => self.config.negative_ttl,
                };
                return (outcome, Some(Instant::now() + left.min(most)));
            }
            Shared::Lead(lock) => Some(lock),
            Shared::Alone => None,
        };
        let (outcome, until) = self.check(token, key).await;
        if let Some(until) = until {
            let left = until.saturating_duration_since(Instant::now());
            shared.store(key, &outcome, left).await;
        }
        if let Some(lock) = lock {
            shared.unlock(key, lock).await;
        }
        (outcome, until)
    }

    /// The remaining back-off after a 429, if any.
    fn backoff(&self) -> Option<Duration> {
        let until = self.backoff_until_ms.load(Ordering::Relaxed);
        let now = now_ms();
        (until > now).then(|| Duration::from_millis(until - now).max(Duration::from_secs(1)))
    }

    /// Asks whoami about `token` (of SHA-256 `key`), if the budget allows: the outcome and until
    /// when to cache it (`None`: not at all).
    async fn check(&self, token: &str, key: &TokenHash) -> (Outcome, Option<Instant>) {
        // Every Hugging Face token starts with `hf_` (`hf_oauth_` for OAuth tokens): anything
        // else is answered without spending the strict whoami rate limit on it.
        if !token.starts_with(HF_TOKEN_PREFIX) {
            let negative = Some(Instant::now() + self.config.negative_ttl);
            return (Err(BearerError::InvalidToken), negative);
        }
        if let Some(retry_after) = self.backoff() {
            return (Err(BearerError::Unavailable { retry_after }), None);
        }
        if let Err(retry_after) = self.budget.admit(key, Instant::now()) {
            return (Err(BearerError::Unavailable { retry_after }), None);
        }
        let negative = Some(Instant::now() + self.config.negative_ttl);
        let unavailable = |retry_after: Duration| -> (Outcome, Option<Instant>) {
            (Err(BearerError::Unavailable { retry_after }), None)
        };
        let response = match self
            .client
            .get(&self.config.whoami_url)
            .bearer_auth(token)
            .header(ACCEPT, "application/json")
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let e = e.without_url();
                tracing::warn!(error = %e, timeout = e.is_timeout(), "whoami could not be reached");
                return unavailable(DEFAULT_RETRY);
            }
        };
        let status = response.status();
        match status.as_u16() {
            200 => {}
            400 | 401 | 403 => {
                tracing::debug!(status = status.as_u16(), "whoami refused a token");
                return (Err(BearerError::InvalidToken), negative);
            }
            429 => {
                let retry_after = retry_after(response.headers()).unwrap_or(DEFAULT_RETRY);
                let until = now_ms() + retry_after.as_millis() as u64;
                self.backoff_until_ms.fetch_max(until, Ordering::Relaxed);
                tracing::warn!(
                    retry_after_s = retry_after.as_secs(),
                    "whoami is rate-limited; bearer tokens not in the cache get 503 until then"
                );
                return unavailable(retry_after);
            }
            _ => {
                let retry_after = retry_after(response.headers()).unwrap_or(DEFAULT_RETRY);
                tracing::warn!(status = status.as_u16(), "whoami failed");
                return unavailable(retry_after);
            }
        }
        let Some(body) = read_limited(response, MAX_WHOAMI_BODY).await else {
            tracing::warn!("whoami's answer could not be read or is too large");
            return unavailable(DEFAULT_RETRY);
        };
        let who: whoami::WhoAmI = match serde_json::from_slice(&body) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "whoami's answer is not the expected JSON");
                return unavailable(DEFAULT_RETRY);
            }
        };
        let now = now_unix();
        let ttl = self.config.ttl.as_secs();
        match whoami::session_of(who, token, now, now + ttl) {
            Ok(session) => {
                self.budget.note_valid(key);
                let left = session.expires_at.saturating_sub(now).min(ttl);
                let until = Instant::now() + Duration::from_secs(left);
                (Ok(Arc::new(session)), Some(until))
            }
            Err(whoami::Unusable::Refused(why)) => {
                tracing::info!(why, "a bearer token was refused");
                (Err(BearerError::Refused { why }), negative)
            }
            Err(whoami::Unusable::Expired) => (Err(BearerError::InvalidToken), negative),
            Err(whoami::Unusable::Incomplete) => {
                tracing::warn!("whoami's answer lacks the user's id or name");
                unavailable(DEFAULT_RETRY)
            }
        }
    }
}

fn mock_answer(mock: &MockToken, token: &[u8]) -> Outcome {
    if bool::from(mock.token.as_bytes().ct_eq(token)) {
        Ok(mock.session.clone())
    } else {
        Err(BearerError::InvalidToken)
    }
}

/// The mock user's session, as mock mode's login makes it, holding the mock token. It lasts a
/// year, so a long-running development server keeps accepting the token it printed.
fn mock_session(user: &MockUser, app_scopes: &[String], token: &str) -> SessionData {
    let mut session = SessionData::mock(user, app_scopes, 365 * 24 * 3600);
    session.access_token = token.to_owned();
    session
}

/// Reads a body of at most `limit` bytes.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Option<Vec<u8>> {
    if response.content_length().is_some_and(|l| l > limit as u64) {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        if body.len() + chunk.len() > limit {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

/// The delay a 429 or 5xx asks for: the `t=` of `RateLimit` (`"api";r=0;t=120`), else
/// `Retry-After` in seconds; at least 1 s, at most an hour.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let from_rate_limit = headers
        .get_all("ratelimit")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([';', ',']))
        .filter_map(|p| p.trim().strip_prefix("t="))
        .filter_map(|t| t.trim().parse::<u64>().ok())
        .max();
    let secs = from_rate_limit.or_else(|| {
        headers
            .get(RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
    })?;
    Some(Duration::from_secs(secs).clamp(Duration::from_secs(1), MAX_RETRY))
}

fn challenge(error: Option<&str>, scope: Option<&str>) -> HeaderValue {
    let mut v = format!("Bearer realm=\"{REALM}\"");
    if let Some(e) = error {
        v.push_str(&format!(", error=\"{e}\""));
    }
    if let Some(s) = scope {
        v.push_str(&format!(", scope=\"{s}\""));
    }
    HeaderValue::try_from(v)
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"hf-auth\""))
}

fn answer(
    status: StatusCode,
    error: &str,
    description: &str,
    www_authenticate: Option<HeaderValue>,
) -> Response {
    let mut r = (
        status,
        Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response();
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(v) = www_authenticate {
        r.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    r
}

/// RFC 6750's answer to a token that gives no user: 401 `invalid_token` (invalid or refused
/// tokens) or 503 with `Retry-After`.
pub(crate) fn error_response(e: &BearerError) -> Response {
    match e {
        BearerError::InvalidToken | BearerError::Refused { .. } => answer(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            &e.to_string(),
            Some(challenge(Some("invalid_token"), None)),
        ),
        BearerError::Unavailable { retry_after } => {
            let mut r = answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                &e.to_string(),
                None,
            );
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)));
            r
        }
    }
}

/// RFC 6750's answer to a request without credentials on a route that takes tokens only: 401
/// with a bare challenge (no `error`, section 3.1).
pub(crate) fn missing_token_response() -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this route needs a Hugging Face access token in `Authorization: Bearer <token>`",
        Some(challenge(None, None)),
    )
}

/// RFC 6750's answer to a valid token that lacks scopes: 403 `insufficient_scope` naming them.
pub(crate) fn insufficient_scope_response<'a>(
    missing: impl IntoIterator<Item = &'a str>,
) -> Response {
    let scope = missing
        .into_iter()
        .filter(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        })
        .collect::<Vec<_>>()
        .join(" ");
    answer(
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        &format!("the access token lacks the scopes: {scope}"),
        Some(challenge(Some("insufficient_scope"), Some(&scope))),
    )
}

/// The answer to an unreadable `Authorization` header: 400 `invalid_request`, or 401 with a
/// bare challenge for another scheme.
pub(crate) fn bad_authorization_response(e: &BadAuthorization) -> Response {
    match e {
        BadAuthorization::NotBearer => answer(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            &e.to_string(),
            Some(challenge(None, None)),
        ),
        _ => answer(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &e.to_string(),
            Some(challenge(Some("invalid_request"), None)),
        ),
    }
}

#[cfg(test)]
mod tests;
