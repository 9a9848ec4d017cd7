//! The few HTML pages hf-auth serves itself: flow errors and 403s. Small, inline-styled, no
//! external requests, readable on a phone.

use std::fmt::Write;

/// Escapes text for HTML element content and attribute values (`&`, `<`, `>`, `"`, `'`), for
/// apps that write their own pages around a user's handle or name.
///
/// ```
/// assert_eq!(hf_auth_runtime::escape_html("<b>\"x\"</b>"), "&lt;b&gt;&quot;x&quot;&lt;/b&gt;");
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f9fafb;color:#111827}\
main{max-width:34rem;margin:12vh auto;padding:2rem;background:#fff;border:1px solid #e5e7eb;border-radius:12px}\
h1{font-size:1.3rem;margin-top:0}p{line-height:1.5}code{background:#f3f4f6;padding:0 .25em;border-radius:4px}\
a.button{display:inline-block;margin-top:.5rem;padding:.55rem 1rem;border-radius:8px;background:#111827;color:#fff;text-decoration:none}\
a.secondary{margin-left:1rem;color:#4b5563}";

/// A page with a title, paragraphs of already-escaped HTML and one action link.
pub(crate) fn page(title: &str, paragraphs: &[String], action: (&str, &str)) -> String {
    let mut body = String::new();
    for p in paragraphs {
        let _ = write!(body, "<p>{p}</p>");
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title>\
<style>{STYLE}</style></head><body><main><h1>{title}</h1>{body}\
<a class=\"button\" href=\"{href}\">{label}</a><a class=\"secondary\" href=\"/\">Home</a></main></body></html>",
        title = escape(title),
        href = escape(action.0),
        label = escape(action.1),
    )
}
