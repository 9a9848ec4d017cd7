//! Reaching Redis: the URL (`redis://` in plain TCP, `rediss://` over TLS, either with
//! `user:password@`) and, for TLS, the roots that the server's certificate must chain to: the
//! system's (rustls-native-certs) or a private CA's PEM file (`HF_AUTH_SESSION_STORE_CA`),
//! never none: there is no insecure mode.

use std::path::Path;

use redis::{Client, ConnectionAddr, IntoConnectionInfo, TlsCertificates};
use rustls_pki_types::{pem::PemObject, CertificateDer};

use super::StoreError;

/// A private CA that the session store's TLS certificate chains to, read from a PEM file.
#[derive(Clone)]
pub(crate) struct StoreCa {
    pem: Vec<u8>,
}

impl std::fmt::Debug for StoreCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreCa(..)")
    }
}

/// Why the private CA's file cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CaError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It holds no PEM certificate, or a malformed one.
    #[error("{path} is not a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)")]
    NotPem {
        /// The file.
        path: String,
    },
}

impl StoreCa {
    /// Reads the PEM file at `path`: one certificate or more, all well-formed.
    pub(crate) fn read(path: &Path) -> Result<StoreCa, CaError> {
        let shown = || path.display().to_string();
        let pem = std::fs::read(path).map_err(|source| CaError::Unreadable {
            path: shown(),
            source,
        })?;
        StoreCa::from_pem(pem).ok_or_else(|| CaError::NotPem { path: shown() })
    }

    /// The CA of PEM text; `None` unless it holds one certificate or more, all well-formed.
    pub(crate) fn from_pem(pem: Vec<u8>) -> Option<StoreCa> {
        let mut count = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            cert.ok()?;
            count += 1;
        }
        (count > 0).then_some(StoreCa { pem })
    }
}

/// A client for the store at `url`, trusting `ca` (only with `rediss://`) or else the system's
/// roots. Connects to nothing yet. The error never holds the URL (it may hold a password).
pub(crate) fn client(url: &str, ca: Option<&StoreCa>) -> Result<Client, StoreError> {
    let info = url
        .into_connection_info()
        .map_err(|e| StoreError::Config(e.to_string()))?;
    match (info.addr(), ca) {
        (ConnectionAddr::TcpTls { insecure: true, .. }, _) => Err(StoreError::Config(
            "the certificate check cannot be turned off (`#insecure`): give the server's CA with HF_AUTH_SESSION_STORE_CA instead".into(),
        )),
        (ConnectionAddr::TcpTls { .. }, Some(ca)) => Client::build_with_tls(
            info,
            TlsCertificates {
                client_tls: None,
                root_cert: Some(ca.pem.clone()),
            },
        )
        .map_err(|e| StoreError::Config(format!("HF_AUTH_SESSION_STORE_CA: {e}"))),
        (_, Some(_)) => Err(StoreError::Config(
            "HF_AUTH_SESSION_STORE_CA is set, but the URL is not `rediss://` (TLS)".into(),
        )),
        (_, None) => Client::open(info).map_err(|e| StoreError::Config(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_pem_certificates() {
        let dir = std::env::temp_dir().join(format!("hf-auth-ca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let err = StoreCa::read(&missing).unwrap_err();
        assert!(matches!(err, CaError::Unreadable { .. }), "{err}");
        assert!(err.to_string().contains("missing.pem"), "{err}");
        for garbage in [
            &b""[..],
            b"not a certificate",
            b"-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let file = dir.join("garbage.pem");
            std::fs::write(&file, garbage).unwrap();
            let err = StoreCa::read(&file).unwrap_err();
            assert!(matches!(err, CaError::NotPem { .. }), "{garbage:?}: {err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_ca_needs_tls_and_tls_never_goes_unchecked() {
        let ca = StoreCa {
            pem: b"unused".to_vec(),
        };
        for (url, ca) in [
            ("redis://127.0.0.1:6379/0", Some(&ca)),
            ("rediss://127.0.0.1:6379/#insecure", None),
            ("not a url", None),
        ] {
            let err = client(url, ca).unwrap_err();
            assert!(matches!(err, StoreError::Config(_)), "{url}: {err}");
        }
        assert!(client("rediss://:pw@127.0.0.1:6379/0", None).is_ok());
        assert!(client("redis://:pw@127.0.0.1:6379/0", None).is_ok());
    }
}
