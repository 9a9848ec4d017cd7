//! `GET /oauth/huggingface/login`: starts a login (or, in mock mode, signs the mock user in).

use axum::{
    extract::{OriginalUri, State},
    http::HeaderMap,
    response::Response,
};

use super::{
    error_page, misplaced,
    pending::{flow_cookie_name, random_state, PendingLogin, MAX_PENDING_LOGINS},
    query::query_param,
    redirect,
};
use crate::{
    cookies::cookie_names_with_prefix,
    return_path::safe_return_path,
    session::{self, now_unix, SessionData},
    state::{Backend, SharedState},
};

pub(super) async fn login(
    State(state): State<SharedState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = misplaced(uri.path(), &state.routes.login, "login") {
        return r;
    }
    let query = uri.query();
    let target = safe_return_path(query_param(query, "_target_url").as_deref()).to_owned();
    let retries: u32 = query_param(query, "_nb_redirects")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
        .min(state.max_login_retries + 1);
    match &state.backend {
        Backend::Mock(user) => {
            let data = SessionData::mock(user, &state.scopes, state.session_lifetime);
            match session::begin(&state, &headers, &data).await {
                Ok(set) => {
                    tracing::info!(user = %user.handle, "signed in the mock user");
                    redirect(&target, set)
                }
                Err(e) => error_page(&state, &e, Vec::new()),
            }
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
            let mut set = Vec::new();
            let older: Vec<&str> =
                cookie_names_with_prefix(&headers, state.policy.flow_prefix()).collect();
            if older.len() >= MAX_PENDING_LOGINS {
                set.extend(
                    older
                        .into_iter()
                        .map(|old| state.policy.removal_header(old.to_owned())),
                );
            }
            set.push(pending.cookie(
                &state,
                flow_cookie_name(state.policy.flow_prefix(), &random),
            ));
            redirect(url.as_str(), set)
        }
    }
}
