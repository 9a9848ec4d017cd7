//! A minimal browser for end-to-end tests: a cookie jar, no automatic redirects, so every hop
//! of the OAuth flow is visible and checked.
#![allow(dead_code)]

pub mod app;
pub mod events;
pub mod oneshot;

use std::collections::BTreeMap;

use reqwest::{header, Response, StatusCode};

pub struct Browser {
    client: reqwest::Client,
    /// Cookies by name (hf-auth's cookies all have `Path=/` and no domain).
    pub jar: BTreeMap<String, String>,
    /// The raw `Set-Cookie` headers seen, for attribute checks.
    pub set_cookies: Vec<String>,
    pub accept: &'static str,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(20))
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
            set_cookies: Vec::new(),
            accept: "text/html,application/xhtml+xml",
        }
    }

    pub fn api() -> Browser {
        let mut b = Browser::new();
        b.accept = "application/json";
        b
    }

    /// Another browser (another tab, a stolen copy) with this one's cookies and `Accept`.
    pub fn copy(&self) -> Browser {
        let mut copy = Browser::new();
        copy.jar = self.jar.clone();
        copy.accept = self.accept;
        copy
    }

    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, url: &str) -> Response {
        self.get_with_accept(url, self.accept).await
    }

    pub async fn get_with_accept(&mut self, url: &str, accept: &str) -> Response {
        let mut req = self.client.get(url).header(header::ACCEPT, accept);
        if !self.jar.is_empty() {
            req = req.header(header::COOKIE, self.cookie_header());
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        for sc in resp.headers().get_all(header::SET_COOKIE) {
            let sc = sc.to_str().unwrap().to_owned();
            let (pair, attrs) = sc.split_once(';').unwrap_or((&sc, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let gone = attrs.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
            if gone {
                self.jar.remove(name.trim());
            } else {
                self.jar.insert(name.trim().to_owned(), value.to_owned());
            }
            self.set_cookies.push(sc);
        }
        resp
    }

    /// Follows redirects from `url` (resolving relative locations against the previous URL)
    /// until a non-redirect answer or `max` hops; returns the final response and every URL.
    pub async fn follow(&mut self, url: &str, max: usize) -> (Response, Vec<String>) {
        let mut current = url.to_owned();
        let mut visited = vec![current.clone()];
        for _ in 0..max {
            let resp = self.get(&current).await;
            if !resp.status().is_redirection() {
                return (resp, visited);
            }
            let location = resp.headers()[header::LOCATION]
                .to_str()
                .unwrap()
                .to_owned();
            current = url::Url::parse(&current)
                .unwrap()
                .join(&location)
                .unwrap()
                .to_string();
            visited.push(current.clone());
        }
        panic!("more than {max} redirects: {visited:?}");
    }

    pub fn has_session(&self) -> bool {
        self.jar.contains_key("hf_auth_session")
    }
}

pub fn location(resp: &Response) -> String {
    assert!(
        resp.status() == StatusCode::SEE_OTHER || resp.status() == StatusCode::FOUND,
        "expected a redirect, got {}",
        resp.status()
    );
    resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

/// A child process that is killed when dropped.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads the child's stdout until a line starts with `prefix`; returns the rest of that line.
pub fn wait_for_line(child: &mut std::process::Child, prefix: &str) -> String {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let wanted = prefix.to_owned();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(&wanted) {
                let _ = tx.send(rest.trim().to_owned());
                break;
            }
        }
        // Keep draining so the child never blocks on a full pipe.
        for _ in lines {}
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the child never printed {prefix:?}"))
}

/// The independent provider: npm's oauth2-mock-server, shaped like Hugging Face's by
/// tests/oidc-mock/server.mjs. Installs its packages with `npm ci` when they are missing.
pub fn start_oidc_mock(client_id: &str, client_secret: &str) -> (Child, String) {
    use std::process::{Command, Stdio};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-mock");
    if !dir.join("node_modules/oauth2-mock-server").exists() {
        // Tests run in parallel: one installs, the others wait for it.
        static ONCE: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = ONCE.lock().unwrap();
        if !dir.join("node_modules/oauth2-mock-server").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .status()
                .expect("npm is needed for the independent-provider tests (Node.js 20+)");
            assert!(status.success(), "npm ci --prefix tests/oidc-mock failed");
        }
    }
    let mut child = Command::new("node")
        .arg(dir.join("server.mjs"))
        .arg("0")
        .env("OIDC_MOCK_CLIENT_ID", client_id)
        .env("OIDC_MOCK_CLIENT_SECRET", client_secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node is needed for the independent-provider tests");
    let issuer = wait_for_line(&mut child, "READY ");
    (Child(child), issuer)
}

/// Runs the futures concurrently on this task and returns their outputs in order.
pub async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let futures: Vec<_> = futures.map(Box::pin).collect();
    let mut out = Vec::with_capacity(futures.len());
    let mut pending: Vec<_> = futures.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(
        results
            .into_iter()
            .map(|r| r.expect("every future finished")),
    );
    out
}
