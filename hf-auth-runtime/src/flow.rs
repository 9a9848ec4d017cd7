//! The login, callback and logout routes.
//!
//! A pending login lives in a short-lived encrypted "flow cookie" named after its `state`, so
//! several tabs can log in at once and nothing is stored in the server. The cookie carries the
//! PKCE verifier, the nonce and the path to return to; the return path never travels in the
//! redirect URI. At the callback the cookie is replaced by a tombstone, so a replayed callback
//! is recognised.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::FromRequestParts,
    http::{
        header::{CACHE_CONTROL, LOCATION},
        request::Parts,
        HeaderMap, HeaderValue, StatusCode, Uri,
    },
    response::{Html, IntoResponse, Response},
    routing::get,
    Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hf_auth_scopes::{index_of, mask_of};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    error::FlowError,
    layer::{with_request, AuthLayer},
    mock::MockUser,
    pages,
    provider::{Tokens, UserInfo},
    rejection::AuthRejection,
    return_path::{query_param, safe_return_path, CallbackParams},
    session::{self, now_unix, SessionData},
    state::{AuthState, Backend, SharedState},
};

/// How long a login may take between the login route and the callback.
const FLOW_LIFETIME: Duration = Duration::from_secs(600);
const FLOW_COOKIE_PREFIX: &str = "hf_auth_flow_";
/// Random characters of a `state` (24 random bytes, base64url).
const STATE_RANDOM_LEN: usize = 32;
/// Flow cookies a browser may hold at once; older ones are dropped beyond that.
const MAX_PENDING_LOGINS: usize = 4;

#[derive(Serialize, Deserialize)]
struct PendingLogin {
    state: String,
    pkce_verifier: String,
    nonce: String,
    target: String,
    created_at: u64,
    used: bool,
}

pub(crate) fn attach<S>(state: SharedState, router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let routes = state.routes.clone();
    router
        .route(&routes.login, get(login))
        .route(&routes.callback, get(callback))
        .route(&routes.logout, get(logout))
        .layer(AuthLayer { state })
}

/// The request's context in the flow's own routes, which `attach` always layers.
struct Ctx(SharedState);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AuthRejection;

    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, AuthRejection> {
        with_request(|ctx| Ctx(ctx.state.clone()))
    }
}

impl Ctx {
    /// Queues `Set-Cookie` headers for the response.
    fn set_cookies(&self, headers: impl IntoIterator<Item = HeaderValue>) {
        // Never fails: `Ctx` is extracted inside the request's context.
        let _ = with_request(|ctx| ctx.set_cookies(headers));
    }
}

