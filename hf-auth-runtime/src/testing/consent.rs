//! The test provider's interactive consent step ([`TestProvider::set_interactive`]): instead of
//! redirecting at once, `GET /oauth/authorize` shows a small HTML page, like huggingface.co's,
//! naming the app and the scopes it asks for, with "Authorize" and "Deny" buttons. They post to
//! `/oauth/authorize/decision`, which answers the pending request as the non-interactive provider
//! would have: a code (narrowed by [`Consent::GrantOnly`], if set), or `error=access_denied`.
//!
//! [`TestProvider::set_interactive`]: super::TestProvider::set_interactive
//! [`Consent::GrantOnly`]: super::Consent::GrantOnly

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
    Form,
};
use serde::Deserialize;

use super::{answer_authorize, random_token, AuthorizeQuery, Inner, Shared};
use crate::{pages::escape, session::now_unix};

/// How long a consent page stays answerable.
const PENDING_TTL: u64 = 600;

/// What decides the answer to an authorization request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// The test's programmed [`super::Consent`], at once.
    Programmed,
    /// Show the consent page and wait for a click.
    Ask,
    /// The user clicked "Authorize".
    Authorize,
    /// The user clicked "Deny".
    Deny,
}

/// Authorization requests waiting for a click on their consent page.
#[derive(Default)]
pub(super) struct Pending(std::collections::HashMap<String, (AuthorizeQuery, u64)>);

impl Pending {
    fn insert(&mut self, q: AuthorizeQuery) -> String {
        let now = now_unix();
        self.0.retain(|_, (_, expires)| *expires >= now);
        let id = random_token("req_");
        self.0.insert(id.clone(), (q, now + PENDING_TTL));
        id
    }
    /// Each pending request can be decided once.
    fn take(&mut self, id: &str) -> Option<AuthorizeQuery> {
        self.0
            .remove(id)
            .filter(|(_, expires)| *expires >= now_unix())
            .map(|(q, _)| q)
    }
}

/// Remembers a validated request and answers with its consent page.
pub(super) fn ask(i: &mut Inner, q: AuthorizeQuery, client_id: &str, asked: &[String]) -> Response {
    let user = i.user.preferred_username.clone();
    let redirect_host = url::Url::parse(q.redirect_uri.as_deref().unwrap_or_default())
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_default();
    let id = i.pending.insert(q);
    let scopes: String = asked
        .iter()
        .map(|s| {
            format!(
                "<li><code>{}</code> <span>{}</span></li>",
                escape(s),
                escape(describe(s))
            )
        })
        .collect();
    page(
        StatusCode::OK,
        "Authorize application",
        &format!(
            "<p class=\"app\"><b>{app}</b> wants to access your account <b>@{user}</b>.</p>\
             <h2>This will allow the app to</h2><ul>{scopes}</ul>\
             <form method=\"post\" action=\"/oauth/authorize/decision\">\
             <input type=\"hidden\" name=\"request\" value=\"{id}\">\
             <button type=\"submit\" name=\"decision\" value=\"authorize\" class=\"primary\">Authorize</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>\
             <p class=\"muted\">You will be redirected to <code>{redirect_host}</code>.</p>",
            app = escape(client_id),
            user = escape(&user),
            id = escape(&id),
            redirect_host = escape(&redirect_host),
        ),
    )
}

/// What a scope lets the app do, in the words of huggingface.co's consent page.
fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "Sign you in with your Hugging Face identity",
        "profile" => "Read your profile: name, username and avatar",
        "email" => "Read your email address",
        "read-repos" => "Read your repos",
        "write-repos" => "Read and write to your repos",
        "manage-repos" => "Create, delete and manage your repos",
        "inference-api" => "Make calls to Inference Providers on your behalf",
        "read-billing" => "Know whether you have a payment method",
        "jobs" => "Run jobs on your behalf",
        "webhooks" => "Manage your webhooks",
        _ => "A scope this test provider does not describe",
    }
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    request: Option<String>,
    decision: Option<String>,
}

/// `POST /oauth/authorize/decision`: the click on the consent page.
pub(super) async fn decision(State(inner): Shared, Form(f): Form<DecisionForm>) -> Response {
    let pending = {
        let mut i = inner.lock().expect("lock");
        f.request.as_deref().and_then(|id| i.pending.take(id))
    };
    let Some(q) = pending else {
        return page(
            StatusCode::BAD_REQUEST,
            "Request expired",
            "<p>This authorization request is unknown, expired or already answered. \
             Go back to the app and sign in again.</p>",
        );
    };
    let decision = match f.decision.as_deref() {
        Some("authorize") => Decision::Authorize,
        _ => Decision::Deny,
    };
    answer_authorize(&inner, q, decision)
}

