//! A minimal browser for end-to-end tests: a cookie jar, no automatic redirects, so every hop
//! of the OAuth flow is visible and checked.
#![allow(dead_code)]

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
        let resp = req.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
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
            let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
            current = url::Url::parse(&current).unwrap().join(&location).unwrap().to_string();
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
    resp.headers()[header::LOCATION].to_str().unwrap().to_owned()
}
