//! The shared cache against a real `redis-server` (the test kit's) and the test kit's whoami:
//! two `BearerAuth`s sharing one Redis stand for two replicas.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::*;
use crate::{
    bearer::{BearerAuth, BearerConfig},
    session::store::redis::tests::{contains, overwrite},
    testing::{RedisServer, TestProvider, TestUser, TokenKind, WhoamiFault},
    Role,
};

const PREFIX: &str = "hf-auth:";

fn redis_server() -> RedisServer {
    RedisServer::start().expect("a test redis-server (apt-get install redis-server)")
}

async fn connection(server: &RedisServer) -> ConnectionManager {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(1)))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(200));
    redis::Client::open(server.url())
        .unwrap()
        .get_connection_manager_with_config(config)
        .await
        .expect("connect to the test redis-server")
}

fn store_keys() -> StoreKeys {
    crate::session::store::redis::tests::keys()
}

/// The key of a token's shared value.
fn value_key(token: &str) -> String {
    format!(
        "{PREFIX}token:{}",
        store_keys().token_name(&crate::bearer::cache::hash_token(token.as_bytes()))
    )
}

/// A replica: its own local cache and whoami client, the shared Redis.
async fn replica(provider: &TestProvider, server: &RedisServer) -> Arc<BearerAuth> {
    let mut auth = BearerAuth::new(BearerConfig::new(provider.whoami_url())).unwrap();
    auth.with_shared_cache(SharedTokenCache::new(
        connection(server).await,
        PREFIX,
        store_keys(),
    ));
    Arc::new(auth)
}

