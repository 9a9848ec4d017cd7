//! An OpenID provider on 127.0.0.1 that answers like huggingface.co: discovery, JWKS,
//! authorize (consent decided by the test, or an interactive consent page for browser tests),
//! token (authorization code with PKCE S256 and `client_secret_basic`, refresh), userinfo with
//! `orgs`, `isPro` and `canPay`; RS256 ID tokens; key rotation; Hugging Face's
//! `/api/whoami-v2` for the API tokens it mints and the OAuth tokens it issues; and switches for
//! the faults a test wants to see handled.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Form, Json, Router,
};
use base64::{engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hf_auth_scopes::Role;
use openidconnect::{
    core::{
        CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
        CoreRsaPrivateSigningKey,
    },
    AccessToken, Audience, EmptyAdditionalClaims, EndUserName, EndUserPictureUrl, EndUserUsername,
    IssuerUrl, JsonWebKeyId, LocalizedClaim, Nonce, PrivateSigningKey, StandardClaims,
    SubjectIdentifier,
};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{config::HfAuthBuilder, session::now_unix};

// A child module (it reads the provider's state), kept in its own file.
#[path = "consent.rs"]
mod consent;

const KEYS: [(&str, &str); 2] = [
    ("test-key-1", include_str!("keys/test-key-1.pem")),
    ("test-key-2", include_str!("keys/test-key-2.pem")),
];

/// An org of a [`TestUser`].
#[derive(Debug, Clone)]
pub struct TestOrg {
    /// The org's ID.
    pub sub: String,
    /// The org's handle.
    pub preferred_username: String,
    /// The user's role in it (`roleInOrg`), if disclosed.
    pub role: Option<Role>,
}

/// The user who "signs in" at the test provider.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// The user's ID (24 hex characters on huggingface.co).
    pub sub: String,
    /// The handle.
    pub preferred_username: String,
    /// The full name.
    pub name: String,
    /// `isPro`.
    pub is_pro: bool,
    /// `canPay` (sent only with the `read-billing` scope).
    pub can_pay: bool,
    /// Org memberships.
    pub orgs: Vec<TestOrg>,
}

impl TestUser {
    /// A user with this handle and an ID derived from it, in no org.
    pub fn new(handle: &str) -> TestUser {
        let digest = Sha256::digest(handle.as_bytes());
        TestUser {
            sub: digest[..12].iter().map(|b| format!("{b:02x}")).collect(),
            preferred_username: handle.to_owned(),
            name: format!("{handle} (test)"),
            is_pro: false,
            can_pay: false,
            orgs: Vec::new(),
        }
    }
    /// Adds an org membership.
    pub fn org(mut self, handle: &str, role: Role) -> TestUser {
        let digest = Sha256::digest(format!("org {handle}").as_bytes());
        self.orgs.push(TestOrg {
            sub: digest[..12].iter().map(|b| format!("{b:02x}")).collect(),
            preferred_username: handle.to_owned(),
            role: Some(role),
        });
        self
    }
}

/// What the consent step answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// Grant every scope asked for.
    Approve,
    /// Grant only these of the scopes asked for (`openid` and `profile` always).
    GrantOnly(Vec<String>),
    /// The user presses "Deny": `error=access_denied`.
    Deny,
}

/// Faults the provider can be switched to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Behave.
    None,
    /// ID token signature does not verify.
    BadSignature,
    /// ID token `aud` is another client.
    WrongAudience,
    /// ID token `iss` is another issuer.
    WrongIssuer,
    /// ID token `nonce` differs from the request's.
    WrongNonce,
    /// ID token without `nonce`.
    MissingNonce,
    /// ID token already expired.
    ExpiredIdToken,
    /// ID token `iat` an hour in the future.
    IssuedInFuture,
    /// No ID token in the token response.
    NoIdToken,
    /// Token endpoint answers 500.
    TokenServerError,
    /// Token endpoint answers `invalid_grant`.
    TokenInvalidGrant,
    /// Token endpoint answers 200 with a body that is not JSON.
    TokenGarbage,
    /// Userinfo answers about another `sub`.
    UserinfoOtherSub,
    /// Userinfo answers 500.
    UserinfoServerError,
    /// ID token with `alg: none` and no signature.
    AlgNone,
    /// ID token signed with HS256, keyed with the client secret (when RS256 is expected).
    Hs256WithClientSecret,
    /// ID token for two audiences (ours and another) without `azp`.
    SeveralAudiencesWithoutAzp,
    /// ID token signed with a key whose `kid` the JWKS does not have.
    UnknownKid,
    /// Token endpoint answers only after 3 seconds.
    TokenSlow,
}

