//! Reading an open `/events` stream of the test app (`tick N` lines, then `end <reason>`).

use std::time::Duration;

use reqwest::{Response, StatusCode};

use super::Browser;

/// An open stream.
pub struct Events {
    response: Response,
    text: String,
}

impl Events {
    /// Opens `url` as `browser`; panics unless it answers 200.
    pub async fn open(browser: &mut Browser, url: &str) -> Events {
        let response = browser.get(url).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {url}");
        Events {
            response,
            text: String::new(),
        }
    }

    /// Reads until the stream says how it ended (and then closes), at most `within`: the
    /// reason, or `None` if it is still open then. Panics if it closes without saying why.
    pub async fn end_within(&mut self, within: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(reason) = self.text.lines().find_map(|l| l.strip_prefix("end ")) {
                let reason = reason.to_owned();
                let rest = tokio::time::timeout(Duration::from_secs(2), self.response.chunk());
                match rest.await {
                    Ok(Ok(None)) => return Some(reason),
                    other => panic!("the stream did not close after its end: {other:?}"),
                }
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return None,
                Ok(Ok(Some(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) => panic!("the stream closed without saying why: {}", self.text),
                Ok(Err(e)) => panic!("the stream failed: {e}"),
            }
        }
    }

    /// How many ticks were read so far.
    pub fn ticks(&self) -> usize {
        self.text.lines().filter(|l| l.starts_with("tick ")).count()
    }
}
