//! [`AuthLinks`]: the login and logout URLs for a page, so no handler hard-codes
//! `/oauth/huggingface/...`.

use axum::{extract::FromRequestParts, http::request::Parts};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::{
    context,
    guard::signed_in,
    rejection::{login_url, AuthRejection},
    return_path::safe_return_path,
    state::AuthState,
    user::HfUser,
};

/// An extractor with the links a page needs: the login URL (coming back to this page), the
/// logout URL, and who is signed in. The paths follow the configuration (`route_prefix`), so
/// pages keep working when it changes. It never refuses a request (but without
/// [`HfAuthLayer`](crate::HfAuthLayer) in front of it, which is a 500 as for every guard).
///
/// ```
/// use axum::{response::Html, routing::get, Router};
/// use hf_auth_runtime::{escape_html, AuthLinks};
///
/// async fn home(links: AuthLinks) -> Html<String> {
///     Html(match links.user() {
///         Some(user) => format!(
///             "Hello {}! <a href=\"{}\">Sign out</a>",
///             escape_html(user.handle()),
///             escape_html(links.logout_url())
///         ),
///         None => format!(
///             "<a href=\"{}\">Sign in with Hugging Face</a>",
///             escape_html(links.login_url())
///         ),
///     })
/// }
/// let app: Router = Router::new().route("/", get(home));
/// ```
#[derive(Debug, Clone)]
pub struct AuthLinks {
    login: String,
    login_path: String,
    logout_path: String,
    user: Option<HfUser>,
}

impl AuthLinks {
    /// The login route, coming back to the page of this request afterwards.
    pub fn login_url(&self) -> &str {
        &self.login
    }

    /// The login route, coming back to `target` instead (a same-site path; anything else is
    /// `/`).
    pub fn login_url_to(&self, target: &str) -> String {
        with_target(&self.login_path, target)
    }

    /// A login that asks for `scopes` as well (those among the app's; the login route drops
    /// others) and comes back to this page: for a page's own "Sign in to publish" link in
    /// incremental consent mode. For a signed-in user it is a step-up ("Grant access"):
    /// the consent screen comes back (`prompt=consent`), a decline returns here with the
    /// session kept, and a grant adds to the session's scopes.
    pub fn login_url_with_scopes(&self, scopes: &[&str]) -> String {
        let joined = scopes.join(" ");
        let scope = utf8_percent_encode(&joined, NON_ALPHANUMERIC);
        if self.user.is_some() {
            format!("{}&grant=1&scope={scope}", self.login)
        } else {
            format!("{}&scope={scope}", self.login)
        }
    }

    /// The logout route (it comes back to `/`).
    pub fn logout_url(&self) -> &str {
        &self.logout_path
    }

    /// The logout route, coming back to `target` (a same-site path; anything else is `/`).
    pub fn logout_url_to(&self, target: &str) -> String {
        with_target(&self.logout_path, target)
    }

    /// Whether a user is signed in.
    pub fn is_signed_in(&self) -> bool {
        self.user.is_some()
    }

    /// The signed-in user, if any.
    pub fn user(&self) -> Option<&HfUser> {
        self.user.as_ref()
    }
}

fn with_target(path: &str, target: &str) -> String {
    format!(
        "{path}?_target_url={}",
        utf8_percent_encode(safe_return_path(Some(target)), NON_ALPHANUMERIC)
    )
}

impl<S: Send + Sync> FromRequestParts<S> for AuthLinks {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AuthRejection> {
        let ctx = context::of(parts)?;
        let user = match ctx.user.get() {
            Some(user) => Some(user.clone()),
            None => signed_in(parts, ctx).await,
        };
        let state: &AuthState = &ctx.state;
        Ok(AuthLinks {
            login: login_url(parts, state),
            login_path: state.routes.login.clone(),
            logout_path: state.routes.logout.clone(),
            user,
        })
    }
}
