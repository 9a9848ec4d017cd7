//! The reference app as a black box: the `space_app` example binary, configured only through
//! environment variables, held to the contract of shared/space-app.md in mock mode, against the
//! test kit's provider and against npm's oauth2-mock-server.

mod common;

use std::process::{Command, Stdio};

use common::{location, start_oidc_mock, wait_for_line, Browser, Child};
use hf_auth_runtime::{
    testing::{TestProvider, TestUser},
    Role,
};
use serde_json::Value;

fn space_app_binary() -> std::path::PathBuf {
    // tests run from target/<profile>/deps; cargo test builds examples into target/<profile>/examples.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir
        .join("examples")
        .join(format!("space_app{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test`, which builds the examples",
        bin.display()
    );
    bin
}

fn command(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(space_app_binary());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", "0")
        .env("RUST_LOG", "warn")
        .env("OAUTH_SCOPES", "openid profile read-repos write-repos")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn start(env: &[(&str, &str)]) -> (Child, String) {
    let mut child = command(env).spawn().unwrap();
    let base = wait_for_line(&mut child, "listening on ");
    (Child(child), base)
}

async fn json(b: &mut Browser, url: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = b.get_with_accept(url, "application/json").await;
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

/// Every protected route, signed in, holds to the contract.
async fn check_signed_in_contract(b: &mut Browser, base: &str, handle: &str) {
    let (status, me, _) = json(b, &format!("{base}/me")).await;
    assert_eq!(status, 200, "{me}");
    for field in ["sub", "preferred_username", "orgs", "scopes"] {
        assert!(!me[field].is_null(), "/me lacks {field}: {me}");
    }
    assert_eq!(me["preferred_username"], handle);
    assert!(me["orgs"].to_string().contains("acme"), "{me}");
    assert_eq!(json(b, &format!("{base}/write")).await.0, 200);
    let (status, body, headers) = json(b, &format!("{base}/manage")).await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("manage-repos"),
        "{body}"
    );
    assert!(headers.contains_key("www-authenticate"));
    let r = b
        .get_with_accept(&format!("{base}/manage"), "text/html")
        .await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("manage-repos") && page.contains("Sign in again"),
        "{page}"
    );
    assert_eq!(json(b, &format!("{base}/acme")).await.0, 200);
    let (status, body, _) = json(b, &format!("{base}/acme/admin")).await;
    assert_eq!(status, 403);
    assert!(body["error"].as_str().unwrap().contains("acme"), "{body}");
    assert_eq!(b.get(&format!("{base}/acme/admin")).await.status(), 403);
    // POST /write: from the app's own pages yes, from another site no (403 naming the reason).
    let post = |headers: &[(&str, &str)]| {
        let mut req = reqwest::Client::new()
            .post(format!("{base}/write"))
            .header("cookie", b.cookie_header())
            .header("accept", "application/json")
            .body("ignored");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };
    let same = post(&[("sec-fetch-site", "same-origin")]).await.unwrap();
    assert_eq!(same.status(), 200);
    let forged = post(&[
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ])
    .await
    .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.text().await.unwrap().contains("cross_site_request"));
    // The org from the path: a member of acme, not of labs.
    assert_eq!(json(b, &format!("{base}/orgs/acme")).await.0, 200);
    let (status, body, _) = json(b, &format!("{base}/orgs/labs")).await;
    assert_eq!(status, 403);
    assert!(body["error"].as_str().unwrap().contains("labs"), "{body}");
    let home = b.get(&format!("{base}/")).await.text().await.unwrap();
    assert!(
        home.contains(handle),
        "the home page shows who is signed in"
    );
}

