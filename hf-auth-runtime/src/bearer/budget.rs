//! The whoami budget of one replica: how many tokens it has never seen valid may cost a whoami
//! call per minute.
//!
//! Hugging Face rate-limits `/api/whoami-v2` strictly, and a 429 stops every uncached token
//! until the window resets. Without a budget, a client sending random well-formed `hf_…`
//! tokens would spend that limit for everyone. So a token this replica has never seen valid
//! is checked only while the budget allows (a token bucket: [`DEFAULT_PER_MINUTE`] calls a
//! minute by default, up to a minute's worth at once); beyond it, it is answered 503 with
//! `Retry-After`, without a call. A token seen valid before (by whoami, or by another replica
//! through the shared cache) is re-checked outside the budget, so the users an app already
//! serves are never held up by someone else's garbage.
//!
//! Tokens seen valid are remembered by their SHA-256, at most [`MAX_SEEN`] of them (the oldest
//! forgotten first; one is then treated as new again, which costs it nothing but a budget
//! slot). Only whoami can put a token there, so an attacker cannot.

use std::{
    collections::{HashSet, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

use super::cache::TokenHash;

/// The default number of whoami calls a minute for tokens never seen valid.
pub(crate) const DEFAULT_PER_MINUTE: u32 = 60;
/// The most tokens remembered as seen valid (32 bytes each, twice).
pub(crate) const MAX_SEEN: usize = 100_000;
/// How often the budget's refusal is logged at warn, at most.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// A token bucket: `capacity` slots, refilled at `capacity` a minute.
#[derive(Debug)]
struct Bucket {
    slots: f64,
    at: Instant,
}

/// Tokens seen valid, oldest first. No `Debug`: their unkeyed hashes would let a reader test a
/// guessed token.
#[derive(Default)]
struct Seen {
    set: HashSet<TokenHash>,
    order: VecDeque<TokenHash>,
}

/// The budget of whoami calls for tokens never seen valid, on one replica. `Debug` shows the
/// budget and how many tokens are remembered, never their hashes.
pub(crate) struct WhoamiBudget {
    per_minute: u32,
    bucket: Mutex<Bucket>,
    seen: Mutex<Seen>,
    max_seen: usize,
    /// Milliseconds since `started` of the last warning.
    warned_at_ms: AtomicU64,
    started: Instant,
}

impl std::fmt::Debug for WhoamiBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let remembered = self.seen.lock().map_or(0, |s| s.order.len());
        f.debug_struct("WhoamiBudget")
            .field("per_minute", &self.per_minute)
            .field("remembered", &remembered)
            .finish_non_exhaustive()
    }
}

impl WhoamiBudget {
    /// A budget of `per_minute` calls (at least 1), full.
    pub(crate) fn new(per_minute: u32) -> WhoamiBudget {
        Self::with_memory(per_minute, MAX_SEEN)
    }

    /// As [`new`](Self::new), remembering at most `max_seen` valid tokens.
    pub(crate) fn with_memory(per_minute: u32, max_seen: usize) -> WhoamiBudget {
        let per_minute = per_minute.max(1);
        let started = Instant::now();
        WhoamiBudget {
            per_minute,
            bucket: Mutex::new(Bucket {
                slots: f64::from(per_minute),
                at: started,
            }),
            seen: Mutex::default(),
            max_seen: max_seen.max(1),
            warned_at_ms: AtomicU64::new(u64::MAX),
            started,
        }
    }

