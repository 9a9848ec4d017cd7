//! What a caller who may not pass gets: browsers a redirect to login or a 403 page, API clients
//! 401 / 403 JSON with `WWW-Authenticate`, as `shared/space-app.md` fixes.

use axum::{
    extract::OriginalUri,
    http::{
        header::{ACCEPT, CACHE_CONTROL, LOCATION, WWW_AUTHENTICATE},
        request::Parts,
        HeaderValue, StatusCode,
    },
    response::{Html, IntoResponse, Response},
    Json,
};
use hf_auth_scopes::Role;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::{pages, return_path::safe_return_path, state::AuthState};

/// Why a signed-in user may not call a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// These required scopes were not granted.
    MissingScopes(Vec<&'static str>),
    /// Not a member of the org, or the role is too low.
    Org {
        /// The org's handle.
        org: &'static str,
        /// The least role required, if any.
        role: Option<Role>,
    },
    /// The route is for PRO subscribers (`isPro`), and this user is not one (or Hugging Face
    /// did not say).
    NotPro,
    /// Not a member of the org named in the request's path (`#[require_org(param = ...)]`), or
    /// the role is too low.
    PathOrg {
        /// The org's handle, from the path.
        org: String,
        /// The least role required, if any.
        role: Option<Role>,
    },
    /// The route's requirement reads an org from a path parameter that the route does not have
    /// (a programming error): 500, whoever asks.
    NoPathParam {
        /// The parameter's name.
        param: &'static str,
    },
    /// The route needs a user who can pay (`canPay`, with a payment method on file), and this
    /// user cannot (or Hugging Face did not say).
    CannotPay,
}

impl Denial {
    /// One sentence that says what is missing.
    pub fn message(&self) -> String {
        match self {
            Denial::MissingScopes(s) => format!("missing scopes: {}", s.join(" ")),
            Denial::Org { org, role: None } => format!("requires membership of the org {org}"),
            Denial::Org {
                org,
                role: Some(role),
            } => format!("requires the role {role} or higher in the org {org}"),
            Denial::PathOrg { org, role: None } => format!("requires membership of the org {org}"),
            Denial::PathOrg {
                org,
                role: Some(role),
            } => format!("requires the role {role} or higher in the org {org}"),
            Denial::NoPathParam { param } => format!(
                "this route is misconfigured: its org comes from the path parameter {{{param}}}, which the route does not have"
            ),
            Denial::NotPro => "requires a Hugging Face PRO subscription".to_owned(),
            Denial::CannotPay => "requires a Hugging Face account with a payment method".to_owned(),
        }
    }
}

/// The answer to a request that may not pass a guard.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthRejection {
    /// No valid session: a browser is sent to the login route, an API client gets 401.
    NotSignedIn {
        /// Whether the caller is a browser (it accepts `text/html`).
        html: bool,
        /// The login route, carrying the path to come back to.
        login_url: String,
    },
    /// Signed in, but the requirement is not met: 403.
    Forbidden {
        /// Whether the caller is a browser.
        html: bool,
        /// What is missing.
        denial: Denial,
        /// The login route, to sign in again.
        login_url: String,
    },
    /// The guard ran on a router that `attach` was not called on (a programming error): 500.
    NotAttached,
}

