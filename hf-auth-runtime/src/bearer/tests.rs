use axum::http::HeaderValue;

use super::*;

fn headers(values: &[&[u8]]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for v in values {
        h.append(AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
    }
    h
}

#[test]
fn bearer_token_reads_one_bearer_token() {
    assert_eq!(bearer_token(&HeaderMap::new()), Ok(None));
    for (value, token) in [
        (&b"Bearer hf_abc123"[..], "hf_abc123"),
        (b"bearer hf_abc", "hf_abc"),
        (b"BEARER a.b-c_d~e+f/g==", "a.b-c_d~e+f/g=="),
    ] {
        assert_eq!(bearer_token(&headers(&[value])), Ok(Some(token.as_bytes())));
    }
}

#[test]
fn bearer_token_refuses_malformed_headers() {
    use BadAuthorization::*;
    let long = format!("Bearer {}", "a".repeat(20 * 1024));
    let cases: [(&[u8], BadAuthorization); 15] = [
        (b"", Empty),
        (b"   ", Empty),
        (b"Basic dXNlcjpwYXNz", NotBearer),
        (b"Bearerhf_abc", NotBearer),
        (b"Token hf_abc", NotBearer),
        (b"Bearer", Malformed),
        (b"Bearer ", Malformed),
        (b"Bearer  hf_abc", Malformed),
        (b"Bearer hf_abc ", Malformed),
        (b"Bearer hf abc", Malformed),
        (b"Bearer hf_abc\t", Malformed),
        (b"Bearer =abc", Malformed),
        (b"Bearer ab=c", Malformed),
        (b"Bearer hf_\xc3\xa9", Malformed),
        (long.as_bytes(), TooLong),
    ];
    for (value, err) in cases {
        assert_eq!(
            bearer_token(&headers(&[value])).err(),
            Some(err),
            "{:?}",
            String::from_utf8_lossy(value)
        );
    }
    assert_eq!(
        bearer_token(&headers(&[b"Bearer a", b"Bearer b"])).err(),
        Some(Repeated)
    );
}

/// `token68`'s characters before the final `=`s, as RFC 7235 lists them: the reference the
/// branch-free [`is_token68_char`] is held to.
fn token68_rfc(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)
}

#[test]
fn the_token68_checks_agree_on_every_byte() {
    for c in 0..=255u8 {
        assert_eq!(is_token68_char(c), token68_rfc(c), "byte {c:#04x}");
        // At every place of bodies shorter than a chunk, of one or two chunks, and of one
        // or two chunks and a part (checked in an overlapping last chunk).
        for len in [1, 10, 16, 21, 32, 37] {
            for at in 0..len {
                let mut body = vec![b'a'; len];
                body[at] = c;
                assert_eq!(
                    all_token68(&body),
                    token68_rfc(c),
                    "byte {c:#04x} at {at} of {len}"
                );
            }
        }
    }
}

/// `Bearer <token68>` as RFC 6750 spells it (the first space ends the scheme; the token is one
/// or more `token68` characters, then `=`s), to check the faster parse of `bearer_token` with.
fn bearer_token_reference(b: &[u8]) -> Result<Option<&[u8]>, BadAuthorization> {
    if b.len() > MAX_AUTHORIZATION {
        return Err(BadAuthorization::TooLong);
    }
    if b.iter().all(|c| matches!(c, b' ' | b'\t')) {
        return Err(BadAuthorization::Empty);
    }
    let (scheme, token) = match b.iter().position(|c| *c == b' ') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[b.len()..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(BadAuthorization::NotBearer);
    }
    let body = token
        .iter()
        .position(|c| !token68_rfc(*c))
        .unwrap_or(token.len());
    match body > 0 && token[body..].iter().all(|c| *c == b'=') {
        true => Ok(Some(token)),
        false => Err(BadAuthorization::Malformed),
    }
}

