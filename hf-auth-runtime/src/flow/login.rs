//! `GET /oauth/huggingface/login`: starts a login (or, in mock mode, signs the mock user in).
//!
//! Query parameters, all optional and all attacker-controlled:
//! - `_target_url`: a same-site path to come back to (anything else is `/`);
//! - `scope`: scopes to ask for on top of the app's (space-separated). Only scopes among the
//!   app's configured scopes are kept; others are ignored (and logged), never reflected;
//! - `org`: an org's ID (`sub`) to pass to Hugging Face as `orgIds`; kept only if it looks like
//!   one (1 to 64 letters, digits, `-`, `_`);
//! - `grant=1`: a step-up login ("Grant access" on a 403 page): asks with `prompt=consent`, so
//!   the consent screen comes back; when the browser has a session, a decline returns to the
//!   page with that session intact, and a grant adds to the session's scopes;
//! - `_nb_redirects`: how many times a lost flow cookie restarted the login.

use std::sync::Arc;

use axum::{
    extract::{OriginalUri, Request, State},
    http::{header::CACHE_CONTROL, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Json, Response},
};
use hf_auth_scopes::{implied_by, ScopeSet};

use super::{
    error_page, misplaced,
    pending::{flow_cookie_name, random_state, PendingLogin, MAX_PENDING_LOGINS},
    query::query_param,
    redirect,
};
use crate::{
    cookies::cookie_names_with_prefix,
    error::Escaped,
    pages,
    provider::is_org_sub,
    rejection::wants_html,
    return_path::safe_return_path,
    session::{self, now_unix, SessionData},
    session_change::{SessionChange, SessionHook},
    state::{AuthState, Backend, SharedState},
    HfUser,
};

/// The longest `scope` parameter read; a longer one is ignored whole.
const MAX_SCOPE_PARAM: usize = 1024;

/// What a login asks for beyond the app's first login.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Ask {
    /// Scopes to add, each among the app's scopes.
    pub scopes: Vec<String>,
    /// An org's ID for `orgIds`.
    pub org: Option<String>,
    /// `grant=1`: a step-up login, with `prompt=consent`.
    pub grant: bool,
}

impl Ask {
    /// Reads and validates `scope`, `org` and `grant` against the app's scopes.
    pub fn parse(query: Option<&str>, app_scopes: &[String]) -> Ask {
        let app = ScopeSet::from_names(app_scopes.iter().map(String::as_str));
        let mut ask = Ask {
            grant: query_param(query, "grant").as_deref() == Some("1"),
            ..Ask::default()
        };
        if let Some(list) = query_param(query, "scope") {
            if list.len() > MAX_SCOPE_PARAM {
                tracing::info!(
                    len = list.len(),
                    "ignored an overlong scope parameter at login"
                );
            } else {
                for s in list.split_whitespace() {
                    // The app's own name for it: `read-repos` is asked for as `write-repos`
                    // when the app asks for that one only.
                    let own = app_scopes.iter().find(|a| a.as_str() == s).or_else(|| {
                        implied_by(s).and_then(|w| app_scopes.iter().find(|a| a.as_str() == w))
                    });
                    if let Some(own) = own.filter(|_| app.contains(s)) {
                        if !ask.scopes.contains(own) {
                            ask.scopes.push(own.clone());
                        }
                    } else {
                        tracing::info!(scope = %Escaped::str(s), "ignored a scope the app does not ask for at login");
                    }
                }
            }
        }
        if let Some(org) = query_param(query, "org") {
            if is_org_sub(&org) {
                ask.org = Some(org);
            } else {
                tracing::info!(org = %Escaped::str(&org), "ignored an org parameter that is not an org ID at login");
            }
        }
        ask
    }
}

/// The valid session this browser already has, if any.
pub(super) async fn current_session(
    state: &AuthState,
    headers: &HeaderMap,
) -> Option<std::sync::Arc<SessionData>> {
    let names = state.policy.session_names();
    #[cfg(feature = "redis")]
    if let Some(server) = &state.server_sessions {
        use crate::session::server_side::Found;
        let data = match server.find(&state.key, headers, names)? {
            Found::Cached(data) => data,
            Found::Load(id) => server.load(headers, names, &id).await.ok()?,
        };
        return Some(data).filter(|s| now_unix() < s.session_ends_at);
    }
    state
        .cache
        .decode(&state.key, headers, names)
        .filter(|s| now_unix() < s.session_ends_at)
}

