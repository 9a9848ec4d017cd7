//! The error types of hf-auth: what can go wrong at start-up, and what can go wrong in a login.

use axum::http::StatusCode;

/// A configuration that cannot work. Returned by [`HfAuthBuilder::build`](crate::HfAuthBuilder::build)
/// before the app serves a single request; the message names the variable and the fix.
///
/// Its `Debug` prints the same text as `Display` (as `anyhow` does), so a
/// `main() -> Result<(), Box<dyn Error>>` that returns it shows the message and the fix.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("{variable} is not set: {fix}")]
    Missing {
        /// The environment variable (or builder method) that is missing.
        variable: &'static str,
        /// What to do about it.
        fix: &'static str,
    },
    /// A setting has a value that cannot work.
    #[error("{variable} is invalid: {reason}")]
    Invalid {
        /// The environment variable (or builder method) that is wrong.
        variable: &'static str,
        /// Why, and what to do about it.
        reason: String,
    },
    /// The provider could not be reached or its discovery document is unusable.
    #[error("OpenID discovery at {url} failed after {attempts} attempt(s): {reason}")]
    Discovery {
        /// The discovery URL.
        url: String,
        /// How many times it was tried.
        attempts: u32,
        /// The last error.
        reason: String,
    },
    /// Some routes require scopes that the app never asks for. The check counts every annotated
    /// handler linked into the program, routed or not.
    #[error("OAUTH_SCOPES does not cover the scopes these handlers require:\n{0}\nThe check counts every annotated handler linked into the program, routed or not. Add the scopes to OAUTH_SCOPES (hf_oauth_scopes in the Space README), or narrow the check with HF_AUTH_SCOPE_CHECK=warn (or off), or .scope_check(ScopeCheck::Warn) (or ScopeCheck::Off) in code.")]
    ScopesNotCovered(String),
}

impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Why a login (the callback of the OAuth flow) failed. Each one ends on a small HTML page with
/// a 4xx status and a "try again" link; none of them creates a session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The user pressed "Deny" on the consent screen, or the provider refused the request.
    #[error("the provider refused the sign-in: {error}")]
    Denied {
        /// The OAuth `error` code, e.g. `access_denied`.
        error: String,
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// The callback carried no `state`, or one this browser never started.
    #[error("the sign-in state is missing or does not match this browser")]
    StateMismatch,
    /// The callback was used already.
    #[error("this sign-in callback was already used")]
    Replayed,
    /// The browser did not keep the sign-in cookie, even after retries.
    #[error("the browser did not keep the sign-in cookie (third-party cookies blocked?)")]
    CookieLost,
    /// The callback carried no authorization code.
    #[error("the callback carried no authorization code")]
    MissingCode,
    /// The token endpoint failed or answered with an error.
    #[error("the token request failed: {0}")]
    Token(String),
    /// The ID token is missing or failed verification.
    #[error("the ID token is invalid: {0}")]
    IdToken(String),
    /// The userinfo endpoint failed, or its `sub` differs from the ID token's.
    #[error("the userinfo request failed: {0}")]
    UserInfo(String),
    /// The session would not fit into cookies.
    #[error("the session is too large to store: {0}")]
    Session(String),
}

impl FlowError {
    /// The status code of the error page.
    pub fn status(&self) -> StatusCode {
        match self {
            FlowError::Denied { .. } => StatusCode::FORBIDDEN,
            FlowError::StateMismatch
            | FlowError::Replayed
            | FlowError::CookieLost
            | FlowError::MissingCode => StatusCode::BAD_REQUEST,
            FlowError::Token(_) | FlowError::IdToken(_) | FlowError::UserInfo(_) => {
                StatusCode::UNAUTHORIZED
            }
            FlowError::Session(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// A short, stable code for logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            FlowError::Denied { .. } => "denied",
            FlowError::StateMismatch => "state_mismatch",
            FlowError::Replayed => "replayed",
            FlowError::CookieLost => "cookie_lost",
            FlowError::MissingCode => "missing_code",
            FlowError::Token(_) => "token_error",
            FlowError::IdToken(_) => "invalid_id_token",
            FlowError::UserInfo(_) => "userinfo_error",
            FlowError::Session(_) => "session_too_large",
        }
    }

    /// What the user reads on the error page.
    pub fn user_message(&self) -> &'static str {
        match self {
            FlowError::Denied { .. } => "You declined to sign in with Hugging Face, so you are not signed in.",
            FlowError::StateMismatch => "This sign-in was not started from this browser, or it expired. Please start again.",
            FlowError::Replayed => "This sign-in link was already used. Please start again.",
            FlowError::CookieLost => "Your browser did not keep the sign-in cookie. If this app is shown inside another page, open it directly, or allow its cookies, and try again.",
            FlowError::MissingCode => "Hugging Face did not send a sign-in code. Please start again.",
            FlowError::Token(_) | FlowError::IdToken(_) | FlowError::UserInfo(_) => "Hugging Face's answer could not be verified, so you are not signed in. Please try again.",
            FlowError::Session(_) => "Your account information is too large to keep in this app's session.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_debug_reads_like_display() {
        let err = ConfigError::Missing {
            variable: "OAUTH_CLIENT_ID",
            fix: "set both or neither",
        };
        assert_eq!(format!("{err:?}"), err.to_string());
        // What `main() -> Result<(), Box<dyn Error>>` prints on an error.
        let boxed: Box<dyn std::error::Error> = Box::new(ConfigError::ScopesNotCovered(
            "  app::repos (src/main.rs:5) requires read-repos".into(),
        ));
        let shown = format!("{boxed:?}");
        assert!(
            shown.starts_with("OAUTH_SCOPES does not cover")
                && shown.contains("HF_AUTH_SCOPE_CHECK=warn"),
            "{shown}"
        );
        assert!(!shown.contains("ScopesNotCovered("), "{shown}");
    }
}
