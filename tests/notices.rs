//! The mock-mode warning and each failed discovery attempt reach the terminal even when the app
//! installed no tracing subscriber: then they are also printed to stderr as `hf-auth: …` lines.
//! With a subscriber they go through it only.
//!
//! Whether a subscriber was ever set is per process, so each case runs in a child process: this
//! test binary started again on one `child_*` test, with `HF_AUTH_NOTICE_CHILD` saying whether
//! to install a subscriber (which writes to stdout, so stderr shows only hf-auth's own lines).

use std::{
    io::Read,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use hf_auth_runtime::{testing::TestProvider, ConfigError, HfAuth, HfAuthBuilder, ScopeCheck};

const CHILD: &str = "HF_AUTH_NOTICE_CHILD";

/// Set in a child: its configuration is refused after everything else was accepted (a session
/// store CA without a session store), so nothing a successful start-up says may be said.
const REFUSE: &str = "HF_AUTH_NOTICE_REFUSE";

/// Runs `test` of this binary in a child process; returns its (stdout, stderr).
fn run_child(test: &str, subscriber: bool) -> (String, String) {
    run_child_with(test, subscriber, false)
}

/// [`run_child`], the child's configuration refused at its end when `refuse`.
fn run_child_with(test: &str, subscriber: bool, refuse: bool) -> (String, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    if refuse {
        command.env(REFUSE, "1");
    }
    let mut child = command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, if subscriber { "subscriber" } else { "none" })
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the child {test} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "child {test} failed:\n{out}\n{err}");
    assert!(out.contains("1 passed"), "child {test} did not run:\n{out}");
    (out, err)
}

/// In a child: installs a subscriber when asked to. `None` when not running as a child.
fn child_setup() -> Option<()> {
    let mode = std::env::var(CHILD).ok()?;
    if mode == "subscriber" {
        tracing_subscriber::fmt()
            .with_writer(std::io::stdout)
            .with_ansi(false)
            .init();
    }
    Some(())
}

/// In a child: the builder refused at the end of `build` when [`REFUSE`] is set.
fn maybe_refused(builder: HfAuthBuilder) -> HfAuthBuilder {
    match std::env::var_os(REFUSE) {
        Some(_) => builder.session_store_ca("/nonexistent/ca.pem"),
        None => builder,
    }
}

#[tokio::test]
async fn child_mock_mode() {
    if child_setup().is_none() {
        return;
    }
    let built = maybe_refused(HfAuth::builder().scope_check(ScopeCheck::Off))
        .build()
        .await;
    match built {
        Ok(auth) => assert!(auth.is_mock()),
        Err(e) => assert!(e.to_string().contains("HF_AUTH_SESSION_STORE_CA"), "{e}"),
    }
}

#[tokio::test]
async fn child_real_mode() {
    if child_setup().is_none() {
        return;
    }
    let provider = TestProvider::start().await;
    let built = maybe_refused(
        provider
            .app_config("http://127.0.0.1:1")
            .scope_check(ScopeCheck::Off),
    )
    .build()
    .await;
    assert_eq!(built.is_err(), std::env::var_os(REFUSE).is_some());
}

#[tokio::test]
async fn child_discovery_retries() {
    if child_setup().is_none() {
        return;
    }
    // A port nobody listens on: every attempt is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = HfAuth::builder()
        .client_id("client")
        .client_secret("a client secret of enough bytes")
        .provider_url(format!("http://127.0.0.1:{port}"))
        .public_url("http://127.0.0.1:1")
        .scope_check(ScopeCheck::Off)
        .discovery_attempts(2)
        .discovery_timeout(Duration::from_secs(10))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::Discovery { attempts: 2, .. }),
        "{err}"
    );
}

#[test]
fn without_a_subscriber_the_mock_warning_goes_to_stderr() {
    let (_, err) = run_child("child_mock_mode", false);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("hf-auth: ")).collect();
    // The warning, the page to open, then the mock user's bearer token for curl.
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].contains("MOCK MODE IS ON"), "{err}");
    assert!(lines[0].contains("dev-user"), "{err}");
    assert_eq!(
        lines[1],
        "hf-auth: mock mode: open http://localhost:7860/oauth/huggingface/login to sign in as dev-user",
        "{err}"
    );
    assert!(lines[2].contains("Authorization: Bearer hf_mock_"), "{err}");
}

#[test]
fn a_mock_mode_refused_at_start_up_says_nothing_of_mock_mode() {
    let (_, err) = run_child_with("child_mock_mode", false, true);
    assert!(!err.contains("hf-auth: "), "{err}");
}

#[test]
fn ready_is_logged_only_once_the_whole_configuration_is_accepted() {
    let (out, _) = run_child_with("child_real_mode", true, false);
    assert!(out.contains("Sign in with Hugging Face is ready"), "{out}");
    let (out, _) = run_child_with("child_real_mode", true, true);
    assert!(!out.contains("is ready"), "{out}");
}

#[test]
fn with_a_subscriber_the_mock_warning_goes_through_it_only() {
    let (out, err) = run_child("child_mock_mode", true);
    assert!(out.contains("MOCK MODE IS ON"), "{out}");
    assert!(!err.contains("hf-auth: "), "{err}");
}

#[test]
fn without_a_subscriber_each_discovery_attempt_goes_to_stderr() {
    let (_, err) = run_child("child_discovery_retries", false);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("hf-auth: OpenID discovery"))
        .collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("attempt 1 of 2") && lines[0].contains("retrying in"),
        "{err}"
    );
    assert!(
        lines[1].contains("attempt 2 of 2") && lines[1].contains("giving up"),
        "{err}"
    );
}

#[test]
fn with_a_subscriber_discovery_attempts_go_through_it_only() {
    let (out, err) = run_child("child_discovery_retries", true);
    assert_eq!(out.matches("OpenID discovery").count(), 2, "{out}");
    assert!(!err.contains("hf-auth: "), "{err}");
}
