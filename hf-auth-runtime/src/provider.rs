//! Talking to the OpenID provider: discovery at start-up, the token request, ID-token
//! verification against the JWKS (refetched when an unknown `kid` appears), userinfo, refresh.
//!
//! Everything here runs at start-up or during a login or a refresh, never on an ordinary
//! protected request.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use openidconnect::{
    core::{
        CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdToken,
        CoreIdTokenVerifier, CoreJsonWebKeySet, CoreProviderMetadata, CoreTokenResponse,
    },
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use serde::Deserialize;

use crate::{
    error::{Escaped, FlowError},
    user::Org,
};

type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointMaybeSet,
>;

/// The least time between two JWKS refetches for the same `kid` (one that the last refetch did
/// not find): at most 3 a minute, so a provider stuck on a bad key is not hammered.
const JWKS_REPEAT_INTERVAL: Duration = Duration::from_secs(20);
/// The most JWKS refetches a minute in all, whatever the `kid`s (a provider that signs with
/// ever new ones).
const JWKS_MAX_PER_MINUTE: usize = 10;
const MINUTE: Duration = Duration::from_secs(60);
/// How far in the future an ID token's `iat` may be (clock skew).
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

pub(crate) struct Provider {
    http: reqwest::Client,
    client: OidcClient,
    issuer: IssuerUrl,
    client_id: ClientId,
    jwks_uri: url::Url,
    userinfo_url: url::Url,
    /// The ID-token verifier over the JWKS as last fetched: built at start-up and on a refetch,
    /// not on every login.
    verifier: RwLock<Arc<CoreIdTokenVerifier<'static>>>,
    jwks_refetches: Mutex<RefetchLog>,
}

/// Which `kid`s made the JWKS be fetched again in the last minute, and when.
#[derive(Debug, Default)]
struct RefetchLog {
    /// Each `kid` refetched for in the last minute, with the time of its last refetch. At most
    /// [`JWKS_MAX_PER_MINUTE`] entries.
    kids: Vec<(Box<str>, Instant)>,
    /// The times of the refetches of the last minute.
    recent: VecDeque<Instant>,
}

impl RefetchLog {
    /// Whether an ID token signed with `kid`, which the JWKS as last fetched lacks, may make us
    /// fetch it again now: yes for a `kid` not tried in the last minute (a rotation can follow
    /// another unknown `kid` within seconds), once per [`JWKS_REPEAT_INTERVAL`] for a `kid`
    /// that a refetch did not find, and never more than [`JWKS_MAX_PER_MINUTE`] times a minute.
    fn allow(&mut self, kid: &str, now: Instant) -> bool {
        self.kids
            .retain(|(_, t)| now.saturating_duration_since(*t) < MINUTE);
        while self
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= MINUTE)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= JWKS_MAX_PER_MINUTE {
            return false;
        }
        match self.kids.iter_mut().find(|(k, _)| **k == *kid) {
            Some((_, last)) if now.saturating_duration_since(*last) < JWKS_REPEAT_INTERVAL => {
                return false
            }
            Some((_, last)) => *last = now,
            None => self.kids.push((kid.into(), now)),
        }
        self.recent.push_back(now);
        true
    }
}

/// The `kid` in an ID token's (unverified) header, `""` if it has none or it cannot be read.
/// Only used to limit JWKS refetches; the signature is verified against the key of that `kid`.
fn kid_of(id_token: &CoreIdToken) -> String {
    #[derive(Deserialize)]
    struct Header {
        kid: Option<String>,
    }
    let compact = id_token.to_string();
    let header = compact.split('.').next().unwrap_or_default();
    base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
        .ok()
        .and_then(|json| serde_json::from_slice::<Header>(&json).ok())
        .and_then(|h| h.kid)
        .filter(|k| k.len() <= 256)
        .unwrap_or_default()
}

/// What a successful token request and verification yield.
pub(crate) struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<Duration>,
    /// The granted scopes, when the provider said which.
    pub granted_scopes: Option<Vec<String>>,
}

/// The parts of userinfo hf-auth keeps. Parsed leniently: every field but `sub` is optional and
/// unknown fields are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct UserInfo {
    pub sub: String,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
    pub picture: Option<String>,
    #[serde(rename = "isPro", default, deserialize_with = "lenient")]
    pub is_pro: Option<bool>,
    #[serde(rename = "canPay", default, deserialize_with = "lenient")]
    pub can_pay: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub orgs: Option<Vec<OrgClaim>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OrgClaim {
    #[serde(default, deserialize_with = "lenient")]
    pub sub: Option<String>,
    pub preferred_username: Option<String>,
    #[serde(rename = "roleInOrg", default, deserialize_with = "lenient")]
    pub role_in_org: Option<String>,
}