fn redirect(location: &str) -> Response {
    let location = HeaderValue::try_from(location).unwrap_or(HeaderValue::from_static("/"));
    (
        StatusCode::SEE_OTHER,
        [
            (LOCATION, location),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

fn flow_cookie_name(random: &str) -> String {
    format!("{FLOW_COOKIE_PREFIX}{}", &random[..16])
}

fn random_state() -> String {
    let bytes: [u8; 24] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn login(ctx: Ctx, headers: HeaderMap, uri: Uri) -> Response {
    let state = &ctx.0;
    let query = uri.query();
    let target = safe_return_path(query_param(query, "_target_url").as_deref()).to_owned();
    let retries: u32 = query_param(query, "_nb_redirects")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
        .min(state.max_login_retries + 1);
    match &state.backend {
        Backend::Mock(user) => {
            let data = mock_session(state, user);
            match session::write(&headers, state.policy, &state.key, &data) {
                Ok(set) => ctx.set_cookies(set),
                Err(e) => return error_page(state, &FlowError::Session(e.to_string())),
            }
            tracing::info!(user = %user.handle, "signed in the mock user");
            redirect(&target)
        }
        Backend::Real(provider) => {
            let random = random_state();
            let full_state = format!("{random}.{retries}");
            let (url, pkce_verifier, nonce) =
                provider.authorize_url(&state.scopes, full_state.clone());
            let pending = PendingLogin {
                state: full_state,
                pkce_verifier,
                nonce,
                target,
                created_at: now_unix(),
                used: false,
            };
            let name = flow_cookie_name(&random);
            let value = state.flow_key.seal(
                &name,
                &postcard::to_allocvec(&pending).expect("a pending login serializes"),
            );
            let pending: Vec<&str> =
                session::cookie_names_with_prefix(&headers, FLOW_COOKIE_PREFIX).collect();
            if pending.len() >= MAX_PENDING_LOGINS {
                ctx.set_cookies(
                    pending
                        .into_iter()
                        .map(|old| state.policy.removal_header(old.to_owned())),
                );
            }
            ctx.set_cookies([state
                .policy
                .header(name, value, FLOW_LIFETIME.as_secs() as i64)]);
            redirect(url.as_str())
        }
    }
}

enum Outcome {
    SignedIn(String),
    Retry(String),
}

async fn callback(ctx: Ctx, headers: HeaderMap, uri: Uri) -> Response {
    match finish(&ctx, &headers, uri.query()).await {
        Ok(Outcome::SignedIn(target)) => redirect(&target),
        Ok(Outcome::Retry(url)) => redirect(&url),
        Err(e) => error_page(&ctx.0, &e),
    }
}

async fn finish(ctx: &Ctx, headers: &HeaderMap, query: Option<&str>) -> Result<Outcome, FlowError> {
    let state: &AuthState = &ctx.0;
    let params = CallbackParams::parse(query).map_err(|()| FlowError::StateMismatch)?;
    let denied = |params: &CallbackParams| FlowError::Denied {
        error: params.error.clone().unwrap_or_default(),
        description: params.error_description.clone(),
    };
    let Some(full_state) = params.state.as_deref() else {
        return Err(if params.error.is_some() {
            denied(&params)
        } else {
            FlowError::StateMismatch
        });
    };
    let (random, retries) = full_state.split_once('.').unwrap_or((full_state, "0"));
    if random.len() != STATE_RANDOM_LEN
        || !random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(FlowError::StateMismatch);
    }
    let Backend::Real(provider) = &state.backend else {
        return Err(FlowError::StateMismatch);
    };
    let name = flow_cookie_name(random);
    let Some(cookie) = session::find_cookie(headers, &name) else {
        if params.error.is_some() {
            return Err(denied(&params));
        }
        let others = session::cookie_names_with_prefix(headers, FLOW_COOKIE_PREFIX)
            .next()
            .is_some();
        if others {
            // This browser has logins pending, but not this one: login CSRF or a mix-up.
            return Err(FlowError::StateMismatch);
        }
        // No flow cookie at all: the browser dropped it (third-party cookies in the Space
        // iframe). Start again a bounded number of times, then leave the iframe.
        let retries: u32 = retries.parse().unwrap_or(u32::MAX);
        if retries < state.max_login_retries {
            tracing::info!(
                retries,
                "the flow cookie is missing at the callback; starting the login again"
            );
            return Ok(Outcome::Retry(format!(
                "{}?_nb_redirects={}",
                state.routes.login,
                retries + 1
            )));
        }
        if retries == state.max_login_retries {
            if let Some(direct) = &state.direct_url {
                tracing::info!("the flow cookie is still missing; sending the browser to the Space's direct URL");
                return Ok(Outcome::Retry(format!(
                    "{direct}{}?_nb_redirects={}",
                    state.routes.login,
                    retries + 1
                )));
            }
        }
        return Err(FlowError::CookieLost);
    };
    let pending: PendingLogin = state
        .flow_key
        .open(&name, cookie)
        .and_then(|bytes| postcard::from_bytes(&bytes).ok())
        .ok_or(FlowError::StateMismatch)?;
    if pending.used {
        return Err(FlowError::Replayed);
    }
    if !bool::from(pending.state.as_bytes().ct_eq(full_state.as_bytes())) {
        return Err(FlowError::StateMismatch);
    }
    if now_unix() > pending.created_at + FLOW_LIFETIME.as_secs() {
        return Err(FlowError::StateMismatch);
    }
    // Usable once: a tombstone replaces the pending login.
    let tombstone = PendingLogin {
        state: String::new(),
        pkce_verifier: String::new(),
        nonce: String::new(),
        target: String::new(),
        created_at: pending.created_at,
        used: true,
    };
    let sealed = state.flow_key.seal(
        &name,
        &postcard::to_allocvec(&tombstone).expect("a tombstone serializes"),
    );
    ctx.set_cookies([state
        .policy
        .header(name, sealed, FLOW_LIFETIME.as_secs() as i64)]);
    if params.error.is_some() {
        return Err(denied(&params));
    }
    let code = params.code.ok_or(FlowError::MissingCode)?;
    let (tokens, info) = provider
        .finish_login(code, pending.pkce_verifier, &pending.nonce)
        .await?;
    let data = session_from(state, tokens, info, now_unix() + state.session_lifetime);
    let set = session::write(headers, state.policy, &state.key, &data)
        .map_err(|e| FlowError::Session(e.to_string()))?;
    ctx.set_cookies(set);
    tracing::info!(user = %crate::error::Escaped::str(&data.handle), orgs = data.orgs.len(), "signed in");
    Ok(Outcome::SignedIn(pending.target))
}

fn split_scopes(scopes: &[String]) -> (u32, Vec<String>) {
    let names: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let extra = scopes
        .iter()
        .filter(|s| index_of(s).is_none())
        .cloned()
        .collect();
    (mask_of(&names), extra)
}

/// Builds the session of a login or a refresh.
pub(crate) fn session_from(
    state: &AuthState,
    tokens: Tokens,
    info: UserInfo,
    session_ends_at: u64,
) -> SessionData {
    // Without a `scope` field the provider granted what was asked (RFC 6749 §5.1).
    let granted = tokens.granted_scopes.as_deref().unwrap_or(&state.scopes);
    let (scope_mask, extra_scopes) = split_scopes(granted);
    let expires_at = tokens
        .expires_in
        .map(|d| now_unix() + d.as_secs())
        .unwrap_or(session_ends_at)
        .min(session_ends_at);
    SessionData {
        orgs: info.orgs(),
        handle: info.preferred_username.unwrap_or_else(|| info.sub.clone()),
        sub: info.sub,
        name: info.name,
        avatar: info.picture,
        is_pro: info.is_pro,
        can_pay: info.can_pay,
        scope_mask,
        extra_scopes,
        access_token: tokens.access_token,
        expires_at,
        refresh_token: tokens.refresh_token,
        session_ends_at,
    }
}

pub(crate) fn mock_session(state: &AuthState, user: &MockUser) -> SessionData {
    let scopes = user.scopes.as_deref().unwrap_or(&state.scopes);
    let (scope_mask, extra_scopes) = split_scopes(scopes);
    let digest = Sha256::digest(format!("hf-auth mock user {}", user.handle));
    let sub: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    let ends = now_unix() + state.session_lifetime;
    SessionData {
        sub,
        handle: user.handle.clone(),
        name: Some(user.name.clone()),
        avatar: None,
        is_pro: Some(user.is_pro),
        can_pay: None,
        orgs: user.orgs.clone(),
        scope_mask,
        extra_scopes,
        access_token: "hf_oauth_mock_token_not_valid_on_the_hub".into(),
        expires_at: ends,
        refresh_token: None,
        session_ends_at: ends,
    }
}

async fn logout(ctx: Ctx, headers: HeaderMap, uri: Uri) -> Response {
    ctx.set_cookies(session::clear(&headers, ctx.0.policy));
    let target = safe_return_path(query_param(uri.query(), "_target_url").as_deref()).to_owned();
    redirect(&target)
}

fn error_page(state: &Arc<AuthState>, e: &FlowError) -> Response {
    tracing::warn!(code = e.code(), error = %e, "sign-in failed");
    let mut paragraphs = vec![pages::escape(e.user_message())];
    if let FlowError::Denied {
        description: Some(d),
        ..
    } = e
    {
        paragraphs.push(format!("Hugging Face said: {}", pages::escape(d)));
    }
    if let (FlowError::CookieLost, Some(direct)) = (e, &state.direct_url) {
        // A redirect cannot leave an iframe; a link opened in a new tab can, and there the
        // app's cookies are first-party.
        paragraphs.push(format!(
            "<a href=\"{}\" target=\"_blank\" rel=\"noopener\">Open the app in a new tab</a> and sign in there.",
            pages::escape(&format!("{direct}{}", state.routes.login))
        ));
    }
    let mut r = (
        e.status(),
        Html(pages::page(
            "Sign-in failed",
            &paragraphs,
            (&state.routes.login, "Try again"),
        )),
    )
        .into_response();
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
