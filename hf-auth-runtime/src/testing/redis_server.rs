//! A throw-away `redis-server` on 127.0.0.1 for tests of the Redis session store (features
//! `testing` and `redis`): plain, or over TLS with a password and a CA of its own, as a managed
//! Redis reached over the internet is.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A `redis-server` process of its own, on a free port of 127.0.0.1, without persistence;
/// killed when dropped. It needs Debian's `redis-server` on the `PATH` (built with TLS).
///
/// ```no_run
/// use hf_auth_runtime::testing::RedisServer;
///
/// let redis = RedisServer::start().expect("redis-server is installed");
/// assert!(redis.url().starts_with("redis://127.0.0.1:"));
///
/// // TLS only, with a password, and a certificate from a throw-away CA:
/// let tls = RedisServer::start_tls().expect("redis-server is installed");
/// assert!(tls.url().starts_with("rediss://:"));
/// let ca = tls.ca_path().expect("the CA's PEM file"); // for HF_AUTH_SESSION_STORE_CA
/// # let _ = ca;
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    tls: Option<Tls>,
}

/// The TLS mode's files (in a temporary directory of its own) and password.
struct Tls {
    dir: PathBuf,
    password: String,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Why a test Redis server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RedisServerError {
    /// `redis-server` is not installed (`apt-get install redis-server`).
    #[error(
        "redis-server could not be started (is it installed? apt-get install redis-server): {0}"
    )]
    NotInstalled(std::io::Error),
    /// It started but did not accept connections within 5 seconds.
    #[error("redis-server did not accept connections within 5 s")]
    NotReady,
    /// The TLS mode's certificates could not be made or written.
    #[error("the test certificates could not be made: {0}")]
    Certificates(String),
}

impl RedisServer {
    /// Starts a fresh server on a free port (plain TCP, no password).
    pub fn start() -> Result<RedisServer, RedisServerError> {
        RedisServer::launch(None)
    }

    /// Starts a fresh server on a free port that speaks only TLS and requires a random
    /// password: its certificate (for `127.0.0.1` and `localhost`) is signed by a CA made for
    /// it alone, whose PEM file is [`ca_path`](Self::ca_path). [`url`](Self::url) is
    /// `rediss://:{password}@127.0.0.1:{port}/0`.
    pub fn start_tls() -> Result<RedisServer, RedisServerError> {
        let dir = std::env::temp_dir().join(format!(
            "hf-auth-redis-tls-{}-{:032x}",
            std::process::id(),
            rand::random::<u128>()
        ));
        let tls = Tls {
            dir,
            password: format!("{:032x}", rand::random::<u128>()),
        };
        let made = std::fs::create_dir_all(&tls.dir)
            .map_err(|e| RedisServerError::Certificates(e.to_string()))
            .and_then(|()| write_certificates(&tls.dir));
        if let Err(e) = made {
            let _ = std::fs::remove_dir_all(&tls.dir);
            return Err(e);
        }
        RedisServer::launch(Some(tls))
    }

    fn launch(tls: Option<Tls>) -> Result<RedisServer, RedisServerError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(RedisServerError::NotInstalled)?
            .port();
        let mut server = RedisServer {
            child: None,
            port,
            tls,
        };
        server.restart()?;
        Ok(server)
    }

    /// Starts the server again on the same port after [`RedisServer::kill`] (its data is gone:
    /// it runs without persistence).
    pub fn restart(&mut self) -> Result<(), RedisServerError> {
        self.kill();
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        command.args(["--bind", "127.0.0.1"]);
        match &self.tls {
            None => {
                command.args(["--port", &port]);
            }
            Some(tls) => {
                let file = |name: &str| tls.dir.join(name).display().to_string();
                command
                    .args(["--port", "0", "--tls-port", &port])
                    .args(["--tls-cert-file", &file("server.pem")])
                    .args(["--tls-key-file", &file("server.key")])
                    .args(["--tls-ca-cert-file", &file("ca.pem")])
                    .args(["--tls-auth-clients", "no"])
                    .args(["--requirepass", &tls.password]);
            }
        }
        let child = command
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(RedisServerError::NotInstalled)?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() >= deadline {
                self.kill();
                return Err(RedisServerError::NotReady);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Stops the server (as a crash would: no shutdown save).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its URL: `redis://127.0.0.1:{port}/0`, or in TLS mode
    /// `rediss://:{password}@127.0.0.1:{port}/0`.
    pub fn url(&self) -> String {
        match &self.tls {
            None => format!("redis://127.0.0.1:{}/0", self.port),
            Some(tls) => format!("rediss://:{}@127.0.0.1:{}/0", tls.password, self.port),
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// In TLS mode, the PEM file of the CA that signed its certificate (what
    /// `HF_AUTH_SESSION_STORE_CA` names); `None` in plain mode.
    pub fn ca_path(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|tls| tls.dir.join("ca.pem"))
    }

    /// In TLS mode, the password it requires; `None` in plain mode.
    pub fn password(&self) -> Option<&str> {
        self.tls.as_ref().map(|tls| tls.password.as_str())
    }
}

/// A CA (`ca.pem`) and a server certificate it signs for 127.0.0.1 and localhost
/// (`server.pem`, `server.key`), written to `dir`.
fn write_certificates(dir: &Path) -> Result<(), RedisServerError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| RedisServerError::Certificates(e.to_string());
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "hf-auth test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().map_err(err)?;
    let mut server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(err)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "hf-auth test redis-server");
    server.use_authority_key_identifier_extension = true;
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).map_err(err)?;

    for (name, text) in [
        ("ca.pem", ca_cert.pem()),
        ("server.pem", server_cert.pem()),
        ("server.key", server_key.serialize_pem()),
    ] {
        std::fs::write(dir.join(name), text)
            .map_err(|e| RedisServerError::Certificates(e.to_string()))?;
    }
    Ok(())
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if let Some(tls) = &self.tls {
            let _ = std::fs::remove_dir_all(&tls.dir);
        }
    }
}
