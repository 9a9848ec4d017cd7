//! What hf-auth's protection costs per request.
//!
//! ```text
//! cargo bench -p hf-auth-runtime --features testing,bench-hooks --bench guard
//! cargo bench -p hf-auth-runtime --features testing,bench-hooks --bench guard -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Profile one case with `-- --profile-time 5 'guard/signed_in/0_orgs'` (under `valgrind
//! --tool=callgrind` for instance); the report below is then skipped.
//!
//! Before criterion runs, the bench prints cookie sizes and the heap allocations of each case
//! (counted by the global allocator below), then criterion times:
//! - `decode/{orgs}`: find, decrypt and deserialize the session cookie (users in 0..500 orgs);
//! - `check/{req}/{orgs}`: `Requirement::check` on an already decoded user;
//! - `guard/{req}/{orgs}`: the whole `Guarded<R>` extractor (decode, expiry, check, keep the user
//!   for the handler) for `signed_in`, `3_scopes` and `org_role` (`acme` with role `write`,
//!   the last of the user's orgs);
//! - `scopes/...`: the guard for a user granted 1 or all 18 scopes;
//! - `issue/...`: issuing a session cookie (`testing::session_cookie`, and the sealing alone);
//! - `callback/...`: the callback's own work once the provider has answered: parsing and
//!   verifying the RS256 ID token against the JWKS fetched at start-up, then sealing the session;
//! - `router/...`: a request through an axum router with `tower::ServiceExt::oneshot`: the
//!   `#[hf_login]` handler against the same handler unprotected, in one group so the ratio
//!   comes from one run;
//! - `bearer/cached`: a bearer token already checked with whoami: read `Authorization`, hash the
//!   token, look it up in the cache;
//! - `bearer/guard/{token,cookie}`: the whole `Guarded<SignedIn>` extractor of one real-mode
//!   app for a cached bearer token and for a session cookie, side by side in one run;
//! - `bearer/router/{token,cookie,open}`: `/me` through that app's router with a cached token,
//!   with a session cookie, and `/me-open` unprotected (the ratio comes from one run).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    future::Future,
    hint::black_box,
    pin::pin,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    task::{Context, Poll, Waker},
    time::Duration,
};

use axum::{
    body::Body,
    extract::FromRequestParts,
    http::{
        header::{AUTHORIZATION, COOKIE},
        request::Parts,
        HeaderMap, HeaderValue, Request,
    },
    routing::get,
    Json, Router,
};
use criterion::{criterion_group, BenchmarkId, Criterion};
use hf_auth_runtime::__internal::bench;
use hf_auth_runtime::{
    hf_login, mask_of, testing, Guarded, HfAuth, HfUser, MockUser, OrgRequirement, Requirement,
    RequirementSource, Role, ScopeCheck, SCOPES,
};
use serde_json::{json, Value};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// A global allocator that counts allocations (alloc, alloc_zeroed and realloc each count one).
// ---------------------------------------------------------------------------------------------

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Average allocations and allocated bytes of one call of `f` (after one warm-up call).
fn allocations(mut f: impl FnMut()) -> (f64, f64) {
    const N: u64 = 1000;
    f();
    let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    for _ in 0..N {
        f();
    }
    let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    ((a1 - a0) as f64 / N as f64, (b1 - b0) as f64 / N as f64)
}

/// Runs a future that must not wait (the guard awaits only to refresh an expired token, the
/// routers here never wait on I/O), without the overhead of an executor.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the future waited; the bench assumes it never does"),
    }
}

// ---------------------------------------------------------------------------------------------
// The requirements measured, written by hand as the macros would.
// ---------------------------------------------------------------------------------------------

struct SignedIn;
impl RequirementSource for SignedIn {
    const REQUIREMENT: &'static Requirement = &Requirement::SIGNED_IN;
}

const THREE: &[&str] = &["read-repos", "write-repos", "inference-api"];
struct ThreeScopes;
impl RequirementSource for ThreeScopes {
    const REQUIREMENT: &'static Requirement = &Requirement {
        scope_mask: mask_of(THREE),
        scopes: THREE,
        extra_scopes: &[],
        orgs: &[],
        ..Requirement::SIGNED_IN
    };
}

struct OrgRole;
impl RequirementSource for OrgRole {
    const REQUIREMENT: &'static Requirement = &Requirement {
        scope_mask: 0,
        scopes: &[],
        extra_scopes: &[],
        orgs: &[OrgRequirement {
            org: "acme",
            role: Some(Role::Write),
        }],
        ..Requirement::SIGNED_IN
    };
}