async fn check_signed_out_contract(base: &str) {
    let mut b = Browser::new();
    let home = b.get(&format!("{base}/")).await;
    assert_eq!(home.status(), 200);
    let home = home.text().await.unwrap();
    assert!(home.contains("Sign in with Hugging Face"), "{home}");
    assert!(home.contains("/oauth/huggingface/login"), "{home}");
    for path in [
        "/me",
        "/write",
        "/manage",
        "/acme",
        "/acme/admin",
        "/orgs/acme",
    ] {
        let (status, body, headers) = json(&mut b, &format!("{base}{path}")).await;
        assert_eq!(status, 401, "{path}");
        assert!(body["error"].is_string(), "{path}: {body}");
        assert!(headers.contains_key("www-authenticate"), "{path}");
        let r = b
            .get_with_accept(&format!("{base}{path}"), "text/html")
            .await;
        let target: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(
            location(&r),
            format!("/oauth/huggingface/login?_target_url={target}")
        );
    }
    // A forged session cookie is the same as none.
    b.jar.insert(
        "hf_auth_session".into(),
        "Zm9yZ2VkLWNvb2tpZS12YWx1ZS10aGF0LWlzLWxvbmc".into(),
    );
    assert_eq!(json(&mut b, &format!("{base}/me")).await.0, 401);
}

#[tokio::test]
async fn mock_mode_answers_per_the_contract() {
    let (_app, base) = start(&[
        ("HF_AUTH_MOCK_USER", "dev"),
        ("HF_AUTH_MOCK_ORGS", "acme:write"),
    ]);
    check_signed_out_contract(&base).await;
    let mut b = Browser::new();
    let (r, hops) = b
        .follow(
            &format!("{base}/oauth/huggingface/login?_target_url=%2Facme"),
            3,
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(hops.last().unwrap(), &format!("{base}/acme"));
    check_signed_in_contract(&mut b, &base, "dev").await;
    let r = b
        .get(&format!(
            "{base}/oauth/huggingface/logout?_target_url=https://evil.example"
        ))
        .await;
    assert_eq!(location(&r), "/");
    assert_eq!(json(&mut b, &format!("{base}/me")).await.0, 401);
}

// Multi-threaded: the provider must answer while this thread waits for the app to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_test_kit_provider() {
    let provider = TestProvider::start().await;
    provider.set_user(TestUser::new("kit-user").org("acme", Role::Write));
    let (_app, base) = start(&[
        ("OAUTH_CLIENT_ID", TestProvider::CLIENT_ID),
        ("OAUTH_CLIENT_SECRET", TestProvider::CLIENT_SECRET),
        ("OPENID_PROVIDER_URL", provider.issuer()),
    ]);
    check_signed_out_contract(&base).await;
    let mut b = Browser::new();
    let (r, hops) = b.follow(&format!("{base}/me"), 6).await;
    assert_eq!(r.status(), 200, "{hops:?}");
    assert!(hops[2].starts_with(provider.issuer()), "{hops:?}");
    check_signed_in_contract(&mut b, &base, "kit-user").await;
}

#[tokio::test]
async fn against_an_independent_provider() {
    let (_provider, issuer) = start_oidc_mock("space-app", "space-app-secret-0123456789");
    let (_app, base) = start(&[
        ("OAUTH_CLIENT_ID", "space-app"),
        ("OAUTH_CLIENT_SECRET", "space-app-secret-0123456789"),
        ("OPENID_PROVIDER_URL", &issuer),
    ]);
    let mut b = Browser::new();
    let (r, hops) = b
        .follow(&format!("{base}/oauth/huggingface/login"), 6)
        .await;
    assert_eq!(r.status(), 200, "{hops:?}");
    check_signed_in_contract(&mut b, &base, "jdoe").await;
}

#[test]
fn in_a_space_without_credentials_it_refuses_to_start() {
    let out = command(&[("SPACE_ID", "me/app"), ("SPACE_HOST", "me-app.hf.space")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("OAUTH_CLIENT_ID") && stderr.contains("hf_oauth: true"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bound_to_every_interface_without_credentials_it_refuses_mock_mode() {
    // The Dockerfile's HOST=0.0.0.0: reachable from other machines, so no mock mode by itself.
    // It refuses before it binds anything.
    let mut child = command(&[("HOST", "0.0.0.0")]).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("space_app started in mock mode on 0.0.0.0 instead of refusing");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HF_AUTH_MOCK=1") && stderr.contains("0.0.0.0"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "it never listened");
}
