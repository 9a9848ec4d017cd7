//! Every semantic rule of the two attributes, checked against the scope catalogue of
//! `hf-auth-scopes`. Each error is spanned on the token that caused it and says how to fix it;
//! all of them go to the [`Ctxt`], so one build reports them all.

use crate::ctxt::Ctxt;
use crate::parse::{Arg, Kind, MaybeItemFn, Name, OurAttr, ScopeList};
use hf_auth_scopes::{check_handle, index_of, Role, SCOPES};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, LitStr};

/// What a handler requires, merged from all of our attributes on it.
pub struct Requirement {
    /// The path of the runtime crate (`::hf_auth_runtime` unless `crate = "..."`).
    pub krate: syn::Path,
    /// Documented scopes, in the order written.
    pub scopes: Vec<String>,
    /// Escape-hatch scopes, in the order written.
    pub extra_scopes: Vec<String>,
    pub orgs: Vec<OrgRequirement>,
    /// Orgs named by a path parameter: the parameter's name and the least role.
    pub org_params: Vec<(String, Option<Role>)>,
    /// The runtime's `Accept` variant: `Any`, `Session` or `Token`.
    pub accept: &'static str,
    /// The runtime's `CrossSite` variant: `Refuse` or `Allow`.
    pub cross_site: &'static str,
    /// `#[hf_login(pro)]`: the user must have `isPro`.
    pub pro: bool,
    /// `#[hf_login(can_pay)]`: the user must have `canPay`.
    pub can_pay: bool,
}

impl std::fmt::Debug for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requirement")
            .field("krate", &self.krate.to_token_stream().to_string())
            .field("scopes", &self.scopes)
            .field("extra_scopes", &self.extra_scopes)
            .field("orgs", &self.orgs)
            .field("org_params", &self.org_params)
            .field("accept", &self.accept)
            .field("cross_site", &self.cross_site)
            .field("pro", &self.pro)
            .field("can_pay", &self.can_pay)
            .finish()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct OrgRequirement {
    pub org: String,
    /// `None`: any member.
    pub role: Option<Role>,
}

const LOGIN_KEYS: &[&str] = &[
    "scopes",
    "extra_scopes",
    "accept",
    "cross_site",
    "pro",
    "can_pay",
    "crate",
];
const ORG_KEYS: &[&str] = &["role", "param", "accept", "cross_site", "crate"];
/// `accept = "..."`: the value as written, and the runtime's `Accept` variant.
const ACCEPT_VALUES: &[(&str, &str)] =
    &[("any", "Any"), ("session", "Session"), ("token", "Token")];
/// `cross_site = "..."`: the value as written, and the runtime's `CrossSite` variant.
const CROSS_SITE_VALUES: &[(&str, &str)] = &[("refuse", "Refuse"), ("allow", "Allow")];
/// Keys someone might use for the organization, which is positional.
const ORG_LIKE_KEYS: &[&str] = &["org", "organization", "name", "handle"];

