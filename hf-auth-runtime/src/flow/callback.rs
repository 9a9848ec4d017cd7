//! `GET /oauth/huggingface/callback`: finishes a login. Every way it can fail gives a 4xx
//! page and no session.

use axum::{
    extract::{OriginalUri, Request, State},
    http::{HeaderMap, HeaderValue},
    response::Response,
};
use hf_auth_scopes::ScopeSet;
use subtle::ConstantTimeEq;

use super::{
    error_page, misplaced,
    pending::{flow_cookie_name, PendingLogin, FLOW_LIFETIME, STATE_RANDOM_LEN},
    query::CallbackParams,
    redirect,
};
use crate::{
    cookies::{cookie_names_with_prefix, find_cookie},
    error::FlowError,
    session::{self, now_unix, SessionData},
    session_change::{SessionChange, SessionHook},
    state::{AuthState, Backend, SharedState},
    HfUser,
};

enum Outcome {
    /// Back to the page; with the session that began, unless a declined step-up kept the
    /// session the browser had.
    SignedIn(String, Option<Box<SessionData>>),
    Retry(String),
}

pub(super) async fn callback(
    State(state): State<SharedState>,
    OriginalUri(uri): OriginalUri,
    request: Request,
) -> Response {
    if let Some(r) = misplaced(uri.path(), &state.routes.callback, "callback") {
        return r;
    }
    let (parts, _) = request.into_parts();
    let mut set = Vec::new();
    match finish(&state, &parts.headers, uri.query(), &mut set).await {
        Ok(Outcome::SignedIn(target, Some(data))) => {
            let change = SessionChange::SignedIn(HfUser(std::sync::Arc::new(*data)));
            let hook = state.session_hook.as_ref();
            SessionHook::run(hook, change, parts, redirect(&target, set)).await
        }
        Ok(Outcome::SignedIn(target, None)) => redirect(&target, set),
        Ok(Outcome::Retry(url)) => redirect(&url, set),
        Err(e) => error_page(&state, &e, set),
    }
}

async fn finish(
    state: &AuthState,
    headers: &HeaderMap,
    query: Option<&str>,
    set: &mut Vec<HeaderValue>,
) -> Result<Outcome, FlowError> {
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
    let name = flow_cookie_name(state.policy.flow_prefix(), random);
    let Some(cookie) = find_cookie(headers, &name) else {
        if params.error.is_some() {
            return Err(denied(&params));
        }
        let others = cookie_names_with_prefix(headers, state.policy.flow_prefix())
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
    let pending = PendingLogin::open(state, &name, cookie).ok_or(FlowError::StateMismatch)?;
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
    set.push(PendingLogin::tombstone(pending.created_at).cookie(state, name));
    if params.error.is_some() {
        // A declined step-up: back to the page, with the session the user had (which answers
        // the same 403 again, and offers the same button: no redirect loop).
        if pending.step_up && params.error.as_deref() == Some("access_denied") {
            tracing::info!("a step-up login was declined; back to the page, session kept");
            return Ok(Outcome::SignedIn(pending.target, None));
        }
        return Err(denied(&params));
    }
    let code = params.code.ok_or(FlowError::MissingCode)?;
    let (tokens, info) = provider
        .finish_login(code, pending.pkce_verifier, &pending.nonce)
        .await?;
    // Without a `scope` field the provider granted what was asked (RFC 6749 section 5.1).
    let mut granted = match tokens.granted_scopes.as_deref() {
        Some(list) => ScopeSet::from_names(list.iter().map(String::as_str)),
        // (A login sealed before the asked scopes were kept: the app's.)
        None if pending.scopes.is_empty() => {
            ScopeSet::from_names(state.scopes.iter().map(String::as_str))
        }
        None => ScopeSet::from_names(
            std::iter::once("openid").chain(pending.scopes.iter().map(String::as_str)),
        ),
    };
    // A step-up adds to what the same user was granted before.
    if pending.step_up {
        if let Some(before) = super::login::current_session(state, headers).await {
            if before.sub == info.sub {
                granted.extend(&before.scopes);
            }
        }
    }
    let data = SessionData::from_tokens(tokens, granted, info, now_unix() + state.session_lifetime);
    set.extend(session::begin(state, headers, &data).await?);
    tracing::info!(user = %crate::error::Escaped::str(&data.handle), orgs = data.orgs.len(), "signed in");
    Ok(Outcome::SignedIn(pending.target, Some(Box::new(data))))
}