const ALL_SCOPES: [&str; 18] = {
    let mut names = [""; 18];
    let mut i = 0;
    while i < 18 {
        names[i] = SCOPES[i].name;
        i += 1;
    }
    names
};
struct EighteenScopes;
impl RequirementSource for EighteenScopes {
    const REQUIREMENT: &'static Requirement = &Requirement {
        scope_mask: mask_of(&ALL_SCOPES),
        scopes: &ALL_SCOPES,
        extra_scopes: &[],
        orgs: &[],
        ..Requirement::SIGNED_IN
    };
}

const ORG_COUNTS: [usize; 4] = [0, 10, 100, 500];
const USER_SCOPES: &str = "openid profile read-memberships read-repos write-repos inference-api";

/// A user in `n` orgs with 23-character handles (`acme` is the last one when `n > 0`).
fn user_in_orgs(n: usize, scopes: &str) -> MockUser {
    let mut user = MockUser::new("some-user").name("Some User").scopes(scopes);
    for i in 0..n {
        if i + 1 == n {
            user = user.org("acme", Role::Admin);
        } else {
            user = user.org(format!("organization-number-{i:03}"), Role::ALL[i % 4]);
        }
    }
    user
}

fn auth() -> HfAuth {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(
        HfAuth::builder()
            .scopes(&ALL_SCOPES.join(" "))
            .scope_check(ScopeCheck::Off)
            .build(),
    )
    .expect("a mock-mode app")
}

/// An app signed in at the kit's test provider (real mode: discovery and the JWKS fetched once
/// at start-up), with the runtime serving that provider. Keep all three alive while measuring.
fn real_mode() -> (tokio::runtime::Runtime, testing::TestProvider, HfAuth) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (provider, auth) = rt.block_on(async {
        let provider = testing::TestProvider::start().await;
        let auth = provider
            .app_config("http://127.0.0.1:7860")
            .scope_check(ScopeCheck::Off)
            .build()
            .await
            .expect("an app signed in at the test provider");
        (provider, auth)
    });
    (rt, provider, auth)
}

const NONCE: &str = "a-nonce-from-the-flow-cookie";

/// The ID token the provider would sign now, checked to verify (and to fail with another nonce).
fn verified_id_token(provider: &testing::TestProvider, auth: &HfAuth) -> String {
    let token = provider.bench_id_token(NONCE);
    assert!(bench::bench_verify_id_token(auth, &token, NONCE).is_some());
    assert!(bench::bench_verify_id_token(auth, &token, "another-nonce").is_none());
    token
}

/// Request parts carrying `cookie`.
fn parts_with(cookie: &str) -> Parts {
    Request::get("/me")
        .header(COOKIE, cookie)
        .header("accept", "application/json")
        .body(())
        .expect("a request")
        .into_parts()
        .0
}

fn headers_with(cookie: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        COOKIE,
        HeaderValue::from_str(cookie).expect("a header value"),
    );
    h
}

/// The guard as axum runs it: `Guarded<R>::from_request_parts`, inside a request's context as
/// `attach`'s layer gives it.
fn guard<R: RequirementSource>(auth: &HfAuth, parts: &mut Parts) -> bool {
    bench::bench_attach(auth, parts);
    ready(<Guarded<R> as FromRequestParts<()>>::from_request_parts(
        parts,
        &(),
    ))
    .is_ok()
}

// ---------------------------------------------------------------------------------------------
// The router benchmark: one handler, protected and not.
// ---------------------------------------------------------------------------------------------

/// What `/me` answers: the same work with or without protection.
fn profile(
    id: &str,
    handle: &str,
    name: Option<&str>,
    orgs: usize,
    scopes: Vec<&str>,
) -> Json<Value> {
    Json(json!({
        "route": "/me",
        "sub": id,
        "preferred_username": handle,
        "name": name,
        "orgs": orgs,
        "scopes": scopes,
    }))
}

#[hf_login]
async fn me(user: HfUser) -> Json<Value> {
    profile(
        user.id(),
        user.handle(),
        user.name(),
        user.orgs().len(),
        user.scopes(),
    )
}

async fn me_open() -> Json<Value> {
    profile(
        "0123456789abcdef01234567",
        "some-user",
        Some("Some User"),
        0,
        USER_SCOPES.split(' ').collect(),
    )
}

fn routers(auth: &HfAuth) -> (Router, Router) {
    let attached = auth.attach(
        Router::new()
            .route("/me", get(me))
            .route("/me-open", get(me_open)),
    );
    let bare = Router::new().route("/me-open", get(me_open));
    (attached, bare)
}

