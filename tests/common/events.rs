//! Reading an open `/events` stream: the test app's (`tick N` lines, then `end <reason>`) or
//! `space_app`'s server-sent events (`event: tick`, then `event: end` with a JSON `reason`).

use std::time::Duration;

use reqwest::{Response, StatusCode};

use super::Browser;

/// An open stream.
pub struct Events {
    response: Response,
    text: String,
    /// The replica that serves it, when nginx says (`X-Upstream`); else the URL.
    pub upstream: String,
}

impl Events {
    /// Opens `url` as `browser`; panics unless it answers 200.
    pub async fn open(browser: &mut Browser, url: &str) -> Events {
        let response = browser.get_with_accept(url, "text/event-stream").await;
        assert_eq!(response.status(), StatusCode::OK, "GET {url}");
        let upstream = match response.headers().get("x-upstream") {
            Some(v) => v.to_str().unwrap().to_owned(),
            None => url.to_owned(),
        };
        Events {
            response,
            text: String::new(),
            upstream,
        }
    }

    /// The reason the stream gave for its end, if it has given one so far.
    fn reason(&self) -> Option<String> {
        if let Some(reason) = self.text.lines().find_map(|l| l.strip_prefix("end ")) {
            return Some(reason.to_owned());
        }
        self.text.split("\n\n").find_map(|event| {
            let data = event.strip_prefix("event: end\ndata: ")?;
            let v: serde_json::Value = serde_json::from_str(data.lines().next()?).ok()?;
            v["reason"].as_str().map(str::to_owned)
        })
    }

    /// Reads until the stream says how it ended (and then closes), at most `within`: the
    /// reason, or `None` if it is still open then. Panics if it closes without saying why.
    pub async fn end_within(&mut self, within: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(reason) = self.reason() {
                let rest = tokio::time::timeout(Duration::from_secs(2), self.response.chunk());
                match rest.await {
                    Ok(Ok(None)) => return Some(reason),
                    other => panic!(
                        "{}: the stream did not close after its end: {other:?}",
                        self.upstream
                    ),
                }
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return None,
                Ok(Ok(Some(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) => panic!(
                    "{}: closed without saying why: {}",
                    self.upstream, self.text
                ),
                Ok(Err(e)) => panic!("{}: the stream failed: {e}", self.upstream),
            }
        }
    }

    /// How many ticks were read so far.
    pub fn ticks(&self) -> usize {
        self.text.lines().filter(|l| l.starts_with("tick ")).count()
            + self.text.matches("event: tick").count()
    }

    /// What the stream sent so far.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Waits at most `within` for `auth` to watch `n` sessions (`testing::watched_sessions`).
pub async fn watched_becomes(auth: &hf_auth_runtime::HfAuth, n: usize, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if hf_auth_runtime::testing::watched_sessions(auth) == n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hf_auth_runtime::testing::watched_sessions(auth) == n
}