proptest::proptest! {
    #[test]
    fn bearer_token_parses_as_the_grammar_says(
        bearer in proptest::bool::ANY,
        tail in proptest::collection::vec(
            proptest::sample::select(b"BbEeAaRrhf_ =\t.-~+/0\xc3\xa9".to_vec()),
            0..16,
        ),
    ) {
        let mut bytes = if bearer { b"Bearer ".to_vec() } else { Vec::new() };
        bytes.extend(tail);
        if let Ok(v) = HeaderValue::from_bytes(&bytes) {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, v);
            proptest::prop_assert_eq!(bearer_token(&h), bearer_token_reference(&bytes));
        }
    }

    #[test]
    fn bearer_token_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        if let Ok(v) = HeaderValue::from_bytes(&bytes) {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, v);
            if let Ok(Some(t)) = bearer_token(&h) {
                proptest::prop_assert!(!t.is_empty() && t.iter().all(|c| c.is_ascii_graphic()));
                proptest::prop_assert!(token_text(t).is_ok());
            }
        }
    }

    #[test]
    fn bearer_prefix_with_arbitrary_tail_never_panics(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let mut bytes = b"Bearer ".to_vec();
        bytes.extend(tail);
        if let Ok(v) = HeaderValue::from_bytes(&bytes) {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, v);
            let _ = bearer_token(&h);
        }
    }
}

#[test]
fn retry_after_prefers_ratelimit_t() {
    let mut h = HeaderMap::new();
    assert_eq!(retry_after(&h), None);
    h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
    h.insert("ratelimit", HeaderValue::from_static("\"api\";r=0;t=120"));
    assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
    h.insert(
        "ratelimit",
        HeaderValue::from_static("\"api\";r=0;t=999999"),
    );
    assert_eq!(retry_after(&h), Some(MAX_RETRY));
    let mut h = HeaderMap::new();
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&h), None, "an HTTP date is not honoured");
    h.insert(RETRY_AFTER, HeaderValue::from_static("0"));
    assert_eq!(retry_after(&h), Some(Duration::from_secs(1)));
}

async fn json_of(r: Response) -> serde_json::Value {
    let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

fn www_authenticate(r: &Response) -> &str {
    r.headers()[WWW_AUTHENTICATE].to_str().unwrap()
}

#[tokio::test]
async fn rfc_6750_answers() {
    let r = error_response(&BearerError::InvalidToken);
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate(&r),
        "Bearer realm=\"hf-auth\", error=\"invalid_token\""
    );
    assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(json_of(r).await["error"], "invalid_token");

    let r = error_response(&BearerError::Refused {
        why: "organization tokens are not accepted; use a user token",
    });
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body = json_of(r).await;
    assert_eq!(
        body["error_description"],
        "organization tokens are not accepted; use a user token"
    );

    let r = error_response(&BearerError::Unavailable {
        retry_after: Duration::from_secs(120),
    });
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()[RETRY_AFTER], "120");
    assert_eq!(json_of(r).await["error"], "temporarily_unavailable");

    let r = insufficient_scope_response(["write-repos", "bad\"scope", "jobs"]);
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www_authenticate(&r),
        "Bearer realm=\"hf-auth\", error=\"insufficient_scope\", scope=\"write-repos jobs\""
    );
    assert_eq!(json_of(r).await["error"], "insufficient_scope");

    let r = bad_authorization_response(&BadAuthorization::Malformed);
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(www_authenticate(&r).contains("error=\"invalid_request\""));
    assert_eq!(json_of(r).await["error"], "invalid_request");
    let r = bad_authorization_response(&BadAuthorization::NotBearer);
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&r), "Bearer realm=\"hf-auth\"");
}

#[test]
fn identify_is_send() {
    fn send<T: Send>(_: T) {}
    let auth = BearerAuth::new(BearerConfig::new("http://127.0.0.1:9/x".into())).unwrap();
    send(auth.identify("hf_x"));
}

