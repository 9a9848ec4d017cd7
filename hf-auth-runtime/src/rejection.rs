//! What a caller who may not pass gets: browsers a redirect to login or a 403 page, API clients
//! 401 / 403 JSON with `WWW-Authenticate`, as `shared/space-app.md` fixes.

use axum::{
    extract::OriginalUri,
    http::{
        header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE},
        request::Parts,
        HeaderMap, HeaderValue, StatusCode,
    },
    response::{Html, IntoResponse, Response},
    Json,
};
use hf_auth_scopes::Role;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use hf_auth_scopes::ScopeSet;

use crate::{
    bearer::{self, BadAuthorization, BearerError},
    cross_site::{CrossSiteRefusal, TRUSTED_ORIGINS_HINT},
    pages,
    return_path::safe_return_path,
    state::{AuthState, Backend},
    user::HfUser,
};

/// Why a signed-in user may not call a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
        /// The login route, carrying the path to come back to: a path for a browser's redirect,
        /// an absolute URL (on the configured public URL) for an API client, which may be on
        /// another origin.
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
        /// A login that asks the user to grant what is missing ("Grant access"), when the app
        /// may ask for it; `None` when granting cannot help (a scope the app never asks for, a
        /// role too low, a bearer token).
        grant: Option<Grant>,
        /// Whether the caller sent a bearer token: only then does a denial other than a
        /// missing scope carry `WWW-Authenticate: Bearer error="insufficient_scope"` (an org
        /// role, PRO or billing is not a scope of a session).
        bearer: bool,
        /// Whether the app runs in mock mode: the page then says how to configure the mock
        /// user (`HF_AUTH_MOCK_ORGS`) instead of "sign in again".
        mock: bool,
    },
    /// The guard ran on a router that `attach` was not called on (a programming error): 500.
    NotAttached,
    /// A cookie-authenticated request with an unsafe method (POST, PUT, DELETE, ...) came from
    /// another site (cross-site request forgery): 403, naming the reason.
    CrossSite {
        /// Whether the caller is a browser.
        html: bool,
        /// What gave it away.
        reason: CrossSiteRefusal,
    },
    /// An API client's `Authorization` header or Hugging Face token gives no user: 400 or 401
    /// with `WWW-Authenticate: Bearer ...` (RFC 6750); never a redirect.
    Token(TokenRejection),
    /// The user could not be checked now (Hugging Face rate-limited or failed the token check,
    /// or a session's refresh failed transiently): 503 with `Retry-After`. Nothing is admitted
    /// and nothing is ended.
    Unavailable {
        /// Whether the caller is a browser (a short "try again" page instead of JSON).
        html: bool,
        /// When to try again.
        retry_after: std::time::Duration,
    },
}

/// A step-up login offered on a 403 ("Grant access"): the login route asking, with
/// `prompt=consent`, for the scopes or the org the route needs, and coming back to the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The login URL (`{login}?_target_url=/page&grant=1&scope=...&org=...`).
    pub url: String,
    /// What it asks for.
    pub asks: GrantAsks,
}

/// What a [`Grant`] asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantAsks {
    /// These scopes (all among the app's).
    Scopes(Vec<&'static str>),
    /// Access to an org, named to Hugging Face by its ID (`orgIds`).
    Org,
    /// Access to an org whose ID is not known (the session predates it, or Hugging Face did
    /// not send it): the consent screen comes back, and the user picks the org there.
    OrgUnnamed,
}

/// Why a request's bearer token gives no user (see [`AuthRejection::Token`]).
#[derive(Debug)]
pub struct TokenRejection(pub(crate) TokenProblem);