fn wants_html(parts: &Parts) -> bool {
    parts
        .headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// The login route, carrying the path of this request to come back to. The path is the one
/// the browser asked for ([`OriginalUri`]), not what a `Router::nest` left of it.
pub(crate) fn login_url(parts: &Parts, state: &AuthState) -> String {
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let here = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    let target = safe_return_path(Some(here));
    format!(
        "{}?_target_url={}",
        state.routes.login,
        utf8_percent_encode(target, NON_ALPHANUMERIC)
    )
}

impl AuthRejection {
    pub(crate) fn not_signed_in(parts: &Parts, state: &AuthState) -> AuthRejection {
        AuthRejection::NotSignedIn {
            html: wants_html(parts),
            login_url: login_url(parts, state),
        }
    }

    pub(crate) fn denied(parts: &Parts, state: &AuthState, denial: Denial) -> AuthRejection {
        AuthRejection::Forbidden {
            html: wants_html(parts),
            denial,
            login_url: login_url(parts, state),
        }
    }
}

/// The 403 page's sentence for an org requirement.
fn org_detail(org: &str, role: Option<Role>) -> String {
    format!(
        "This page is for members of the Hugging Face organization <code>{}</code>{}. \
         If you joined it recently, or did not grant this app access to it, sign in again.",
        pages::escape(org),
        role.map(|r| format!(" with the role <code>{r}</code> or higher"))
            .unwrap_or_default()
    )
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let response = match self {
            AuthRejection::NotSignedIn {
                html: true,
                login_url,
            } => match HeaderValue::try_from(login_url) {
                Ok(location) => (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response(),
                Err(_) => StatusCode::UNAUTHORIZED.into_response(),
            },
            AuthRejection::NotSignedIn {
                html: false,
                login_url,
            } => (
                StatusCode::UNAUTHORIZED,
                [(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"hf-auth\", error=\"login_required\""),
                )],
                Json(serde_json::json!({
                    "error": "not signed in",
                    "login_url": login_url,
                })),
            )
                .into_response(),
            AuthRejection::Forbidden {
                html,
                denial,
                login_url,
            } => {
                let message = denial.message();
                if let Denial::NoPathParam { .. } = denial {
                    return no_store(
                        (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            Json(serde_json::json!({ "error": message })),
                        )
                            .into_response(),
                    );
                }
                if html {
                    let detail = match &denial {
                        Denial::MissingScopes(s) => format!(
                            "This page needs permissions you have not granted to this app: <code>{}</code>. \
                             Sign in again and grant them, or ask the app's owner to request them.",
                            pages::escape(&s.join(" "))
                        ),
                        // Answered with a 500 above.
                        Denial::NoPathParam { .. } => String::new(),
                        Denial::Org { org, role } => org_detail(org, *role),
                        Denial::PathOrg { org, role } => org_detail(org, *role),
                        Denial::NotPro => "This page is for Hugging Face PRO subscribers. \
                             If you subscribed recently, sign in again."
                            .to_owned(),
                        Denial::CannotPay => "This page needs a Hugging Face account that can pay: \
                             add a payment method in your Hugging Face billing settings, then sign in again."
                            .to_owned(),
                    };
                    (
                        StatusCode::FORBIDDEN,
                        Html(pages::page(
                            "You do not have access to this page",
                            &[detail],
                            (&login_url, "Sign in again"),
                        )),
                    )
                        .into_response()
                } else {
                    let mut body = serde_json::json!({ "error": message });
                    let mut challenge =
                        String::from("Bearer realm=\"hf-auth\", error=\"insufficient_scope\"");
                    match &denial {
                        Denial::MissingScopes(s) => {
                            body["missing_scopes"] = serde_json::json!(s);
                            challenge.push_str(&format!(", scope=\"{}\"", s.join(" ")));
                        }
                        Denial::Org { org, role } => {
                            body["org"] = serde_json::json!(org);
                            body["required_role"] = serde_json::json!(role.map(Role::as_str));
                        }
                        Denial::PathOrg { org, role } => {
                            body["org"] = serde_json::json!(org);
                            body["required_role"] = serde_json::json!(role.map(Role::as_str));
                        }
                        Denial::NoPathParam { .. } => {}
                        Denial::NotPro => body["requires"] = serde_json::json!("pro"),
                        Denial::CannotPay => body["requires"] = serde_json::json!("can_pay"),
                    }
                    let mut r = (StatusCode::FORBIDDEN, Json(body)).into_response();
                    if let Ok(v) = HeaderValue::try_from(challenge) {
                        r.headers_mut().insert(WWW_AUTHENTICATE, v);
                    }
                    r
                }
            }
            AuthRejection::NotAttached => {
                tracing::error!("an hf-auth guard ran on a router without hf-auth: call HfAuth::attach (or attach_huggingface_oauth) after adding your routes");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "hf-auth is not attached to this router",
                )
                    .into_response()
            }
        };
        no_store(response)
    }
}