/// A field of an unexpected type is treated as absent instead of failing the whole login.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// Orgs whose `sub` a session keeps at most: the session cookie has room for a few thousand
/// orgs' handles, not for as many IDs too.
const MAX_ORG_SUBS: usize = 64;

impl UserInfo {
    /// The user's orgs. The org's `sub` is kept only where the user did not grant the org
    /// (Hugging Face disclosed no `roleInOrg`): there it is what a login passes as `orgIds` to
    /// ask for it; for a granted org it is not needed. At most [`MAX_ORG_SUBS`] are kept.
    pub fn orgs(&self) -> Vec<Org> {
        let mut subs = 0;
        self.orgs
            .iter()
            .flatten()
            .filter_map(|o| {
                let role = o
                    .role_in_org
                    .as_deref()
                    .and_then(hf_auth_scopes::Role::parse);
                let sub = o
                    .sub
                    .as_deref()
                    .filter(|s| role.is_none() && is_org_sub(s) && subs < MAX_ORG_SUBS)
                    .map(str::to_owned);
                subs += usize::from(sub.is_some());
                Some(Org {
                    handle: o.preferred_username.clone()?,
                    role,
                    sub,
                })
            })
            .collect()
    }
}

/// Whether `s` looks like an org's ID, safe to put in an authorize URL and a cookie: 1 to 64
/// ASCII letters, digits, `-` or `_` (Hugging Face's are 24 hex characters).
pub(crate) fn is_org_sub(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The error and its sources, as raw text: it may carry the provider's words (an OAuth error
/// description, a response body), so it is only ever logged or shown through [`Escaped`]
/// (the `Display` of [`FlowError`] and [`crate::ConfigError`] does that).
fn error_text<E: std::error::Error>(e: &E) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// Why refreshing an access token failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RefreshError {
    /// The provider refused the refresh token (`invalid_grant`): the session ends.
    #[error("the provider refused the refresh token: {}", Escaped::str(.0))]
    Rejected(String),
    /// A timeout, a network error, a 5xx or any other answer: the session is kept, retry later.
    #[error("the refresh failed for now: {}", Escaped::str(.0))]
    Transient(String),
}