/// Checks the function and all the attributes, the one being expanded (`attrs[0]`) and the
/// ones stacked below it, and merges them into one requirement.
pub fn validate(attrs: &[OurAttr], func: &MaybeItemFn, cx: &mut Ctxt) -> Requirement {
    let first = attrs.first().map_or(Kind::HfLogin, |a| a.kind);
    check_function(first, func, cx);

    let mut req = Requirement {
        krate: syn::parse_quote!(::hf_auth_runtime),
        scopes: Vec::new(),
        extra_scopes: Vec::new(),
        orgs: Vec::new(),
        org_params: Vec::new(),
        accept: "Any",
        cross_site: "Refuse",
        pro: false,
        can_pay: false,
    };
    let mut krate: Option<syn::Path> = None;
    // Stacked attributes that both give `accept` (or `cross_site`) must give the same value:
    // a route has one answer to "who may call it", and a silent "strictest wins" would hide a
    // mistake in one of them.
    let mut accept: Option<String> = None;
    let mut cross_site: Option<String> = None;
    let mut can_pay_key: Option<&syn::Ident> = None;
    let mut seen_login = false;

    for attr in attrs {
        if attr.kind == Kind::HfLogin {
            if seen_login {
                cx.error(
                    attr.span,
                    "`#[hf_login]` is given twice on this function; merge both into one `#[hf_login(...)]`",
                );
            }
            seen_login = true;
        }
        let mut org: Option<&LitStr> = None;
        let mut param: Option<&LitStr> = None;
        let mut role: Option<Role> = None;
        let mut org_attempted = false;
        let mut seen = Vec::new();
        for arg in &attr.args {
            org_attempted |= match arg {
                Arg::Org(_) | Arg::MalformedOrg => true,
                Arg::Unknown { key } => ORG_LIKE_KEYS.iter().any(|k| key == k),
                _ => false,
            };
            if !check_key(attr.kind, arg, &mut seen, cx) {
                continue;
            }
            match arg {
                Arg::Scopes { key, list } => {
                    if let Some(list) = check_scopes(key, list, cx) {
                        req.scopes.extend(list);
                    }
                }
                Arg::ExtraScopes { key, list } => {
                    req.extra_scopes.extend(check_extra_scopes(key, list, cx));
                }
                Arg::Org(lit) => {
                    if let Some(first) = org {
                        cx.error(
                            lit.span(),
                            format_args!(
                                "`#[require_org]` takes one organization (here `{}` already); for another, stack a second `#[require_org({})]`: all of them must hold",
                                first.value(),
                                lit.token()
                            ),
                        );
                    } else {
                        org = Some(lit);
                    }
                }
                Arg::Role { value, .. } => role = check_role(value, cx),
                Arg::Crate { key, path } => match &krate {
                    Some(previous)
                        if previous.to_token_stream().to_string()
                            != path.to_token_stream().to_string() =>
                    {
                        cx.error(
                            key.span(),
                            format_args!(
                                "conflicting `crate` paths: `{}` here and `{}` on another attribute; give the same path, or give it once",
                                path.to_token_stream().to_string().replace(' ', ""),
                                previous.to_token_stream().to_string().replace(' ', ""),
                            ),
                        );
                    }
                    _ => krate = Some(path.clone()),
                },
                Arg::Choice { key, value } if key == "param" => {
                    if check_param(value, cx) {
                        param = Some(value);
                    } else {
                        org_attempted = true;
                    }
                }
                Arg::Choice { key, value } => {
                    let (table, seen_value) = if key == "accept" {
                        (ACCEPT_VALUES, &mut accept)
                    } else {
                        (CROSS_SITE_VALUES, &mut cross_site)
                    };
                    if let Some(variant) = check_choice(key, value, table, cx) {
                        let written = value.value();
                        match seen_value {
                            Some(previous) if *previous != written => cx.error(
                                value.span(),
                                format_args!(
                                    "conflicting `{key}`: `\"{written}\"` here and `\"{previous}\"` on another attribute of this function; give it once, or the same value on both"
                                ),
                            ),
                            _ => {
                                *seen_value = Some(written);
                                if key == "accept" {
                                    req.accept = variant;
                                } else {
                                    req.cross_site = variant;
                                }
                            }
                        }
                    }
                }
                Arg::Flag { key } => {
                    if key == "pro" {
                        req.pro = true;
                    } else {
                        req.can_pay = true;
                        can_pay_key = Some(key);
                    }
                }
                Arg::Unknown { .. } | Arg::MalformedOrg => {}
            }
        }
        if let (Some(lit), Some(param)) = (org, param) {
            cx.error(
                param.span(),
                format_args!(
                    "`#[require_org]` takes the organization `{}` or `param`, not both; write `#[require_org({})]` for that one organization, or `#[require_org(param = {})]` for the one in the path",
                    lit.value(),
                    lit.token(),
                    param.token()
                ),
            );
            continue;
        }
        if let Some(param) = param {
            let name = param.value();
            if req.org_params.iter().any(|(p, _)| *p == name) {
                cx.error(
                    param.span(),
                    format_args!(
                        "the organization in path parameter `{name}` is already required by another `#[require_org]` on this function; keep one, with the role you need"
                    ),
                );
            } else {
                req.org_params.push((name, role));
            }
            continue;
        }
        if attr.kind == Kind::RequireOrg {
            match org {
                None if org_attempted => {}
                None => cx.error(
                    attr.span,
                    "`#[require_org]` needs the organization's handle, like `#[require_org(\"acme\")]` or `#[require_org(\"acme\", role = \"write\")]`, or the path parameter that names it: `#[require_org(param = \"org\")]`",
                ),
                Some(lit) => {
                    let value = lit.value();
                    if let Err(why) = check_org(&value) {
                        cx.error(lit.span(), why);
                    } else if req
                        .orgs
                        .iter()
                        .any(|o| o.org.eq_ignore_ascii_case(&value))
                    {
                        cx.error(
                            lit.span(),
                            format_args!(
                                "organization `{value}` is already required by another `#[require_org]` on this function; keep one, with the role you need"
                            ),
                        );
                    } else {
                        req.orgs.push(OrgRequirement { org: value, role });
                    }
                }
            }
        }
    }
    if let Some(key) = can_pay_key {
        if !req.scopes.iter().any(|s| s == "read-billing") {
            cx.error(
                key.span(),
                "`can_pay` needs the `read-billing` scope: Hugging Face tells whether a user can pay only to an app they granted it; add it to this route: `#[hf_login(scopes = \"read-billing\", can_pay)]`",
            );
        }
    }
    if let Some(path) = krate {
        req.krate = path;
    }
    req
}

