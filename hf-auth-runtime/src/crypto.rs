//! Authenticated encryption of cookie values (AES-256-GCM) and the derivation of its key.
//!
//! A value is sealed as `base64url(nonce || ciphertext || tag)`, with the cookie's name as
//! associated data, so a value cannot be moved from one cookie to another.

use aes_gcm::{
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hkdf::Hkdf;
use sha2::Sha256;

const NONCE_LEN: usize = 12;

/// The key that encrypts and authenticates hf-auth's cookies. Its `Debug` output is redacted.
#[derive(Clone)]
pub struct CookieKey(Aes256Gcm);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey(<redacted>)")
    }
}

impl CookieKey {
    /// Derives a key with HKDF-SHA256 from secret material (the OAuth client secret, or a key
    /// given explicitly). `context` separates keys of different apps using the same secret.
    pub(crate) fn derive(secret: &[u8], context: &str) -> CookieKey {
        let hk = Hkdf::<Sha256>::new(Some(b"hf-auth cookie key v1"), secret);
        let mut okm = [0u8; 32];
        hk.expand(context.as_bytes(), &mut okm)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        CookieKey(Aes256Gcm::new(&okm.into()))
    }

    /// A random key, for mock mode: sessions do not survive a restart.
    pub(crate) fn random() -> CookieKey {
        CookieKey(Aes256Gcm::new(&Aes256Gcm::generate_key(OsRng)))
    }

    pub(crate) fn seal(&self, name: &str, plaintext: &[u8]) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: name.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a cookie-sized value cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Decrypts a sealed value; `None` for anything forged, truncated, moved or sealed with
    /// another key.
    pub(crate) fn open(&self, name: &str, sealed: &str) -> Option<Vec<u8>> {
        if sealed.len() > 8192 {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if raw.len() < NONCE_LEN + 16 {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        self.0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: name.as_bytes(),
                },
            )
            .ok()
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
}
