//! The multi-replica test, both session modes: two sets of three `space_app` processes behind
//! nginx round-robin (no sticky sessions), one with stateless cookie sessions, one with
//! server-side sessions in Redis (over TLS, with a password and a private CA), the test kit's
//! provider behind them, all started by
//! `scripts/multi-replica.sh`, which sets `HF_AUTH_REPLICAS_URL` and
//! `HF_AUTH_STORE_REPLICAS_URL` (the two fronts) and `HF_AUTH_REPLICAS` (how many) and runs
//! this test. nginx adds `X-Upstream` (the replica's address) to every answer, so the test sees
//! which replica answered.
//!
//! Under a plain `cargo test` (no such variable) it prints a notice and checks nothing.

mod common;

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use common::{events::Events, location, Browser};
use serde_json::Value;

struct Setup {
    base: String,
    replicas: usize,
    access_ttl: u64,
}

fn setup() -> Option<Setup> {
    setup_at("HF_AUTH_REPLICAS_URL")
}

fn setup_at(variable: &str) -> Option<Setup> {
    let Ok(base) = std::env::var(variable) else {
        eprintln!("SKIPPED: {variable} is unset; scripts/multi-replica.sh runs this test");
        return None;
    };
    let number = |name: &str| -> u64 {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} must be set with HF_AUTH_REPLICAS_URL"))
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number"))
    };
    Some(Setup {
        base,
        replicas: number("HF_AUTH_REPLICAS") as usize,
        access_ttl: number("TEST_PROVIDER_ACCESS_TOKEN_TTL"),
    })
}

/// One `/me` as an API client: status, body, which replica answered, whether it set a session.
async fn me(b: &mut Browser, base: &str) -> (u16, Value, String, bool) {
    let before = b.set_cookies.len();
    let r = b
        .get_with_accept(&format!("{base}/me"), "application/json")
        .await;
    let status = r.status().as_u16();
    let upstream = r
        .headers()
        .get("x-upstream")
        .expect("nginx adds X-Upstream")
        .to_str()
        .unwrap()
        .to_owned();
    let body = r.json().await.unwrap_or(Value::Null);
    let set_session = b.set_cookies[before..]
        .iter()
        .any(|c| c.starts_with("hf_auth_session") || c.starts_with("__Host-hf_auth_session"));
    (status, body, upstream, set_session)
}

/// `/me` on every replica in turn (round-robin: `2 * replicas` requests from one client);
/// returns the replicas that answered and whether any of them set a new session cookie.
async fn me_everywhere(
    b: &mut Browser,
    s: &Setup,
    handle: &str,
    why: &str,
) -> (BTreeSet<String>, bool) {
    let mut seen = BTreeSet::new();
    let mut any_set = false;
    for _ in 0..2 * s.replicas {
        let (status, body, upstream, set) = me(b, &s.base).await;
        assert_eq!(status, 200, "{why}: replica {upstream} answered {body}");
        assert_eq!(body["preferred_username"], handle, "{why}: {body}");
        any_set |= set;
        seen.insert(upstream);
    }
    assert_eq!(
        seen.len(),
        s.replicas,
        "{why}: every replica answered: {seen:?}"
    );
    (seen, any_set)
}