/// The Hugging Face logo, inline (the page loads nothing else).
const LOGO: &str = "<svg viewBox=\"0 0 32 32\" width=\"28\" height=\"28\" aria-hidden=\"true\">\
<circle cx=\"16\" cy=\"14.5\" r=\"12.5\" fill=\"#FFD21E\"/><circle cx=\"11.3\" cy=\"11.6\" r=\"1.9\" fill=\"#3A3B45\"/>\
<circle cx=\"20.7\" cy=\"11.6\" r=\"1.9\" fill=\"#3A3B45\"/>\
<path d=\"M10.4 16.4c1 3.5 3.2 5.2 5.6 5.2s4.6-1.7 5.6-5.2c-1.9.9-3.7 1.3-5.6 1.3s-3.7-.4-5.6-1.3z\" fill=\"#3A3B45\"/>\
<ellipse cx=\"6.8\" cy=\"24\" rx=\"4.2\" ry=\"3\" transform=\"rotate(-35 6.8 24)\" fill=\"#FFD21E\" stroke=\"#FF9D0B\" stroke-width=\"1.4\"/>\
<ellipse cx=\"25.2\" cy=\"24\" rx=\"4.2\" ry=\"3\" transform=\"rotate(35 25.2 24)\" fill=\"#FFD21E\" stroke=\"#FF9D0B\" stroke-width=\"1.4\"/></svg>";

const STYLE: &str = "*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f9fafb;color:#111827}\
main{max-width:30rem;margin:10vh auto;padding:2rem;background:#fff;border:1px solid #e5e7eb;border-radius:14px}\
@media(max-width:34rem){main{margin:0;border:0;border-radius:0;min-height:100vh}}\
h1{font-size:1.3rem;margin:0 0 1rem;display:flex;align-items:center;gap:.5rem}\
h2{font-size:.95rem;color:#374151;margin:1.2rem 0 .4rem}\
ul{padding:0;margin:0;list-style:none}li{padding:.5rem 0;border-top:1px solid #f3f4f6;display:grid;grid-template-columns:7.5rem 1fr;gap:.75rem;align-items:baseline}\
@media(max-width:22rem){li{grid-template-columns:1fr;gap:.2rem}}\
code{background:#f3f4f6;padding:.05em .35em;border-radius:4px;font-size:.9em;justify-self:start}\
form{display:flex;gap:.75rem;margin-top:1.5rem}\
button{flex:1;font:inherit;font-weight:600;padding:.65rem 1rem;border-radius:10px;border:1px solid #d1d5db;background:#fff;color:#111827;cursor:pointer}\
button.primary{background:#111827;border-color:#111827;color:#fff}\
.muted{color:#6b7280;font-size:.9rem}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{title} · test provider</title><style>{STYLE}</style></head>\
             <body><main><h1>{LOGO}{title}</h1>{body}</main></body></html>",
            title = escape(title),
        )),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::super::{Consent, TestProvider};

    fn authorize_url(issuer: &str, state: &str) -> String {
        format!(
            "{issuer}/oauth/authorize?client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb\
             &response_type=code&scope=openid%20profile%20write-repos&state={state}\
             &code_challenge=abc&code_challenge_method=S256",
            TestProvider::CLIENT_ID
        )
    }

    async fn consent_page(client: &reqwest::Client, issuer: &str, state: &str) -> String {
        let r = client
            .get(authorize_url(issuer, state))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("write-repos") && html.contains(TestProvider::CLIENT_ID));
        assert!(html.contains(">Authorize</button>") && html.contains(">Deny</button>"));
        let start = html.find("value=\"req_").unwrap() + "value=\"".len();
        html[start..start + html[start..].find('"').unwrap()].to_owned()
    }

    async fn decide(
        client: &reqwest::Client,
        issuer: &str,
        id: &str,
        d: &str,
    ) -> reqwest::Response {
        client
            .post(format!("{issuer}/oauth/authorize/decision"))
            .form(&[("request", id), ("decision", d)])
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_click_decides_once() {
        let provider = TestProvider::start().await;
        let issuer = provider.issuer().to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // Off by default: a redirect at once.
        let r = client
            .get(authorize_url(&issuer, "s0"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection());

        provider.set_interactive(true);
        let id = consent_page(&client, &issuer, "s1").await;
        let r = decide(&client, &issuer, &id, "deny").await;
        assert_eq!(r.status(), 303);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with("http://127.0.0.1:9/cb?error=access_denied")
                && location.ends_with("&state=s1"),
            "{location}"
        );
        // A decided request cannot be decided again.
        assert_eq!(
            decide(&client, &issuer, &id, "authorize").await.status(),
            400
        );

        // "Authorize" wins over a programmed Deny; unknown requests are refused.
        provider.set_consent(Consent::Deny);
        let id = consent_page(&client, &issuer, "s2").await;
        let r = decide(&client, &issuer, &id, "authorize").await;
        let location = r.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with("http://127.0.0.1:9/cb?code=code_")
                && location.ends_with("&state=s2"),
            "{location}"
        );
        assert_eq!(
            decide(&client, &issuer, "req_nope", "authorize")
                .await
                .status(),
            400
        );
    }
}
