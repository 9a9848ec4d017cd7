//! Start-up configuration: mock-mode rules, Spaces variables, keys, and the scope check over
//! the route registry.

mod common;

use axum::{routing::get, Router};
use common::{location, Browser};
use hf_auth_runtime::{
    __private::{inventory, RouteRequirement},
    mask_of,
    testing::TestProvider,
    ConfigError, HfAuth, HfAuthBuilder, Requirement, ScopeCheck,
};

// A route as `#[hf_login(scopes = "manage-repos")]` registers it.
static MANAGE: Requirement = Requirement {
    scope_mask: mask_of(&["manage-repos"]),
    scopes: &["manage-repos"],
    extra_scopes: &[],
    orgs: &[],
    ..Requirement::SIGNED_IN
};
inventory::submit! {
    RouteRequirement { handler: "manage", module_path: "config", file: "tests/config.rs", line: 1, requirement: &MANAGE }
}

fn vars(pairs: &'static [(&'static str, &'static str)]) -> HfAuthBuilder {
    HfAuthBuilder::from_vars(&|k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap()
    .scope_check(ScopeCheck::Off)
}

#[tokio::test]
async fn mock_mode_only_without_space_id_and_credentials() {
    let auth = vars(&[]).build().await.unwrap();
    assert!(auth.is_mock());
    // Empty values count as unset.
    let auth = vars(&[("OAUTH_CLIENT_ID", ""), ("SPACE_ID", " ")])
        .build()
        .await
        .unwrap();
    assert!(auth.is_mock());

    let err = vars(&[("SPACE_ID", "me/app")]).build().await.unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Missing {
                variable: "OAUTH_CLIENT_ID",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("hf_oauth: true"), "{err}");

    // A secret alone is a mistake, not mock mode.
    let err = vars(&[("OAUTH_CLIENT_SECRET", "a-secret-that-is-long-enough")])
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Missing {
                variable: "OAUTH_CLIENT_ID",
                ..
            }
        ),
        "{err}"
    );

    let err = vars(&[("SPACE_ID", "me/app"), ("OAUTH_CLIENT_ID", "id")])
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Missing {
                variable: "OAUTH_CLIENT_SECRET",
                ..
            }
        ),
        "{err}"
    );

    // Credentials without SPACE_ID: a real provider, never mock.
    let provider = TestProvider::start().await;
    let auth = provider
        .app_config("http://127.0.0.1:1")
        .scope_check(ScopeCheck::Off)
        .build()
        .await
        .unwrap();
    assert!(!auth.is_mock());
}

#[tokio::test]
async fn keys_never_come_from_empty_or_short_values() {
    let err = vars(&[("HF_AUTH_COOKIE_KEY", "too-short")])
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                variable: "HF_AUTH_COOKIE_KEY",
                ..
            }
        ),
        "{err}"
    );
    let provider = TestProvider::start().await;
    // A public client (no secret) must be given a key.
    let err = HfAuth::builder()
        .client_id("public")
        .provider_url(provider.issuer())
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Missing {
                variable: "HF_AUTH_COOKIE_KEY",
                ..
            }
        ),
        "{err}"
    );
    let err = HfAuth::builder()
        .client_id("c")
        .client_secret("short")
        .provider_url(provider.issuer())
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                variable: "OAUTH_CLIENT_SECRET",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn misconfigured_values_name_the_variable() {
    for (pairs, variable) in [
        (&[("PORT", "http")][..], "PORT"),
        (
            &[("HF_AUTH_SCOPE_CHECK", "maybe")][..],
            "HF_AUTH_SCOPE_CHECK",
        ),
        (
            &[("HF_AUTH_SESSION_LIFETIME", "soon")][..],
            "HF_AUTH_SESSION_LIFETIME",
        ),
        (
            &[("HF_AUTH_MOCK_ORGS", "acme:owner")][..],
            "HF_AUTH_MOCK_ORGS",
        ),
    ] {
        let err = HfAuthBuilder::from_vars(&|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap_err();
        assert!(err.to_string().contains(variable), "{err}");
    }
    let err = vars(&[("HF_AUTH_PUBLIC_URL", "ftp://x")])
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HF_AUTH_PUBLIC_URL"), "{err}");
    let err = vars(&[("HF_AUTH_SESSION_LIFETIME", "0")])
        .build()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("HF_AUTH_SESSION_LIFETIME"),
        "{err}"
    );
}

#[tokio::test]
async fn in_a_space_the_redirect_uses_the_first_space_host_and_cookies_are_cross_site() {
    let provider = TestProvider::start().await;
    let auth = HfAuth::builder()
        .client_id(TestProvider::CLIENT_ID)
        .client_secret(TestProvider::CLIENT_SECRET)
        .provider_url(provider.issuer())
        .space_id("me/app")
        .space_host("me-app.hf.space,app.example.com")
        .scope_check(ScopeCheck::Off)
        .build()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = auth.attach(Router::new());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut b = Browser::new();
    let r = b.get(&format!("{base}/oauth/huggingface/login")).await;
    let authorize = url::Url::parse(&location(&r)).unwrap();
    let redirect = authorize
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1;
    assert_eq!(
        redirect,
        "https://me-app.hf.space/oauth/huggingface/callback"
    );
    let flow_cookie = b
        .set_cookies
        .iter()
        .find(|c| c.starts_with("hf_auth_flow_"))
        .unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=None", "Partitioned"] {
        assert!(flow_cookie.contains(attr), "{flow_cookie}");
    }
}

#[tokio::test]
async fn mock_login_goes_through_the_session_code() {
    let auth = vars(&[
        ("HF_AUTH_MOCK_USER", "alice"),
        ("HF_AUTH_MOCK_ORGS", "acme:admin"),
        ("OAUTH_SCOPES", "openid profile read-repos"),
    ])
    .build()
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = auth.attach(Router::new().route(
        "/me",
        get(|u: hf_auth_runtime::HfUser| async move {
            format!("{} {:?} {:?}", u.handle(), u.role_in("acme"), u.scopes())
        }),
    ));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut b = Browser::new();
    let r = b
        .get(&format!("{base}/oauth/huggingface/login?_target_url=/me"))
        .await;
    assert_eq!(location(&r), "/me");
    assert!(b.has_session());
    let body = b.get(&format!("{base}/me")).await.text().await.unwrap();
    assert_eq!(
        body,
        r#"alice Some(Admin) ["openid", "profile", "read-repos"]"#
    );
}

#[tokio::test]
async fn start_up_scope_check_over_the_registry() {
    let err = vars(&[("OAUTH_SCOPES", "openid profile write-repos")])
        .scope_check(ScopeCheck::Deny)
        .build()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ConfigError::ScopesNotCovered(_)));
    assert!(
        text.contains("config::manage") && text.contains("manage-repos"),
        "{text}"
    );
    vars(&[("OAUTH_SCOPES", "openid profile write-repos")])
        .scope_check(ScopeCheck::Warn)
        .build()
        .await
        .expect("warn only");
    vars(&[("OAUTH_SCOPES", "openid profile manage-repos")])
        .scope_check(ScopeCheck::Deny)
        .build()
        .await
        .expect("covered");
    let yaml = hf_auth_runtime::space_metadata();
    assert!(
        yaml.contains("hf_oauth_scopes:\n  - manage-repos\n"),
        "{yaml}"
    );
}