/// A kind of Hugging Face token that [`TestProvider::mint_token`] makes, and that its
/// `/api/whoami-v2` describes as huggingface.co does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// A classic user access token with role `read`.
    Read,
    /// A classic user access token with role `write`.
    Write,
    /// A fine-grained user token.
    FineGrained {
        /// Permissions on the user's own entity (`fineGrained.scoped[]`), e.g. `repo.write`.
        permissions: Vec<String>,
        /// Permissions of `fineGrained.global`, e.g. `discussion.write`.
        global: Vec<String>,
        /// `fineGrained.canReadGatedRepos`.
        can_read_gated_repos: bool,
        /// Org entities of `fineGrained.scoped[]`: an org's handle (one of the user's orgs, or
        /// any other) and the permissions on it, e.g. `repo.write`.
        orgs: Vec<(String, Vec<String>)>,
    },
    /// A token of the user's first org (whoami `type: "org"`); the user must be in an org.
    Org,
    /// An app's token (whoami `type: "app"`).
    App,
}

impl TokenKind {
    /// A fine-grained token with these permissions on the user's own entity.
    pub fn fine_grained(permissions: &[&str]) -> TokenKind {
        TokenKind::FineGrained {
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            global: Vec::new(),
            can_read_gated_repos: false,
            orgs: Vec::new(),
        }
    }

    /// This fine-grained token with `permissions` on the org `org` too (an org entity of
    /// `fineGrained.scoped[]`); other kinds are returned unchanged.
    ///
    /// ```
    /// use hf_auth_runtime::testing::TokenKind;
    ///
    /// let kind = TokenKind::fine_grained(&["repo.content.read"]).with_org("acme", &["repo.write"]);
    /// assert!(matches!(kind, TokenKind::FineGrained { ref orgs, .. } if orgs.len() == 1));
    /// ```
    pub fn with_org(mut self, org: &str, permissions: &[&str]) -> TokenKind {
        if let TokenKind::FineGrained { orgs, .. } = &mut self {
            orgs.push((
                org.to_owned(),
                permissions.iter().map(|p| (*p).to_owned()).collect(),
            ));
        }
        self
    }
}

/// What `/api/whoami-v2` does instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhoamiFault {
    /// Answer.
    None,
    /// 429 with `RateLimit: "api";r=0;t=<reset_secs>` (and a `RateLimit-Policy`).
    RateLimited {
        /// Seconds until the window resets (the `t=` of the header).
        reset_secs: u64,
    },
    /// 503 with `Retry-After: <retry_after_secs>`.
    ServerError {
        /// The `Retry-After`, in seconds.
        retry_after_secs: u64,
    },
}

struct ApiToken {
    user: TestUser,
    kind: TokenKind,
    expires_at: Option<u64>,
}

struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    nonce: Option<String>,
    challenge: String,
    user: TestUser,
    expires_at: u64,
}

struct Inner {
    issuer: String,
    client_id: String,
    client_secret: String,
    user: TestUser,
    consent: Consent,
    fault: Fault,
    refresh_tokens: bool,
    refresh_omits_scope: bool,
    access_token_ttl: u64,
    active_key: usize,
    published_keys: Vec<usize>,
    codes: HashMap<String, CodeGrant>,
    access_tokens: HashMap<String, (TestUser, Vec<String>, u64)>,
    refresh: HashMap<String, (TestUser, Vec<String>)>,
    token_requests: usize,
    refresh_requests: usize,
    jwks_requests: usize,
    interactive: bool,
    pending: consent::Pending,
    api_tokens: HashMap<String, ApiToken>,
    whoami_fault: WhoamiFault,
    whoami_delay: std::time::Duration,
    whoami_requests: usize,
    /// IDs of the user's orgs not granted to the app yet (see [`TestProvider::set_org_ungranted`]).
    ungranted_orgs: Vec<String>,
    last_authorize: Option<AuthorizeRequest>,
}

/// What the last authorization request asked for ([`TestProvider::last_authorize`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The scopes asked for, in order.
    pub scopes: Vec<String>,
    /// `prompt`, if sent (`consent` for a step-up).
    pub prompt: Option<String>,
    /// `orgIds`, if sent.
    pub org_ids: Option<String>,
}