impl Provider {
    /// Discovers the provider, retrying with backoff, and gives up when `deadline` has passed
    /// since the first attempt started: every connect, read, retry and backoff wait counts
    /// against it. Each failed attempt is logged (and printed without a subscriber).
    pub async fn discover(
        provider_url: &str,
        client_id: &str,
        client_secret: Option<&str>,
        redirect_url: &str,
        timeout: Duration,
        attempts: u32,
        deadline: Duration,
    ) -> Result<Provider, crate::ConfigError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("hf-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::ConfigError::Invalid {
                variable: "HTTP client",
                reason: e.to_string(),
            })?;
        let issuer =
            IssuerUrl::new(provider_url.trim_end_matches('/').to_owned()).map_err(|e| {
                crate::ConfigError::Invalid {
                    variable: "OPENID_PROVIDER_URL",
                    reason: format!("{provider_url:?} is not a URL ({e})"),
                }
            })?;
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            provider_url.trim_end_matches('/')
        );
        let attempts = attempts.max(1);
        let give_up_at = tokio::time::Instant::now() + deadline;
        let mut delay = Duration::from_millis(250);
        let mut attempt = 0;
        let metadata = loop {
            attempt += 1;
            let outcome = tokio::time::timeout_at(
                give_up_at,
                CoreProviderMetadata::discover_async(issuer.clone(), &http),
            )
            .await;
            let (error, retryable) = match outcome {
                Ok(Ok(m)) => break m,
                // A document that is wrong (issuer mismatch, bad JSON) will not heal by retrying.
                Ok(Err(e)) => (
                    error_text(&e),
                    matches!(e, openidconnect::DiscoveryError::Request(_)),
                ),
                Err(_) => (
                    format!("no answer within the discovery deadline of {deadline:?}"),
                    false,
                ),
            };
            let retry =
                retryable && attempt < attempts && tokio::time::Instant::now() + delay < give_up_at;
            let next = if retry {
                format!("retrying in {delay:?}")
            } else {
                "giving up".to_owned()
            };
            crate::notice::warn(format_args!(
                "OpenID discovery at {discovery_url} failed (attempt {attempt} of {attempts}): {}; {next}",
                Escaped::str(&error)
            ));
            if !retry {
                let reason = if retryable && attempt < attempts {
                    format!("{error}; the next attempt would pass the discovery deadline of {deadline:?}")
                } else {
                    error
                };
                return Err(crate::ConfigError::Discovery {
                    url: discovery_url,
                    attempts: attempt,
                    reason,
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(8));
        };
        let discovery_err = |reason: &str| crate::ConfigError::Discovery {
            url: discovery_url.clone(),
            attempts: 1,
            reason: reason.to_owned(),
        };
        let token_url = metadata
            .token_endpoint()
            .cloned()
            .ok_or_else(|| discovery_err("the document has no token_endpoint"))?;
        let userinfo_url = metadata
            .userinfo_endpoint()
            .map(|u| u.url().clone())
            .ok_or_else(|| discovery_err("the document has no userinfo_endpoint"))?;
        let jwks_uri = metadata.jwks_uri().url().clone();
        let jwks = metadata.jwks().clone();
        let redirect =
            RedirectUrl::new(redirect_url.to_owned()).map_err(|e| crate::ConfigError::Invalid {
                variable: "public URL",
                reason: format!("the redirect URI {redirect_url:?} is not a URL ({e})"),
            })?;
        let client_id = ClientId::new(client_id.to_owned());
        let client = CoreClient::from_provider_metadata(
            metadata,
            client_id.clone(),
            client_secret.map(|s| ClientSecret::new(s.to_owned())),
        )
        .set_token_uri(token_url)
        .set_redirect_uri(redirect);
        let verifier = id_token_verifier(&client_id, &issuer, jwks);
        Ok(Provider {
            http,
            client,
            issuer,
            client_id,
            jwks_uri,
            userinfo_url,
            verifier: RwLock::new(Arc::new(verifier)),
            jwks_refetches: Mutex::new(RefetchLog::default()),
        })
    }

    /// The authorization URL for a new login, with PKCE S256, `state` and `nonce`, and `extra`
    /// query parameters (`prompt`, `orgIds`).
    pub fn authorize_url_with(
        &self,
        scopes: &[String],
        state: String,
        extra: &[(&'static str, String)],
    ) -> (url::Url, String, String) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(s.clone()));
        }
        for (name, value) in extra {
            request = request.add_extra_param(*name, value.clone());
        }
        let (url, _state, nonce) = request.url();
        (url, verifier.into_secret(), nonce.secret().clone())
    }

    /// Exchanges the code, verifies the ID token and fetches userinfo.
    pub async fn finish_login(
        &self,
        code: String,
        pkce_verifier: String,
        nonce: &str,
    ) -> Result<(Tokens, UserInfo), FlowError> {
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| FlowError::Token(error_text(&e)))?;
        let subject = self.verify_id_token(&response, nonce).await?;
        let tokens = tokens_of(&response);
        let info = self.userinfo(&tokens.access_token, &subject).await?;
        Ok((tokens, info))
    }

    async fn verify_id_token(
        &self,
        response: &CoreTokenResponse,
        nonce: &str,
    ) -> Result<String, FlowError> {
        let id_token = response
            .id_token()
            .ok_or_else(|| FlowError::IdToken("the token response has no id_token".into()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let mut refetched = false;
        loop {
            match self.verify_with_cached_jwks(id_token, &nonce) {
                Ok(subject) => return Ok(subject),
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) if !refetched => {
                    refetched = true;
                    if !self.refetch_jwks(&kid_of(id_token)).await {
                        return Err(FlowError::IdToken(
                            "no key in the provider's JWKS matches the ID token".into(),
                        ));
                    }
                }
                Err(e) => return Err(FlowError::IdToken(error_text(&e))),
            }
        }
    }

    /// Verifies the ID token's signature (RS256, against the JWKS as last fetched), `iss`, `aud`
    /// (and `azp` when there are several audiences), `exp`, `iat` and `nonce`; yields its subject.
    /// No network: the caller refetches the JWKS on `NoMatchingKey`.
    pub fn verify_with_cached_jwks(
        &self,
        id_token: &CoreIdToken,
        nonce: &Nonce,
    ) -> Result<String, ClaimsVerificationError> {
        let verifier = self.verifier.read().expect("verifier lock").clone();
        id_token
            .claims(&*verifier, nonce)
            .map(|claims| claims.subject().as_str().to_owned())
    }

    /// Fetches the JWKS again (key rotation) for an ID token signed with `kid`, if
    /// [`RefetchLog::allow`] allows it.
    async fn refetch_jwks(&self, kid: &str) -> bool {
        let allowed = self
            .jwks_refetches
            .lock()
            .expect("jwks refetch lock")
            .allow(kid, Instant::now());
        if !allowed {
            tracing::debug!(kid = %Escaped::str(kid), "not refetching the JWKS again so soon for this key ID");
            return false;
        }
        let jwks_url = openidconnect::JsonWebKeySetUrl::from_url(self.jwks_uri.clone());
        match CoreJsonWebKeySet::fetch_async(&jwks_url, &self.http).await {
            Ok(jwks) => {
                tracing::info!(
                    keys = jwks.keys().len(),
                    "fetched the provider's JWKS again"
                );
                let verifier = id_token_verifier(&self.client_id, &self.issuer, jwks);
                *self.verifier.write().expect("verifier lock") = Arc::new(verifier);
                true
            }
            Err(e) => {
                tracing::warn!(error = %Escaped::str(&error_text(&e)), "refetching the JWKS failed");
                false
            }
        }
    }

    /// Fetches userinfo and checks that it is about `subject`.
    pub async fn userinfo(&self, access_token: &str, subject: &str) -> Result<UserInfo, FlowError> {
        let response = self
            .http
            .get(self.userinfo_url.clone())
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| FlowError::UserInfo(error_text(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FlowError::UserInfo(format!(
                "the provider answered {status}"
            )));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| FlowError::UserInfo(error_text(&e)))?;
        if bytes.len() > 1 << 20 {
            return Err(FlowError::UserInfo(
                "the answer is larger than 1 MiB".into(),
            ));
        }
        let info: UserInfo = serde_json::from_slice(&bytes)
            .map_err(|e| FlowError::UserInfo(format!("the answer is not userinfo JSON: {e}")))?;
        if info.sub != subject {
            return Err(FlowError::UserInfo(
                "its sub differs from the ID token's".into(),
            ));
        }
        Ok(info)
    }

    /// Uses a refresh token; the provider may rotate it.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, RefreshError> {
        let response = self
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| match &e {
                // Only the provider's word that the grant is dead ends a session.
                RequestTokenError::ServerResponse(r)
                    if *r.error() == CoreErrorResponseType::InvalidGrant =>
                {
                    RefreshError::Rejected(error_text(&e))
                }
                _ => RefreshError::Transient(error_text(&e)),
            })?;
        Ok(tokens_of(&response))
    }
}

