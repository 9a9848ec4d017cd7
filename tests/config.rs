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
    assert_eq!(
        auth.trusted_origins().collect::<Vec<_>>(),
        ["http://localhost:7860"]
    );
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
    // The text of HF_AUTH_COOKIE_KEY is decoded, never used as raw bytes.
    for (text, variable) in [
        ("too-short", "HF_AUTH_COOKIE_KEY"),
        // `openssl rand -hex 16`: 32 characters, but 16 bytes.
        ("000102030405060708090a0b0c0d0e0f", "HF_AUTH_COOKIE_KEY"),
        (
            "a passphrase of more than thirty-two characters",
            "HF_AUTH_COOKIE_KEY",
        ),
    ] {
        let err =
            HfAuthBuilder::from_vars(&|k| (k == variable).then(|| text.to_owned())).unwrap_err();
        assert!(
            matches!(err, ConfigError::Invalid { variable: v, .. } if v == variable),
            "{text}: {err}"
        );
        assert!(err.to_string().contains("openssl rand -hex 32"), "{err}");
    }
    let err = HfAuthBuilder::from_vars(&|k| {
        (k == "HF_AUTH_COOKIE_KEY_PREVIOUS").then(|| "AAECAwQFBgcICQoLDA0ODw==".to_owned())
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("HF_AUTH_COOKIE_KEY_PREVIOUS"),
        "{err}"
    );
    for (builder, variable) in [
        (
            HfAuth::builder().cookie_key(vec![1u8; 16]),
            "HF_AUTH_COOKIE_KEY",
        ),
        (
            HfAuth::builder().previous_cookie_key(vec![1u8; 31]),
            "HF_AUTH_COOKIE_KEY_PREVIOUS",
        ),
    ] {
        let err = builder.build().await.unwrap_err();
        assert!(
            matches!(err, ConfigError::Invalid { variable: v, .. } if v == variable),
            "{err}"
        );
    }
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
        .find(|c| c.starts_with("__Host-hf_auth_flow_"))
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

/// A builder without the start-up scope check (this file registers a route needing a scope).
fn quiet() -> HfAuthBuilder {
    HfAuth::builder().scope_check(ScopeCheck::Off)
}

/// A router with `/me` behind the session guard, for cookies made by other apps.
fn me_router(auth: &HfAuth) -> Router {
    auth.attach(Router::new().route(
        "/me",
        get(|u: hf_auth_runtime::HfUser| async move { u.handle().to_owned() }),
    ))
}

async fn me_status(auth: &HfAuth, cookie: &str) -> u16 {
    use tower::ServiceExt;
    let req = axum::http::Request::get("/me")
        .header("cookie", cookie)
        .header("accept", "application/json")
        .body(axum::body::Body::empty())
        .unwrap();
    me_router(auth)
        .oneshot(req)
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn mock_refused(err: &ConfigError) -> bool {
    let text = err.to_string();
    matches!(err, ConfigError::MockNotAllowed(_))
        && text.contains("HF_AUTH_MOCK=1")
        && text.contains("OAUTH_CLIENT_ID")
        && text.contains("OAUTH_CLIENT_SECRET")
}

#[tokio::test]
async fn mock_mode_switches_on_by_itself_only_when_everything_is_loopback() {
    for url in [
        "http://localhost:7860",
        "http://LOCALHOST",
        "http://127.0.0.1:8080",
        "http://127.255.0.9",
        "http://[::1]:7860",
    ] {
        let auth = quiet().public_url(url).build().await.unwrap();
        assert!(auth.is_mock(), "{url}");
    }
    let auth = quiet()
        .listen_address([127, 0, 0, 1].into())
        .build()
        .await
        .unwrap();
    assert!(auth.is_mock());
    for (case, builder) in [
        ("public URL", quiet().public_url("https://app.example.com")),
        (
            "LAN address",
            quiet().public_url("http://192.168.1.20:7860"),
        ),
        ("unspecified", quiet().public_url("http://0.0.0.0:7860")),
        (
            "look-alike",
            quiet().public_url("http://localhost.evil.example"),
        ),
        ("nip.io", quiet().public_url("http://127.0.0.1.nip.io")),
        (
            "SPACE_HOST without SPACE_ID",
            quiet().space_host("me-app.hf.space"),
        ),
        (
            "a public SPACE_HOST next to a local URL",
            quiet()
                .public_url("http://localhost:7860")
                .space_host("localhost,me-app.hf.space"),
        ),
        (
            "listening on every interface",
            quiet().listen_address([0, 0, 0, 0].into()),
        ),
        (
            "listening on a LAN address",
            quiet().listen_address([10, 1, 2, 3].into()),
        ),
        ("explicitly off", quiet().mock(false)),
    ] {
        let err = builder.clone().build().await.unwrap_err();
        assert!(mock_refused(&err), "{case}: {err}");
        let early = builder.will_mock().unwrap_err();
        assert_eq!(early.to_string(), err.to_string(), "{case}");
    }
    let err = vars(&[("HF_AUTH_PUBLIC_URL", "https://app.example.com")])
        .build()
        .await
        .unwrap_err();
    assert!(mock_refused(&err), "{err}");
    assert!(err.to_string().contains("https://app.example.com"), "{err}");
    let err = vars(&[("HF_AUTH_MOCK", "0")]).build().await.unwrap_err();
    assert!(mock_refused(&err), "{err}");
}

#[tokio::test]
async fn mock_mode_by_itself_signs_in_only_requests_addressed_to_this_machine() {
    use axum::http::{header, Method, StatusCode};
    use common::oneshot::call;
    let login = "/oauth/huggingface/login?_target_url=/me";
    let page = [("accept", "text/html")];
    let by_itself = me_router(&quiet().build().await.unwrap());
    // A LAN address, a public name (DNS rebinding, a tunnel that kept `Host`), a tunnel that
    // rewrote `Host` but says where the request came from: refused, nobody signed in.
    for headers in [
        vec![("host", "192.168.1.20:7860")],
        vec![("host", "app.example<b>")],
        vec![("host", "localhost.evil.example")],
        vec![
            ("host", "localhost:7860"),
            ("x-forwarded-host", "dev.tunnel.example"),
        ],
    ] {
        let out = call(
            &by_itself,
            Method::GET,
            login,
            &[&page[..], &headers].concat(),
            "",
        )
        .await;
        assert_eq!(out.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            out.set_cookies().is_empty(),
            "{headers:?}: {:?}",
            out.set_cookies()
        );
        assert!(
            out.body.contains("<code>HF_AUTH_MOCK=1</code>"),
            "{}",
            out.body
        );
        assert!(out.body.contains("only this machine"), "{}", out.body);
        assert!(
            !out.body.contains("<b>"),
            "the host is escaped: {}",
            out.body
        );
        assert_eq!(
            out.header(header::CACHE_CONTROL).as_deref(),
            Some("no-store")
        );
    }
    let out = call(
        &by_itself,
        Method::GET,
        login,
        &[
            ("host", "192.168.1.20:7860"),
            ("accept", "application/json"),
        ],
        "",
    )
    .await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    let json: serde_json::Value = serde_json::from_str(&out.body).unwrap();
    assert_eq!(json["error"], "mock_mode_local_only");
    assert_eq!(json["host"], "192.168.1.20:7860");
    assert!(json["message"].as_str().unwrap().contains("HF_AUTH_MOCK=1"));
    // This machine, by any loopback name, or a client that names no host: signed in.
    for headers in [
        vec![("host", "localhost:7860")],
        vec![("host", "127.0.0.1:7860")],
        vec![("host", "[::1]:7860")],
        vec![],
    ] {
        let out = call(
            &by_itself,
            Method::GET,
            login,
            &[&page[..], &headers].concat(),
            "",
        )
        .await;
        assert_eq!(
            out.status,
            StatusCode::SEE_OTHER,
            "{headers:?}: {}",
            out.body
        );
        assert!(
            out.set_cookies()
                .iter()
                .any(|c| c.starts_with("hf_auth_session=")),
            "{headers:?}"
        );
    }
    // Asked for with the opt-in, mock mode serves any host, as before.
    let opted_in = me_router(
        &quiet()
            .listen_address([0, 0, 0, 0].into())
            .mock(true)
            .build()
            .await
            .unwrap(),
    );
    let out = call(
        &opted_in,
        Method::GET,
        login,
        &[("host", "192.168.1.20:7860"), ("accept", "text/html")],
        "",
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert!(out
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("hf_auth_session=")));
}

#[tokio::test]
async fn mock_mode_elsewhere_needs_the_opt_in_and_never_in_a_space() {
    for builder in [
        vars(&[
            ("HF_AUTH_PUBLIC_URL", "https://app.example.com"),
            ("HF_AUTH_MOCK", "1"),
        ]),
        vars(&[("SPACE_HOST", "me-app.hf.space"), ("HF_AUTH_MOCK", "true")]),
        quiet()
            .public_url("https://app.example.com")
            .listen_address([0, 0, 0, 0].into())
            .mock(true),
    ] {
        assert!(builder.will_mock().unwrap());
        assert!(builder.build().await.unwrap().is_mock());
    }
    // Never in a Space, whatever else is set.
    for builder in [
        vars(&[("SPACE_ID", "me/app"), ("HF_AUTH_MOCK", "1")]),
        quiet().space_id("me/app").mock(true),
    ] {
        let err = builder.build().await.unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    variable: "HF_AUTH_MOCK",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("SPACE_ID"), "{err}");
    }
    // Mock mode and credentials at once is a mistake.
    let err = quiet()
        .client_id("id")
        .client_secret("a-secret-that-is-long-enough")
        .mock(true)
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Invalid {
                variable: "HF_AUTH_MOCK",
                ..
            }
        ),
        "{err}"
    );
    let err = HfAuthBuilder::from_vars(&|k| (k == "HF_AUTH_MOCK").then(|| "maybe".to_owned()))
        .unwrap_err();
    assert!(err.to_string().contains("HF_AUTH_MOCK"), "{err}");
}