/// A running test provider; it stops when dropped.
pub struct TestProvider {
    issuer: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

impl TestProvider {
    /// The client ID the provider knows.
    pub const CLIENT_ID: &'static str = "hf-auth-test-client";
    /// That client's secret.
    pub const CLIENT_SECRET: &'static str = "hf-auth-test-client-secret-0123456789";

    /// Starts a provider on 127.0.0.1 on a free port, signing in [`TestUser::new`]`("test-user")`.
    pub async fn start() -> TestProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let issuer = format!("http://{}", listener.local_addr().expect("local addr"));
        let inner = Arc::new(Mutex::new(Inner {
            issuer: issuer.clone(),
            client_id: Self::CLIENT_ID.into(),
            client_secret: Self::CLIENT_SECRET.into(),
            user: TestUser::new("test-user"),
            consent: Consent::Approve,
            fault: Fault::None,
            refresh_tokens: false,
            refresh_omits_scope: false,
            access_token_ttl: 28800,
            active_key: 0,
            published_keys: vec![0],
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh: HashMap::new(),
            token_requests: 0,
            refresh_requests: 0,
            jwks_requests: 0,
            interactive: false,
            pending: Default::default(),
            api_tokens: HashMap::new(),
            whoami_fault: WhoamiFault::None,
            whoami_delay: std::time::Duration::ZERO,
            whoami_requests: 0,
            ungranted_orgs: Vec::new(),
            last_authorize: None,
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/oauth/jwks", get(jwks))
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/authorize/decision", post(consent::decision))
            .route("/oauth/token", post(token))
            .route("/oauth/userinfo", get(userinfo))
            .route("/api/whoami-v2", get(whoami))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestProvider {
            issuer,
            inner,
            task,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().expect("test provider lock"))
    }

    /// Marks the signed-in user's org `handle` as not granted to the app, as when the user did
    /// not tick it on huggingface.co's consent screen: userinfo lists the membership (its `sub`,
    /// handle, ...) without `roleInOrg`, until a login asks for it with `orgIds=<its sub>` and
    /// the user authorizes; from then on it is granted. Call after [`set_user`](Self::set_user).
    pub fn set_org_ungranted(&self, handle: &str) {
        self.with(|i| {
            if let Some(o) = i.user.orgs.iter().find(|o| o.preferred_username == handle) {
                let sub = o.sub.clone();
                if !i.ungranted_orgs.contains(&sub) {
                    i.ungranted_orgs.push(sub);
                }
            }
        });
    }

    /// What the last authorization request (`GET /oauth/authorize`) asked for, if any came.
    pub fn last_authorize(&self) -> Option<AuthorizeRequest> {
        self.with(|i| i.last_authorize.clone())
    }

    /// The issuer URL (`http://127.0.0.1:PORT`), to use as `OPENID_PROVIDER_URL`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// A builder for an app that signs in at this provider, as `public_url`.
    pub fn app_config(&self, public_url: &str) -> HfAuthBuilder {
        crate::HfAuth::builder()
            .client_id(Self::CLIENT_ID)
            .client_secret(Self::CLIENT_SECRET)
            .provider_url(self.issuer.clone())
            .public_url(public_url)
            .discovery_attempts(1)
    }
    /// An ID token for the current user with `nonce`, as the token endpoint would sign it now
    /// (faults included), for the benchmarks of ID-token verification. Not a public API.
    #[doc(hidden)]
    pub fn bench_id_token(&self, nonce: &str) -> String {
        self.with(|i| id_token(i, &i.user, Some(nonce.to_owned()), "bench-access-token"))
    }
    /// Who signs in next.
    pub fn set_user(&self, user: TestUser) {
        self.with(|i| i.user = user);
    }
    /// What the consent step answers.
    pub fn set_consent(&self, consent: Consent) {
        self.with(|i| i.consent = consent);
    }
    /// Whether `/oauth/authorize` shows a consent page (app, scopes, "Authorize" and "Deny"
    /// buttons) for a real browser to click, instead of answering at once as [`Consent`] says.
    /// Off by default. On "Authorize", a [`Consent::GrantOnly`] still narrows the grant.
    pub fn set_interactive(&self, on: bool) {
        self.with(|i| i.interactive = on);
    }
    /// Switches a fault on (or off with [`Fault::None`]).
    pub fn set_fault(&self, fault: Fault) {
        self.with(|i| i.fault = fault);
    }
    /// Whether refresh answers leave out `scope` (RFC 6749 section 6 allows it: the scopes
    /// stay those granted at the login).
    pub fn set_refresh_omits_scope(&self, on: bool) {
        self.with(|i| i.refresh_omits_scope = on);
    }
    /// Whether token responses carry (rotating) refresh tokens.
    pub fn set_refresh_tokens(&self, on: bool) {
        self.with(|i| i.refresh_tokens = on);
    }
    /// The `expires_in` of access tokens, in seconds.
    pub fn set_access_token_ttl(&self, secs: u64) {
        self.with(|i| i.access_token_ttl = secs);
    }
    /// Signs with the other key from now on and publishes only that key.
    pub fn rotate_key(&self) {
        self.with(|i| {
            i.active_key = 1 - i.active_key;
            i.published_keys = vec![i.active_key];
        });
    }
    /// How many token requests (all grants) were made.
    pub fn token_requests(&self) -> usize {
        self.with(|i| i.token_requests)
    }
    /// How many refresh-token grants were made.
    pub fn refresh_requests(&self) -> usize {
        self.with(|i| i.refresh_requests)
    }
    /// How many times the JWKS was fetched.
    pub fn jwks_requests(&self) -> usize {
        self.with(|i| i.jwks_requests)
    }

    /// The URL of its whoami endpoint, `{issuer}/api/whoami-v2` (what an app configured with
    /// [`app_config`](Self::app_config) calls by default).
    pub fn whoami_url(&self) -> String {
        format!("{}/api/whoami-v2", self.issuer)
    }
    /// Mints a token of `kind` for `user` (with `user`'s orgs), without expiry, that its
    /// `/api/whoami-v2` describes. OAuth tokens come from its logins instead.
    ///
    /// ```
    /// use hf_auth_runtime::{testing::{TestProvider, TestUser, TokenKind}, Role};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let provider = TestProvider::start().await;
    /// let alice = TestUser::new("alice").org("acme", Role::Admin);
    /// let token = provider.mint_token(&alice, TokenKind::fine_grained(&["repo.content.read"]));
    /// let who: serde_json::Value = reqwest::Client::new()
    ///     .get(provider.whoami_url())
    ///     .bearer_auth(&token)
    ///     .send().await.unwrap()
    ///     .json().await.unwrap();
    /// assert_eq!(who["name"], "alice");
    /// assert_eq!(who["orgs"][0]["roleInOrg"], "admin");
    /// assert_eq!(provider.whoami_requests(), 1);
    /// # }
    /// ```
    pub fn mint_token(&self, user: &TestUser, kind: TokenKind) -> String {
        self.mint(user, kind, None)
    }
    /// [`mint_token`](Self::mint_token) for a token that expires in `expires_in` (whoami tells
    /// its `expiration`, and answers 401 once it passed).
    pub fn mint_token_expiring(
        &self,
        user: &TestUser,
        kind: TokenKind,
        expires_in: std::time::Duration,
    ) -> String {
        self.mint(user, kind, Some(now_unix() + expires_in.as_secs()))
    }
    fn mint(&self, user: &TestUser, kind: TokenKind, expires_at: Option<u64>) -> String {
        use rand::{distributions::Alphanumeric, Rng};
        let body: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(34)
            .map(char::from)
            .collect();
        let token = format!("hf_{body}");
        self.with(|i| {
            i.api_tokens.insert(
                token.clone(),
                ApiToken {
                    user: user.clone(),
                    kind,
                    expires_at,
                },
            )
        });
        token
    }
    /// An OAuth access token (`hf_oauth_...`) for `user`, as the provider's token endpoint issues
    /// them at the end of a login granting `scopes`; userinfo and whoami accept it (whoami
    /// describes it with `auth.type: "oauth"`, without its scopes).
    pub fn mint_oauth_token(&self, user: &TestUser, scopes: &str) -> String {
        let token = random_token("hf_oauth_");
        self.with(|i| {
            let ttl = i.access_token_ttl;
            i.access_tokens.insert(
                token.clone(),
                (
                    user.clone(),
                    scopes.split_whitespace().map(str::to_owned).collect(),
                    now_unix() + ttl,
                ),
            )
        });
        token
    }
    /// Revokes a minted token or an issued access token: whoami answers 401 for it from now on.
    pub fn revoke_token(&self, token: &str) {
        self.with(|i| {
            i.api_tokens.remove(token);
            i.access_tokens.remove(token);
        });
    }
    /// What `/api/whoami-v2` does instead of answering (default [`WhoamiFault::None`]).
    pub fn set_whoami_fault(&self, fault: WhoamiFault) {
        self.with(|i| i.whoami_fault = fault);
    }
    /// How long `/api/whoami-v2` waits before answering (default none).
    pub fn set_whoami_delay(&self, delay: std::time::Duration) {
        self.with(|i| i.whoami_delay = delay);
    }
    /// How many requests `/api/whoami-v2` received, faults included.
    pub fn whoami_requests(&self) -> usize {
        self.with(|i| i.whoami_requests)
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

async fn discovery(State(inner): Shared) -> Json<serde_json::Value> {
    let issuer = inner.lock().expect("lock").issuer.clone();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "userinfo_endpoint": format!("{issuer}/oauth/userinfo"),
        "jwks_uri": format!("{issuer}/oauth/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }))
}

fn signing_key(i: usize) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(KEYS[i].1, Some(JsonWebKeyId::new(KEYS[i].0.into())))
        .expect("the test keys parse")
}

async fn jwks(State(inner): Shared) -> Json<CoreJsonWebKeySet> {
    let published = {
        let mut i = inner.lock().expect("lock");
        i.jwks_requests += 1;
        i.published_keys.clone()
    };
    Json(CoreJsonWebKeySet::new(
        published
            .into_iter()
            .map(|k| signing_key(k).as_verification_key())
            .collect(),
    ))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
    #[serde(rename = "orgIds")]
    org_ids: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn authorize(State(inner): Shared, Query(q): Query<AuthorizeQuery>) -> Response {
    let interactive = {
        let mut i = inner.lock().expect("lock");
        i.last_authorize = Some(AuthorizeRequest {
            scopes: q
                .scope
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            prompt: q.prompt.clone(),
            org_ids: q.org_ids.clone(),
        });
        i.interactive
    };
    let decision = if interactive {
        consent::Decision::Ask
    } else {
        consent::Decision::Programmed
    };
    answer_authorize(&inner, q, decision)
}

/// Validates an authorization request and answers it: with the consent page
/// ([`consent::Decision::Ask`]), or a redirect with a code or an error.
fn answer_authorize(
    inner: &Mutex<Inner>,
    q: AuthorizeQuery,
    decision: consent::Decision,
) -> Response {
    let mut i = inner.lock().expect("lock");
    let (Some(client_id), Some(redirect_uri)) = (q.client_id.clone(), q.redirect_uri.clone())
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and redirect_uri are required",
        );
    };
    if client_id != i.client_id {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "unknown client");
    }
    let Ok(mut back) = url::Url::parse(&redirect_uri) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri is not a URL",
        );
    };
    let mut reply = |pairs: &[(&str, &str)]| {
        let mut qp = back.query_pairs_mut();
        for (k, v) in pairs {
            qp.append_pair(k, v);
        }
        if let Some(s) = &q.state {
            qp.append_pair("state", s);
        }
        drop(qp);
        Redirect::to(back.as_str()).into_response()
    };
    if q.response_type.as_deref() != Some("code") {
        return reply(&[("error", "unsupported_response_type")]);
    }
    let (Some(challenge), Some("S256")) =
        (q.code_challenge.clone(), q.code_challenge_method.as_deref())
    else {
        return reply(&[
            ("error", "invalid_request"),
            ("error_description", "PKCE S256 is required"),
        ]);
    };
    let asked: Vec<String> = q
        .scope
        .clone()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let answer = match decision {
        consent::Decision::Ask => {
            return consent::ask(&mut i, q, &client_id, &asked);
        }
        consent::Decision::Deny => &Consent::Deny,
        consent::Decision::Authorize if i.consent == Consent::Deny => &Consent::Approve,
        consent::Decision::Authorize | consent::Decision::Programmed => &i.consent,
    };
    let granted = match answer {
        Consent::Deny => {
            return reply(&[
                ("error", "access_denied"),
                ("error_description", "The user denied the request"),
            ])
        }
        Consent::Approve => asked,
        Consent::GrantOnly(only) => asked
            .into_iter()
            .filter(|s| s == "openid" || s == "profile" || only.contains(s))
            .collect(),
    };
    let code = random_token("code_");
    // Orgs asked for by `orgIds` are granted now; the others not granted keep their role hidden.
    let asked_orgs: Vec<&str> = q
        .org_ids
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .collect();
    i.ungranted_orgs
        .retain(|sub| !asked_orgs.contains(&sub.as_str()));
    let mut user = i.user.clone();
    for o in &mut user.orgs {
        if i.ungranted_orgs.contains(&o.sub) {
            o.role = None;
        }
    }
    i.codes.insert(
        code.clone(),
        CodeGrant {
            client_id,
            redirect_uri,
            scopes: granted,
            nonce: q.nonce.clone(),
            challenge,
            user,
            expires_at: now_unix() + 60,
        },
    );
    reply(&[("code", &code)])
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

async fn token(State(inner): Shared, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    let slow = inner.lock().expect("lock").fault == Fault::TokenSlow;
    if slow {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    let mut i = inner.lock().expect("lock");
    i.token_requests += 1;
    match i.fault {
        Fault::TokenServerError => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response()
        }
        Fault::TokenInvalidGrant => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the code is invalid",
            )
        }
        Fault::TokenGarbage => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "<html>not json",
            )
                .into_response()
        }
        _ => {}
    }
    match basic_client(&headers) {
        Some((id, secret)) if id == i.client_id && secret == i.client_secret => {}
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            )
        }
    }
    let (user, scopes, nonce) = match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let Some(grant) = form.code.as_ref().and_then(|c| i.codes.remove(c)) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            let verifier_ok = form.code_verifier.as_ref().is_some_and(|v| {
                URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == grant.challenge
            });
            if grant.expires_at < now_unix()
                || grant.client_id != i.client_id
                || form.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str())
                || !verifier_ok
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code, redirect_uri or code_verifier mismatch",
                );
            }
            (grant.user, grant.scopes, grant.nonce)
        }
        Some("refresh_token") => {
            i.refresh_requests += 1;
            // Refresh tokens rotate: the old one dies.
            let Some((user, scopes)) = form
                .refresh_token
                .as_ref()
                .and_then(|r| i.refresh.remove(r))
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown refresh token",
                );
            };
            (user, scopes, None)
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "unsupported grant",
            )
        }
    };
    let access_token = random_token("hf_oauth_");
    let ttl = i.access_token_ttl;
    i.access_tokens.insert(
        access_token.clone(),
        (user.clone(), scopes.clone(), now_unix() + ttl),
    );
    let mut body = json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": ttl,
        "scope": scopes.join(" "),
    });
    if i.refresh_omits_scope && form.grant_type.as_deref() == Some("refresh_token") {
        body.as_object_mut().expect("an object").remove("scope");
    }
    if i.refresh_tokens {
        let rt = random_token("hf_oauth_refresh_");
        i.refresh.insert(rt.clone(), (user.clone(), scopes.clone()));
        body["refresh_token"] = json!(rt);
    }
    if scopes.iter().any(|s| s == "openid") && i.fault != Fault::NoIdToken {
        body["id_token"] = json!(id_token(&i, &user, nonce, &access_token));
    }
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response()
}

