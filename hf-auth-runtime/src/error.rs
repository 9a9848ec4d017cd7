//! The error types of hf-auth: what can go wrong at start-up, and what can go wrong in a login.

use std::fmt;

use axum::http::StatusCode;

/// Text from outside (the provider's error codes and descriptions, request headers) made safe
/// for a log line or an error message: control characters, newlines, quotes, backslashes and
/// invalid UTF-8 are escaped (`\n`, `\u{202e}`, `\xff`, as [`str::escape_debug`] does), and
/// at most [`Escaped::MAX_CHARS`] characters are shown, then `…`. Formatting it allocates
/// nothing.
#[derive(Clone, Copy)]
pub(crate) struct Escaped<'a>(&'a [u8]);

impl<'a> Escaped<'a> {
    /// The most characters of the input that are shown.
    pub(crate) const MAX_CHARS: usize = 200;

    /// Escapes text.
    pub(crate) fn str(s: &'a str) -> Escaped<'a> {
        Escaped(s.as_bytes())
    }

    /// Escapes bytes that may not be UTF-8 (a header value).
    pub(crate) fn bytes(b: &'a [u8]) -> Escaped<'a> {
        Escaped(b)
    }
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        let mut shown = 0;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if shown == Self::MAX_CHARS {
                    return f.write_char('…');
                }
                shown += 1;
                for e in c.escape_debug() {
                    f.write_char(e)?;
                }
            }
            for b in chunk.invalid() {
                if shown == Self::MAX_CHARS {
                    return f.write_char('…');
                }
                shown += 1;
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

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
    #[error(
        "OpenID discovery at {url} failed after {attempts} attempt(s): {}",
        Escaped::str(reason)
    )]
    Discovery {
        /// The discovery URL.
        url: String,
        /// How many times it was tried.
        attempts: u32,
        /// The last error.
        reason: String,
    },
    /// There are no OAuth credentials, and mock mode may not switch on by itself.
    #[error("OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET are not set, and mock mode does not switch on by itself because {0}. Set both for real sign-in with Hugging Face, or set HF_AUTH_MOCK=1 (HfAuthBuilder::mock(true)) to sign every visitor in as the mock user (local development only)")]
    MockNotAllowed(String),
    /// The session store (`HF_AUTH_SESSION_STORE`) could not be reached at start-up.
    #[error("the session store at {url} (HF_AUTH_SESSION_STORE) cannot be used: {reason}. Check that Redis runs there and that the URL, port, database and password are right (for rediss://, that its certificate chains to the CA in HF_AUTH_SESSION_STORE_CA, or to a system root without it), or unset HF_AUTH_SESSION_STORE for stateless cookie sessions")]
    SessionStore {
        /// The store's URL, without its password.
        url: String,
        /// Why.
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

/// Why [`HfAuth::revoke_user`](crate::HfAuth::revoke_user) did not revoke.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeError {
    /// Sessions live in cookies (no `HF_AUTH_SESSION_STORE`): there is nothing to delete; a
    /// copied cookie stays valid until the session's lifetime ends.
    #[error("sessions are stateless cookies (no HF_AUTH_SESSION_STORE), so they cannot be revoked; they end with their lifetime")]
    NoSessionStore,
    /// The session store could not be reached: nothing was revoked; try again.
    #[error("the session store is unavailable, nothing was revoked: {0}")]
    Unavailable(String),
    /// The user id is empty, too long or has control characters.
    #[error("not a user id")]
    InvalidUser,
    /// The private CA given for the session store (`HF_AUTH_SESSION_STORE_CA`) cannot be used:
    /// nothing was revoked.
    #[error("HF_AUTH_SESSION_STORE_CA cannot be used, nothing was revoked: {0}")]
    InvalidCa(String),
}

/// Why a login (the callback of the OAuth flow) failed. Each one ends on a small HTML page with
/// a 4xx status and a "try again" link; none of them creates a session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The user pressed "Deny" on the consent screen, or the provider refused the request.
    #[error("the provider refused the sign-in: {}", Escaped::str(error))]
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
    #[error("the token request failed: {}", Escaped::str(.0))]
    Token(String),
    /// The ID token is missing or failed verification.
    #[error("the ID token is invalid: {}", Escaped::str(.0))]
    IdToken(String),
    /// The userinfo endpoint failed, or its `sub` differs from the ID token's.
    #[error("the userinfo request failed: {}", Escaped::str(.0))]
    UserInfo(String),
    /// The session would not fit into cookies.
    #[error("the session is too large to store: {}", Escaped::str(.0))]
    Session(String),
    /// The server-side session store could not be reached to store the new session.
    #[error("the session store is unavailable: {}", Escaped::str(.0))]
    StoreUnavailable(String),
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
            FlowError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
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
            FlowError::StoreUnavailable(_) => "session_store_unavailable",
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
            FlowError::StoreUnavailable(_) => "This app cannot store your session right now. Please try again in a moment.",
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

    #[test]
    fn escaped_text_cannot_forge_a_log_line() {
        let shown =
            Escaped::str("bad\nlevel=ERROR msg=\"forged\"\r\t\u{1b}[31m\u{202e}").to_string();
        assert_eq!(
            shown,
            "bad\\nlevel=ERROR msg=\\\"forged\\\"\\r\\t\\u{1b}[31m\\u{202e}"
        );
        assert!(!shown.chars().any(char::is_control), "{shown}");
        // Printable non-ASCII stays readable.
        assert_eq!(Escaped::str("déjà vu").to_string(), "déjà vu");
        // Invalid UTF-8 is shown byte by byte.
        assert_eq!(Escaped::bytes(b"a\xff\xfeb").to_string(), "a\\xff\\xfeb");
        assert_eq!(format!("{:?}", Escaped::str("x")), "\"x\"");
    }

    #[test]
    fn escaped_text_is_bounded() {
        let long = "a".repeat(10_000);
        let shown = Escaped::str(&long).to_string();
        assert_eq!(shown.chars().count(), Escaped::MAX_CHARS + 1);
        assert!(shown.ends_with('…'));
        let exact = "b".repeat(Escaped::MAX_CHARS);
        assert_eq!(Escaped::str(&exact).to_string(), exact);
        let bytes = vec![0xffu8; 1000];
        assert!(Escaped::bytes(&bytes).to_string().len() < 5 * Escaped::MAX_CHARS);
    }

    #[test]
    fn flow_errors_escape_provider_text() {
        for e in [
            FlowError::Denied {
                error: "access_denied\nforged".into(),
                description: None,
            },
            FlowError::Token("server said\r\nforged".into()),
            FlowError::IdToken("x\nforged".into()),
            FlowError::UserInfo("x\nforged".into()),
            FlowError::Session("x\nforged".into()),
        ] {
            let text = e.to_string();
            assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
            assert!(text.contains("\\nforged"), "{text}");
        }
    }
}
