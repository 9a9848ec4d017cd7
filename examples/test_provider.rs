//! `test_provider`: the test kit's Hugging Face-like OpenID provider as a process, with its
//! interactive consent page on, for browser tests (tests/browser/) and for trying `space_app`'s
//! whole sign-in by hand without a Hugging Face account.
//!
//! ```text
//! cargo run --example test_provider        # prints: READY http://127.0.0.1:PORT
//! OAUTH_CLIENT_ID=hf-auth-test-client \
//!   OAUTH_CLIENT_SECRET=hf-auth-test-client-secret-0123456789 \
//!   OPENID_PROVIDER_URL=http://127.0.0.1:PORT PORT=7860 \
//!   OAUTH_SCOPES="openid profile read-repos write-repos" \
//!   cargo run --example space_app
//! ```
//!
//! The user who signs in: `TEST_PROVIDER_USER` (default `browser-user`), in the orgs of
//! `TEST_PROVIDER_ORGS` (default `acme:write`; comma-separated `handle:role`, roles `read`,
//! `contributor`, `write`, `admin`). `TEST_PROVIDER_UNGRANTED_ORGS` (comma-separated handles):
//! orgs of the user not granted to the app until a login asks for them with `orgIds` (userinfo
//! lists them without `roleInOrg`), for the step-up tests.
//! For tests of refresh across replicas (scripts/multi-replica.sh):
//! `TEST_PROVIDER_ACCESS_TOKEN_TTL` (seconds, default 28800), `TEST_PROVIDER_REFRESH_TOKENS=1`
//! (rotating refresh tokens), `TEST_PROVIDER_INTERACTIVE=0` (answer `/oauth/authorize` at once,
//! for clients that cannot click the consent page).
//! The process runs until it is killed or its standard input closes, so a test that spawns it
//! with a pipe cannot leave it behind.

use std::{io::Read, process::ExitCode};

use hf_auth_runtime::{
    testing::{TestProvider, TestUser},
    Role,
};

#[tokio::main]
async fn main() -> ExitCode {
    let handle = std::env::var("TEST_PROVIDER_USER").unwrap_or_else(|_| "browser-user".into());
    let orgs = std::env::var("TEST_PROVIDER_ORGS").unwrap_or_else(|_| "acme:write".into());
    let mut user = TestUser::new(&handle);
    for org in orgs.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let parsed = org
            .split_once(':')
            .and_then(|(h, r)| Some((h, Role::parse(r)?)));
        let Some((org, role)) = parsed else {
            eprintln!("error: TEST_PROVIDER_ORGS: {org:?} is not handle:role (read, contributor, write, admin)");
            return ExitCode::from(2);
        };
        user = user.org(org, role);
    }

    let ttl = match std::env::var("TEST_PROVIDER_ACCESS_TOKEN_TTL") {
        Ok(v) => match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Some(secs),
            _ => {
                eprintln!("error: TEST_PROVIDER_ACCESS_TOKEN_TTL: {v:?} is not a positive number of seconds");
                return ExitCode::from(2);
            }
        },
        Err(_) => None,
    };
    let flag = |name: &str| std::env::var(name).ok().map(|v| v == "1");

    let provider = TestProvider::start().await;
    provider.set_user(user);
    for org in std::env::var("TEST_PROVIDER_UNGRANTED_ORGS")
        .unwrap_or_default()
        .split(',')
    {
        if !org.trim().is_empty() {
            provider.set_org_ungranted(org.trim());
        }
    }
    provider.set_interactive(flag("TEST_PROVIDER_INTERACTIVE").unwrap_or(true));
    if let Some(secs) = ttl {
        provider.set_access_token_ttl(secs);
    }
    provider.set_refresh_tokens(flag("TEST_PROVIDER_REFRESH_TOKENS").unwrap_or(false));
    println!("READY {}", provider.issuer());

    // Stop when stdin closes (the parent died or closed the pipe), or on Ctrl-C / SIGTERM.
    std::thread::spawn(|| {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
    drop(provider);
    ExitCode::SUCCESS
}
