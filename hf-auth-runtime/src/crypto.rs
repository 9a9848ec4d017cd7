//! Authenticated encryption of cookie values (AES-256-GCM) and the derivation of its key.
//!
//! A value is sealed as `base64url(nonce || ciphertext || tag)`, with the cookie's name as
//! associated data, so a value cannot be moved from one cookie to another. Values written to the
//! session store (Redis) are sealed by the same rule as raw bytes, with the Redis key's name as
//! associated data ([`CookieKey::seal_bytes`]).
//!
//! Keys are derived with HKDF-SHA256 from one master secret ([`CookieKey::for_purpose`]): the
//! session cookies, the flow cookies and the store's values get separate keys, and the
//! derivation binds the mode
//! (mock or real) and the OAuth client ID, so a cookie made for one purpose, mode or app opens
//! nowhere else. A key may carry the previous master's key ([`CookieKey::with_previous`]) that
//! still opens old cookies while new ones are sealed with the current key (rotation).

use aes_gcm::{
    aead::{Aead, AeadCore, AeadInPlace, KeyInit, OsRng, Payload},
    Aes256Gcm, Nonce,
};
use base64::{
    alphabet,
    engine::{
        general_purpose::URL_SAFE_NO_PAD, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig,
    },
    Engine,
};
use hkdf::Hkdf;
use sha2::Sha256;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The least number of bytes of a master secret given as a cookie key.
pub(crate) const MIN_KEY_BYTES: usize = 32;

/// The key that encrypts and authenticates hf-auth's cookies, with the previous one (if any)
/// that still opens old cookies. Its `Debug` output is redacted.
#[derive(Clone)]
pub struct CookieKey {
    current: Aes256Gcm,
    previous: Option<Aes256Gcm>,
}

/// What a derived key is for: each purpose gets its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The session cookies.
    Session,
    /// The per-login flow cookies (state, PKCE verifier, nonce).
    Flow,
    /// The values hf-auth writes to the session store (Redis): sessions and the shared token
    /// cache, sealed with the Redis key's name as associated data.
    #[cfg(feature = "redis")]
    Store,
    /// The keyed hash that names a token's entries in the session store (not a cipher key).
    #[cfg(feature = "redis")]
    StoreNames,
}

/// Whether the app signs users in for real or as the mock user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Sign-in with the provider.
    Real,
    /// Mock mode: no provider.
    Mock,
}

/// Why the text of `HF_AUTH_COOKIE_KEY` is not a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyTextError {
    /// Neither hex nor base64.
    #[error("it is neither hex nor base64")]
    NotEncoded,
    /// Decoded, but too short.
    #[error("it decodes to {0} bytes, fewer than the 32 needed")]
    TooShort(usize),
}

/// Decodes a key given as text: hex (`openssl rand -hex 32`, either case) when every character
/// is a hex digit and there is an even number of them, else base64 (`openssl rand -base64 32`),
/// standard or URL-safe alphabet, padded or not. It must give at least 32 bytes.
pub(crate) fn decode_key_text(text: &str) -> Result<Vec<u8>, KeyTextError> {
    let text = text.trim();
    let bytes = if text.len().is_multiple_of(2)
        && !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_hexdigit())
    {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|_| KeyTextError::NotEncoded))
            .collect::<Result<Vec<u8>, _>>()?
    } else {
        let config = GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(false);
        let standard = GeneralPurpose::new(&alphabet::STANDARD, config);
        let url_safe = GeneralPurpose::new(&alphabet::URL_SAFE, config);
        standard
            .decode(text)
            .or_else(|_| url_safe.decode(text))
            .map_err(|_| KeyTextError::NotEncoded)?
    };
    if bytes.len() < MIN_KEY_BYTES {
        return Err(KeyTextError::TooShort(bytes.len()));
    }
    Ok(bytes)
}

/// HKDF-SHA256 of `secret` with info `context`: 32 bytes, independent for each context.
fn hkdf(secret: &[u8], context: &str) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(b"hf-auth cookie key v1"), secret);
    let mut okm = [0u8; 32];
    hk.expand(context.as_bytes(), &mut okm)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

/// The HKDF info of a derived key: the purpose, the mode and the client ID.
fn context(purpose: Purpose, mode: Mode, client_id: &str) -> String {
    let purpose = match purpose {
        Purpose::Session => "session",
        Purpose::Flow => "flow",
        #[cfg(feature = "redis")]
        Purpose::Store => "store",
        #[cfg(feature = "redis")]
        Purpose::StoreNames => "store-names",
    };
    let mode = match mode {
        Mode::Real => "real",
        Mode::Mock => "mock",
    };
    // The client ID is last and its length is spelled out, so no two inputs share an info.
    format!(
        "hf-auth v2 purpose={purpose} mode={mode} client_id={}:{client_id}",
        client_id.len()
    )
}

