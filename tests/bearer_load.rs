//! The bearer cache under load, in counts rather than timings: 1,000 distinct tokens, each sent
//! several times at once, cost exactly 1,000 whoami calls per TTL; with bounds smaller than
//! 1,000 entries the cache never holds more than its bounds, and the figures say what eviction
//! costs in whoami calls. The figures are printed (`--nocapture`) for BENCHMARKS.md.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{http::StatusCode, routing::get, Router};
use common::oneshot;
use hf_auth_runtime::{
    __internal::bench::{bench_bearer_cache_size, BenchBearer},
    hf_login,
    testing::{TestProvider, TestUser, TokenKind},
    HfUser, ScopeCheck,
};
use tokio::{sync::Semaphore, task::JoinSet};

/// Distinct tokens.
const TOKENS: usize = 1000;
/// Requests per token, sent at the same time.
const REPEATS: usize = 5;
/// Tokens in flight at once.
const CONCURRENCY: usize = 32;
/// The most a test's load may take: the loops are bounded in time as well as in count.
const LIMIT: Duration = Duration::from_secs(120);

#[hf_login]
async fn me(user: HfUser) -> String {
    format!("hello {}", user.handle())
}

fn mint(provider: &TestProvider) -> Vec<Arc<str>> {
    (0..TOKENS)
        .map(|i| {
            let user = TestUser::new(&format!("user-{i:04}"));
            provider.mint_token(&user, TokenKind::Read).into()
        })
        .collect()
}

