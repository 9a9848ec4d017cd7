//! Renewing an expired access token with the session's refresh token, off the hot path.

use std::sync::Arc;

use axum::http::request::Parts;

use crate::{
    context, rejection::AuthRejection, session, session::SessionData, state::AuthState,
    state::Backend, user::HfUser,
};

/// The session after refreshing its expired access token, with its new cookies queued; "not
/// signed in" (and the cookies cleared) when there is no refresh token or the refresh fails.
pub(crate) async fn refreshed(parts: &Parts, expired: HfUser) -> Result<HfUser, AuthRejection> {
    // An owned handle on the state: the request's context is not held across the awaits.
    let state = context::of(parts)?.state.clone();
    let fresh = refresh(&state, &expired.0).await;
    let set = match &fresh {
        Some(fresh) => match session::write(&parts.headers, state.policy, &state.key, fresh) {
            Ok(set) => set,
            Err(e) => {
                tracing::warn!(error = %e, "could not store the refreshed session");
                Vec::new()
            }
        },
        None => session::clear(&parts.headers, state.policy),
    };
    context::of(parts)?.set_cookies(set);
    match fresh {
        Some(fresh) => Ok(HfUser(Arc::new(fresh))),
        None => Err(AuthRejection::not_signed_in(parts, &state)),
    }
}

async fn refresh(state: &AuthState, old: &SessionData) -> Option<SessionData> {
    let Backend::Real(provider) = &state.backend else {
        return None;
    };
    let refresh_token = old.refresh_token.as_deref()?;
    let tokens = match provider.refresh(refresh_token).await {
        Ok(t) => t,
        Err(e) => {
            tracing::info!(user = %old.handle, error = %e, "refreshing the access token failed; the session ends");
            return None;
        }
    };
    // Memberships and roles may have changed since the login.
    let info = match provider.userinfo(&tokens.access_token, &old.sub).await {
        Ok(info) => info,
        Err(e) => {
            tracing::info!(user = %old.handle, error = %e, "userinfo after refresh failed; the session ends");
            return None;
        }
    };
    // Without a `scope` field the scopes stay those the user granted (RFC 6749 section 6),
    // never those the app asks for: a user who unticked a scope does not get it back.
    let granted = match tokens.granted_scopes.as_deref() {
        Some(list) => hf_auth_scopes::ScopeSet::from_names(list.iter().map(String::as_str)),
        None => old.scopes.clone(),
    };
    let mut fresh = SessionData::from_tokens(tokens, granted, info, old.session_ends_at);
    if fresh.refresh_token.is_none() {
        fresh.refresh_token = old.refresh_token.clone();
    }
    tracing::debug!(user = %fresh.handle, "refreshed the access token");
    Some(fresh)
}