const KEY_BYTES: [u8; 32] = [0xfb; 32];

#[tokio::test]
async fn cookie_keys_decode_from_hex_or_base64_to_the_same_key() {
    let hex: String = KEY_BYTES.iter().map(|b| format!("{b:02x}")).collect();
    // `base64` and unpadded URL-safe base64 of KEY_BYTES.
    let b64 = "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=".to_owned();
    let url_safe = "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s".to_owned();
    let mut apps = Vec::new();
    for text in [hex.clone(), hex.to_uppercase(), b64, url_safe] {
        let auth = HfAuthBuilder::from_vars(&|k| (k == "HF_AUTH_COOKIE_KEY").then(|| text.clone()))
            .unwrap()
            .scope_check(ScopeCheck::Off)
            .build()
            .await
            .unwrap();
        apps.push(auth);
    }
    let raw = quiet()
        .cookie_key(KEY_BYTES.to_vec())
        .build()
        .await
        .unwrap();
    let cookie =
        hf_auth_runtime::testing::session_cookie(&raw, &hf_auth_runtime::MockUser::new("x"));
    for auth in &apps {
        assert_eq!(me_status(auth, &cookie).await, 200);
    }
}

#[tokio::test]
async fn sessions_are_bound_to_the_mode_and_the_app() {
    use hf_auth_runtime::{testing::session_cookie, MockUser};
    let provider = TestProvider::start().await;
    let real = |client_id: &'static str| {
        provider
            .app_config("http://127.0.0.1:1")
            .client_id(client_id)
            .cookie_key(KEY_BYTES.to_vec())
            .scope_check(ScopeCheck::Off)
    };
    let mock = quiet()
        .cookie_key(KEY_BYTES.to_vec())
        .build()
        .await
        .unwrap();
    let app_a = real(TestProvider::CLIENT_ID).build().await.unwrap();
    let app_b = real("another-app").build().await.unwrap();
    assert!(mock.is_mock() && !app_a.is_mock() && !app_b.is_mock());
    let user = MockUser::new("alice");
    let from_mock = session_cookie(&mock, &user);
    let from_a = session_cookie(&app_a, &user);
    // Each app reads its own sessions...
    assert_eq!(me_status(&mock, &from_mock).await, 200);
    assert_eq!(me_status(&app_a, &from_a).await, 200);
    // ...but a mock session is never valid in real mode, and app A's never in app B, although
    // they share the cookie key.
    assert_eq!(me_status(&app_a, &from_mock).await, 401);
    assert_eq!(me_status(&app_b, &from_mock).await, 401);
    assert_eq!(me_status(&app_b, &from_a).await, 401);
    assert_eq!(me_status(&mock, &from_a).await, 401);
}

