//! Cross-site request forgery: a cookie-authenticated request with an unsafe method from
//! another site is refused by every guard and extractor that admits a session; safe methods,
//! the app's own origin, non-browser clients and bearer tokens pass; a route can opt out; and
//! another site cannot sign a user out without a click.

mod common;

use axum::{
    http::{Method, StatusCode},
    routing::{get, post},
    Router,
};
use common::oneshot::call;
use hf_auth_runtime::{
    hf_login, testing, CrossSite, Guarded, HfAuth, HfUser, MockUser, Requirement, RequirementSource,
};

const APP: &str = "http://127.0.0.1:7860";

#[hf_login(scopes = "write-repos")]
async fn write(user: HfUser) -> String {
    format!("{} wrote", user.handle())
}

/// An extractor alone (no attribute) admits a session too.
async fn comment(user: HfUser) -> String {
    format!("{} commented", user.handle())
}

struct Webhook;
impl RequirementSource for Webhook {
    const REQUIREMENT: &'static Requirement = &Requirement {
        cross_site: CrossSite::Allow,
        ..Requirement::SIGNED_IN
    };
}
async fn webhook(_: Guarded<Webhook>) -> &'static str {
    "hooked"
}

async fn setup() -> (HfAuth, Router, String) {
    let auth = HfAuth::builder()
        .scopes("openid profile write-repos")
        .public_url(APP)
        .trusted_origins(["https://partner.example"])
        .build()
        .await
        .unwrap();
    let app = auth.attach(
        Router::new()
            .route("/write", get(write).post(write))
            .route("/comment", post(comment))
            .route("/webhook", post(webhook)),
    );
    let cookie = testing::session_cookie(&auth, &MockUser::new("alice"));
    (auth, app, cookie)
}

async fn send(
    app: &Router,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String, Vec<String>) {
    let out = call(app, method, path, headers, "x=1").await;
    let cookies = out.set_cookies();
    (out.status, out.body, cookies)
}