fn id_token(i: &Inner, user: &TestUser, nonce: Option<String>, access_token: &str) -> String {
    let now = now_unix() as i64;
    let (iat, exp) = match i.fault {
        Fault::ExpiredIdToken => (now - 7200, now - 3600),
        Fault::IssuedInFuture => (now + 3600, now + 7200),
        _ => (now, now + 3600),
    };
    let ts = |t: i64| chrono_from(t);
    let issuer = if i.fault == Fault::WrongIssuer {
        "https://evil.example".to_owned()
    } else {
        i.issuer.clone()
    };
    let audiences = match i.fault {
        Fault::WrongAudience => vec![Audience::new("another-client".into())],
        Fault::SeveralAudiencesWithoutAzp => vec![
            Audience::new(i.client_id.clone()),
            Audience::new("another-client".into()),
        ],
        _ => vec![Audience::new(i.client_id.clone())],
    };
    let mut claims = CoreIdTokenClaims::new(
        IssuerUrl::new(issuer).expect("issuer URL"),
        audiences,
        ts(exp),
        ts(iat),
        StandardClaims::new(SubjectIdentifier::new(user.sub.clone()))
            .set_preferred_username(Some(EndUserUsername::new(user.preferred_username.clone())))
            .set_name(Some(LocalizedClaim::from(EndUserName::new(
                user.name.clone(),
            ))))
            .set_picture(Some(LocalizedClaim::from(EndUserPictureUrl::new(format!(
                "https://cdn-avatars.huggingface.co/{}.png",
                user.preferred_username
            ))))),
        EmptyAdditionalClaims {},
    );
    claims = match i.fault {
        Fault::MissingNonce => claims,
        Fault::WrongNonce => claims.set_nonce(Some(Nonce::new("not-the-nonce".into()))),
        _ => claims.set_nonce(nonce.map(Nonce::new)),
    };
    if matches!(i.fault, Fault::AlgNone | Fault::Hs256WithClientSecret) {
        return unsigned_or_hmac(i, &claims);
    }
    let key = if i.fault == Fault::UnknownKid {
        CoreRsaPrivateSigningKey::from_pem(
            KEYS[1 - i.active_key].1,
            Some(JsonWebKeyId::new("a-kid-nobody-published".into())),
        )
        .expect("the test keys parse")
    } else {
        signing_key(i.active_key)
    };
    let token = CoreIdToken::new(
        claims,
        &key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(&AccessToken::new(access_token.to_owned())),
        None,
    )
    .expect("signing a test ID token");
    let jwt = serde_json::to_value(&token)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .expect("an ID token serializes to a string");
    if i.fault == Fault::BadSignature {
        let (head, sig) = jwt.rsplit_once('.').expect("a JWT has three parts");
        let mut sig = URL_SAFE_NO_PAD.decode(sig).expect("base64url signature");
        sig[0] ^= 0xff;
        return format!("{head}.{}", URL_SAFE_NO_PAD.encode(sig));
    }
    jwt
}