#[tokio::test]
async fn a_previous_key_still_reads_old_sessions_while_new_ones_use_the_new_key() {
    use hf_auth_runtime::{testing::session_cookie, MockUser};
    let old_key = vec![1u8; 32];
    let new_key = vec![2u8; 32];
    let old = quiet().cookie_key(old_key.clone()).build().await.unwrap();
    let new_only = quiet().cookie_key(new_key.clone()).build().await.unwrap();
    let rotated = quiet()
        .cookie_key(new_key)
        .previous_cookie_key(old_key)
        .build()
        .await
        .unwrap();
    let old_cookie = session_cookie(&old, &MockUser::new("old"));
    assert_eq!(me_status(&rotated, &old_cookie).await, 200, "reads old");
    assert_eq!(me_status(&new_only, &old_cookie).await, 401);
    let new_cookie = session_cookie(&rotated, &MockUser::new("new"));
    assert_eq!(me_status(&new_only, &new_cookie).await, 200, "writes new");
    assert_eq!(me_status(&old, &new_cookie).await, 401);
    // The environment's way of saying the same.
    let hex = |b: u8| format!("{b:02x}").repeat(32);
    let from_env = HfAuthBuilder::from_vars(&|k| match k {
        "HF_AUTH_COOKIE_KEY" => Some(hex(2)),
        "HF_AUTH_COOKIE_KEY_PREVIOUS" => Some(hex(1)),
        _ => None,
    })
    .unwrap()
    .scope_check(ScopeCheck::Off)
    .build()
    .await
    .unwrap();
    assert_eq!(me_status(&from_env, &old_cookie).await, 200);
    assert_eq!(me_status(&from_env, &new_cookie).await, 200);
}

