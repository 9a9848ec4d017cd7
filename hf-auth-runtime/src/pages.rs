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

const STYLE: &str = "*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f9fafb;color:#111827;\
-webkit-text-size-adjust:100%}\
main{max-width:34rem;margin:12vh auto;padding:2rem;background:#fff;border:1px solid #e5e7eb;border-radius:16px;\
box-shadow:0 1px 3px rgba(0,0,0,.04)}\
@media(max-width:38rem){main{margin:0;padding:1.5rem 1.25rem;border:0;border-radius:0;box-shadow:none;min-height:100vh}}\
h1{font-size:1.3rem;margin-top:0;overflow-wrap:anywhere}p{line-height:1.6;overflow-wrap:anywhere}\
code{background:#f3f4f6;padding:.05em .4em;border-radius:5px;font-size:.9em}\
nav{display:flex;flex-wrap:wrap;align-items:center;gap:.75rem 1.25rem;margin-top:1.5rem}\
a.button{display:inline-flex;align-items:center;min-height:44px;padding:.5rem 1.1rem;border-radius:10px;\
background:#111827;color:#fff;font-weight:600;text-decoration:none}a.button:hover{background:#1f2937}\
a.secondary{color:#4b5563}";

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
<nav><a class=\"button\" href=\"{href}\">{label}</a><a class=\"secondary\" href=\"/\">Home</a></nav></main></body></html>",
        title = escape(title),
        href = escape(action.0),
        label = escape(action.1),
    )
}