/// A JWT whose header says `alg: none` (no signature) or `HS256` keyed with the client secret:
/// both must be refused by a client that expects RS256.
fn unsigned_or_hmac(i: &Inner, claims: &CoreIdTokenClaims) -> String {
    use hkdf::hmac::{Hmac, Mac};
    let alg = if i.fault == Fault::AlgNone {
        "none"
    } else {
        "HS256"
    };
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "JWT" }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
    let signing_input = format!("{header}.{payload}");
    if alg == "none" {
        return format!("{signing_input}.");
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(i.client_secret.as_bytes()).expect("any key length");
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

fn chrono_from(t: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t, 0).expect("a timestamp in range")
}

async fn userinfo(State(inner): Shared, headers: HeaderMap) -> Response {
    let i = inner.lock().expect("lock");
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some((user, scopes, expires)) = token.and_then(|t| i.access_tokens.get(t)) else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    if *expires < now_unix() {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    if i.fault == Fault::UserinfoServerError {
        return (StatusCode::INTERNAL_SERVER_ERROR, "userinfo exploded").into_response();
    }
    let sub = if i.fault == Fault::UserinfoOtherSub {
        "000000000000000000000000".to_owned()
    } else {
        user.sub.clone()
    };
    let mut body = json!({
        "sub": sub,
        "name": user.name,
        "preferred_username": user.preferred_username,
        "profile": format!("https://huggingface.co/{}", user.preferred_username),
        "picture": format!("https://cdn-avatars.huggingface.co/{}.png", user.preferred_username),
        "website": "",
        "isPro": user.is_pro,
        "orgs": user.orgs.iter().map(|o| {
            let mut org = json!({
                "sub": o.sub,
                "name": o.preferred_username,
                "preferred_username": o.preferred_username,
                "picture": format!("https://cdn-avatars.huggingface.co/{}.png", o.preferred_username),
                "plan": "team",
            });
            if let Some(r) = o.role { org["roleInOrg"] = json!(r.as_str()); }
            org
        }).collect::<Vec<_>>(),
    });
    if scopes.iter().any(|s| s == "read-billing") {
        body["canPay"] = json!(user.can_pay);
    }
    Json(body).into_response()
}

/// `2025-01-31T12:00:00.000Z` for unix seconds `t`.
fn rfc3339(t: u64) -> String {
    let (days, secs) = ((t / 86_400) as i64, t % 86_400);
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn unauthorized_whoami() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "error": "Invalid credentials in Authorization header" })),
    )
        .into_response()
}