#[tokio::test]
async fn trusted_origins_come_from_the_public_url_space_host_and_the_allow_list() {
    let provider = TestProvider::start().await;
    let auth = provider
        .app_config("https://me-app.hf.space")
        .space_host("me-app.hf.space, app.example.com")
        .trusted_origins(["https://Partner.example:8443/"])
        .scope_check(ScopeCheck::Off)
        .build()
        .await
        .unwrap();
    assert_eq!(
        auth.trusted_origins().collect::<Vec<_>>(),
        [
            "https://me-app.hf.space",
            "https://app.example.com",
            "https://partner.example:8443"
        ]
    );
    let auth = vars(&[(
        "HF_AUTH_TRUSTED_ORIGINS",
        " https://a.example, http://[::1]:3000 ,",
    )])
    .build()
    .await
    .unwrap();
    assert_eq!(
        auth.trusted_origins().collect::<Vec<_>>(),
        [
            "http://localhost:7860",
            "https://a.example",
            "http://[::1]:3000"
        ]
    );
    for bad in ["null", "https://a.example/path", "a.example"] {
        let err =
            HfAuthBuilder::from_vars(&|k| (k == "HF_AUTH_TRUSTED_ORIGINS").then(|| bad.to_owned()))
                .unwrap()
                .scope_check(ScopeCheck::Off)
                .build()
                .await
                .unwrap_err();
        assert!(
            err.to_string().contains("HF_AUTH_TRUSTED_ORIGINS"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn a_bad_token_cache_ttl_names_its_variable() {
    for bad in ["0", "3601", "soon", "-1", "1.5", "99999999999999999999999"] {
        let err =
            HfAuthBuilder::from_vars(&|k| (k == "HF_AUTH_TOKEN_CACHE_TTL").then(|| bad.into()))
                .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    variable: "HF_AUTH_TOKEN_CACHE_TTL",
                    ..
                }
            ),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains("HF_AUTH_TOKEN_CACHE_TTL"), "{err}");
    }
    for good in ["1", "60", "3600"] {
        assert!(
            HfAuthBuilder::from_vars(&|k| (k == "HF_AUTH_TOKEN_CACHE_TTL").then(|| good.into()))
                .is_ok(),
            "{good}"
        );
    }
}

/// `HF_AUTH_TOKEN_CACHE_TTL` reaches the bearer cache: with 1 s, a checked token is no longer
/// cached 1.5 s later (and whoami is asked again); with the default (5 minutes), it still is.
#[tokio::test]
async fn the_token_cache_ttl_from_the_environment_is_the_one_used() {
    use hf_auth_runtime::{
        __internal::bench::{bench_cached_bearer, bench_identify_bearer},
        testing::{TestUser, TokenKind},
    };
    let provider = TestProvider::start().await;
    let issuer = provider.issuer().to_owned();
    let build = |ttl: Option<&'static str>| {
        let issuer = issuer.clone();
        HfAuthBuilder::from_vars(&move |k| match k {
            "OAUTH_CLIENT_ID" => Some(TestProvider::CLIENT_ID.into()),
            "OAUTH_CLIENT_SECRET" => Some(TestProvider::CLIENT_SECRET.into()),
            "OPENID_PROVIDER_URL" => Some(issuer.clone()),
            "HF_AUTH_PUBLIC_URL" => Some("http://127.0.0.1:7860".into()),
            "HF_AUTH_TOKEN_CACHE_TTL" => ttl.map(Into::into),
            _ => None,
        })
        .unwrap()
        .scope_check(ScopeCheck::Off)
        .discovery_attempts(1)
        .build()
    };
    let short = build(Some("1")).await.unwrap();
    let default = build(None).await.unwrap();
    let token = provider.mint_token(&TestUser::new("alice"), TokenKind::Read);
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    for auth in [&short, &default] {
        assert!(bench_identify_bearer(auth, &token).await);
        assert!(bench_cached_bearer(auth, &headers));
    }
    assert_eq!(provider.whoami_requests(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(!bench_cached_bearer(&short, &headers), "1 s has passed");
    assert!(
        bench_cached_bearer(&default, &headers),
        "5 minutes have not"
    );
    assert!(bench_identify_bearer(&short, &token).await);
    assert_eq!(provider.whoami_requests(), 3);
}

#[test]
fn a_bad_whoami_budget_names_its_variable() {
    for bad in ["0", "100001", "many", "-1", "1.5"] {
        let err = HfAuthBuilder::from_vars(&|k| (k == "HF_AUTH_WHOAMI_BUDGET").then(|| bad.into()))
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    variable: "HF_AUTH_WHOAMI_BUDGET",
                    ..
                }
            ),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains("from 1 to 100000"), "{err}");
    }
}