fn request(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(COOKIE, cookie)
        .header("accept", "application/json")
        .body(Body::empty())
        .expect("a request")
}

fn call(router: &Router, path: &str, cookie: &str) -> u16 {
    send(router, request(path, cookie))
}

fn send(router: &Router, request: Request<Body>) -> u16 {
    ready(router.clone().oneshot(request))
        .expect("infallible")
        .status()
        .as_u16()
}

/// A request with `Authorization: Bearer {token}` and no cookie.
fn token_request(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header("accept", "application/json")
        .body(Body::empty())
        .expect("a request")
}

/// Request parts with `Authorization: Bearer {token}` and no cookie.
fn parts_with_token(token: &str) -> Parts {
    token_request("/me", token).into_parts().0
}

// ---------------------------------------------------------------------------------------------
// The report printed before criterion's figures.
// ---------------------------------------------------------------------------------------------

fn report() {
    let auth = auth();
    println!("hf-auth guard bench: cookie sizes and heap allocations per call (mean of 1000)");
    println!(
        "{:<34} {:>12} {:>10} {:>12}",
        "case", "cookie B", "allocs", "alloc B"
    );
    let row = |case: String, cookie: usize, (a, b): (f64, f64)| {
        println!("{case:<34} {cookie:>12} {a:>10.1} {b:>12.0}");
    };
    for n in ORG_COUNTS {
        let user = user_in_orgs(n, USER_SCOPES);
        let cookie = testing::session_cookie(&auth, &user);
        let headers = headers_with(&cookie);
        row(
            format!("decode/{n} orgs"),
            cookie.len(),
            allocations(|| {
                black_box(bench::bench_decode_session(&auth, black_box(&headers)));
            }),
        );
        let decoded = bench::bench_decode_session(&auth, &headers).expect("valid");
        let mut parts = parts_with(&cookie);
        assert!(guard::<SignedIn>(&auth, &mut parts), "{n} orgs: signed in");
        assert!(
            guard::<ThreeScopes>(&auth, &mut parts),
            "{n} orgs: 3 scopes"
        );
        assert_eq!(
            guard::<OrgRole>(&auth, &mut parts),
            n > 0,
            "{n} orgs: org role"
        );
        row(
            format!("check/org_role/{n} orgs"),
            cookie.len(),
            allocations(|| {
                let _ = black_box(OrgRole::REQUIREMENT.check(black_box(&decoded)));
            }),
        );
        row(
            format!("guard/signed_in/{n} orgs"),
            cookie.len(),
            allocations(|| {
                black_box(guard::<SignedIn>(&auth, &mut parts));
            }),
        );
        if n > 0 {
            row(
                format!("guard/org_role/{n} orgs"),
                cookie.len(),
                allocations(|| {
                    black_box(guard::<OrgRole>(&auth, &mut parts));
                }),
            );
        }
        row(
            format!("issue/session_cookie/{n} orgs"),
            cookie.len(),
            allocations(|| {
                black_box(testing::session_cookie(&auth, black_box(&user)));
            }),
        );
        row(
            format!("issue/seal/{n} orgs"),
            cookie.len(),
            allocations(|| {
                black_box(bench::bench_encode_session(&auth, black_box(&decoded)));
            }),
        );
    }
    for (label, scopes) in [
        ("1 scope", "openid"),
        ("18 scopes", &ALL_SCOPES.join(" ")[..]),
    ] {
        let cookie = testing::session_cookie(&auth, &user_in_orgs(0, scopes));
        let mut parts = parts_with(&cookie);
        assert!(guard::<SignedIn>(&auth, &mut parts));
        row(
            format!("scopes/signed_in/{label}"),
            cookie.len(),
            allocations(|| {
                black_box(guard::<SignedIn>(&auth, &mut parts));
            }),
        );
    }
    let cookie = testing::session_cookie(&auth, &user_in_orgs(0, USER_SCOPES));
    let (attached, bare) = routers(&auth);
    assert_eq!(call(&attached, "/me", &cookie), 200);
    assert_eq!(call(&attached, "/me-open", &cookie), 200);
    assert_eq!(call(&bare, "/me-open", &cookie), 200);
    assert_eq!(call(&attached, "/me", "hf_auth_session=forged"), 401);
    for (case, router, path) in [
        ("router/protected", &attached, "/me"),
        ("router/open_same_layers", &attached, "/me-open"),
        ("router/open_bare", &bare, "/me-open"),
    ] {
        row(
            case.to_owned(),
            cookie.len(),
            allocations(|| {
                black_box(call(router, path, &cookie));
            }),
        );
    }
    let (_rt, provider, auth) = real_mode();
    let token = verified_id_token(&provider, &auth);
    row(
        "callback/verify_id_token".to_owned(),
        token.len(),
        allocations(|| {
            black_box(bench::bench_verify_id_token(
                &auth,
                black_box(&token),
                NONCE,
            ));
        }),
    );
    println!();
}