#[test]
fn mock_token_stands_for_the_mock_user_only() {
    let user = MockUser::new("alice").scopes("openid profile read-repos read-mcp");
    let auth = BearerAuth::mock(
        BearerConfig::new("http://127.0.0.1:9/api/whoami-v2".into()),
        &user,
        &[],
    )
    .unwrap();
    let token = auth.mock_token().unwrap().to_owned();
    assert!(token.starts_with("hf_mock_") && token.len() == 40);
    let s = auth.cached(token.as_bytes()).unwrap().unwrap();
    assert_eq!(s.handle, "alice");
    assert_eq!(s.access_token, token);
    assert_eq!(
        s.scopes.mask(),
        hf_auth_scopes::mask_of(&["openid", "profile", "read-repos"])
    );
    assert_eq!(s.scopes.extra(), ["read-mcp"]);
    assert_eq!(
        auth.cached(b"hf_someone_else").unwrap().err(),
        Some(BearerError::InvalidToken)
    );
    let other = BearerAuth::mock(
        BearerConfig::new("http://127.0.0.1:9/api/whoami-v2".into()),
        &user,
        &[],
    )
    .unwrap();
    assert_ne!(
        other.mock_token(),
        auth.mock_token(),
        "random at each start"
    );
    assert!(
        !format!("{auth:?}").contains(&token),
        "Debug hides the token"
    );
}

#[cfg(feature = "testing")]
mod with_provider {
    use std::sync::Arc;

    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use hf_auth_scopes::{mask_of, tokens, Role};
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::testing::{TestProvider, TestUser, TokenKind, WhoamiFault};

    fn alice() -> TestUser {
        TestUser::new("alice")
            .org("acme", Role::Admin)
            .org("friends", Role::Read)
    }

    fn checker(p: &TestProvider, ttl: Duration) -> BearerAuth {
        let mut c = BearerConfig::new(p.whoami_url());
        c.ttl = ttl;
        c.http_timeout = Duration::from_secs(5);
        BearerAuth::new(c).unwrap()
    }