#[derive(Debug)]
pub(crate) enum TokenProblem {
    /// The `Authorization` header cannot be read.
    Header(BadAuthorization),
    /// Hugging Face does not know the token, or it is of a kind hf-auth refuses.
    Token(BearerError),
    /// The route accepts browser sessions only.
    NotAccepted,
    /// The route accepts tokens only, and the request has none.
    Missing,
    /// A valid token without these required scopes.
    InsufficientScope(Vec<&'static str>),
}

/// Whether the caller is a browser loading a page (it gets a redirect or an HTML page) rather
/// than an API call (it gets JSON). Fetch metadata decide first: `Sec-Fetch-Mode: navigate`, or
/// `Sec-Fetch-Dest` `document`, `iframe` or `frame`, is a page; the modes `cors`, `no-cors`,
/// `same-origin` and `websocket` are API calls (a `fetch()` cannot follow a redirect to the
/// provider's login page). Without them, `Accept` decides: HTML (`text/html`,
/// `application/xhtml+xml`) must be acceptable (q > 0) and preferred strictly over JSON
/// (`application/json`, `*/*+json`); wildcards alone (`*/*`) are not HTML. Allocates nothing.
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    let token = |name: &str| {
        headers
            .get(name)
            .map(|v| v.as_bytes().trim_ascii())
            .filter(|v| !v.is_empty())
    };
    let is = |v: &[u8], names: &[&str]| names.iter().any(|n| v.eq_ignore_ascii_case(n.as_bytes()));
    let mode = token("sec-fetch-mode");
    let dest = token("sec-fetch-dest");
    if mode.is_some_and(|m| is(m, &["navigate", "nested-navigate"]))
        || dest.is_some_and(|d| is(d, &["document", "iframe", "frame"]))
    {
        return true;
    }
    if mode.is_some_and(|m| is(m, &["cors", "no-cors", "same-origin", "websocket"])) {
        return false;
    }
    let (mut html, mut json) = (0u16, 0u16);
    for value in headers.get_all(ACCEPT) {
        for range in value.as_bytes().split(|&b| b == b',') {
            let mut parts = range.split(|&b| b == b';');
            let media = parts.next().unwrap_or_default().trim_ascii();
            let mut q = 1000;
            for param in parts {
                let mut kv = param.splitn(2, |&b| b == b'=');
                let key = kv.next().unwrap_or_default().trim_ascii();
                if key.eq_ignore_ascii_case(b"q") {
                    q = kv.next().and_then(qvalue).unwrap_or(0);
                }
            }
            if is(media, &["text/html", "application/xhtml+xml"]) {
                html = html.max(q);
            } else if is(media, &["application/json"])
                || (media.len() > 5 && media[media.len() - 5..].eq_ignore_ascii_case(b"+json"))
            {
                json = json.max(q);
            }
        }
    }
    html > 0 && html > json
}