/// Verifies ID tokens signed with RS256 (openidconnect's default, and the only algorithm
/// accepted) by a key of `jwks`, for `client_id` from `issuer`, issued at most
/// [`MAX_CLOCK_SKEW`] in the future.
fn id_token_verifier(
    client_id: &ClientId,
    issuer: &IssuerUrl,
    jwks: CoreJsonWebKeySet,
) -> CoreIdTokenVerifier<'static> {
    CoreIdTokenVerifier::new_public_client(client_id.clone(), issuer.clone(), jwks)
        .set_issue_time_verifier_fn(|iat| {
            let latest = crate::session::now_unix() + MAX_CLOCK_SKEW.as_secs();
            if iat.timestamp() > latest as i64 {
                Err("the ID token was issued in the future".to_owned())
            } else {
                Ok(())
            }
        })
}

fn tokens_of(response: &CoreTokenResponse) -> Tokens {
    Tokens {
        access_token: response.access_token().secret().clone(),
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        expires_in: response.expires_in(),
        granted_scopes: response
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_new_kid_refetches_and_repeats_are_bounded() {
        let mut log = RefetchLog::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert!(log.allow("unknown", at(0)));
        // Another kid right after: a real rotation is not held back by the first.
        assert!(log.allow("rotated", at(1)));
        // Repeats of a kid that a refetch did not find: once per 20 s.
        assert!(!log.allow("unknown", at(2)));
        assert!(!log.allow("unknown", at(19_999)));
        assert!(log.allow("unknown", at(20_000)));
        assert!(!log.allow("unknown", at(30_000)));
        assert!(log.allow("unknown", at(40_000)));
        let repeats = (0..600u64)
            .filter(|i| log.allow("stuck", at(100_000 + i * 100)))
            .count();
        assert_eq!(repeats, 3, "a kid repeated for a minute refetches 3 times");
    }

    #[test]
    fn refetches_are_bounded_in_all() {
        let mut log = RefetchLog::default();
        let t0 = Instant::now();
        let allowed = (0..100u64)
            .filter(|i| log.allow(&format!("kid-{i}"), t0 + Duration::from_millis(*i)))
            .count();
        assert_eq!(allowed, JWKS_MAX_PER_MINUTE);
        assert!(log.kids.len() <= JWKS_MAX_PER_MINUTE);
        // A minute later, new kids refetch again.
        assert!(log.allow("kid-late", t0 + Duration::from_secs(61)));
        assert!(log.kids.len() <= JWKS_MAX_PER_MINUTE);
    }
}
