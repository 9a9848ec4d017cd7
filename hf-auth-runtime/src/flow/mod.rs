//! The login, callback and logout routes ([`HfAuth::routes`](crate::HfAuth::routes)).
//!
//! A pending login lives in a short-lived encrypted "flow cookie" named after its `state`
//! ([`pending`]), so several tabs can log in at once and nothing is stored in the server. The
//! routes take the configuration as axum state, so they work wherever they are merged or
//! nested, with or without [`HfAuthLayer`](crate::HfAuthLayer) in front of them; each sets its
//! cookies on its own response.

mod callback;
mod login;
mod logout;
mod pending;
pub(crate) mod query;

use axum::{
    http::{
        header::{CACHE_CONTROL, LOCATION},
        HeaderValue, StatusCode,
    },
    response::{Html, IntoResponse, Response},
    routing::{any, get},
    Router,
};

use crate::{cookies, error::FlowError, pages, state::SharedState};

/// The flow's routes at `{base}/oauth/huggingface/...`, as a router of any state.
pub(crate) fn router<S>(state: SharedState, base: &str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(&format!("{base}{}", crate::state::LOGIN), get(login::login))
        // GET only: a HEAD (which axum otherwise answers with the GET handler) must not
        // spend a login.
        .route(
            &format!("{base}{}", crate::state::CALLBACK),
            get(callback::callback).head(|| async { method_not_allowed("GET") }),
        )
        // Every method reaches the handler, which alone decides which ones end a session.
        .route(
            &format!("{base}{}", crate::state::LOGOUT),
            any(logout::logout),
        )
        .with_state(state)
}

/// `None` when the request reached the route at the public path the configuration says; else
/// the 500 to answer (a router nested elsewhere than `route_prefix` would send browsers to
/// links that do not exist).
fn misplaced(req_path: &str, configured: &str, what: &str) -> Option<Response> {
    if req_path == configured {
        return None;
    }
    tracing::error!(
        reached = %req_path,
        configured = %configured,
        "hf-auth's {what} route was reached at another path than the configuration says: \
         set `route_prefix` to where `HfAuth::routes()` is nested (or merge it at the root)"
    );
    Some(
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "hf-auth is misconfigured: see the server log",
        )
            .into_response(),
    )
}

/// A `405 Method Not Allowed` that lists the methods the route answers (`Allow`).
fn method_not_allowed(allow: &'static str) -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(axum::http::header::ALLOW, HeaderValue::from_static(allow))],
    )
        .into_response()
}

/// A `303 See Other` to `location`, with the cookies to set.
fn redirect(location: &str, set_cookies: Vec<HeaderValue>) -> Response {
    let location = HeaderValue::try_from(location).unwrap_or(HeaderValue::from_static("/"));
    let mut r = (
        StatusCode::SEE_OTHER,
        [
            (LOCATION, location),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response();
    cookies::append(r.headers_mut(), set_cookies);
    r
}

fn error_page(state: &SharedState, e: &FlowError, set_cookies: Vec<HeaderValue>) -> Response {
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
    if e.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            HeaderValue::from_static("5"),
        );
    }
    cookies::append(r.headers_mut(), set_cookies);
    r
}
