//! The keys of what hf-auth writes to the session store (Redis), so that a Redis reader learns
//! no token, handle or org, and a Redis writer cannot forge a session or a token check.
//!
//! - Every value (a session, a shared token-cache entry) is sealed with AES-256-GCM under a key
//!   derived from the cookie key for this purpose alone ([`Purpose::Store`]), with the value's
//!   full Redis key name as associated data: a value moved to another key does not open.
//! - A token's entries are named by a keyed hash (HMAC-SHA256 of the token's SHA-256, under
//!   another derived key, [`Purpose::StoreNames`]), so a reader cannot even test whether a
//!   token it guesses is cached.
//!
//! Rotation: a value sealed with the previous cookie key still opens. A token's name changes
//! with the key, so its shared entry is simply asked for again (a cache, at most one TTL).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::{secret_for_purpose, CookieKey, Mode, Purpose};

/// The sealing key and the naming key of the session store's values. Cheap to clone; its
/// `Debug` output is redacted.
#[derive(Clone)]
pub(crate) struct StoreKeys {
    seal: CookieKey,
    names: Hmac<Sha256>,
}

impl std::fmt::Debug for StoreKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKeys(<redacted>)")
    }
}

impl StoreKeys {
    /// The store's keys from the master secret of the cookie keys (and the previous one during
    /// a rotation), bound to the mode and the client ID as the cookie keys are.
    pub(crate) fn derive(
        master: &[u8],
        previous: Option<&[u8]>,
        mode: Mode,
        client_id: &str,
    ) -> StoreKeys {
        let mut seal = CookieKey::for_purpose(master, Purpose::Store, mode, client_id);
        if let Some(previous) = previous {
            seal = seal.with_previous(CookieKey::for_purpose(
                previous,
                Purpose::Store,
                mode,
                client_id,
            ));
        }
        let names = secret_for_purpose(master, Purpose::StoreNames, mode, client_id);
        StoreKeys {
            seal,
            names: Hmac::new_from_slice(&names).expect("HMAC takes a key of any length"),
        }
    }

    /// Keys from fresh random bytes, for a connection that reads and writes no value (the
    /// operator's revocation, which deletes by user): nothing sealed with them ever opens
    /// elsewhere, and they open nothing the app sealed.
    pub(crate) fn random() -> StoreKeys {
        StoreKeys::derive(&CookieKey::random_master(), None, Mode::Real, "")
    }

    /// Seals `plaintext` for the Redis key `key_name`.
    pub(crate) fn seal(&self, key_name: &str, plaintext: &[u8]) -> Vec<u8> {
        self.seal.seal_bytes(key_name, plaintext)
    }

    /// Opens a value read from the Redis key `key_name`; `None` for anything forged, moved from
    /// another key, tampered with, written in plain text or sealed with another key.
    pub(crate) fn open(&self, key_name: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        self.seal.open_bytes(key_name, sealed)
    }

    /// The name of a token's entries: hex HMAC-SHA256 of its SHA-256 `digest` (64 characters).
    pub(crate) fn token_name(&self, digest: &[u8]) -> String {
        let mut mac = self.names.clone();
        mac.update(digest);
        let tag = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(2 * tag.len());
        for b in tag {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        hex
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn keys() -> StoreKeys {
        StoreKeys::derive(MASTER, None, Mode::Real, "app")
    }

    #[test]
    fn a_value_opens_only_under_its_own_key_name_and_key() {
        let k = keys();
        let sealed = k.seal("hf-auth:s:a", b"session");
        assert_eq!(
            k.open("hf-auth:s:a", &sealed).as_deref(),
            Some(&b"session"[..])
        );
        assert_eq!(k.open("hf-auth:s:b", &sealed), None, "moved to another key");
        assert_eq!(
            k.open("other:s:a", &sealed),
            None,
            "moved to another prefix"
        );
        assert_eq!(k.open("hf-auth:s:a", b"session"), None, "plain text");
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert_eq!(k.open("hf-auth:s:a", &flipped), None, "a bit flipped");
        // Not the session cookie's key, nor another app's or mode's.
        let cookie = CookieKey::for_purpose(MASTER, Purpose::Session, Mode::Real, "app");
        assert_eq!(cookie.open_bytes("hf-auth:s:a", &sealed), None);
        for other in [
            StoreKeys::derive(MASTER, None, Mode::Mock, "app"),
            StoreKeys::derive(MASTER, None, Mode::Real, "other-app"),
            StoreKeys::random(),
        ] {
            assert_eq!(other.open("hf-auth:s:a", &sealed), None);
        }
        assert_eq!(format!("{k:?}"), "StoreKeys(<redacted>)");
    }

    #[test]
    fn rotation_opens_values_the_previous_key_sealed() {
        let old_master = [9u8; 32];
        let old = StoreKeys::derive(&old_master, None, Mode::Real, "app");
        let sealed = old.seal("k", b"old");
        let rotated = StoreKeys::derive(MASTER, Some(&old_master), Mode::Real, "app");
        assert_eq!(rotated.open("k", &sealed).as_deref(), Some(&b"old"[..]));
        assert_eq!(keys().open("k", &sealed), None, "without the previous key");
        let new = rotated.seal("k", b"new");
        assert_eq!(keys().open("k", &new).as_deref(), Some(&b"new"[..]));
    }

    #[test]
    fn token_names_are_keyed() {
        let digest = [7u8; 32];
        let name = keys().token_name(&digest);
        assert_eq!(name.len(), 64);
        assert!(name.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(name, keys().token_name(&digest), "stable");
        assert_ne!(name, keys().token_name(&[8u8; 32]));
        let unkeyed: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_ne!(name, unkeyed);
        assert_ne!(
            name,
            StoreKeys::derive(&[1u8; 32], None, Mode::Real, "app").token_name(&digest),
            "another key names it otherwise"
        );
    }
}