/// Every key in Redis and its value (the shared cache writes strings only).
async fn everything(server: &RedisServer) -> Vec<(String, Vec<u8>)> {
    crate::session::store::redis::tests::dump(server)
        .await
        .into_iter()
        .map(|(key, values)| (key, values.concat()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_call_whoami_once_per_token_and_redis_never_sees_a_token() {
    let server = redis_server();
    let provider = TestProvider::start().await;
    // Slow enough that the replicas' requests for a token overlap.
    provider.set_whoami_delay(Duration::from_millis(150));
    let (a, b) = (
        replica(&provider, &server).await,
        replica(&provider, &server).await,
    );
    let tokens: Vec<String> = (0..10)
        .map(|i| {
            let user = TestUser::new(&format!("user-{i}")).org("acme", Role::Write);
            provider.mint_token(&user, TokenKind::Read)
        })
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for (i, token) in tokens.iter().enumerate() {
        for r in [&a, &b, &a, &b] {
            let (r, token) = (r.clone(), token.clone());
            set.spawn(async move { (i, token.clone(), r.identify(&token).await) });
        }
    }
    while let Some(done) = set.join_next().await {
        let (i, token, outcome) = done.unwrap();
        let session = outcome.expect("a valid token");
        assert_eq!(session.handle, format!("user-{i}"));
        assert_eq!(session.orgs.len(), 1);
        assert_eq!(
            session.access_token, token,
            "the replica puts its token back"
        );
    }
    assert_eq!(
        provider.whoami_requests(),
        10,
        "once per token, not per replica"
    );

    // A third replica started later gets every answer from Redis.
    let c = replica(&provider, &server).await;
    for t in &tokens {
        assert!(c.identify(t).await.is_ok());
    }
    assert_eq!(provider.whoami_requests(), 10);

    // Redis holds one value per token under its keyed name, locks are gone, no token, handle
    // or org anywhere, and each value expires within the TTL.
    let stored = everything(&server).await;
    assert_eq!(
        stored.len(),
        10,
        "{:?}",
        stored.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    let names: Vec<String> = tokens.iter().map(|t| value_key(t)).collect();
    for (key, value) in &stored {
        assert!(names.contains(key), "{key}");
        let unkeyed = {
            let hash = crate::bearer::cache::hash_token(
                tokens[names.iter().position(|n| n == key).unwrap()].as_bytes(),
            );
            hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        assert!(
            !key.contains(&unkeyed),
            "a reader could test a guessed token: {key}"
        );
        for t in &tokens {
            let t = t.as_bytes();
            assert!(!contains(value, t), "a token in Redis");
            assert!(!contains(key.as_bytes(), t));
        }
        for shown in [&b"user-"[..], b"acme"] {
            assert!(
                !contains(value, shown),
                "{key} shows {}",
                String::from_utf8_lossy(shown)
            );
        }
        assert!(decode(value, "t").is_err(), "{key} holds a plain outcome");
    }
    let mut conn = connection(&server).await;
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&stored[0].0)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > 290_000 && pttl <= 300_000, "{pttl} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_outcome_is_shared() {
    let server = redis_server();
    let provider = TestProvider::start().await;
    let (a, b) = (
        replica(&provider, &server).await,
        replica(&provider, &server).await,
    );
    let unknown = "hf_thisTokenWasNeverMintedByTheProvider";
    assert_eq!(
        a.identify(unknown).await.err(),
        Some(BearerError::InvalidToken)
    );
    assert_eq!(
        b.identify(unknown).await.err(),
        Some(BearerError::InvalidToken)
    );
    assert_eq!(provider.whoami_requests(), 1);

    let org_token = provider.mint_token(
        &TestUser::new("carol").org("acme", Role::Admin),
        TokenKind::Org,
    );
    let refused = a.identify(&org_token).await.err();
    assert!(
        matches!(refused, Some(BearerError::Refused { .. })),
        "{refused:?}"
    );
    assert_eq!(
        b.identify(&org_token).await.err(),
        refused,
        "the same reason"
    );
    assert_eq!(provider.whoami_requests(), 2);

    // Stored for the short negative TTL only.
    let key = value_key(unknown);
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut connection(&server).await)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 30_000, "{pttl} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_whoami_is_not_shared_and_never_admits() {
    let server = redis_server();
    let provider = TestProvider::start().await;
    let (a, b) = (
        replica(&provider, &server).await,
        replica(&provider, &server).await,
    );
    let token = provider.mint_token(&TestUser::new("dave"), TokenKind::Write);
    provider.set_whoami_fault(WhoamiFault::ServerError {
        retry_after_secs: 1,
    });
    assert!(matches!(
        a.identify(&token).await,
        Err(BearerError::Unavailable { .. })
    ));
    assert!(
        everything(&server).await.is_empty(),
        "nothing shared, lock released"
    );
    provider.set_whoami_fault(WhoamiFault::None);
    assert!(b.identify(&token).await.is_ok(), "b asks whoami itself");
    assert!(a.identify(&token).await.is_ok());
    assert_eq!(provider.whoami_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_tokens_are_still_checked_with_whoami() {
    let mut server = redis_server();
    let provider = TestProvider::start().await;
    let a = replica(&provider, &server).await;
    let b = replica(&provider, &server).await;
    let before = provider.mint_token(&TestUser::new("erin"), TokenKind::Read);
    assert!(a.identify(&before).await.is_ok());

    server.kill();
    let started = Instant::now();
    // b has never seen it: Redis is gone, so b asks whoami.
    assert!(b.identify(&before).await.is_ok());
    let fresh = provider.mint_token(&TestUser::new("frank"), TokenKind::Read);
    assert!(a.identify(&fresh).await.is_ok());
    assert_eq!(
        b.identify("hf_unknownWhileRedisIsDown").await.err(),
        Some(BearerError::InvalidToken),
        "never admitted without a check"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered without waiting for Redis: {:?}",
        started.elapsed()
    );
    assert_eq!(provider.whoami_requests(), 4);

    // Redis back (empty): sharing resumes by itself once the replicas try it again (after
    // the skip window; the connection manager reconnects in the background).
    server.restart().expect("redis-server restarts");
    let deadline = Instant::now() + Duration::from_secs(15);
    let shared = loop {
        assert!(Instant::now() < deadline, "never shared again");
        tokio::time::sleep(SKIP_AFTER_FAILURE + Duration::from_millis(100)).await;
        let token = provider.mint_token(&TestUser::new("grace"), TokenKind::Read);
        assert!(a.identify(&token).await.is_ok());
        if !everything(&server).await.is_empty() {
            break token;
        }
    };
    let calls = provider.whoami_requests();
    assert!(b.identify(&shared).await.is_ok());
    assert_eq!(provider.whoami_requests(), calls, "b used a's answer");
}

#[test]
fn stored_outcomes_round_trip_without_the_token() {
    let mut session = crate::session::tests::user_in_orgs(3);
    session.access_token = "hf_secretsecretsecret".into();
    let bytes = encode(&Ok(Arc::new(session.clone()))).unwrap();
    assert!(!bytes.windows(6).any(|w| w == b"secret"));
    let Ok(Ok(back)) = decode(&bytes, "hf_secretsecretsecret") else {
        panic!("decodes")
    };
    assert!(*back == session, "the same session");
    // Every reason a refusal has reads back as itself, not as another.
    let refusals = hf_auth_scopes::tokens::REFUSALS
        .iter()
        .map(|&why| Err(BearerError::Refused { why }));
    for outcome in std::iter::once(Err(BearerError::InvalidToken)).chain(refusals) {
        let bytes = encode(&outcome).unwrap();
        assert_eq!(decode(&bytes, "t").unwrap().err(), outcome.err());
    }
    assert!(encode(&Err(BearerError::Unavailable {
        retry_after: Duration::from_secs(1)
    }))
    .is_none());
    for corrupt in [&b""[..], b"x", b"i1", b"v\xff\xff"] {
        assert!(decode(corrupt, "t").is_err(), "{corrupt:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_writer_cannot_give_one_token_another_tokens_answer() {
    let server = redis_server();
    let provider = TestProvider::start().await;
    let a = replica(&provider, &server).await;
    let alice = provider.mint_token(
        &TestUser::new("alice").org("acme", Role::Admin),
        TokenKind::Write,
    );
    let mallory = provider.mint_token(&TestUser::new("mallory"), TokenKind::Read);
    assert!(a.identify(&alice).await.is_ok());
    assert!(a.identify(&mallory).await.is_ok());
    let unknown = "hf_neverMintedButAskedAboutByAnAttacker";
    assert!(a.identify(unknown).await.is_err());
    let stored = everything(&server).await;
    let value_of = |token: &str| {
        let key = value_key(token);
        stored
            .iter()
            .find(|(k, _)| *k == key)
            .expect("shared")
            .1
            .clone()
    };
    let alices = value_of(&alice);

    let mut flipped = value_of(&mallory);
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let mut plain = vec![VALID];
    let mut forged = crate::session::tests::user_in_orgs(1);
    forged.handle = "alice".into();
    forged.access_token = String::new();
    plain.extend(postcard::to_allocvec(&forged).unwrap());
    for (what, token, value) in [
        (
            "alice's answer moved to mallory's token",
            &*mallory,
            alices.clone(),
        ),
        ("alice's answer moved to an unknown token", unknown, alices),
        ("a bit flipped in mallory's answer", &*mallory, flipped),
        (
            "a plain answer written for mallory's token",
            &*mallory,
            plain,
        ),
    ] {
        overwrite(&server, &value_key(token), &value).await;
        // A replica that has not seen the token yet reads Redis, refuses the value, and asks
        // whoami itself: the token's own answer, never another one's session.
        let fresh = replica(&provider, &server).await;
        let calls = provider.whoami_requests();
        let outcome = fresh.identify(token).await;
        assert_eq!(
            provider.whoami_requests(),
            calls + 1,
            "{what}: asked whoami"
        );
        match outcome {
            Ok(session) => {
                assert_eq!(session.handle, "mallory", "{what}");
                assert!(session.orgs.is_empty(), "{what}");
            }
            Err(e) => {
                assert_eq!(token, unknown, "{what}: {e:?}");
                assert_eq!(e, BearerError::InvalidToken, "{what}");
            }
        }
    }
}