// ---------------------------------------------------------------------------------------------
// Criterion.
// ---------------------------------------------------------------------------------------------

fn bench_guard(c: &mut Criterion) {
    let auth = auth();
    let mut g = c.benchmark_group("decode");
    for n in ORG_COUNTS {
        let headers = headers_with(&testing::session_cookie(
            &auth,
            &user_in_orgs(n, USER_SCOPES),
        ));
        g.bench_function(BenchmarkId::from_parameter(format!("{n}_orgs")), |b| {
            b.iter(|| bench::bench_decode_session(&auth, black_box(&headers)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("check");
    for n in ORG_COUNTS {
        let cookie = testing::session_cookie(&auth, &user_in_orgs(n, USER_SCOPES));
        let user = bench::bench_decode_session(&auth, &headers_with(&cookie)).expect("valid");
        g.bench_function(BenchmarkId::new("3_scopes", format!("{n}_orgs")), |b| {
            b.iter(|| ThreeScopes::REQUIREMENT.check(black_box(&user)).is_ok())
        });
        if n > 0 {
            g.bench_function(BenchmarkId::new("org_role", format!("{n}_orgs")), |b| {
                b.iter(|| OrgRole::REQUIREMENT.check(black_box(&user)).is_ok())
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("guard");
    for n in ORG_COUNTS {
        let cookie = testing::session_cookie(&auth, &user_in_orgs(n, USER_SCOPES));
        let mut parts = parts_with(&cookie);
        g.bench_function(BenchmarkId::new("signed_in", format!("{n}_orgs")), |b| {
            b.iter(|| guard::<SignedIn>(&auth, &mut parts))
        });
        g.bench_function(BenchmarkId::new("3_scopes", format!("{n}_orgs")), |b| {
            b.iter(|| guard::<ThreeScopes>(&auth, &mut parts))
        });
        if n > 0 {
            g.bench_function(BenchmarkId::new("org_role", format!("{n}_orgs")), |b| {
                b.iter(|| guard::<OrgRole>(&auth, &mut parts))
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("scopes");
    let all = ALL_SCOPES.join(" ");
    for (label, scopes) in [("1_scope", "openid"), ("18_scopes", all.as_str())] {
        let cookie = testing::session_cookie(&auth, &user_in_orgs(0, scopes));
        let mut parts = parts_with(&cookie);
        g.bench_function(BenchmarkId::new("signed_in", label), |b| {
            b.iter(|| guard::<SignedIn>(&auth, &mut parts))
        });
        if label == "18_scopes" {
            g.bench_function(BenchmarkId::new("require_18", label), |b| {
                b.iter(|| guard::<EighteenScopes>(&auth, &mut parts))
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("issue");
    for n in ORG_COUNTS {
        let user = user_in_orgs(n, USER_SCOPES);
        let cookie = testing::session_cookie(&auth, &user);
        let decoded = bench::bench_decode_session(&auth, &headers_with(&cookie)).expect("valid");
        g.bench_function(
            BenchmarkId::new("session_cookie", format!("{n}_orgs")),
            |b| b.iter(|| testing::session_cookie(&auth, black_box(&user))),
        );
        g.bench_function(BenchmarkId::new("seal", format!("{n}_orgs")), |b| {
            b.iter(|| bench::bench_encode_session(&auth, black_box(&decoded)))
        });
    }
    g.finish();
}

fn bench_router(c: &mut Criterion) {
    let auth = auth();
    let cookie = testing::session_cookie(&auth, &user_in_orgs(0, USER_SCOPES));
    let (attached, bare) = routers(&auth);
    let mut g = c.benchmark_group("router");
    g.bench_function("protected", |b| b.iter(|| call(&attached, "/me", &cookie)));
    g.bench_function("open_same_layers", |b| {
        b.iter(|| call(&attached, "/me-open", &cookie))
    });
    g.bench_function("open_bare", |b| b.iter(|| call(&bare, "/me-open", &cookie)));
    g.finish();
}

fn bench_callback(c: &mut Criterion) {
    let (_rt, provider, auth) = real_mode();
    let token = verified_id_token(&provider, &auth);
    let mut g = c.benchmark_group("callback");
    g.bench_function("verify_id_token", |b| {
        b.iter(|| bench::bench_verify_id_token(&auth, black_box(&token), NONCE))
    });
    for n in [0, 10, 100] {
        let cookie = testing::session_cookie(&auth, &user_in_orgs(n, USER_SCOPES));
        let user = bench::bench_decode_session(&auth, &headers_with(&cookie)).expect("valid");
        g.bench_function(
            BenchmarkId::new("verify_and_seal", format!("{n}_orgs")),
            |b| {
                b.iter(|| {
                    let subject = bench::bench_verify_id_token(&auth, black_box(&token), NONCE);
                    (
                        subject,
                        bench::bench_encode_session(&auth, black_box(&user)),
                    )
                })
            },
        );
    }
    g.finish();
}

fn bench_bearer(c: &mut Criterion) {
    let (rt, provider, auth) = real_mode();
    let user = testing::TestUser::new("alice").org("acme", Role::Write);
    let token = provider.mint_token(&user, testing::TokenKind::Read);
    assert!(rt.block_on(bench::bench_identify_bearer(&auth, &token)));
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::try_from(format!("Bearer {token}")).expect("a header value"),
    );
    // The same app, a browser's session of the same shape (one org, the scopes a classic read
    // token grants), so that `/me` answers the same JSON for both.
    let cookie = testing::session_cookie(
        &auth,
        &MockUser::new("alice").org("acme", Role::Write).scopes(
            "openid profile read-memberships read-repos gated-repos read-collections inference-api read-endpoints",
        ),
    );
    let (mut token_parts, mut cookie_parts) = (parts_with_token(&token), parts_with(&cookie));
    assert!(guard::<SignedIn>(&auth, &mut token_parts), "a cached token");
    assert!(guard::<SignedIn>(&auth, &mut cookie_parts), "a session");
    // Not a Hugging Face token: refused without whoami (an unknown `hf_` token would wait).
    assert!(!guard::<SignedIn>(&auth, &mut parts_with_token("not-hf")));
    let (attached, _) = routers(&auth);
    assert_eq!(send(&attached, token_request("/me", &token)), 200);
    assert_eq!(call(&attached, "/me", &cookie), 200);
    assert_eq!(call(&attached, "/me-open", ""), 200);
    assert_eq!(send(&attached, token_request("/me", "not-hf")), 401);
    let whoami_calls = provider.whoami_requests();

    let row = |case: &str, (a, b): (f64, f64)| {
        println!("{case:<34} {a:>10.1} allocations {b:>8.0} bytes per call");
    };
    row(
        "bearer/cached",
        allocations(|| {
            black_box(bench::bench_cached_bearer(&auth, &headers));
        }),
    );
    row(
        "bearer/guard/token",
        allocations(|| {
            black_box(guard::<SignedIn>(&auth, &mut token_parts));
        }),
    );
    row(
        "bearer/guard/cookie",
        allocations(|| {
            black_box(guard::<SignedIn>(&auth, &mut cookie_parts));
        }),
    );
    row(
        "bearer/router/token",
        allocations(|| {
            black_box(send(&attached, token_request("/me", &token)));
        }),
    );
    row(
        "bearer/router/cookie",
        allocations(|| {
            black_box(call(&attached, "/me", &cookie));
        }),
    );
    row(
        "bearer/router/open",
        allocations(|| {
            black_box(call(&attached, "/me-open", ""));
        }),
    );

    let mut g = c.benchmark_group("bearer");
    g.bench_function("cached", |b| {
        b.iter(|| assert!(bench::bench_cached_bearer(&auth, black_box(&headers))))
    });
    g.bench_function("guard/token", |b| {
        b.iter(|| guard::<SignedIn>(&auth, black_box(&mut token_parts)))
    });
    g.bench_function("guard/cookie", |b| {
        b.iter(|| guard::<SignedIn>(&auth, black_box(&mut cookie_parts)))
    });
    g.bench_function("router/token", |b| {
        b.iter(|| send(&attached, token_request("/me", &token)))
    });
    g.bench_function("router/cookie", |b| {
        b.iter(|| call(&attached, "/me", &cookie))
    });
    g.bench_function("router/open", |b| {
        b.iter(|| call(&attached, "/me-open", ""))
    });
    g.finish();
    // Every cached check was answered without whoami.
    assert_eq!(provider.whoami_requests(), whoami_calls);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_guard, bench_router, bench_callback, bench_bearer
}

fn main() {
    // `--profile-time` (run under a profiler) and `--list` want the selected benches only.
    if !std::env::args().any(|a| a == "--profile-time" || a == "--list") {
        report();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