/// The scopes a login asks for: the app's (in incremental mode: `openid profile` and what the
/// current session was granted), then those `ask` adds.
pub(super) fn scopes_to_ask(
    state: &AuthState,
    ask: &Ask,
    current: Option<&SessionData>,
) -> Vec<String> {
    let mut scopes: Vec<String> = if state.incremental {
        state
            .scopes
            .iter()
            .filter(|s| {
                s.as_str() == "openid"
                    || s.as_str() == "profile"
                    || current.is_some_and(|c| c.scopes.contains(s))
            })
            .cloned()
            .collect()
    } else {
        state.scopes.clone()
    };
    for s in &ask.scopes {
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    scopes
}

pub(super) async fn login(
    State(state): State<SharedState>,
    OriginalUri(uri): OriginalUri,
    request: Request,
) -> Response {
    if let Some(r) = misplaced(uri.path(), &state.routes.login, "login") {
        return r;
    }
    let (parts, _) = request.into_parts();
    let headers = &parts.headers;
    let query = uri.query();
    let target = safe_return_path(query_param(query, "_target_url").as_deref()).to_owned();
    let retries: u32 = query_param(query, "_nb_redirects")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
        .min(state.max_login_retries + 1);
    let ask = Ask::parse(query, &state.scopes);
    let current = if ask.grant || state.incremental {
        current_session(&state, headers).await
    } else {
        None
    };
    match &state.backend {
        Backend::Mock { user, opted_in } => {
            if !opted_in {
                if let Some(host) = crate::config::foreign_host(headers, &uri) {
                    return mock_for_this_machine_only(headers, host, &target);
                }
            }
            let mut data = SessionData::mock(user, &state.scopes, state.session_lifetime);
            // Mock mode's "Grant access": the mock user grants what the page asked for, and
            // keeps what it was granted before.
            if ask.grant {
                for s in &ask.scopes {
                    data.scopes.insert(s);
                }
                if let Some(c) = current.as_deref().filter(|c| c.sub == data.sub) {
                    data.scopes.extend(&c.scopes);
                }
            }
            match session::begin(&state, headers, &data).await {
                Ok(set) => {
                    tracing::info!(user = %user.handle, "signed in the mock user");
                    let change = SessionChange::SignedIn(HfUser(Arc::new(data)));
                    let hook = state.session_hook.as_ref();
                    SessionHook::run(hook, change, parts, redirect(&target, set)).await
                }
                Err(e) => error_page(&state, &e, Vec::new()),
            }
        }
        Backend::Real(provider) => {
            let random = random_state();
            let full_state = format!("{random}.{retries}");
            let scopes = scopes_to_ask(&state, &ask, current.as_deref());
            let mut extra = Vec::new();
            if ask.grant {
                extra.push(("prompt", "consent".to_owned()));
            }
            if let Some(org) = &ask.org {
                extra.push(("orgIds", org.clone()));
            }
            let (url, pkce_verifier, nonce) =
                provider.authorize_url_with(&scopes, full_state.clone(), &extra);
            let scopes = scopes.into_iter().filter(|s| s != "openid").collect();
            let pending = PendingLogin {
                state: full_state,
                pkce_verifier,
                nonce,
                target,
                created_at: now_unix(),
                used: false,
                step_up: ask.grant && current.is_some(),
                scopes,
            };
            let mut set = Vec::new();
            let older: Vec<&str> =
                cookie_names_with_prefix(headers, state.policy.flow_prefix()).collect();
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

/// 403: mock mode switched on by itself, and this login was addressed to `host`, not to this
/// machine (a LAN address, a tunnel, a rebound DNS name): nobody is signed in. `target` is the
/// safe return path, for the page's link back.
fn mock_for_this_machine_only(headers: &HeaderMap, host: &[u8], target: &str) -> Response {
    let host = Escaped::bytes(host).to_string();
    tracing::warn!(%host, "mock mode refused a login addressed to a host that is not loopback; set HF_AUTH_MOCK=1 to serve other machines");
    let mut r = if wants_html(headers) {
        let body = pages::page(
            "Mock mode serves only this machine",
            &[
                format!(
                    "This app is in mock mode, which signs every visitor in as a made-up user \
                     without Hugging Face. It switched on by itself, because no OAuth credentials \
                     are set, so it signs in only requests addressed to this machine \
                     (<code>localhost</code>, <code>127.0.0.1</code>, <code>[::1]</code>); this \
                     one was addressed to <code>{}</code>.",
                    pages::escape(&host)
                ),
                "To use mock mode from other machines (a container, a phone on your network, a \
                 tunnel), start the app with <code>HF_AUTH_MOCK=1</code>. To sign in with \
                 Hugging Face, set <code>OAUTH_CLIENT_ID</code> and \
                 <code>OAUTH_CLIENT_SECRET</code>."
                    .to_owned(),
            ],
            (target, "Back to the page"),
        );
        (StatusCode::FORBIDDEN, Html(body)).into_response()
    } else {
        (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({
                "error": "mock_mode_local_only",
                "message": "mock mode switched on by itself signs in only requests addressed to this machine (localhost, 127.0.0.1, [::1]); set HF_AUTH_MOCK=1 to use it from other machines",
                "host": host,
            })),
        )
            .into_response()
    };
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