    /// An OAuth access token from a login at the provider (authorize, then the token endpoint).
    async fn oauth_token(p: &TestProvider) -> String {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let verifier = "a-verifier-that-is-long-enough-0123456789-abcdef";
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier));
        let redirect = "http://127.0.0.1:1/callback";
        let r = http
            .get(format!("{}/oauth/authorize", p.issuer()))
            .query(&[
                ("client_id", TestProvider::CLIENT_ID),
                ("redirect_uri", redirect),
                ("response_type", "code"),
                ("scope", "openid profile write-repos"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let body: serde_json::Value = http
            .post(format!("{}/oauth/token", p.issuer()))
            .basic_auth(TestProvider::CLIENT_ID, Some(TestProvider::CLIENT_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn each_token_kind_gets_its_scopes_and_orgs() {
        let p = TestProvider::start().await;
        let auth = checker(&p, Duration::from_secs(300));
        let read = p.mint_token(&alice(), TokenKind::Read);
        let s = auth.identify(&read).await.unwrap();
        assert_eq!(s.handle, "alice");
        assert_eq!(s.sub, alice().sub);
        assert_eq!(s.scopes.mask(), tokens::CLASSIC_READ);
        assert_eq!(s.access_token, read);
        assert_eq!(s.refresh_token, None);
        assert_eq!(s.orgs.len(), 2);
        assert_eq!(
            (s.orgs[0].handle.as_str(), s.orgs[0].role),
            ("acme", Some(Role::Admin))
        );
        let now = now_unix();
        assert!((now + 299..=now + 301).contains(&s.expires_at), "now + TTL");

        let write = p.mint_token(&alice(), TokenKind::Write);
        assert_eq!(
            auth.identify(&write).await.unwrap().scopes.mask(),
            tokens::CLASSIC_WRITE
        );

        let fine = p.mint_token(
            &alice(),
            TokenKind::FineGrained {
                permissions: vec!["repo.write".into(), "inference.serverless.write".into()],
                global: vec!["discussion.write".into()],
                can_read_gated_repos: true,
                orgs: Vec::new(),
            },
        );
        assert_eq!(
            auth.identify(&fine).await.unwrap().scopes.mask(),
            tokens::FINE_GRAINED_BASE
                | mask_of(&[
                    "read-repos",
                    "write-repos",
                    "inference-api",
                    "write-discussions",
                    "gated-repos"
                ])
        );
    }

    #[tokio::test]
    async fn oauth_tokens_of_any_app_are_refused() {
        let p = TestProvider::start().await;
        let auth = checker(&p, Duration::from_secs(300));
        // A token another app received at its login: whoami says `auth.type: "oauth"`.
        let oauth = oauth_token(&p).await;
        assert!(oauth.starts_with("hf_oauth_"));
        let refused = auth.identify(&oauth).await.err();
        assert_eq!(
            refused,
            Some(BearerError::Refused {
                why: tokens::OAUTH_REFUSAL
            })
        );
        let r = error_response(&refused.unwrap());
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(www_authenticate(&r).contains("error=\"invalid_token\""));
        let body = json_of(r).await;
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("use a user access token"));
        // Cached as refused: the next request costs no whoami call.
        assert!(matches!(
            auth.cached(oauth.as_bytes()),
            Some(Err(BearerError::Refused { .. }))
        ));
        assert_eq!(p.whoami_requests(), 1);
    }

    #[tokio::test]
    async fn fine_grained_tokens_pass_only_in_the_orgs_they_name() {
        let p = TestProvider::start().await;
        let auth = checker(&p, Duration::from_secs(300));
        let orgs = |token: &str| {
            let token = token.to_owned();
            let auth = &auth;
            async move {
                let s = auth.identify(&token).await.unwrap();
                s.orgs
                    .iter()
                    .map(|o| (o.handle.clone(), o.role))
                    .collect::<Vec<_>>()
            }
        };
        let own_only = p.mint_token(&alice(), TokenKind::fine_grained(&["repo.write"]));
        assert_eq!(orgs(&own_only).await, [], "grants nothing on acme");
        let acme_read = p.mint_token(
            &alice(),
            TokenKind::fine_grained(&[]).with_org("acme", &["repo.content.read"]),
        );
        assert_eq!(
            orgs(&acme_read).await,
            [("acme".to_owned(), Some(Role::Read))],
            "alice is admin of acme, the token reads only"
        );
        let acme_admin = p.mint_token(
            &alice(),
            TokenKind::fine_grained(&[])
                .with_org("acme", &["org.write"])
                .with_org("elsewhere", &["repo.write"]),
        );
        assert_eq!(
            orgs(&acme_admin).await,
            [("acme".to_owned(), Some(Role::Admin))]
        );
        // A classic token still acts in every org with the user's role.
        let classic = p.mint_token(&alice(), TokenKind::Read);
        assert_eq!(
            orgs(&classic).await,
            [
                ("acme".to_owned(), Some(Role::Admin)),
                ("friends".to_owned(), Some(Role::Read))
            ]
        );
    }

    #[tokio::test]
    async fn a_known_expiry_bounds_the_session_and_the_cache() {
        let p = TestProvider::start().await;
        let auth = checker(&p, Duration::from_secs(300));
        let token = p.mint_token_expiring(&alice(), TokenKind::Read, Duration::from_secs(2));
        let s = auth.identify(&token).await.unwrap();
        assert!(s.expires_at <= now_unix() + 2);
        assert!(auth.cached(token.as_bytes()).is_some());
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(
            auth.cached(token.as_bytes()).is_none(),
            "the cache never outlives the token"
        );
        assert_eq!(
            auth.identify(&token).await.err(),
            Some(BearerError::InvalidToken)
        );
        assert_eq!(p.whoami_requests(), 2);
    }

    #[tokio::test]
    async fn org_and_app_tokens_are_refused() {
        let p = TestProvider::start().await;
        let auth = checker(&p, Duration::from_secs(300));
        for kind in [TokenKind::Org, TokenKind::App] {
            let t = p.mint_token(&alice(), kind.clone());
            assert!(
                matches!(
                    auth.identify(&t).await.err(),
                    Some(BearerError::Refused { .. })
                ),
                "{kind:?}"
            );
            assert!(matches!(
                auth.cached(t.as_bytes()).map(Result::err),
                Some(Some(BearerError::Refused { .. }))
            ));
        }
    }

    #[tokio::test]
    async fn cache_hits_skip_whoami_until_the_ttl() {
        let p = TestProvider::start().await;
        let auth = checker(&p, Duration::from_secs(1));
        let token = p.mint_token(&alice(), TokenKind::Read);
        let first = auth.identify(&token).await.unwrap();
        p.revoke_token(&token);
        for _ in 0..10 {
            let again = auth.identify(&token).await.unwrap();
            assert!(Arc::ptr_eq(&first, &again));
            let fast = auth.cached(token.as_bytes()).unwrap().unwrap();
            assert!(Arc::ptr_eq(&first, &fast));
        }
        assert_eq!(p.whoami_requests(), 1, "hits do not call whoami");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(auth.cached(token.as_bytes()).is_none());
        assert_eq!(
            auth.identify(&token).await.err(),
            Some(BearerError::InvalidToken)
        );
        assert_eq!(
            p.whoami_requests(),
            2,
            "after the TTL whoami is asked again"
        );
    }

    #[tokio::test]
    async fn unknown_tokens_are_cached_negatively_for_a_short_time() {
        let p = TestProvider::start().await;
        let mut c = BearerConfig::new(p.whoami_url());
        c.negative_ttl = Duration::from_millis(600);
        let auth = BearerAuth::new(c).unwrap();
        for _ in 0..5 {
            assert_eq!(
                auth.identify("hf_notatokenanyoneissued").await.err(),
                Some(BearerError::InvalidToken)
            );
        }
        assert_eq!(
            auth.cached(b"hf_notatokenanyoneissued").map(Result::err),
            Some(Some(BearerError::InvalidToken))
        );
        assert_eq!(p.whoami_requests(), 1, "the negative answer is cached");
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(auth.cached(b"hf_notatokenanyoneissued").is_none());
        let _ = auth.identify("hf_notatokenanyoneissued").await;
        assert_eq!(p.whoami_requests(), 2, "only for a short time");
    }

    #[tokio::test]
    async fn tokens_that_are_not_hugging_face_tokens_never_reach_whoami() {
        let p = TestProvider::start().await;
        let auth = checker(&p, Duration::from_secs(300));
        for t in ["api_org_abc", "ghp_abc", "HF_abc", "x"] {
            assert_eq!(
                auth.identify(t).await.err(),
                Some(BearerError::InvalidToken),
                "{t}"
            );
        }
        assert_eq!(p.whoami_requests(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn single_flight_one_whoami_call_for_fifty_requests() {
        let p = TestProvider::start().await;
        p.set_whoami_delay(Duration::from_millis(300));
        let auth = Arc::new(checker(&p, Duration::from_secs(300)));
        let token = p.mint_token(&alice(), TokenKind::Write);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (auth, token) = (auth.clone(), token.clone());
            set.spawn(async move { auth.identify(&token).await });
        }
        let mut ok = 0;
        while let Some(r) = set.join_next().await {
            assert_eq!(r.unwrap().unwrap().handle, "alice");
            ok += 1;
        }
        assert_eq!(ok, 50);
        assert_eq!(p.whoami_requests(), 1);
    }

    #[tokio::test]
    async fn a_cancelled_leader_is_replaced() {
        let p = TestProvider::start().await;
        p.set_whoami_delay(Duration::from_millis(300));
        let auth = Arc::new(checker(&p, Duration::from_secs(300)));
        let token = p.mint_token(&alice(), TokenKind::Read);
        let leader = {
            let (auth, token) = (auth.clone(), token.clone());
            tokio::spawn(async move { auth.identify(&token).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let follower = {
            let (auth, token) = (auth.clone(), token.clone());
            tokio::spawn(async move { auth.identify(&token).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        leader.abort();
        let got = tokio::time::timeout(Duration::from_secs(5), follower)
            .await
            .expect("the follower does not hang")
            .unwrap();
        assert_eq!(got.unwrap().handle, "alice");
        // The aborted call may or may not have reached the provider on a loaded machine.
        assert!((1..=2).contains(&p.whoami_requests()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn thousands_of_cancelled_checks_leave_the_cache_usable() {
        let p = TestProvider::start().await;
        p.set_whoami_delay(Duration::from_secs(30));
        let mut c = BearerConfig::new(p.whoami_url());
        c.bounds = Bounds {
            max_entries: 256,
            max_bytes: 1 << 20,
        };
        c.whoami_budget = crate::config::MAX_WHOAMI_BUDGET;
        let auth = BearerAuth::new(c).unwrap();
        for i in 0..3000 {
            let token = format!("hf_cancelled{i:031}");
            // Polled once (the lookup leads, the whoami call starts), then dropped: the
            // client went away while whoami was asked.
            let cancelled = tokio::time::timeout(Duration::ZERO, auth.identify(&token)).await;
            assert!(cancelled.is_err(), "whoami is slow: nothing answered");
        }
        assert_eq!(auth.cache_entries(), 0, "no abandoned check left pending");
        p.set_whoami_delay(Duration::ZERO);
        let mut tokens = Vec::new();
        for _ in 0..200 {
            let t = p.mint_token(&alice(), TokenKind::Read);
            assert_eq!(auth.identify(&t).await.unwrap().handle, "alice");
            tokens.push(t);
        }
        assert!(auth.cache_entries() <= 256, "{}", auth.cache_entries());
        let hits = tokens
            .iter()
            .filter(|t| matches!(auth.cached(t.as_bytes()), Some(Ok(_))))
            .count();
        assert!(hits >= 100, "only {hits} of 200 valid tokens are cached");
    }

    #[tokio::test]
    async fn tokens_never_seen_valid_have_a_whoami_budget() {
        let p = TestProvider::start().await;
        let mut c = BearerConfig::new(p.whoami_url());
        c.ttl = Duration::from_secs(1);
        c.whoami_budget = 5;
        let auth = BearerAuth::new(c).unwrap();
        // A token seen valid before the flood.
        let known = p.mint_token(&alice(), TokenKind::Read);
        assert_eq!(auth.identify(&known).await.unwrap().handle, "alice");
        assert_eq!(p.whoami_requests(), 1);
        // Random well-formed tokens: four more calls, then 503 without a call.
        let mut refused = 0;
        for i in 0..20 {
            match auth.identify(&format!("hf_random{i:032}")).await {
                Err(BearerError::InvalidToken) => {}
                Err(e @ BearerError::Unavailable { retry_after }) => {
                    assert!(retry_after >= Duration::from_secs(1));
                    let r = error_response(&e);
                    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
                    assert!(r.headers().contains_key(RETRY_AFTER));
                    refused += 1;
                }
                other => panic!("{:?}", other.map(|s| s.handle.clone())),
            }
        }
        assert_eq!(refused, 16);
        assert_eq!(p.whoami_requests(), 5, "the budget: 5 calls a minute");
        // A new valid token waits for the budget too...
        let fresh = p.mint_token(&alice(), TokenKind::Write);
        assert!(matches!(
            auth.identify(&fresh).await,
            Err(BearerError::Unavailable { .. })
        ));
        assert_eq!(p.whoami_requests(), 5);
        // ...but the token seen valid is re-checked after its TTL, outside the budget.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(auth.cached(known.as_bytes()).is_none(), "expired");
        assert_eq!(auth.identify(&known).await.unwrap().handle, "alice");
        assert_eq!(p.whoami_requests(), 6);
    }

    #[tokio::test]
    async fn rate_limited_whoami_means_unavailable_and_backs_off() {
        let p = TestProvider::start().await;
        let auth = checker(&p, Duration::from_secs(300));
        let token = p.mint_token(&alice(), TokenKind::Read);
        p.set_whoami_fault(WhoamiFault::RateLimited { reset_secs: 120 });
        assert_eq!(
            auth.identify(&token).await.err(),
            Some(BearerError::Unavailable {
                retry_after: Duration::from_secs(120)
            })
        );
        // During the back-off no other token reaches whoami, and the answer needs no await.
        let other = p.mint_token(&alice(), TokenKind::Write);
        assert!(matches!(
            auth.cached(other.as_bytes()),
            Some(Err(BearerError::Unavailable { retry_after })) if retry_after > Duration::from_secs(100)
        ));
        assert!(matches!(
            auth.identify(&other).await,
            Err(BearerError::Unavailable { .. })
        ));
        assert_eq!(p.whoami_requests(), 1);
        // A token that is no Hugging Face token is still plainly invalid.
        assert_eq!(
            auth.cached(b"ghp_abc").map(Result::err),
            Some(Some(BearerError::InvalidToken))
        );
    }

    #[tokio::test]
    async fn unavailable_is_never_cached_as_invalid() {
        let p = TestProvider::start().await;
        let auth = checker(&p, Duration::from_secs(300));
        let token = p.mint_token(&alice(), TokenKind::Read);
        p.set_whoami_fault(WhoamiFault::RateLimited { reset_secs: 1 });
        assert_eq!(
            auth.identify(&token).await.err(),
            Some(BearerError::Unavailable {
                retry_after: Duration::from_secs(1)
            })
        );
        p.set_whoami_fault(WhoamiFault::None);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(auth.identify(&token).await.unwrap().handle, "alice");

        let token = p.mint_token(&alice(), TokenKind::Write);
        p.set_whoami_fault(WhoamiFault::ServerError {
            retry_after_secs: 7,
        });
        assert_eq!(
            auth.identify(&token).await.err(),
            Some(BearerError::Unavailable {
                retry_after: Duration::from_secs(7)
            })
        );
        assert!(
            auth.cached(token.as_bytes()).is_none(),
            "a 5xx is not cached"
        );
        p.set_whoami_fault(WhoamiFault::None);
        assert_eq!(auth.identify(&token).await.unwrap().handle, "alice");
    }

    #[tokio::test]
    async fn unreachable_or_slow_whoami_is_unavailable() {
        let closed = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        let auth =
            BearerAuth::new(BearerConfig::new(format!("http://{closed}/api/whoami-v2"))).unwrap();
        assert_eq!(
            auth.identify("hf_x").await.err(),
            Some(BearerError::Unavailable {
                retry_after: DEFAULT_RETRY
            })
        );
        let p = TestProvider::start().await;
        p.set_whoami_delay(Duration::from_secs(3));
        let mut c = BearerConfig::new(p.whoami_url());
        c.http_timeout = Duration::from_millis(300);
        let auth = BearerAuth::new(c).unwrap();
        let t = p.mint_token(&alice(), TokenKind::Read);
        assert!(matches!(
            auth.identify(&t).await,
            Err(BearerError::Unavailable { .. })
        ));
    }

    #[tokio::test]
    async fn the_builder_wires_whoami_and_the_mock_token() {
        let p = TestProvider::start().await;
        let auth = p
            .app_config("http://127.0.0.1:1")
            .scope_check(crate::ScopeCheck::Off)
            .token_cache_ttl(Duration::from_secs(60))
            .build()
            .await
            .unwrap();
        assert_eq!(auth.mock_token(), None);
        let t = p.mint_token(&alice(), TokenKind::Read);
        let s = auth.state.bearer.identify(&t).await.unwrap();
        assert_eq!(s.handle, "alice");
        assert!(s.expires_at <= now_unix() + 60);
        assert_eq!(
            p.whoami_requests(),
            1,
            "default URL: {{provider}}/api/whoami-v2"
        );

        let err = p
            .app_config("http://127.0.0.1:1")
            .scope_check(crate::ScopeCheck::Off)
            .token_cache_ttl(Duration::ZERO)
            .build()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("token_cache_ttl"), "{err}");
        let err = p
            .app_config("http://127.0.0.1:1")
            .scope_check(crate::ScopeCheck::Off)
            .whoami_url("not a url")
            .build()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("whoami_url"), "{err}");

        let mock = crate::HfAuth::builder()
            .scope_check(crate::ScopeCheck::Off)
            .build()
            .await
            .unwrap();
        let token = mock.mock_token().unwrap();
        assert!(
            crate::HfAuth::builder()
                .scope_check(crate::ScopeCheck::Off)
                .provider_url("not a url")
                .build()
                .await
                .is_ok(),
            "mock mode never calls whoami, so its URL is not checked"
        );
        assert!(token.starts_with("hf_mock_"));
        let s = mock.state.bearer.identify(token).await.unwrap();
        assert_eq!(s.handle, "dev-user");
    }
}