/// Sends each token `repeats` times at once to `GET /me` through the app (at most
/// [`CONCURRENCY`] tokens at a time); every answer must be 200 for the token's user.
async fn send_all(app: &Router, tokens: &[Arc<str>], repeats: usize) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut set = JoinSet::new();
    for (i, token) in tokens.iter().enumerate() {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let (app, token) = (app.clone(), token.clone());
        set.spawn(async move {
            let auth = format!("Bearer {token}");
            let mut same = JoinSet::new();
            for _ in 0..repeats {
                let (app, auth) = (app.clone(), auth.clone());
                same.spawn(async move {
                    oneshot::call(
                        &app,
                        axum::http::Method::GET,
                        "/me",
                        &[("authorization", &auth)],
                        "",
                    )
                    .await
                });
            }
            while let Some(answer) = same.join_next().await {
                let answer = answer.unwrap();
                assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
                assert_eq!(answer.body, format!("hello user-{i:04}"));
            }
            drop(permit);
        });
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tokens_cost_one_whoami_call_each_per_ttl() {
    let ttl = Duration::from_secs(2);
    let provider = TestProvider::start().await;
    let auth = provider
        .app_config("http://127.0.0.1:7860")
        .scope_check(ScopeCheck::Off)
        .token_cache_ttl(ttl)
        // Every one of the 1,000 tokens is new: this measures the cache, not the budget.
        .whoami_budget(hf_auth_runtime::config::MAX_WHOAMI_BUDGET)
        .build()
        .await
        .unwrap();
    let app = auth.attach(Router::new().route("/me", get(me)));
    let tokens = mint(&provider);

    let started = Instant::now();
    tokio::time::timeout(LIMIT, send_all(&app, &tokens, REPEATS))
        .await
        .expect("the first round ends in time");
    let first_round = started.elapsed();
    let calls_first = provider.whoami_requests();
    let (entries, bytes) = bench_bearer_cache_size(&auth);
    println!(
        "bearer load: {TOKENS} tokens x {REPEATS} concurrent requests = {} requests in {first_round:?}: {calls_first} whoami calls; cache {entries} entries, {bytes} bytes ({} bytes/entry)",
        TOKENS * REPEATS,
        bytes / entries.max(1)
    );
    assert_eq!(calls_first, TOKENS, "one whoami call per token");
    // Every token is held, unless the first round outlasted the TTL for some of them.
    assert!(entries <= TOKENS, "{entries} entries");
    if first_round < ttl {
        assert_eq!(entries, TOKENS);
    }

    // Within the TTL, every token once more is answered from the cache: no whoami call.
    tokio::time::timeout(LIMIT, send_all(&app, &tokens, 1))
        .await
        .expect("the cached round ends in time");
    let cached_round = started.elapsed();
    let calls_cached = provider.whoami_requests() - calls_first;
    println!(
        "bearer load: {TOKENS} tokens once more within the TTL (done {cached_round:?} after the start): {calls_cached} whoami calls"
    );
    // On a machine so slow that the TTL passed meanwhile, a few entries may have expired.
    if cached_round < ttl {
        assert_eq!(calls_cached, 0, "a cached token costs no whoami call");
    }

    // Once the TTL has passed, each token is checked again, once.
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    let (entries_expired, _) = bench_bearer_cache_size(&auth);
    tokio::time::timeout(LIMIT, send_all(&app, &tokens, 1))
        .await
        .expect("the second round ends in time");
    let calls_second = provider.whoami_requests();
    println!(
        "bearer load: after the TTL ({ttl:?}), {TOKENS} tokens once more: {calls_second} whoami calls in all; {entries_expired} expired entries held until replaced"
    );
    assert_eq!(
        calls_second,
        2 * TOKENS + calls_cached,
        "one more call per token per TTL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_smaller_than_the_tokens_stays_within_its_bounds() {
    const MAX_ENTRIES: usize = 256;
    const MAX_BYTES: usize = 64 * 1024;
    let provider = TestProvider::start().await;
    let tokens = mint(&provider);
    let bearer = Arc::new(BenchBearer::new(
        &provider.whoami_url(),
        Duration::from_secs(300),
        MAX_ENTRIES,
        MAX_BYTES,
    ));
    let deadline = Instant::now() + LIMIT;

    // Each token several times at once, a bounded number of tokens at a time; the cache's
    // size is sampled after every token.
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut set = JoinSet::new();
    let mut most = (0, 0);
    let sample = |bearer: &BenchBearer, most: &mut (usize, usize)| {
        let (entries, bytes) = bearer.cache_size();
        assert!(entries <= MAX_ENTRIES, "{entries} entries");
        assert!(bytes <= MAX_BYTES, "{bytes} bytes");
        *most = (most.0.max(entries), most.1.max(bytes));
    };
    for token in &tokens {
        assert!(Instant::now() < deadline, "the load takes too long");
        let permit = permits.clone().acquire_owned().await.unwrap();
        let (checker, token) = (bearer.clone(), token.clone());
        set.spawn(async move {
            let mut same = JoinSet::new();
            for _ in 0..REPEATS {
                let (bearer, token) = (checker.clone(), token.clone());
                same.spawn(async move { bearer.identify(&token).await });
            }
            while let Some(ok) = same.join_next().await {
                assert!(ok.unwrap());
            }
            drop(permit);
        });
        while let Some(done) = set.try_join_next() {
            done.unwrap();
            sample(&bearer, &mut most);
        }
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
        sample(&bearer, &mut most);
    }
    let calls_first = provider.whoami_requests();
    let (held, held_bytes) = bearer.cache_size();
    println!(
        "bearer load, bounded cache ({MAX_ENTRIES} entries, {MAX_BYTES} bytes): {TOKENS} tokens x {REPEATS}: {calls_first} whoami calls; at most {} entries and {} bytes held at once; {held} entries ({held_bytes} bytes) at the end",
        most.0, most.1
    );
    assert_eq!(
        calls_first, TOKENS,
        "eviction never costs a token a second call"
    );
    assert!(held > 0);

    // Within the TTL, every token once more, newest first: the tokens still held are answered
    // from the cache; each evicted one costs a whoami call.
    let still_cached = tokens.iter().filter(|t| bearer.cached(t)).count();
    assert_eq!(still_cached, held, "every ready entry is a cached token");
    for token in tokens.iter().rev() {
        assert!(Instant::now() < deadline, "the load takes too long");
        assert!(bearer.identify(token).await);
        sample(&bearer, &mut most);
    }
    let evicted_calls = provider.whoami_requests() - calls_first;
    println!(
        "bearer load, bounded cache: {TOKENS} tokens once more within the TTL: {evicted_calls} whoami calls for evicted tokens, {} answered from the cache",
        TOKENS - evicted_calls
    );
    assert!(
        evicted_calls >= TOKENS - held,
        "at most the held tokens are answered from the cache ({evicted_calls} calls)"
    );
    assert!(evicted_calls < TOKENS, "some tokens were still cached");
}