/// An HTTP quality value (`0`, `0.5`, `1.000`) in thousandths; `None` if malformed.
fn qvalue(v: &[u8]) -> Option<u16> {
    let v = v.trim_ascii();
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    for i in 0..3 {
        thousandths = thousandths * 10 + frac.get(i).map_or(0, |d| u16::from(d - b'0'));
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
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
    /// For a caller that is not signed in, a login link that also asks for `scopes`: what a
    /// guard answers in incremental consent mode, so that the first consent already covers the
    /// route (`{login}?_target_url=/page&scope=write-repos`). The login route keeps only scopes
    /// among the app's. Any other rejection is returned unchanged.
    ///
    /// ```
    /// use hf_auth_runtime::AuthRejection;
    /// # fn f(r: AuthRejection) -> AuthRejection {
    /// r.with_login_scopes(&["read-repos", "write-repos"])
    /// # }
    /// ```
    pub fn with_login_scopes(self, scopes: &[&str]) -> AuthRejection {
        match self {
            AuthRejection::NotSignedIn { html, login_url } if !scopes.is_empty() => {
                // The scopes given last replace any the link already names (a guard in
                // incremental mode names the route's).
                let base = login_url.split("&scope=").next().unwrap_or(&login_url);
                AuthRejection::NotSignedIn {
                    html,
                    login_url: format!(
                        "{base}&scope={}",
                        utf8_percent_encode(&scopes.join(" "), NON_ALPHANUMERIC)
                    ),
                }
            }
            other => other,
        }
    }

    pub(crate) fn token(problem: TokenProblem) -> AuthRejection {
        AuthRejection::Token(TokenRejection(problem))
    }

    pub(crate) fn unavailable(parts: &Parts, retry_after: std::time::Duration) -> AuthRejection {
        AuthRejection::Unavailable {
            html: wants_html(&parts.headers) && !parts.headers.contains_key(AUTHORIZATION),
            retry_after,
        }
    }

    pub(crate) fn cross_site(parts: &Parts, reason: CrossSiteRefusal) -> AuthRejection {
        AuthRejection::CrossSite {
            html: wants_html(&parts.headers),
            reason,
        }
    }

    pub(crate) fn not_signed_in(parts: &Parts, state: &AuthState) -> AuthRejection {
        let html = wants_html(&parts.headers);
        let login_url = login_url(parts, state);
        AuthRejection::NotSignedIn {
            html,
            // An API client may be a page on another origin (CORS), where a path would resolve
            // against that origin: it gets the URL on the app's public URL.
            login_url: match html {
                true => login_url,
                false => format!("{}{login_url}", state.public_base),
            },
        }
    }

    /// A 403 for `user`, who was refused for `denial`.
    pub(crate) fn denied(
        parts: &Parts,
        state: &AuthState,
        user: &HfUser,
        denial: Denial,
    ) -> AuthRejection {
        let token = parts.headers.contains_key(AUTHORIZATION);
        if let (true, Denial::MissingScopes(missing)) = (token, &denial) {
            return AuthRejection::token(TokenProblem::InsufficientScope(missing.clone()));
        }
        let login_url = login_url(parts, state);
        AuthRejection::Forbidden {
            bearer: token,
            mock: matches!(state.backend, Backend::Mock { .. }),
            html: wants_html(&parts.headers) && !token,
            grant: if token {
                None
            } else {
                grant_for(state, user, &denial, &login_url)
            },
            denial,
            login_url,
        }
    }
}

/// The step-up login that could lift `denial`, if any. Off the hot path: only for a 403.
#[cold]
fn grant_for(state: &AuthState, user: &HfUser, denial: &Denial, login_url: &str) -> Option<Grant> {
    let app = ScopeSet::from_names(state.scopes.iter().map(String::as_str));
    let org = match denial {
        Denial::MissingScopes(missing) => {
            // A scope the app never asks for cannot be granted: the Space must ask for it.
            if missing.is_empty() || !missing.iter().all(|s| app.contains(s)) {
                return None;
            }
            let scopes = missing.join(" ");
            return Some(Grant {
                url: format!(
                    "{login_url}&grant=1&scope={}",
                    utf8_percent_encode(&scopes, NON_ALPHANUMERIC)
                ),
                asks: GrantAsks::Scopes(missing.clone()),
            });
        }
        Denial::Org { org, .. } => *org,
        Denial::PathOrg { org, .. } => org.as_str(),
        Denial::NotPro | Denial::CannotPay | Denial::NoPathParam { .. } => return None,
    };
    // The mock user's orgs are configured, not granted.
    if matches!(state.backend, Backend::Mock { .. }) {
        return None;
    }
    match user.org(org) {
        // Granted, and the role is too low: consent cannot raise it.
        Some(o) if o.role.is_some() => None,
        // Listed without a role: a member who did not grant the app this org.
        Some(o) => Some(match &o.sub {
            Some(sub) => Grant {
                url: format!(
                    "{login_url}&grant=1&org={}",
                    utf8_percent_encode(sub, NON_ALPHANUMERIC)
                ),
                asks: GrantAsks::Org,
            },
            None => Grant {
                url: format!("{login_url}&grant=1"),
                asks: GrantAsks::OrgUnnamed,
            },
        }),
        // Not listed: userinfo lists every membership, granted or not (only `roleInOrg` and
        // the other details need the grant), so this user is not a member.
        None => None,
    }
}

/// The 403 page's sentence for an org requirement. In mock mode, signing in again gives the
/// same configured user: the page says how to configure it instead.
fn org_detail(org: &str, role: Option<Role>, mock: bool) -> String {
    let how = if mock {
        format!(
            "This app runs in mock mode, where the mock user's orgs are configured, not granted: \
             start it with <code>HF_AUTH_MOCK_ORGS={}{}</code> (comma-separated \
             <code>org:role</code>), or use <code>MockUser::org</code> in tests.",
            pages::escape(org),
            role.map(|r| format!(":{r}")).unwrap_or_default()
        )
    } else {
        "If you joined it recently, or did not grant this app access to it, sign in again."
            .to_owned()
    };
    format!(
        "This page is for members of the Hugging Face organization <code>{}</code>{}. {how}",
        pages::escape(org),
        role.map(|r| format!(" with the role <code>{r}</code> or higher"))
            .unwrap_or_default()
    )
}

/// The 403 page's sentences when a "Grant access" login can lift the denial.
fn grant_detail(denial: &Denial, grant: &Grant) -> Vec<String> {
    let what = match (&grant.asks, denial) {
        (GrantAsks::Scopes(s), _) => format!(
            "This page needs permissions you have not granted to this app: <code>{}</code>.",
            pages::escape(&s.join(" "))
        ),
        (_, Denial::Org { org, role }) => org_need(org, *role),
        (_, Denial::PathOrg { org, role }) => org_need(org, *role),
        _ => String::new(),
    };
    let how = match grant.asks {
        GrantAsks::Scopes(_) | GrantAsks::Org => {
            "Grant access on Hugging Face's consent screen; you come back to this page afterwards."
        }
        GrantAsks::OrgUnnamed => {
            "Grant access: Hugging Face's consent screen comes back, and there you tick this \
             organization (this app does not know its ID, so it cannot preselect it); you come \
             back to this page afterwards."
        }
    };
    vec![what, how.to_owned()]
}

/// The sentence of an org the user has not granted the app.
fn org_need(org: &str, role: Option<Role>) -> String {
    format!(
        "This page is for members of the Hugging Face organization <code>{}</code>{}, \
         and you have not granted this app access to it.",
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
                    // RFC 6750 3.1: a request without credentials gets no error code (the
                    // only codes are invalid_request, invalid_token and insufficient_scope).
                    HeaderValue::from_static("Bearer realm=\"hf-auth\""),
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
                grant,
                bearer,
                mock,
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
                    if let Some(grant) = &grant {
                        return no_store(
                            (
                                StatusCode::FORBIDDEN,
                                Html(pages::page(
                                    "You do not have access to this page",
                                    &grant_detail(&denial, grant),
                                    (&grant.url, "Grant access"),
                                )),
                            )
                                .into_response(),
                        );
                    }
                    let detail = match &denial {
                        Denial::MissingScopes(s) => format!(
                            "This page needs permissions this app does not ask for: <code>{}</code>. \
                             Signing in again cannot grant them: the app's owner must add them to the \
                             Space's <code>hf_oauth_scopes</code> (the app's <code>OAUTH_SCOPES</code>).",
                            pages::escape(&s.join(" "))
                        ),
                        // Answered with a 500 above.
                        Denial::NoPathParam { .. } => String::new(),
                        Denial::Org { org, role } => org_detail(org, *role, mock),
                        Denial::PathOrg { org, role } => org_detail(org, *role, mock),
                        Denial::NotPro => "This page is for Hugging Face PRO subscribers. \
                             If you subscribed recently, sign in again."
                            .to_owned(),
                        Denial::CannotPay => "This page needs a Hugging Face account that can pay: \
                             add a payment method in your Hugging Face billing settings, then sign in again."
                            .to_owned(),
                    };
                    // Signing in again in mock mode gives the same configured orgs.
                    let action = match (&denial, mock) {
                        (Denial::Org { .. } | Denial::PathOrg { .. }, true) => {
                            ("/", "Go to the app")
                        }
                        _ => (login_url.as_str(), "Sign in again"),
                    };
                    (
                        StatusCode::FORBIDDEN,
                        Html(pages::page(
                            "You do not have access to this page",
                            &[detail],
                            action,
                        )),
                    )
                        .into_response()
                } else {
                    let mut body = serde_json::json!({ "error": message });
                    if let Some(grant) = &grant {
                        body["grant_url"] = serde_json::json!(grant.url);
                    }
                    // A missing scope is one (RFC 6750 insufficient_scope), whatever the
                    // credentials; anything else is for a bearer token only: a session that
                    // lacks an org role, PRO or billing is not short of a scope, and a 403 needs
                    // no challenge.
                    let mut challenge = (bearer || matches!(denial, Denial::MissingScopes(_)))
                        .then(|| {
                            String::from("Bearer realm=\"hf-auth\", error=\"insufficient_scope\"")
                        });
                    match &denial {
                        Denial::MissingScopes(s) => {
                            body["missing_scopes"] = serde_json::json!(s);
                            if let Some(c) = &mut challenge {
                                c.push_str(&format!(", scope=\"{}\"", s.join(" ")));
                            }
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
                    if let Some(Ok(v)) = challenge.map(HeaderValue::try_from) {
                        r.headers_mut().insert(WWW_AUTHENTICATE, v);
                    }
                    r
                }
            }
            AuthRejection::CrossSite { html, reason } => {
                tracing::info!(%reason, "refused a cross-site request");
                if html {
                    (
                        StatusCode::FORBIDDEN,
                        Html(pages::page(
                            "Request refused",
                            &[
                                format!(
                                    "This request came from another site, so it was not sent on your behalf: {}.",
                                    pages::escape(&reason.to_string())
                                ),
                                pages::escape(TRUSTED_ORIGINS_HINT),
                            ],
                            ("/", "Go to the app"),
                        )),
                    )
                        .into_response()
                } else {
                    (
                        StatusCode::FORBIDDEN,
                        Json(serde_json::json!({
                            "error": "cross_site_request",
                            "error_description": format!("{reason}. {TRUSTED_ORIGINS_HINT}"),
                        })),
                    )
                        .into_response()
                }
            }
            AuthRejection::Token(TokenRejection(problem)) => match problem {
                TokenProblem::Header(bad) => bearer::bad_authorization_response(&bad),
                TokenProblem::Token(e) => bearer::error_response(&e),
                TokenProblem::NotAccepted => bearer::error_response(&BearerError::Refused {
                    why: "this route accepts browser sessions only, not access tokens",
                }),
                TokenProblem::Missing => bearer::missing_token_response(),
                TokenProblem::InsufficientScope(missing) => {
                    bearer::insufficient_scope_response(missing)
                }
            },
            AuthRejection::Unavailable { html, retry_after } => {
                let secs = retry_after.as_secs().max(1);
                let mut r = if html {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Html(pages::page(
                            "Please try again",
                            &[format!(
                                "Hugging Face could not be reached to check your sign-in. \
                                 Your session is kept: try again in {secs} seconds."
                            )],
                            ("", "Try again"),
                        )),
                    )
                        .into_response()
                } else {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(serde_json::json!({
                            "error": "temporarily_unavailable",
                            "error_description": "Hugging Face cannot be reached to check the credentials; retry later",
                            "retry_after": secs,
                        })),
                    )
                        .into_response()
                };
                r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
                r
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_pages_say_what_and_how() {
        let org = Denial::Org {
            org: "acme",
            role: Some(Role::Admin),
        };
        let unnamed = grant_detail(
            &org,
            &Grant {
                url: "/login".into(),
                asks: GrantAsks::OrgUnnamed,
            },
        );
        assert!(unnamed[0].contains("<code>acme</code> with the role <code>admin</code>"));
        assert!(unnamed[1].contains("cannot preselect it"), "{unnamed:?}");
        let named = grant_detail(
            &org,
            &Grant {
                url: "/login".into(),
                asks: GrantAsks::Org,
            },
        );
        assert!(!named[1].contains("preselect"), "{named:?}");
        let path_org = Denial::PathOrg {
            org: "<b>x</b>".into(),
            role: None,
        };
        let escaped = grant_detail(
            &path_org,
            &Grant {
                url: "/login".into(),
                asks: GrantAsks::Org,
            },
        );
        assert!(escaped[0].contains("&lt;b&gt;x&lt;/b&gt;"), "{escaped:?}");
    }

    fn forbidden(denial: Denial, html: bool, bearer: bool, mock: bool) -> Response {
        AuthRejection::Forbidden {
            html,
            denial,
            login_url: "/oauth/huggingface/login?_target_url=%2Facme".into(),
            grant: None,
            bearer,
            mock,
        }
        .into_response()
    }

    fn challenge(r: &Response) -> Option<&str> {
        r.headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap())
    }

    #[test]
    fn challenges_use_only_rfc_6750_error_codes() {
        // Signed out: a challenge without an error code (RFC 6750 3.1: no credentials).
        let r = AuthRejection::NotSignedIn {
            html: false,
            login_url: "http://localhost:7860/oauth/huggingface/login?_target_url=%2F".into(),
        }
        .into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(challenge(&r), Some("Bearer realm=\"hf-auth\""));
        let org = || Denial::Org {
            org: "acme",
            role: Some(Role::Write),
        };
        // A session without an org role, PRO or billing is not short of a scope: no challenge.
        for denial in [
            org(),
            Denial::PathOrg {
                org: "acme".into(),
                role: None,
            },
            Denial::NotPro,
            Denial::CannotPay,
        ] {
            let r = forbidden(denial.clone(), false, false, false);
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
            assert_eq!(challenge(&r), None, "{denial:?}");
        }
        // A missing scope is one, for a session too; a bearer token denied an org keeps it.
        let r = forbidden(
            Denial::MissingScopes(vec!["write-repos"]),
            false,
            false,
            false,
        );
        assert_eq!(
            challenge(&r),
            Some("Bearer realm=\"hf-auth\", error=\"insufficient_scope\", scope=\"write-repos\"")
        );
        let r = forbidden(org(), false, true, false);
        assert_eq!(
            challenge(&r),
            Some("Bearer realm=\"hf-auth\", error=\"insufficient_scope\"")
        );
    }

    async fn page(r: Response) -> String {
        use http_body_util::BodyExt;
        let body = r.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn in_mock_mode_the_org_page_says_how_to_configure_the_mock_user() {
        let org = Denial::Org {
            org: "acme",
            role: Some(Role::Write),
        };
        let mock = page(forbidden(org.clone(), true, false, true)).await;
        assert!(
            mock.contains("<code>HF_AUTH_MOCK_ORGS=acme:write</code>"),
            "{mock}"
        );
        assert!(
            !mock.contains("sign in again") && !mock.contains("Sign in again"),
            "{mock}"
        );
        let path_org = Denial::PathOrg {
            org: "team".into(),
            role: None,
        };
        let mock = page(forbidden(path_org, true, false, true)).await;
        assert!(
            mock.contains("<code>HF_AUTH_MOCK_ORGS=team</code>"),
            "{mock}"
        );
        // Real mode: signing in again can pick up a new membership or grant.
        let real = page(forbidden(org, true, false, false)).await;
        assert!(real.contains("sign in again"), "{real}");
        assert!(!real.contains("HF_AUTH_MOCK_ORGS"), "{real}");
    }

    #[test]
    fn login_scopes_go_on_a_login_link_only() {
        let r = AuthRejection::NotSignedIn {
            html: true,
            login_url: "/oauth/huggingface/login?_target_url=%2Fw".into(),
        }
        .with_login_scopes(&["read-repos", "write-repos"]);
        let AuthRejection::NotSignedIn { login_url, .. } = r else {
            panic!("{r:?}")
        };
        assert_eq!(
            login_url,
            "/oauth/huggingface/login?_target_url=%2Fw&scope=read%2Drepos%20write%2Drepos"
        );
        let r = AuthRejection::NotAttached.with_login_scopes(&["read-repos"]);
        assert!(matches!(r, AuthRejection::NotAttached));
    }

    fn html(pairs: &[(&str, &str)]) -> bool {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        wants_html(&h)
    }

    const BROWSER_ACCEPT: &str =
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";

    #[test]
    fn fetch_metadata_decide_first() {
        // Navigations and frame loads are pages, whatever Accept says.
        for (mode, dest) in [
            ("navigate", "document"),
            ("navigate", "iframe"),
            ("navigate", ""),
            ("NAVIGATE", ""),
            (" navigate ", ""),
            ("", "document"),
            ("", "iframe"),
            ("no-cors", "iframe"),
        ] {
            let mut h = vec![("accept", "application/json")];
            if !mode.is_empty() {
                h.push(("sec-fetch-mode", mode));
            }
            if !dest.is_empty() {
                h.push(("sec-fetch-dest", dest));
            }
            assert!(html(&h), "{mode:?} {dest:?}");
        }
        // fetch() and XHR are API calls, even when they ask for HTML.
        for mode in ["cors", "no-cors", "same-origin", "websocket", "CORS"] {
            assert!(
                !html(&[
                    ("sec-fetch-mode", mode),
                    ("sec-fetch-dest", "empty"),
                    ("accept", "text/html")
                ]),
                "{mode}"
            );
        }
        // Unknown fetch metadata: Accept decides.
        assert!(html(&[
            ("sec-fetch-mode", "future-mode"),
            ("accept", "text/html")
        ]));
        assert!(!html(&[
            ("sec-fetch-dest", "empty"),
            ("accept", "application/json")
        ]));
    }

    #[test]
    fn accept_with_q_values() {
        for (accept, want) in [
            (BROWSER_ACCEPT, true),
            ("text/html", true),
            ("TEXT/HTML", true),
            ("  text/html  ;  q = 0.5 ", true),
            ("application/xhtml+xml", true),
            ("text/html;q=0", false),
            ("text/html;q=0.000", false),
            ("text/html; Q=0", false),
            ("*/*", false),
            ("text/*", false),
            ("", false),
            ("application/json", false),
            ("application/json, text/html;q=0.9", false),
            ("text/html, application/json;q=0.9", true),
            ("text/html;q=0.5, application/json;q=0.5", false),
            ("application/problem+json, text/html;q=0.8", false),
            ("text/html;level=1;q=0.7, application/json;q=0.6", true),
            // A malformed q makes the range unacceptable.
            ("text/html;q=2", false),
            ("text/html;q=1.5", false),
            ("text/html;q=0.1234", false),
            ("text/html;q=abc", false),
            ("text/html;q=", false),
            ("text/html;q=1.000", true),
            ("text/html;q=0.001", true),
            ("text/htmlx", false),
            ("xtext/html", false),
            (",,;,text/html", true),
        ] {
            assert_eq!(html(&[("accept", accept)]), want, "{accept:?}");
        }
        // Several Accept lines count together.
        assert!(!html(&[
            ("accept", "text/html;q=0.4"),
            ("accept", "application/json")
        ]));
        assert!(html(&[("accept", "image/png"), ("accept", "text/html")]));
        assert!(!html(&[]));
    }

    #[test]
    fn quality_values() {
        for (v, q) in [
            ("0", Some(0)),
            ("1", Some(1000)),
            ("0.5", Some(500)),
            ("0.25", Some(250)),
            ("0.125", Some(125)),
            ("1.0", Some(1000)),
            ("1.", Some(1000)),
            ("1.001", None),
            ("0.", Some(0)),
            ("00.5", None),
            ("-0.5", None),
            ("", None),
            (".5", None),
        ] {
            assert_eq!(qvalue(v.as_bytes()), q, "{v:?}");
        }
    }
}