#[tokio::test]
async fn unsafe_methods_from_another_site_are_refused() {
    let (_, app, cookie) = setup().await;
    let c = cookie.as_str();
    for (what, headers) in [
        (
            "Sec-Fetch-Site cross-site",
            vec![("cookie", c), ("sec-fetch-site", "cross-site")],
        ),
        (
            "Sec-Fetch-Site same-site",
            vec![
                ("cookie", c),
                ("sec-fetch-site", "same-site"),
                ("origin", "https://sub.127.0.0.1"),
            ],
        ),
        (
            "a foreign Origin",
            vec![("cookie", c), ("origin", "https://evil.example")],
        ),
        ("Origin null", vec![("cookie", c), ("origin", "null")]),
        (
            "the same host over another scheme",
            vec![("cookie", c), ("origin", "https://127.0.0.1:7860")],
        ),
    ] {
        for path in ["/write", "/comment"] {
            let (status, body, _) = send(
                &app,
                Method::POST,
                path,
                &[headers.as_slice(), &[("accept", "application/json")]].concat(),
            )
            .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{what} on {path}: {body}");
            assert!(body.contains("cross_site_request"), "{what}: {body}");
            assert!(!body.contains("wrote") && !body.contains("commented"));
        }
    }
    // A browser gets a page that names the reason.
    let (status, body, _) = send(
        &app,
        Method::POST,
        "/write",
        &[
            ("cookie", c),
            ("sec-fetch-site", "cross-site"),
            ("accept", "text/html"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("another site"), "{body}");
}

#[tokio::test]
async fn the_apps_own_pages_non_browsers_and_safe_methods_pass() {
    let (_, app, cookie) = setup().await;
    let c = cookie.as_str();
    for headers in [
        vec![
            ("cookie", c),
            ("sec-fetch-site", "same-origin"),
            ("origin", APP),
        ],
        vec![("cookie", c), ("origin", APP)],
        vec![("cookie", c), ("origin", "https://partner.example")],
        vec![("cookie", c), ("sec-fetch-site", "none")],
        // curl, scripts: neither header.
        vec![("cookie", c)],
    ] {
        let (status, body, _) = send(&app, Method::POST, "/write", &headers).await;
        assert_eq!(status, StatusCode::OK, "{headers:?}: {body}");
    }
    // Links from other sites work: GET is never blocked.
    let (status, _, _) = send(
        &app,
        Method::GET,
        "/write",
        &[("cookie", c), ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bearer_tokens_are_not_ambient_and_pass() {
    let (auth, app, _) = setup().await;
    let token = format!("Bearer {}", auth.mock_token().unwrap());
    let (status, body, _) = send(
        &app,
        Method::POST,
        "/write",
        &[
            ("authorization", &token),
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_route_can_opt_out_for_webhooks() {
    let (_, app, cookie) = setup().await;
    let (status, body, _) = send(
        &app,
        Method::POST,
        "/webhook",
        &[
            ("cookie", &cookie),
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn another_site_cannot_sign_a_user_out_without_a_click() {
    let (_, app, cookie) = setup().await;
    let c = cookie.as_str();
    let logout = "/oauth/huggingface/logout";
    // A cross-site navigation (a link, an <img>, a top-level redirect) shows a button.
    let (status, body, cookies) = send(
        &app,
        Method::GET,
        logout,
        &[("cookie", c), ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<form method=\"post\""), "{body}");
    assert!(cookies.is_empty(), "not signed out: {cookies:?}");
    // Another site's auto-submitted form is refused.
    let (status, _, cookies) = send(
        &app,
        Method::POST,
        logout,
        &[
            ("cookie", c),
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(cookies.is_empty());
    // The button on the app's own page signs out.
    let (status, _, cookies) = send(
        &app,
        Method::POST,
        logout,
        &[
            ("cookie", c),
            ("sec-fetch-site", "same-origin"),
            ("origin", APP),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(cookies.iter().any(|c| c.contains("Max-Age=0")));
    // A typed or same-origin navigation, and a client without fetch metadata, sign out at once.
    for headers in [
        vec![("cookie", c), ("sec-fetch-site", "none")],
        vec![("cookie", c), ("sec-fetch-site", "same-origin")],
        vec![("cookie", c)],
    ] {
        let (status, _, cookies) = send(&app, Method::GET, logout, &headers).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{headers:?}");
        assert!(
            cookies.iter().any(|c| c.contains("Max-Age=0")),
            "{headers:?}"
        );
    }
}

#[tokio::test]
async fn only_get_and_a_same_site_post_can_sign_out() {
    // A HEAD (a link checker, a prefetch: axum answers it with the GET route) and every other
    // method are refused whatever the fetch metadata say, and end nothing.
    let (_, app, cookie) = setup().await;
    let c = cookie.as_str();
    for method in [Method::HEAD, Method::PUT, Method::DELETE, Method::OPTIONS] {
        for headers in [
            vec![("cookie", c)],
            vec![("cookie", c), ("sec-fetch-site", "none")],
            vec![
                ("cookie", c),
                ("sec-fetch-site", "same-origin"),
                ("origin", APP),
            ],
            vec![("cookie", c), ("sec-fetch-site", "cross-site")],
        ] {
            let out = call(
                &app,
                method.clone(),
                "/oauth/huggingface/logout",
                &headers,
                "",
            )
            .await;
            assert_eq!(
                out.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {headers:?}"
            );
            assert_eq!(
                out.header(axum::http::header::ALLOW).as_deref(),
                Some("GET, POST"),
                "{method}"
            );
            assert!(
                out.set_cookies().is_empty(),
                "{method} {headers:?}: {:?}",
                out.set_cookies()
            );
        }
    }
}

#[tokio::test]
async fn without_a_session_another_sites_request_is_signed_out_not_refused() {
    // The rule is about requests a session cookie authenticates: a client without one (or with
    // one that opens no session) gets what any signed-out client gets, 401, from anywhere.
    let (_, app, _) = setup().await;
    for cookie in [None, Some("hf_auth_session=forged")] {
        for site in [
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
            vec![("origin", "https://evil.example")],
            vec![("origin", "null")],
        ] {
            let mut headers = [site.as_slice(), &[("accept", "application/json")]].concat();
            headers.extend(cookie.map(|c| ("cookie", c)));
            for path in ["/write", "/comment"] {
                let out = call(&app, Method::POST, path, &headers, "x=1").await;
                assert_eq!(
                    out.status,
                    StatusCode::UNAUTHORIZED,
                    "{path} {headers:?}: {}",
                    out.body
                );
                assert!(out.body.contains("login_url"), "{}", out.body);
                assert_eq!(
                    out.header(axum::http::header::WWW_AUTHENTICATE).as_deref(),
                    Some("Bearer realm=\"hf-auth\""),
                );
            }
        }
    }
    // A browser is sent to the login page, as when signed out on the app's own pages.
    let out = call(
        &app,
        Method::POST,
        "/write",
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
            ("accept", "text/html"),
        ],
        "x=1",
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
}

#[tokio::test]
async fn a_refusal_names_the_allow_list() {
    let (_, app, cookie) = setup().await;
    let hostile = [
        ("cookie", cookie.as_str()),
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ];
    for accept in ["application/json", "text/html"] {
        let (status, body, _) = send(
            &app,
            Method::POST,
            "/write",
            &[hostile.as_slice(), &[("accept", accept)]].concat(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{accept}");
        assert!(body.contains("HF_AUTH_TRUSTED_ORIGINS"), "{accept}: {body}");
    }
    let (status, body, _) = send(&app, Method::POST, "/oauth/huggingface/logout", &hostile).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("HF_AUTH_TRUSTED_ORIGINS"), "{body}");
}