/// `HF_AUTH_WHOAMI_BUDGET` reaches the bearer checker: with 2 calls a minute, the third new
/// token is answered 503 without a whoami call.
#[tokio::test]
async fn the_whoami_budget_from_the_environment_is_the_one_used() {
    use hf_auth_runtime::{__internal::bench::bench_identify_bearer, testing::TestUser};
    let provider = TestProvider::start().await;
    let issuer = provider.issuer().to_owned();
    let auth = HfAuthBuilder::from_vars(&move |k| match k {
        "OAUTH_CLIENT_ID" => Some(TestProvider::CLIENT_ID.into()),
        "OAUTH_CLIENT_SECRET" => Some(TestProvider::CLIENT_SECRET.into()),
        "OPENID_PROVIDER_URL" => Some(issuer.clone()),
        "HF_AUTH_PUBLIC_URL" => Some("http://127.0.0.1:7860".into()),
        "HF_AUTH_WHOAMI_BUDGET" => Some("2".into()),
        _ => None,
    })
    .unwrap()
    .scope_check(ScopeCheck::Off)
    .discovery_attempts(1)
    .build()
    .await
    .unwrap();
    let alice = TestUser::new("alice");
    for _ in 0..2 {
        let token = provider.mint_token(&alice, hf_auth_runtime::testing::TokenKind::Read);
        assert!(bench_identify_bearer(&auth, &token).await);
    }
    let third = provider.mint_token(&alice, hf_auth_runtime::testing::TokenKind::Read);
    assert!(!bench_identify_bearer(&auth, &third).await, "over budget");
    assert_eq!(provider.whoami_requests(), 2);
}
