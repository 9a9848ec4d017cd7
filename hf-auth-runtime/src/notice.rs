//! Start-up messages the developer must see even when the app installed no tracing subscriber:
//! the mock-mode warning and each failed discovery attempt.
//!
//! Each message is logged through `tracing` as usual. When no subscriber was ever set in this
//! process (`tracing::dispatcher::has_been_set()` is false, so `tracing` would drop the event),
//! it is also printed to stderr as one line starting with `hf-auth: `. An app with a subscriber
//! gets each message once, through its subscriber.
//!
//! None of these messages carries a secret: callers pass only handles, URLs, counts and errors.

use std::fmt::Arguments;

/// Whether a message must also go to stderr: no subscriber was ever set, so `tracing` would
/// drop it.
fn needs_stderr() -> bool {
    !tracing::dispatcher::has_been_set()
}

/// The stderr line of a message.
fn stderr_line(message: Arguments<'_>) -> String {
    format!("hf-auth: {message}")
}

/// Logs a warning through `tracing` and, without a subscriber, prints it to stderr too.
pub(crate) fn warn(message: Arguments<'_>) {
    tracing::warn!("{message}");
    if needs_stderr() {
        eprintln!("{}", stderr_line(message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_line_is_one_prefixed_line() {
        assert_eq!(
            stderr_line(format_args!("attempt {} of {}", 1, 3)),
            "hf-auth: attempt 1 of 3"
        );
    }

    #[test]
    fn a_subscriber_silences_stderr() {
        // Unit tests in this crate never set a global subscriber; a scoped one counts too.
        let _guard = tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
        assert!(!needs_stderr());
    }
}