#[tokio::test]
async fn sessions_work_on_every_replica_in_stateless_mode() {
    let Some(s) = setup() else { return };
    let handle = std::env::var("TEST_PROVIDER_USER").unwrap_or_else(|_| "browser-user".into());

    let mut b = sign_in(&s).await;
    let signed_in_at = std::time::Instant::now();

    // A login on one replica is honoured by all, without any of them refreshing.
    let (_, set) = me_everywhere(&mut b, &s, &handle, "after the login").await;
    assert!(!set, "no replica refreshes a fresh session");
    assert!(
        signed_in_at.elapsed() < Duration::from_secs(s.access_ttl),
        "the checks took longer than the access token's TTL: raise TEST_PROVIDER_ACCESS_TOKEN_TTL"
    );

    // A refresh on one replica is seen by the others: once the access token has expired, the
    // next request refreshes it there (rotating refresh tokens) and sets a new cookie; the
    // other replicas then accept that session as it is, refreshing nothing themselves.
    let before = b.jar.clone();
    tokio::time::sleep(
        Duration::from_secs(s.access_ttl + 1).saturating_sub(signed_in_at.elapsed()),
    )
    .await;
    let (status, body, refreshed_by, set) = me(&mut b, &s.base).await;
    assert_eq!(status, 200, "{body}");
    assert!(set, "replica {refreshed_by} refreshed the expired session");
    assert_ne!(b.jar, before, "the cookie changed with the refresh");
    let refreshed_at = std::time::Instant::now();
    let (_, set) = me_everywhere(&mut b, &s, &handle, "after a refresh").await;
    assert!(
        !set,
        "the other replicas use the refreshed session, not a refresh of their own"
    );
    assert!(refreshed_at.elapsed() < Duration::from_secs(s.access_ttl));

    // Logout, stateless mode: it clears the cookie of this browser only. A copy of the cookie
    // taken before still works on every replica until the session ends (SECURITY.md's
    // documented bound); server-side sessions (issue 15) are what end it everywhere.
    let mut copy = Browser::new();
    copy.jar = b.jar.clone();
    let r = b.get(&format!("{}/oauth/huggingface/logout", s.base)).await;
    assert_eq!(location(&r), "/");
    assert!(!b.has_session(), "logout cleared this browser's cookie");
    let (status, _, _, _) = me(&mut b, &s.base).await;
    assert_eq!(status, 401, "signed out in the browser that logged out");
    me_everywhere(
        &mut copy,
        &s,
        &handle,
        "a copied cookie after logout (stateless bound)",
    )
    .await;
}