/// 32 secret bytes for `purpose` (a key that is not an AES-GCM key, such as a MAC key),
/// derived as [`CookieKey::for_purpose`] derives its keys.
#[cfg(feature = "redis")]
pub(crate) fn secret_for_purpose(
    master: &[u8],
    purpose: Purpose,
    mode: Mode,
    client_id: &str,
) -> [u8; 32] {
    hkdf(master, &context(purpose, mode, client_id))
}

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey(<redacted>)")
    }
}

impl CookieKey {
    /// Derives a key with HKDF-SHA256 from secret material. `context` is HKDF's info: keys of
    /// different contexts are independent.
    pub(crate) fn derive(secret: &[u8], context: &str) -> CookieKey {
        CookieKey {
            current: Aes256Gcm::new(&hkdf(secret, context).into()),
            previous: None,
        }
    }

    /// The key for `purpose` from the master secret (the cookie key, else the client secret,
    /// else random bytes in mock mode), bound to the mode and the client ID (empty in mock
    /// mode without one).
    pub(crate) fn for_purpose(
        master: &[u8],
        purpose: Purpose,
        mode: Mode,
        client_id: &str,
    ) -> CookieKey {
        CookieKey::derive(master, &context(purpose, mode, client_id))
    }

    /// A random master secret, for mock mode without a cookie key: sessions do not survive a
    /// restart.
    pub(crate) fn random_master() -> [u8; 32] {
        Aes256Gcm::generate_key(OsRng).into()
    }

    /// This key, still opening what `previous` sealed (rotation: `previous` was the current
    /// key before). Sealing always uses this key; a previous key of `previous` is dropped.
    pub(crate) fn with_previous(self, previous: CookieKey) -> CookieKey {
        CookieKey {
            current: self.current,
            previous: Some(previous.current),
        }
    }