/// One of a fixed set of string values; the runtime's variant for it.
fn check_choice(
    key: &syn::Ident,
    lit: &LitStr,
    table: &[(&str, &'static str)],
    cx: &mut Ctxt,
) -> Option<&'static str> {
    let value = lit.value();
    if let Some((_, variant)) = table.iter().find(|(v, _)| *v == value) {
        return Some(variant);
    }
    let values: Vec<&str> = table.iter().map(|(v, _)| *v).collect();
    let hint = match (key.to_string().as_str(), value.to_lowercase().as_str()) {
        ("accept", "cookie" | "cookies" | "browser" | "sessions") => Some("session"),
        ("accept", "bearer" | "tokens" | "api" | "hf_token") => Some("token"),
        ("accept", "both" | "all" | "*") => Some("any"),
        ("cross_site", "true" | "yes" | "on" | "allowed") => Some("allow"),
        ("cross_site", "false" | "no" | "off" | "deny") => Some("refuse"),
        _ => suggest(&value, values.iter().copied()),
    };
    cx.error(
        lit.span(),
        with_suggestion(
            format!(
                "unknown value `{value}` for `{key}`; expected one of {}",
                list(&values)
            ),
            hint,
        ),
    );
    None
}

/// The item must be an `async fn` without `self` and without type or const generics.
fn check_function(kind: Kind, func: &MaybeItemFn, cx: &mut Ctxt) {
    let name = kind.name();
    let sig = &func.sig;
    let ident = unraw(&sig.ident);
    if sig.asyncness.is_none() {
        cx.error(
            sig.fn_token.span,
            format_args!(
                "`#[{name}]` guards an axum handler, which must be an `async fn`; write `async fn {ident}`"
            ),
        );
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        cx.error(
            receiver.self_token.span,
            format_args!(
                "`#[{name}]` cannot guard a method: an axum handler takes no `self`; make `{ident}` a free function and pass shared data with `State`"
            ),
        );
    }
    check_body_extractor_last(sig, cx);
    for param in &sig.generics.params {
        let (what, ident) = match param {
            GenericParam::Type(t) => ("type", &t.ident),
            GenericParam::Const(c) => ("const", &c.ident),
            GenericParam::Lifetime(_) => continue,
        };
        cx.error(
            ident.span(),
            format_args!(
                "`#[{name}]` cannot guard a generic function: its requirement is registered once per handler, so `{ident}` cannot vary; remove the {what} parameter `{ident}` (write a non-generic handler that calls a generic helper)"
            ),
        );
    }
}

/// axum's extractors that read the request body, which only the last argument may be.
const BODY_EXTRACTORS: &[&str] = &[
    "Json",
    "Form",
    "String",
    "Bytes",
    "Body",
    "Request",
    "Multipart",
    "RawForm",
];

/// A body extractor before another argument (`Json` before `HfUser`) would make rustc say
/// that the function is not a `Handler`, naming our generated guard type; say it here instead,
/// on the argument, the way axum's `debug_handler` does.
fn check_body_extractor_last(sig: &syn::Signature, cx: &mut Ctxt) {
    let typed: Vec<&syn::PatType> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let Some((last, before)) = typed.split_last() else {
        return;
    };
    let last_ty = last.ty.to_token_stream().to_string().replace(' ', "");
    for arg in before {
        let syn::Type::Path(path) = &*arg.ty else {
            continue;
        };
        let Some(segment) = path.path.segments.last() else {
            continue;
        };
        if BODY_EXTRACTORS.iter().any(|b| segment.ident == b) {
            cx.error(
                arg.ty.span(),
                format_args!(
                    "`{}` reads the request body, so it must be the handler's last argument; move it after `{last_ty}`",
                    arg.ty.to_token_stream().to_string().replace(' ', "")
                ),
            );
        }
    }
}

/// Reports an unknown or repeated key; `false` if the argument must be skipped.
fn check_key(kind: Kind, arg: &Arg, seen: &mut Vec<String>, cx: &mut Ctxt) -> bool {
    let Some(key) = arg.key() else { return true };
    let name = key.to_string();
    if let Arg::Unknown { .. } = arg {
        cx.error(key.span(), unknown_key_message(kind, &name));
        return false;
    }
    if seen.contains(&name) {
        let hint = match name.as_str() {
            "scopes" | "extra_scopes" => format!("list all of them in one `{name}`"),
            "role" => "give one role, the lowest that is enough".to_owned(),
            _ => "keep one".to_owned(),
        };
        cx.error(
            key.span(),
            format_args!("duplicate argument `{name}`; {hint}"),
        );
        return false;
    }
    seen.push(name);
    true
}

fn unknown_key_message(kind: Kind, key: &str) -> String {
    match (kind, key) {
        (Kind::HfLogin, "org" | "orgs" | "organization" | "role") => format!(
            "`#[hf_login]` has no argument `{key}`; to require an organization, add `#[require_org(\"acme\", role = \"write\")]` to this function"
        ),
        (Kind::RequireOrg, "scopes" | "scope" | "extra_scopes") => format!(
            "`#[require_org]` has no argument `{key}`; scopes go in `#[hf_login(scopes = \"...\")]`, which you can add to this function: both must hold"
        ),
        (Kind::RequireOrg, "pro" | "can_pay") => format!(
            "`#[require_org]` has no argument `{key}`; add `#[hf_login({key})]` to this function: both must hold"
        ),
        (Kind::RequireOrg, _) if ORG_LIKE_KEYS.contains(&key) => format!(
            "`#[require_org]` has no argument `{key}`; give the organization first, as a plain string: `#[require_org(\"acme\")]`"
        ),
        (Kind::HfLogin, _) => with_suggestion(
            format!(
                "unknown argument `{key}` for `#[hf_login]`; expected one of {}",
                list(LOGIN_KEYS)
            ),
            suggest(key, LOGIN_KEYS.iter().copied()),
        ),
        (Kind::RequireOrg, _) => with_suggestion(
            format!(
                "unknown argument `{key}` for `#[require_org]`; expected the organization, then one of {}, like `#[require_org(\"acme\", role = \"write\")]`",
                list(ORG_KEYS)
            ),
            suggest(key, ORG_KEYS.iter().copied()),
        ),
    }
}

/// Documented scopes: known and not duplicated.
fn check_scopes(key: &syn::Ident, list: &ScopeList, cx: &mut Ctxt) -> Option<Vec<String>> {
    if list.names.is_empty() {
        cx.error(
            list.span,
            format_args!(
                "`{key}` is empty; list at least one scope, or write plain `#[hf_login]` to require only a signed-in user"
            ),
        );
        return None;
    }
    let mut ok = true;
    let mut kept: Vec<&Name> = Vec::new();
    for name in &list.names {
        if !check_name_shape(name, "scopes", cx) {
            ok = false;
            continue;
        }
        if index_of(&name.value).is_none() {
            cx.error(name.span, unknown_scope_message(&name.value));
            ok = false;
            continue;
        }
        if kept.iter().any(|k| k.value == name.value) {
            cx.error(
                name.span,
                format_args!("scope `{}` is listed twice; remove this one", name.value),
            );
            ok = false;
            continue;
        }
        kept.push(name);
    }
    // A scope listed next to a scope that includes it (`read-repos write-repos`) is accepted:
    // Hugging Face's docs once said write-repos did not include read-repos, asking for both is
    // harmless, and it is the form the reference app's contract uses. The runtime treats a
    // granted `write-repos` as covering `read-repos` either way.
    ok.then(|| kept.iter().map(|n| n.value.clone()).collect())
}

fn unknown_scope_message(value: &str) -> String {
    match suggest(value, SCOPES.iter().map(|s| s.name)) {
        Some(close) => format!(
            "unknown scope `{value}`; did you mean `{close}`?"
        ),
        None => format!(
            "unknown scope `{value}`; Hugging Face documents {}. For a scope it added after this release, write `extra_scopes = \"{value}\"`",
            list(&SCOPES.map(|s| s.name))
        ),
    }
}

/// No empty names, no whitespace inside a name (the list form takes one scope per string).
fn check_name_shape(name: &Name, key: &str, cx: &mut Ctxt) -> bool {
    if name.value.is_empty() {
        cx.error(
            name.span,
            format_args!("empty scope name; remove it from `{key}`"),
        );
        return false;
    }
    if name.value.chars().any(char::is_whitespace) {
        let parts: Vec<String> = name
            .value
            .split_whitespace()
            .map(|p| format!("\"{p}\""))
            .collect();
        cx.error(
            name.span,
            format_args!(
                "one scope per string in the list form; write `{key}({})`",
                parts.join(", ")
            ),
        );
        return false;
    }
    true
}

/// Escape-hatch scopes: only their syntax is checked.
fn check_extra_scopes(key: &syn::Ident, list: &ScopeList, cx: &mut Ctxt) -> Vec<String> {
    if list.names.is_empty() {
        cx.error(
            list.span,
            format_args!("`{key}` is empty; remove it or name the scope Hugging Face added"),
        );
        return Vec::new();
    }
    let mut kept: Vec<String> = Vec::new();
    for name in &list.names {
        if !check_name_shape(name, "extra_scopes", cx) {
            continue;
        }
        let value = &name.value;
        if index_of(value).is_some() {
            cx.error(
                name.span,
                format_args!(
                    "`{value}` is a documented scope, checked at compile time; move it to `scopes`"
                ),
            );
        } else if let Some(bad) = value
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | ':' | '.' | '-'))
        {
            cx.error(
                name.span,
                format_args!(
                    "invalid character `{bad}` in scope `{value}`; a scope name has only lowercase ASCII letters, digits, `-`, `_`, `:` and `.`"
                ),
            );
        } else if kept.contains(value) {
            cx.error(
                name.span,
                format_args!("scope `{value}` is listed twice; remove this one"),
            );
        } else {
            kept.push(value.clone());
        }
    }
    kept
}