fn whoami_user(user: &TestUser, auth: serde_json::Value) -> serde_json::Value {
    json!({
        "type": "user",
        "id": user.sub,
        "name": user.preferred_username,
        "fullname": user.name,
        "email": format!("{}@example.com", user.preferred_username),
        "emailVerified": true,
        "isPro": user.is_pro,
        "canPay": user.can_pay,
        "avatarUrl": format!("https://cdn-avatars.huggingface.co/{}.png", user.preferred_username),
        "periodEnd": null,
        "orgs": user.orgs.iter().map(|o| json!({
            "type": "org",
            "id": o.sub,
            "name": o.preferred_username,
            "fullname": o.preferred_username,
            "email": null,
            "canPay": false,
            "avatarUrl": format!("https://cdn-avatars.huggingface.co/{}.png", o.preferred_username),
            "periodEnd": null,
            "roleInOrg": o.role.map(|r| r.as_str()),
        })).collect::<Vec<_>>(),
        "auth": auth,
    })
}

fn whoami_api_token(t: &ApiToken) -> Option<serde_json::Value> {
    let mut access = json!({
        "displayName": "test token",
        "createdAt": rfc3339(now_unix()),
    });
    if let Some(e) = t.expires_at {
        access["expiration"] = json!(rfc3339(e));
    }
    let user = &t.user;
    Some(match &t.kind {
        TokenKind::Read | TokenKind::Write => {
            access["role"] = json!(if t.kind == TokenKind::Read {
                "read"
            } else {
                "write"
            });
            whoami_user(
                user,
                json!({ "type": "access_token", "accessToken": access }),
            )
        }
        TokenKind::FineGrained {
            permissions,
            global,
            can_read_gated_repos,
            orgs,
        } => {
            access["role"] = json!("fineGrained");
            let mut scoped = vec![json!({
                "entity": { "_id": user.sub, "type": "user", "name": user.preferred_username },
                "permissions": permissions,
            })];
            for (handle, permissions) in orgs {
                // The org's id as whoami's `orgs[]` gives it, for one of the user's orgs.
                let id = user
                    .orgs
                    .iter()
                    .find(|o| o.preferred_username == *handle)
                    .map_or_else(|| format!("org-{handle}"), |o| o.sub.clone());
                scoped.push(json!({
                    "entity": { "_id": id, "type": "org", "name": handle },
                    "permissions": permissions,
                }));
            }
            access["fineGrained"] = json!({
                "canReadGatedRepos": can_read_gated_repos,
                "global": global,
                "scoped": scoped,
            });
            whoami_user(
                user,
                json!({ "type": "access_token", "accessToken": access }),
            )
        }
        TokenKind::Org => {
            let org = user.orgs.first()?;
            access["role"] = json!("write");
            json!({
                "type": "org",
                "id": org.sub,
                "name": org.preferred_username,
                "fullname": org.preferred_username,
                "auth": { "type": "access_token", "accessToken": access },
            })
        }
        TokenKind::App => json!({
            "type": "app",
            "id": user.sub,
            "name": format!("{}-app", user.preferred_username),
            "scope": { "entities": [user.sub], "role": "read" },
            "auth": { "type": "app_token" },
        }),
    })
}