    /// Seals `plaintext` for the cookie `name`: unpadded base64url of [`seal_bytes`](Self::seal_bytes).
    pub(crate) fn seal(&self, name: &str, plaintext: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.seal_bytes(name, plaintext))
    }

    /// Decrypts a value [`seal`](Self::seal) made, as [`open_bytes`](Self::open_bytes) does;
    /// `None` also for a value longer than a cookie can be.
    pub(crate) fn open(&self, name: &str, sealed: &str) -> Option<Vec<u8>> {
        if sealed.len() > 8192 {
            return None;
        }
        self.open_bytes(name, &URL_SAFE_NO_PAD.decode(sealed).ok()?)
    }

    /// Seals `plaintext` for `name` (a cookie's or a Redis key's name, the associated data) as
    /// raw bytes: `nonce || ciphertext || tag`, with a random 96-bit nonce.
    pub(crate) fn seal_bytes(&self, name: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .current
            .encrypt_in_place_detached(&nonce, name.as_bytes(), &mut out[NONCE_LEN..])
            .expect("AES-GCM encryption of a value under 64 GiB cannot fail");
        out.extend_from_slice(&tag);
        out
    }

    /// Decrypts what [`seal_bytes`](Self::seal_bytes) made for `name`, with the current key,
    /// else the previous one; `None` for anything forged, truncated, moved to another name or
    /// sealed with another key.
    pub(crate) fn open_bytes(&self, name: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let payload = || Payload {
            msg: ciphertext,
            aad: name.as_bytes(),
        };
        let nonce = Nonce::from_slice(nonce);
        self.current
            .decrypt(nonce, payload())
            .ok()
            .or_else(|| self.previous.as_ref()?.decrypt(nonce, payload()).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let key = CookieKey::derive(b"a client secret of some length", "client-1");
        let sealed = key.seal("a", b"hello");
        assert_eq!(key.open("a", &sealed).as_deref(), Some(&b"hello"[..]));
        // moved to another cookie name
        assert_eq!(key.open("b", &sealed), None);
        // another key
        let other = CookieKey::derive(b"a client secret of some length", "client-2");
        assert_eq!(other.open("a", &sealed), None);
        // truncated, tampered, garbage
        assert_eq!(key.open("a", &sealed[..sealed.len() - 1]), None);
        let mut tampered = sealed.clone().into_bytes();
        let i = tampered.len() / 2;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open("a", std::str::from_utf8(&tampered).unwrap()), None);
        assert_eq!(key.open("a", "%%%"), None);
        assert_eq!(key.open("a", ""), None);
    }

    const MASTER: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn raw_bytes_follow_the_same_rule_as_cookies() {
        let key = CookieKey::for_purpose(MASTER, Purpose::Flow, Mode::Real, "store");
        let raw = key.seal_bytes("hf-auth:s:x", b"value");
        assert_eq!(raw.len(), NONCE_LEN + 5 + TAG_LEN);
        assert_eq!(
            key.open_bytes("hf-auth:s:x", &raw).as_deref(),
            Some(&b"value"[..])
        );
        assert_eq!(key.open_bytes("hf-auth:s:y", &raw), None);
        // A cookie is the base64url of the same bytes.
        let cookie = key.seal("n", b"value");
        let decoded = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
        assert_eq!(
            key.open_bytes("n", &decoded).as_deref(),
            Some(&b"value"[..])
        );
        assert_eq!(
            key.open("n", &URL_SAFE_NO_PAD.encode(&raw)),
            None,
            "the name is bound"
        );
        // Another purpose's key opens nothing of it.
        let session = CookieKey::for_purpose(MASTER, Purpose::Session, Mode::Real, "store");
        assert_eq!(session.open_bytes("hf-auth:s:x", &raw), None);
        assert_eq!(key.open_bytes("hf-auth:s:x", &raw[..raw.len() - 1]), None);
        assert_eq!(key.open_bytes("hf-auth:s:x", &[]), None);
    }

    #[test]
    fn purpose_mode_and_client_id_each_give_another_key() {
        let base = CookieKey::for_purpose(MASTER, Purpose::Session, Mode::Real, "app-a");
        let sealed = base.seal("hf_auth_session", b"data");
        let same = CookieKey::for_purpose(MASTER, Purpose::Session, Mode::Real, "app-a");
        assert_eq!(
            same.open("hf_auth_session", &sealed).as_deref(),
            Some(&b"data"[..])
        );
        for (what, other) in [
            (
                "flow vs session",
                CookieKey::for_purpose(MASTER, Purpose::Flow, Mode::Real, "app-a"),
            ),
            (
                "mock vs real",
                CookieKey::for_purpose(MASTER, Purpose::Session, Mode::Mock, "app-a"),
            ),
            (
                "app B vs app A",
                CookieKey::for_purpose(MASTER, Purpose::Session, Mode::Real, "app-b"),
            ),
            (
                "another master",
                CookieKey::for_purpose(&[7u8; 32], Purpose::Session, Mode::Real, "app-a"),
            ),
            (
                "the v1 derivation",
                CookieKey::derive(MASTER, "hf-auth session"),
            ),
        ] {
            assert_eq!(other.open("hf_auth_session", &sealed), None, "{what}");
        }
    }

    #[test]
    fn rotation_reads_old_and_writes_new() {
        let old = CookieKey::for_purpose(
            b"the old master secret, 32+ bytes",
            Purpose::Session,
            Mode::Real,
            "a",
        );
        let new = CookieKey::for_purpose(MASTER, Purpose::Session, Mode::Real, "a");
        let old_cookie = old.seal("s", b"old");
        let rotated = new.clone().with_previous(old.clone());
        assert_eq!(rotated.open("s", &old_cookie).as_deref(), Some(&b"old"[..]));
        let written = rotated.seal("s", b"new");
        assert_eq!(new.open("s", &written).as_deref(), Some(&b"new"[..]));
        assert_eq!(
            old.open("s", &written),
            None,
            "new cookies are sealed with the new key"
        );
        // Without the previous key, old cookies are gone.
        assert_eq!(new.open("s", &old_cookie), None);
        // The previous key still checks the cookie's name.
        assert_eq!(rotated.open("t", &old_cookie), None);
        assert_eq!(format!("{rotated:?}"), "CookieKey(<redacted>)");
    }

    #[test]
    fn key_text_is_hex_or_base64_of_32_bytes_or_more() {
        let bytes: Vec<u8> = (0u8..32)
            .map(|i| i.wrapping_mul(37).wrapping_add(250))
            .collect();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(decode_key_text(&hex).unwrap(), bytes);
        assert_eq!(decode_key_text(&hex.to_uppercase()).unwrap(), bytes);
        assert_eq!(decode_key_text(&format!(" {hex}\n")).unwrap(), bytes);
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
        for encoded in [
            STANDARD.encode(&bytes),
            STANDARD_NO_PAD.encode(&bytes),
            URL_SAFE.encode(&bytes),
            URL_SAFE_NO_PAD.encode(&bytes),
        ] {
            assert_eq!(decode_key_text(&encoded).unwrap(), bytes, "{encoded}");
        }
        let long = vec![0xabu8; 64];
        assert_eq!(decode_key_text(&STANDARD.encode(&long)).unwrap(), long);
        // `openssl rand -hex 16`: 32 characters, but only 16 bytes.
        let sixteen: String = (0..16).map(|i| format!("{i:02x}")).collect();
        assert_eq!(decode_key_text(&sixteen), Err(KeyTextError::TooShort(16)));
        assert_eq!(
            decode_key_text(&STANDARD.encode([1u8; 31])),
            Err(KeyTextError::TooShort(31))
        );
        for bad in [
            "",
            "not a key at all, just some words!",
            "zz",
            "abc",
            "%%%%",
            "ab cd",
        ] {
            assert!(decode_key_text(bad).is_err(), "{bad:?}");
        }
        // A passphrase of 32+ characters is not taken as raw bytes any more.
        assert_eq!(
            decode_key_text("correct horse battery staple and more"),
            Err(KeyTextError::NotEncoded)
        );
    }
}
