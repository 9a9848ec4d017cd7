//! `GET /oauth/huggingface/logout`: ends the session and goes back to a same-site page.
//!
//! Another site cannot sign a user out without a click: a logout that a page of another site
//! started (`Sec-Fetch-Site: cross-site` or `same-site`) shows a button instead, which posts
//! back to this route from the app's own page. Same-origin and typed navigations (`none`), and
//! clients that send no fetch metadata, log out at once. A `POST` logs out only when it passes
//! the cross-site check. Every other method, `HEAD` included (a link checker or a prefetch
//! asks with it, and its answer could not show the confirmation), is a 405 that ends nothing.

use axum::{
    extract::{OriginalUri, Request, State},
    http::{HeaderMap, Method, StatusCode},
    response::{Html, IntoResponse, Response},
};

use super::{method_not_allowed, misplaced, query::query_param, redirect};
use crate::{
    cross_site, pages,
    return_path::safe_return_path,
    session,
    session_change::{SessionChange, SessionHook},
    state::SharedState,
    HfUser,
};

pub(super) async fn logout(
    State(state): State<SharedState>,
    OriginalUri(uri): OriginalUri,
    request: Request,
) -> Response {
    if let Some(r) = misplaced(uri.path(), &state.routes.logout, "logout") {
        return r;
    }
    let (parts, _) = request.into_parts();
    let (method, headers) = (&parts.method, &parts.headers);
    let target = safe_return_path(query_param(uri.query(), "_target_url").as_deref()).to_owned();
    match *method {
        Method::GET if started_by_another_site(headers) => return confirm(&state, &target),
        Method::GET => {}
        // The confirmation posts from the app's own page; any other site's post is refused.
        Method::POST => {
            if let Err(reason) = cross_site::check(method, headers, &state.trusted_origins) {
                tracing::info!(%reason, "refused a cross-site logout");
                return (
                    StatusCode::FORBIDDEN,
                    format!(
                        "cross-site logout refused: {reason}. {}",
                        cross_site::TRUSTED_ORIGINS_HINT
                    ),
                )
                    .into_response();
            }
        }
        _ => return method_not_allowed("GET, POST"),
    }
    // Who is signing out, for the app's hook only: reading it costs a decryption (or a store
    // read) that a logout without a hook does not need.
    let user = match &state.session_hook {
        Some(_) => super::login::current_session(&state, headers).await,
        None => None,
    };
    #[cfg(feature = "redis")]
    if let Some(server) = &state.server_sessions {
        // Ended in the store first, so that a copy of the cookie is refused everywhere; if the
        // store cannot be reached the cookie is kept, so that trying again can still end it.
        if let Err(e) = server
            .end(&state.key, headers, state.policy.session_names())
            .await
        {
            tracing::warn!(error = %e, "could not end the session in the session store");
            return store_unavailable(&state, &target);
        }
    }
    session::end::logged_out(&state, headers);
    let response = redirect(&target, session::clear(headers, state.policy));
    let change = SessionChange::SignedOut(user.map(HfUser));
    SessionHook::run(state.session_hook.as_ref(), change, parts, response).await
}

/// 503: the session could not be ended in the store; the browser keeps its cookie.
#[cfg(feature = "redis")]
fn store_unavailable(state: &SharedState, target: &str) -> Response {
    let again = logout_url(state, target);
    let body = pages::page(
        "Not signed out yet",
        &["This app could not reach its session store to end your session, so you are still signed in. Please try again in a moment.".to_owned()],
        (&again, "Try again"),
    );
    let mut r = (StatusCode::SERVICE_UNAVAILABLE, Html(body)).into_response();
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("5"),
    );
    r
}

/// Whether the browser says a page of another site (or of a sibling subdomain) started this
/// navigation.
fn started_by_another_site(headers: &HeaderMap) -> bool {
    headers.get("sec-fetch-site").is_some_and(|v| {
        v.as_bytes().eq_ignore_ascii_case(b"cross-site")
            || v.as_bytes().eq_ignore_ascii_case(b"same-site")
    })
}

/// This route, returning to `target` afterwards.
fn logout_url(state: &SharedState, target: &str) -> String {
    format!(
        "{}?_target_url={}",
        state.routes.logout,
        percent_encoding::utf8_percent_encode(target, percent_encoding::NON_ALPHANUMERIC)
    )
}

/// A page with a button that signs out: one click, from the app's own origin.
fn confirm(state: &SharedState, target: &str) -> Response {
    let action = logout_url(state, target);
    let body = pages::page(
        "Sign out?",
        &[format!(
            "Another site sent you here to sign out of this app. \
             <form method=\"post\" action=\"{}\"><button class=\"button\" type=\"submit\">Sign out</button></form>",
            pages::escape(&action)
        )],
        ("/", "Stay signed in"),
    );
    let mut r = (StatusCode::OK, Html(body)).into_response();
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}