/// Every `/me` of `2 * replicas` requests with `b`'s cookies refused (401): the session ended
/// on every replica. Polls for at most `within`; returns how long it took.
async fn refused_everywhere(b: &mut Browser, s: &Setup, within: Duration, why: &str) -> Duration {
    let start = Instant::now();
    loop {
        let mut refused = BTreeSet::new();
        let mut admitted = Vec::new();
        for _ in 0..2 * s.replicas {
            let (status, _, upstream, _) = me(b, &s.base).await;
            match status {
                401 => {
                    refused.insert(upstream);
                }
                200 => admitted.push(upstream),
                other => panic!("{why}: replica {upstream} answered {other}"),
            }
        }
        if admitted.is_empty() && refused.len() == s.replicas {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{why}: still admitted by {admitted:?} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Signs a new browser in through the front: the full flow through nginx, login (one
/// replica), the provider, the callback (the next replica: the flow cookie must be honoured
/// there too), back to `/me`.
async fn sign_in(s: &Setup) -> Browser {
    let mut b = Browser::new();
    let (r, hops) = b
        .follow(
            &format!("{}/oauth/huggingface/login?_target_url=%2Fme", s.base),
            6,
        )
        .await;
    assert_eq!(r.status(), 200, "{hops:?}");
    assert_eq!(hops.last().unwrap(), &format!("{}/me", s.base), "{hops:?}");
    assert!(b.has_session(), "signed in: {hops:?}");
    b
}

/// The documented bound: a logout or revocation is refused on every replica within a second.
const BOUND: Duration = Duration::from_secs(1);

/// An `/events` stream of `space_app` open on every replica behind the front (round-robin: at
/// most `2 * replicas` tries).
async fn streams_on_every_replica(b: &mut Browser, s: &Setup) -> Vec<Events> {
    let mut streams: Vec<Events> = Vec::new();
    for _ in 0..2 * s.replicas {
        let stream = Events::open(b, &format!("{}/events", s.base)).await;
        if streams.iter().all(|o| o.upstream != stream.upstream) {
            streams.push(stream);
        }
        if streams.len() == s.replicas {
            return streams;
        }
    }
    panic!(
        "no /events stream on every replica: {} of {}",
        streams.len(),
        s.replicas
    );
}

/// Every stream ends with `reason` within the bound of `since` (plus half a second of reading).
async fn all_end(streams: &mut [Events], reason: &str, why: &str, since: Instant) {
    let started = since;
    for stream in streams.iter_mut() {
        let left = (BOUND + Duration::from_millis(500)).saturating_sub(started.elapsed());
        let ended = stream.end_within(left.max(Duration::from_millis(1))).await;
        assert_eq!(
            ended.as_deref(),
            Some(reason),
            "{why}: the stream on {} after {:?}: {}",
            stream.upstream,
            started.elapsed(),
            stream.text()
        );
    }
    println!(
        "server-side mode: {why}: every replica's stream ended after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sessions_work_on_every_replica_and_end_everywhere_in_server_side_mode() {
    let Some(s) = setup_at("HF_AUTH_STORE_REPLICAS_URL") else {
        return;
    };
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by scripts/multi-replica.sh"))
    };
    let handle = std::env::var("TEST_PROVIDER_USER").unwrap_or_else(|_| "browser-user".into());
    // Redis as a managed one is reached: TLS with a password, a private CA.
    assert!(
        var("HF_AUTH_SESSION_STORE").starts_with("rediss://:"),
        "the script runs Redis over TLS with a password"
    );

    // A login on one replica is honoured by all (the callback already ran on another one).
    let mut b = sign_in(&s).await;
    let signed_in_at = Instant::now();
    assert!(
        b.jar["hf_auth_session"].len() < 120,
        "the cookie holds an id"
    );
    let (_, set) = me_everywhere(&mut b, &s, &handle, "after the login").await;
    assert!(!set, "no replica rewrites the cookie of a fresh session");

    // A refresh on one replica is seen by the others: once the access token has expired,
    // requests on every replica at once get one refresh (a second, with the rotated refresh
    // token, would end the session) and the same renewed session; the id cookie stays.
    tokio::time::sleep(
        Duration::from_secs(s.access_ttl + 1).saturating_sub(signed_in_at.elapsed()),
    )
    .await;
    let mut tabs: Vec<Browser> = (0..s.replicas).map(|_| b.copy()).collect();
    let base = s.base.clone();
    let answers = common::join_all(tabs.iter_mut().map(|t| {
        let base = base.clone();
        async move { me(t, &base).await }
    }))
    .await;
    for (status, body, upstream, set) in &answers {
        assert_eq!(*status, 200, "at expiry, replica {upstream}: {body}");
        assert!(!set, "the id cookie does not change with a refresh");
    }
    let refreshed_at = Instant::now();
    me_everywhere(&mut b, &s, &handle, "after the refresh").await;
    assert!(refreshed_at.elapsed() < Duration::from_secs(s.access_ttl));

    // Logout on one replica: a copy of the cookie is refused by every replica, within the bound,
    // and the session's event streams, one on every replica, end then too (issue 22.1).
    let mut copy = b.copy();
    me_everywhere(&mut copy, &s, &handle, "the copy, before logout").await;
    let mut streams = streams_on_every_replica(&mut b.copy(), &s).await;
    for stream in &mut streams {
        // Open and ticking through nginx (not buffered), until something ends the session.
        assert_eq!(stream.end_within(Duration::from_millis(1500)).await, None);
        assert!(
            stream.ticks() >= 1,
            "{}: no tick through nginx: {}",
            stream.upstream,
            stream.text()
        );
    }
    let logged_out_at = Instant::now();
    let r = b.get(&format!("{}/oauth/huggingface/logout", s.base)).await;
    assert_eq!(location(&r), "/");
    let took = refused_everywhere(&mut copy, &s, BOUND, "a copied cookie after logout").await;
    println!("server-side mode: a logout was refused on every replica after {took:?}");
    all_end(&mut streams, "logged_out", "a logout", logged_out_at).await;

    // revoke_user from the operator's command: every session of the user, on every replica.
    let mut laptop = sign_in(&s).await;
    let mut phone = sign_in(&s).await;
    let (_, body, _, _) = me(&mut laptop, &s.base).await;
    let sub = body["sub"].as_str().expect("/me has the sub").to_owned();
    me_everywhere(&mut laptop, &s, &handle, "laptop").await;
    me_everywhere(&mut phone, &s, &handle, "phone").await;
    let mut streams = streams_on_every_replica(&mut laptop.copy(), &s).await;
    let out = std::process::Command::new(var("HF_AUTH_SPACE_APP"))
        .args(["revoke-user", &sub])
        .env("HF_AUTH_SESSION_STORE", var("HF_AUTH_SESSION_STORE"))
        .env("HF_AUTH_SESSION_STORE_CA", var("HF_AUTH_SESSION_STORE_CA"))
        .output()
        .expect("space_app runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("revoked 2 session(s)"), "{said}");
    let started = Instant::now();
    refused_everywhere(&mut laptop, &s, BOUND, "laptop after revoke-user").await;
    refused_everywhere(
        &mut phone,
        &s,
        BOUND
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1)),
        "phone after revoke-user",
    )
    .await;
    println!(
        "server-side mode: revoke-user was refused on every replica after {:?}",
        started.elapsed()
    );
    all_end(&mut streams, "revoked", "revoke-user", started).await;

    // Redis killed and restarted (persistence on) while clients keep calling: protected routes
    // answer 200 or 503 (never 500, never admitted without the check), public pages keep
    // working, and every replica recovers by itself with the session intact.
    let b = sign_in(&s).await;
    let stop_at = Instant::now() + Duration::from_secs(6);
    let load = |mut client: Browser, path: &'static str| {
        let base = s.base.clone();
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            // Bounded in count and in time.
            for _ in 0..2000 {
                if Instant::now() >= stop_at {
                    break;
                }
                let r = client
                    .get_with_accept(&format!("{base}{path}"), "application/json")
                    .await;
                let retry_after = r.headers().contains_key("retry-after");
                statuses.push((r.status().as_u16(), retry_after));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            statuses
        })
    };
    let loads: Vec<_> = (0..3)
        .map(|_| load(b.copy(), "/me"))
        .chain([load(Browser::new(), "/")])
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = std::fs::read_to_string(var("HF_AUTH_REDIS_PID")).expect("redis.pid");
    let killed = std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarted = std::process::Command::new("redis-server")
        .arg(var("HF_AUTH_REDIS_CONF"))
        .status()
        .expect("redis-server");
    assert!(restarted.success());
    let mut protected = Vec::new();
    for (i, l) in loads.into_iter().enumerate() {
        let statuses = l.await.unwrap();
        if i < 3 {
            protected.extend(statuses);
        } else {
            assert!(
                statuses.iter().all(|(s, _)| *s == 200),
                "the public page: {statuses:?}"
            );
        }
    }
    let unavailable = protected.iter().filter(|(s, _)| *s == 503).count();
    assert!(
        protected
            .iter()
            .all(|(s, r)| *s == 200 || (*s == 503 && *r)),
        "protected: only 200, or 503 with Retry-After: {protected:?}"
    );
    assert!(unavailable > 0, "the outage was seen: {protected:?}");
    println!(
        "server-side mode, Redis killed for 2 s under load: {} protected requests, {unavailable} answered 503",
        protected.len()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut b = b;
    loop {
        let mut ok = BTreeSet::new();
        for _ in 0..2 * s.replicas {
            let (status, body, upstream, _) = me(&mut b, &s.base).await;
            assert!(
                status == 200 || status == 503,
                "{upstream}: {status} {body}"
            );
            if status == 200 {
                ok.insert(upstream);
            }
        }
        if ok.len() == s.replicas {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every replica recovered within 10 s: {ok:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