    /// Whether the token of `hash` was seen valid.
    pub(crate) fn seen_valid(&self, hash: &TokenHash) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set
            .contains(hash)
    }

    /// Remembers that the token of `hash` is valid.
    pub(crate) fn note_valid(&self, hash: &TokenHash) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.set.insert(*hash) {
            return;
        }
        seen.order.push_back(*hash);
        while seen.order.len() > self.max_seen {
            if let Some(oldest) = seen.order.pop_front() {
                seen.set.remove(&oldest);
            }
        }
    }

    /// May the token of `hash` cost a whoami call now? Always for a token seen valid;
    /// otherwise while the budget has a slot, which this takes. `Err` is the time until the
    /// next slot (at least a second).
    pub(crate) fn admit(&self, hash: &TokenHash, now: Instant) -> Result<(), Duration> {
        if self.seen_valid(hash) {
            return Ok(());
        }
        let rate = f64::from(self.per_minute) / 60.0;
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.slots = (b.slots + elapsed * rate).min(f64::from(self.per_minute));
        b.at = b.at.max(now);
        if b.slots >= 1.0 {
            b.slots -= 1.0;
            return Ok(());
        }
        let wait = Duration::from_secs_f64(((1.0 - b.slots) / rate).ceil().max(1.0));
        drop(b);
        self.warn(now, wait);
        Err(wait)
    }

    /// Logs a refusal at warn at most once a minute (debug otherwise): a flood of unknown
    /// tokens must not become a flood of log lines.
    fn warn(&self, now: Instant, wait: Duration) {
        let at = now.saturating_duration_since(self.started).as_millis() as u64;
        let last = self.warned_at_ms.load(Ordering::Relaxed);
        let due = last == u64::MAX || at.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
        if due
            && self
                .warned_at_ms
                .compare_exchange(last, at, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                per_minute = self.per_minute,
                retry_after_s = wait.as_secs(),
                "the whoami budget for tokens never seen valid is spent (HF_AUTH_WHOAMI_BUDGET); such tokens get 503 until it refills, tokens seen valid are still checked"
            );
        } else {
            tracing::debug!("a token never seen valid was refused by the whoami budget");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u32) -> TokenHash {
        let mut h = [0u8; 32];
        h[..4].copy_from_slice(&i.to_le_bytes());
        h
    }

    #[test]
    fn a_minute_s_worth_then_one_slot_per_refill() {
        let budget = WhoamiBudget::new(60);
        let now = Instant::now();
        for i in 0..60 {
            assert_eq!(budget.admit(&hash(i), now), Ok(()), "call {i}");
        }
        assert_eq!(budget.admit(&hash(60), now), Err(Duration::from_secs(1)));
        assert_eq!(budget.admit(&hash(61), now), Err(Duration::from_secs(1)));
        // One slot a second at 60 a minute.
        let later = now + Duration::from_secs(1);
        assert_eq!(budget.admit(&hash(62), later), Ok(()));
        assert!(budget.admit(&hash(63), later).is_err());
        // Never more than a minute's worth saved up.
        let much_later = now + Duration::from_secs(3600);
        for i in 0..60 {
            assert_eq!(budget.admit(&hash(100 + i), much_later), Ok(()));
        }
        assert!(budget.admit(&hash(200), much_later).is_err());
    }

    #[test]
    fn the_wait_is_the_time_to_the_next_slot() {
        let budget = WhoamiBudget::new(6);
        let now = Instant::now();
        for i in 0..6 {
            assert!(budget.admit(&hash(i), now).is_ok());
        }
        assert_eq!(budget.admit(&hash(9), now), Err(Duration::from_secs(10)));
        assert_eq!(
            budget.admit(&hash(9), now + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
    }

    #[test]
    fn tokens_seen_valid_are_outside_the_budget() {
        let budget = WhoamiBudget::new(1);
        let now = Instant::now();
        budget.note_valid(&hash(7));
        assert!(budget.admit(&hash(1), now).is_ok());
        assert!(budget.admit(&hash(2), now).is_err(), "spent");
        for _ in 0..100 {
            assert_eq!(budget.admit(&hash(7), now), Ok(()), "seen valid");
        }
        assert!(budget.admit(&hash(3), now).is_err(), "still spent");
    }

    #[test]
    fn the_memory_of_valid_tokens_is_bounded() {
        let budget = WhoamiBudget::with_memory(1, 100);
        for i in 0..1000 {
            budget.note_valid(&hash(i));
            budget.note_valid(&hash(i));
        }
        let seen = budget.seen.lock().unwrap();
        assert_eq!((seen.set.len(), seen.order.len()), (100, 100));
        drop(seen);
        assert!(budget.seen_valid(&hash(999)));
        assert!(!budget.seen_valid(&hash(0)), "the oldest is forgotten");
    }
}