async fn whoami(State(inner): Shared, headers: HeaderMap) -> Response {
    let delay = {
        let mut i = inner.lock().expect("lock");
        i.whoami_requests += 1;
        i.whoami_delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let i = inner.lock().expect("lock");
    match i.whoami_fault {
        WhoamiFault::None => {}
        WhoamiFault::RateLimited { reset_secs } => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("ratelimit", format!("\"api\";r=0;t={reset_secs}")),
                    (
                        "ratelimit-policy",
                        "\"fixed window\";\"api\";q=500;w=300".to_owned(),
                    ),
                ],
                Json(json!({ "error": "You have been rate-limited" })),
            )
                .into_response()
        }
        WhoamiFault::ServerError { retry_after_secs } => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, retry_after_secs.to_string())],
                "whoami exploded",
            )
                .into_response()
        }
    }
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return unauthorized_whoami();
    };
    let now = now_unix();
    if let Some(t) = i.api_tokens.get(token) {
        if t.expires_at.is_some_and(|e| e <= now) {
            return unauthorized_whoami();
        }
        return match whoami_api_token(t) {
            Some(body) => Json(body).into_response(),
            None => unauthorized_whoami(),
        };
    }
    if let Some((user, _scopes, expires)) = i.access_tokens.get(token) {
        if *expires <= now {
            return unauthorized_whoami();
        }
        let auth = json!({ "type": "oauth", "expiresAt": rfc3339(*expires) });
        return Json(whoami_user(user, auth)).into_response();
    }
    unauthorized_whoami()
}