/// An organization handle, with a fix for a URL or an `@handle`.
fn check_org(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(
            "the organization's handle is empty; write it like `#[require_org(\"acme\")]`"
                .to_owned(),
        );
    }
    let why = match check_handle(value) {
        Ok(()) => return Ok(()),
        Err(why) => why,
    };
    let guess = value
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(value)
        .trim_start_matches('@')
        .trim();
    if guess != value && check_handle(guess).is_ok() {
        Err(format!(
            "invalid organization handle `{value}`; write the handle alone: `\"{guess}\"`"
        ))
    } else {
        Err(format!("invalid organization handle `{value}`: {why}"))
    }
}

/// A path parameter's name as axum writes it between braces: an identifier-like name.
fn check_param(lit: &LitStr, cx: &mut Ctxt) -> bool {
    let value = lit.value();
    let bare = value
        .trim()
        .trim_start_matches(['{', ':', '*'])
        .trim_end_matches('}')
        .trim();
    let valid = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if valid(&value) {
        return true;
    }
    let message = if value.trim().is_empty() {
        "the path parameter's name is empty; for a route `/orgs/{org}`, write `param = \"org\"`"
            .to_owned()
    } else if bare != value && valid(bare) {
        format!("write the path parameter's name alone, without `{{}}`, `:` or `*`: `param = \"{bare}\"`")
    } else {
        format!(
            "invalid path parameter name `{value}`: write the name between the braces of the route's path (letters, digits and `_`), like `param = \"org\"` for `/orgs/{{org}}`"
        )
    };
    cx.error(lit.span(), message);
    false
}

