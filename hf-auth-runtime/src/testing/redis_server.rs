//! A throw-away `redis-server` on 127.0.0.1 for tests of the Redis session store (features
//! `testing` and `redis`).

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A `redis-server` process of its own, on a free port of 127.0.0.1, without persistence;
/// killed when dropped. It needs Debian's `redis-server` on the `PATH`.
///
/// ```no_run
/// use hf_auth_runtime::testing::RedisServer;
///
/// let redis = RedisServer::start().expect("redis-server is installed");
/// assert!(redis.url().starts_with("redis://127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
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
}

impl RedisServer {
    /// Starts a fresh server on a free port.
    pub fn start() -> Result<RedisServer, RedisServerError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(RedisServerError::NotInstalled)?
            .port();
        let mut server = RedisServer { child: None, port };
        server.restart()?;
        Ok(server)
    }

    /// Starts the server again on the same port after [`RedisServer::kill`] (its data is gone:
    /// it runs without persistence).
    pub fn restart(&mut self) -> Result<(), RedisServerError> {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
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

    /// Its URL, `redis://127.0.0.1:{port}/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
