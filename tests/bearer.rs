//! Bearer tokens through the public test kit: the cached check allocates nothing, and many
//! requests for one new token cost one whoami call.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    time::Duration,
};

use axum::http::{header::AUTHORIZATION, HeaderMap, HeaderValue};
use hf_auth_runtime::{
    __internal,
    testing::{TestProvider, TestUser, TokenKind},
    HfAuth, Role, ScopeCheck,
};

/// Counts the allocations of the current thread only, so the provider's own work on other
/// threads does not count.
struct PerThread;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is passed on unchanged to the system allocator.
unsafe impl GlobalAlloc for PerThread {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's guarantees are passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: PerThread = PerThread;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

async fn app(provider: &TestProvider) -> HfAuth {
    provider
        .app_config("http://127.0.0.1:7860")
        .scope_check(ScopeCheck::Off)
        .build()
        .await
        .expect("an app signed in at the test provider")
}

fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        AUTHORIZATION,
        HeaderValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    h
}

#[tokio::test]
async fn a_cached_token_is_checked_without_allocating_or_calling_whoami() {
    let provider = TestProvider::start().await;
    let auth = app(&provider).await;
    let alice = TestUser::new("alice").org("acme", Role::Write);
    let token = provider.mint_token(&alice, TokenKind::Read);
    let headers = bearer(&token);
    assert!(
        !__internal::bench::bench_cached_bearer(&auth, &headers),
        "not cached yet"
    );
    assert!(__internal::bench::bench_identify_bearer(&auth, &token).await);
    let before = allocations();
    for _ in 0..100 {
        assert!(__internal::bench::bench_cached_bearer(&auth, &headers));
    }
    assert_eq!(allocations() - before, 0, "a cache hit allocates nothing");
    assert_eq!(provider.whoami_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_requests_for_a_new_token_make_one_whoami_call() {
    let provider = TestProvider::start().await;
    provider.set_whoami_delay(Duration::from_millis(200));
    let auth = app(&provider).await;
    let token = provider.mint_token(&TestUser::new("bob"), TokenKind::Write);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (auth, token) = (auth.clone(), token.clone());
        set.spawn(async move { __internal::bench::bench_identify_bearer(&auth, &token).await });
    }
    while let Some(ok) = set.join_next().await {
        assert!(ok.unwrap());
    }
    assert_eq!(provider.whoami_requests(), 1);
}

#[tokio::test]
async fn mock_mode_prints_a_token_that_works_offline() {
    let auth = HfAuth::builder()
        .scope_check(ScopeCheck::Off)
        .build()
        .await
        .unwrap();
    let token = auth.mock_token().expect("mock mode has a token").to_owned();
    assert!(token.starts_with("hf_mock_"));
    assert!(__internal::bench::bench_cached_bearer(
        &auth,
        &bearer(&token)
    ));
    assert!(!__internal::bench::bench_cached_bearer(
        &auth,
        &bearer("hf_other")
    ));
}