fn check_role(lit: &LitStr, cx: &mut Ctxt) -> Option<Role> {
    let value = lit.value();
    if let Some(role) = Role::parse(&value) {
        return Some(role);
    }
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let message = match value.to_lowercase().as_str() {
        "member" | "any" | "" => format!(
            "unknown role `{value}`; to accept any member of the organization, remove `role`"
        ),
        "owner" => format!("unknown role `{value}`; did you mean `admin`?"),
        _ => with_suggestion(
            format!(
                "unknown role `{value}`; expected one of {} (lowest to highest)",
                list(&roles)
            ),
            suggest(&value, roles.iter().copied()),
        ),
    };
    cx.error(lit.span(), message);
    None
}

fn with_suggestion(message: String, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("{message}; did you mean `{s}`?"),
        None => message,
    }
}

/// "`a`, `b` and `c`"
fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// The candidate the user most likely meant: the same after normalising case and `_`, the same
/// words in another order, or else the nearest by edit distance when it is close enough.
pub fn suggest<'a>(
    input: &str,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> Option<&'a str> {
    let normal = input.trim().to_lowercase().replace(['_', ' '], "-");
    if let Some(c) = candidates.clone().find(|c| *c == normal) {
        return Some(c);
    }
    let words = |s: &str| {
        let mut w: Vec<String> = s.split('-').map(str::to_owned).collect();
        w.sort();
        w
    };
    if let Some(c) = candidates.clone().find(|c| words(c) == words(&normal)) {
        return Some(c);
    }
    let limit = (normal.chars().count() / 3).max(1);
    candidates
        .map(|c| (levenshtein(&normal, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance in characters (insert, delete, substitute).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// `r#type` -> `type`.
pub fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map_or(s.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_args, take_our_attrs};
    use proc_macro2::{Span, TokenStream};
    use quote::quote;

    /// Runs parse and validate like the entry point does; returns the requirement or the errors.
    fn check(kind: Kind, args: TokenStream, item: TokenStream) -> Result<Requirement, Vec<String>> {
        let mut cx = Ctxt::new();
        let mut func: MaybeItemFn = syn::parse2(item).expect("a function");
        let mut attrs = vec![parse_args(kind, Span::call_site(), args, &mut cx)];
        attrs.extend(take_our_attrs(&mut func.attrs, &mut cx));
        let req = validate(&attrs, &func, &mut cx);
        match cx.check() {
            Ok(()) => Ok(req),
            Err(e) => Err(e.iter().map(ToString::to_string).collect()),
        }
    }

    fn login(args: TokenStream) -> Result<Requirement, Vec<String>> {
        check(
            Kind::HfLogin,
            args,
            quote!(
                async fn f() {}
            ),
        )
    }

    #[test]
    fn did_you_mean() {
        let scopes = || SCOPES.iter().map(|s| s.name);
        assert_eq!(suggest("write_repos", scopes()), Some("write-repos"));
        assert_eq!(suggest("Write-Repos", scopes()), Some("write-repos"));
        assert_eq!(suggest("write-repo", scopes()), Some("write-repos"));
        assert_eq!(suggest("repos-write", scopes()), Some("write-repos"));
        assert_eq!(suggest("inference_apis", scopes()), Some("inference-api"));
        assert_eq!(suggest("offline_access", scopes()), None);
        assert_eq!(suggest("read", scopes()), None);
        assert_eq!(suggest("scope", LOGIN_KEYS.iter().copied()), Some("scopes"));
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
    }

    #[test]
    fn valid_login() {
        let req = login(quote!(
            scopes = "read-repos inference-api",
            extra_scopes("future:x")
        ))
        .unwrap();
        assert_eq!(req.scopes, ["read-repos", "inference-api"]);
        assert_eq!(req.extra_scopes, ["future:x"]);
        assert!(req.orgs.is_empty());
        assert_eq!(
            req.krate.to_token_stream().to_string(),
            ":: hf_auth_runtime"
        );
    }

    #[test]
    fn scope_errors_are_all_reported() {
        let errors = login(quote!(scopes(
            "write_repos",
            "email",
            "email",
            "read-collections",
            "write-collections",
            "a b"
        )))
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors
            .iter()
            .any(|e| e.contains("did you mean `write-repos`?")));
        assert!(errors
            .iter()
            .any(|e| e == "scope `email` is listed twice; remove this one"));
        assert!(!errors.iter().any(|e| e.contains("read-collections")));
        assert!(errors
            .iter()
            .any(|e| e.contains("write `scopes(\"a\", \"b\")`")));
    }

    #[test]
    fn empty_and_unknown_without_suggestion() {
        let errors = login(quote!(scopes = "  ")).unwrap_err();
        assert!(errors[0].starts_with("`scopes` is empty"), "{errors:?}");
        let errors = login(quote!(scopes = "offline_access")).unwrap_err();
        assert!(
            errors[0].contains("write `extra_scopes = \"offline_access\"`"),
            "{errors:?}"
        );
    }

    #[test]
    fn extra_scopes_syntax_only() {
        let errors = login(quote!(extra_scopes("Up", "write-repos", "x", "x", ""))).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("invalid character `U`"));
        assert!(errors[1].contains("move it to `scopes`"));
        assert!(errors[2].contains("listed twice"));
        assert!(errors[3].contains("empty scope name"));
    }

    #[test]
    fn keys() {
        let errors = login(quote!(scope = "email", crate = "a", crate = "a")).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].ends_with("did you mean `scopes`?"), "{errors:?}");
        assert!(
            errors[1].starts_with("duplicate argument `crate`"),
            "{errors:?}"
        );
        let errors = login(quote!(org = "acme")).unwrap_err();
        assert!(errors[0].contains("#[require_org("), "{errors:?}");
        let errors = check(
            Kind::RequireOrg,
            quote!("acme", scopes = "email"),
            quote!(
                async fn f() {}
            ),
        )
        .unwrap_err();
        assert!(errors[0].contains("#[hf_login(scopes"), "{errors:?}");
    }

    #[test]
    fn roles_and_orgs() {
        let org = |args| {
            check(
                Kind::RequireOrg,
                args,
                quote!(
                    async fn f() {}
                ),
            )
        };
        let req = org(quote!("acme", role = "contributor")).unwrap();
        assert_eq!(
            req.orgs,
            [OrgRequirement {
                org: "acme".into(),
                role: Some(Role::Contributor)
            }]
        );
        let req = org(quote!("acme")).unwrap();
        assert_eq!(req.orgs[0].role, None);
        let errors = org(quote!("acme", role = "writer")).unwrap_err();
        assert!(errors[0].ends_with("did you mean `write`?"), "{errors:?}");
        let errors = org(quote!("acme", role = "owner")).unwrap_err();
        assert!(errors[0].ends_with("did you mean `admin`?"), "{errors:?}");
        let errors = org(quote!("acme", role = "member")).unwrap_err();
        assert!(errors[0].contains("remove `role`"), "{errors:?}");
        let errors = org(quote!("https://huggingface.co/acme")).unwrap_err();
        assert!(
            errors[0].contains("write the handle alone: `\"acme\"`"),
            "{errors:?}"
        );
        let errors = org(quote!("ac me")).unwrap_err();
        assert!(
            errors[0].starts_with("invalid organization handle `ac me`: "),
            "{errors:?}"
        );
        let errors = org(quote!(role = "read")).unwrap_err();
        assert!(
            errors[0].contains("needs the organization's handle"),
            "{errors:?}"
        );
        let errors = org(quote!("a", "b")).unwrap_err();
        assert!(
            errors[0].contains("stack a second `#[require_org(\"b\")]`"),
            "{errors:?}"
        );
    }

    #[test]
    fn stacked_attributes_merge() {
        let req = check(
            Kind::RequireOrg,
            quote!("acme", role = "write"),
            quote! {
                #[doc = "kept"]
                #[hf_auth_runtime::hf_login(scopes = "email", crate = "::hf_auth_runtime")]
                #[require_org("labs")]
                pub async fn f() {}
            },
        )
        .unwrap();
        assert_eq!(req.scopes, ["email"]);
        assert_eq!(
            req.orgs,
            [
                OrgRequirement {
                    org: "acme".into(),
                    role: Some(Role::Write)
                },
                OrgRequirement {
                    org: "labs".into(),
                    role: None
                },
            ]
        );
    }

    #[test]
    fn stacking_errors() {
        let errors = check(
            Kind::HfLogin,
            quote!(),
            quote! {
                #[require_org("acme")]
                #[hf_login(scopes = "email")]
                #[require_org("ACME", crate = "other")]
                async fn f() {}
            },
        )
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("`#[hf_login]` is given twice"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("organization `ACME` is already required"),
            "{errors:?}"
        );
        let errors = check(
            Kind::HfLogin,
            quote!(crate = "a"),
            quote! { #[require_org("acme", crate = "b")] async fn f() {} },
        )
        .unwrap_err();
        assert!(
            errors[0].starts_with("conflicting `crate` paths: `b` here and `a`"),
            "{errors:?}"
        );
    }

    #[test]
    fn accept_cross_site_and_gates() {
        let req = login(quote!(
            scopes = "read-billing",
            accept = "token",
            cross_site = "allow",
            pro,
            can_pay
        ))
        .unwrap();
        assert_eq!(
            (req.accept, req.cross_site, req.pro, req.can_pay),
            ("Token", "Allow", true, true)
        );
        let req = login(quote!()).unwrap();
        assert_eq!(
            (req.accept, req.cross_site, req.pro, req.can_pay),
            ("Any", "Refuse", false, false)
        );
        let errors = login(quote!(accept = "tokens", cross_site = "yes")).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].ends_with("did you mean `token`?"), "{errors:?}");
        assert!(errors[1].ends_with("did you mean `allow`?"), "{errors:?}");
        let errors = login(quote!(accept = "sesion")).unwrap_err();
        assert!(errors[0].ends_with("did you mean `session`?"), "{errors:?}");
        let errors = login(quote!(can_pay)).unwrap_err();
        assert!(
            errors[0].contains("needs the `read-billing` scope"),
            "{errors:?}"
        );
        let errors = login(quote!(pro = true)).unwrap_err();
        assert!(errors[0].contains("takes no value"), "{errors:?}");
    }

    #[test]
    fn stacked_accept_must_agree() {
        let req = check(
            Kind::HfLogin,
            quote!(accept = "session"),
            quote! { #[require_org("acme", accept = "session")] async fn f() {} },
        )
        .unwrap();
        assert_eq!(req.accept, "Session");
        let errors = check(
            Kind::HfLogin,
            quote!(accept = "session"),
            quote! { #[require_org("acme", accept = "token")] async fn f() {} },
        )
        .unwrap_err();
        assert!(errors[0].starts_with("conflicting `accept`"), "{errors:?}");
        let errors = check(
            Kind::RequireOrg,
            quote!("acme", pro),
            quote! { async fn f() {} },
        )
        .unwrap_err();
        assert!(errors[0].contains("add `#[hf_login(pro)]`"), "{errors:?}");
    }

    #[test]
    fn org_from_a_path_parameter() {
        let org = |args| {
            check(
                Kind::RequireOrg,
                args,
                quote!(
                    async fn f() {}
                ),
            )
        };
        let req = org(quote!(param = "org", role = "admin")).unwrap();
        assert!(req.orgs.is_empty());
        assert_eq!(req.org_params, [("org".to_owned(), Some(Role::Admin))]);
        let errors = org(quote!(param = ":org")).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].ends_with("`param = \"org\"`"), "{errors:?}");
        let errors = org(quote!(param = "")).unwrap_err();
        assert!(errors[0].contains("is empty"), "{errors:?}");
        let errors = org(quote!("acme", param = "org")).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("not both"), "{errors:?}");
        let errors = org(quote!(param)).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let errors = check(
            Kind::RequireOrg,
            quote!(param = "org"),
            quote! { #[require_org(param = "org", role = "write")] async fn f() {} },
        )
        .unwrap_err();
        assert!(errors[0].contains("already required"), "{errors:?}");
    }

    #[test]
    fn body_extractor_must_be_last() {
        let errors = check(
            Kind::HfLogin,
            quote!(),
            quote!(
                async fn f(Json(v): Json<Value>, user: HfUser) {}
            ),
        )
        .unwrap_err();
        assert_eq!(
            errors,
            ["`Json<Value>` reads the request body, so it must be the handler's last argument; move it after `HfUser`"]
        );
        assert!(check(
            Kind::HfLogin,
            quote!(),
            quote!(
                async fn f(user: HfUser, Path(p): Path<String>, body: axum::Json<Value>) {}
            )
        )
        .is_ok());
    }

    #[test]
    fn function_shape() {
        let errors = check(
            Kind::HfLogin,
            quote!(),
            quote!(
                fn f<T, const N: usize>(&self) {}
            ),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("must be an `async fn`; write `async fn f`"));
        assert!(errors[1].contains("cannot guard a method"));
        assert!(errors[2].contains("type parameter `T`"));
        assert!(errors[3].contains("const parameter `N`"));
        assert!(check(
            Kind::HfLogin,
            quote!(),
            quote!(
                async fn f<'a>(x: &'a str) {}
            )
        )
        .is_ok());
    }
}
