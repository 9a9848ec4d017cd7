//! Reads the attribute arguments and the annotated function into a small typed model.
//!
//! Parsing is forgiving: it records a syntax error in the [`Ctxt`] and goes on with the next
//! argument, and it keeps every token's span so that `validate` can blame the exact token. It
//! judges nothing beyond syntax: unknown keys, duplicates and bad values are `validate`'s job.

use crate::ctxt::Ctxt;
use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, LitStr, Meta, Signature, Visibility};

/// Which of our attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    HfLogin,
    RequireOrg,
}

impl Kind {
    /// The attribute's name as the user writes it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::HfLogin => "hf_login",
            Kind::RequireOrg => "require_org",
        }
    }

    /// Recognises our attributes by the last segment of their path, so `#[require_org]`,
    /// `#[hf_auth_runtime::require_org]` and `#[auth::require_org]` all count.
    pub fn of(path: &syn::Path) -> Option<Kind> {
        let last = path.segments.last()?;
        if !last.arguments.is_none() {
            return None;
        }
        if last.ident == "hf_login" {
            Some(Kind::HfLogin)
        } else if last.ident == "require_org" {
            Some(Kind::RequireOrg)
        } else {
            None
        }
    }
}

/// One of our attributes, as written.
pub struct OurAttr {
    pub kind: Kind,
    /// Where to point at for errors about the attribute as a whole.
    pub span: Span,
    /// The attribute's path when it was found stacked on the function (`None` for the one
    /// being expanded): the expansion refers to it so that its `use` still counts as used.
    pub path: Option<syn::Path>,
    pub args: Vec<Arg>,
}

/// One argument of an attribute.
pub enum Arg {
    /// `"acme"` in `#[require_org("acme")]`.
    Org(LitStr),
    /// `scopes = "a b"` or `scopes("a", "b")`.
    Scopes { key: Ident, list: ScopeList },
    /// `extra_scopes = "a b"` or `extra_scopes("a", "b")`.
    ExtraScopes { key: Ident, list: ScopeList },
    /// `role = "write"`.
    Role { key: Ident, value: LitStr },
    /// `crate = "path::to::runtime"`.
    Crate { key: Ident, path: syn::Path },
    /// `accept = "session"`, `cross_site = "allow"`, `param = "org"`: a key whose value is one
    /// string, judged
    /// by `validate`.
    Choice { key: Ident, value: LitStr },
    /// `pro`, `can_pay`: a key without a value.
    Flag { key: Ident },
    /// A key this attribute does not know; its value is skipped.
    Unknown { key: Ident },
    /// Something meant as the organization but not a string (already reported).
    MalformedOrg,
}

impl Arg {
    /// The key as written (`None` for the positional organization).
    pub fn key(&self) -> Option<&Ident> {
        match self {
            Arg::Org(_) | Arg::MalformedOrg => None,
            Arg::Scopes { key, .. }
            | Arg::ExtraScopes { key, .. }
            | Arg::Role { key, .. }
            | Arg::Crate { key, .. }
            | Arg::Choice { key, .. }
            | Arg::Flag { key }
            | Arg::Unknown { key } => Some(key),
        }
    }
}

/// A list of scope names, from either form.
pub struct ScopeList {
    /// The string literal, or the parentheses of the list form.
    pub span: Span,
    pub names: Vec<Name>,
}

/// A string with the span of the exact source text it came from (or its literal, when the
/// compiler cannot narrow a span inside a literal).
#[derive(Debug, Clone)]
pub struct Name {
    pub value: String,
    pub span: Span,
}

/// Parses the arguments of one attribute: `args` is what is inside its parentheses.
pub fn parse_args(kind: Kind, span: Span, args: TokenStream, cx: &mut Ctxt) -> OurAttr {
    let mut out = Vec::new();
    for segment in split_commas(args) {
        if let Some(arg) = parse_arg(kind, segment, cx) {
            out.push(arg);
        }
    }
    OurAttr {
        kind,
        span,
        path: None,
        args: out,
    }
}

/// Removes our attributes that are still on the function (the ones written below the one being
/// expanded) and parses them. Other attributes stay where they are, in their order.
pub fn take_our_attrs(attrs: &mut Vec<Attribute>, cx: &mut Ctxt) -> Vec<OurAttr> {
    let mut ours = Vec::new();
    attrs.retain(|attr| {
        let Some(kind) = Kind::of(attr.path()) else {
            return true;
        };
        let span = attr
            .path()
            .segments
            .last()
            .map_or_else(Span::call_site, |s| s.ident.span());
        let args = match &attr.meta {
            Meta::Path(_) => TokenStream::new(),
            Meta::List(list) => {
                if !matches!(list.delimiter, syn::MacroDelimiter::Paren(_)) {
                    cx.error(
                        span,
                        format_args!(
                            "write the arguments of `#[{0}]` in parentheses: `#[{0}(...)]`",
                            kind.name()
                        ),
                    );
                }
                list.tokens.clone()
            }
            Meta::NameValue(nv) => {
                cx.error(
                    nv.eq_token.span,
                    format_args!(
                        "`#[{0} = ...]` is not a form of this attribute; write `#[{0}(...)]`",
                        kind.name()
                    ),
                );
                TokenStream::new()
            }
        };
        let mut parsed = parse_args(kind, span, args, cx);
        parsed.path = Some(attr.path().clone());
        ours.push(parsed);
        false
    });
    ours
}

/// Splits at the commas that are not inside a group.
fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut segments = vec![Vec::new()];
    for tt in tokens {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => segments.push(Vec::new()),
            _ => segments.last_mut().expect("never empty").push(tt),
        }
    }
    segments.retain(|s| !s.is_empty());
    segments
}

fn tokens_span(tokens: &[TokenTree]) -> Span {
    let first = tokens.first().map_or_else(Span::call_site, TokenTree::span);
    let last = tokens.last().map_or(first, TokenTree::span);
    first.join(last).unwrap_or(first)
}

fn parse_arg(kind: Kind, segment: Vec<TokenTree>, cx: &mut Ctxt) -> Option<Arg> {
    let mut rest = segment.into_iter();
    let first = rest.next()?;
    let rest: Vec<TokenTree> = rest.collect();
    match first {
        TokenTree::Literal(lit) => {
            let lit_span = lit.span();
            let Ok(lit) = syn::parse2::<LitStr>(TokenTree::Literal(lit).into()) else {
                cx.error(
                    lit_span,
                    match kind {
                        Kind::RequireOrg => {
                            "expected the organization's handle as a string, like `\"acme\"`"
                        }
                        Kind::HfLogin => "expected an argument like `scopes = \"read-repos\"`",
                    },
                );
                return (kind == Kind::RequireOrg).then_some(Arg::MalformedOrg);
            };
            if !rest.is_empty() {
                cx.error(
                    tokens_span(&rest),
                    "unexpected tokens after the string; separate arguments with `,`",
                );
            }
            match kind {
                Kind::RequireOrg => Some(Arg::Org(lit)),
                Kind::HfLogin => {
                    cx.error(
                        lit.span(),
                        format_args!(
                            "`#[hf_login]` takes named arguments; write `#[hf_login(scopes = {})]`",
                            lit.token()
                        ),
                    );
                    None
                }
            }
        }
        TokenTree::Ident(key) => parse_keyed(kind, key, rest, cx),
        other => {
            cx.error(
                other.span(),
                match kind {
                    Kind::HfLogin => "expected an argument like `scopes = \"read-repos\"`",
                    Kind::RequireOrg => {
                        "expected the organization's handle, like `#[require_org(\"acme\")]`"
                    }
                },
            );
            (kind == Kind::RequireOrg).then_some(Arg::MalformedOrg)
        }
    }
}

enum Value {
    /// `key = tokens`
    Assigned(Span, Vec<TokenTree>),
    /// `key(tokens)`
    List(Group),
    /// `key` alone
    Bare,
    /// anything else
    Malformed(Span),
}

fn value_of(rest: Vec<TokenTree>) -> Value {
    let mut iter = rest.into_iter();
    match iter.next() {
        None => Value::Bare,
        Some(TokenTree::Punct(p)) if p.as_char() == '=' => {
            Value::Assigned(p.span(), iter.collect())
        }
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
            let rest: Vec<_> = iter.collect();
            if rest.is_empty() {
                Value::List(g)
            } else {
                Value::Malformed(tokens_span(&rest))
            }
        }
        Some(other) => Value::Malformed(other.span()),
    }
}

fn parse_keyed(kind: Kind, key: Ident, rest: Vec<TokenTree>, cx: &mut Ctxt) -> Option<Arg> {
    let name = key.to_string();
    let known = match kind {
        Kind::HfLogin => matches!(
            name.as_str(),
            "scopes" | "extra_scopes" | "crate" | "accept" | "cross_site" | "pro" | "can_pay"
        ),
        Kind::RequireOrg => matches!(
            name.as_str(),
            "role" | "param" | "crate" | "accept" | "cross_site"
        ),
    };
    let value = value_of(rest);
    if !known {
        // (`pro` and `can_pay` are `#[hf_login]`'s flags put on the wrong attribute.)
        if kind == Kind::RequireOrg
            && matches!(value, Value::Bare)
            && !matches!(name.as_str(), "org" | "pro" | "can_pay")
        {
            // `#[require_org(acme)]`: an unquoted organization, not a key.
            cx.error(
                key.span(),
                format_args!(
                    "the organization is a string: write `#[require_org(\"{}\")]`",
                    name.trim_start_matches("r#")
                ),
            );
            return Some(Arg::MalformedOrg);
        }
        return Some(Arg::Unknown { key });
    }
    match name.as_str() {
        "scopes" | "extra_scopes" => {
            let list = scope_list(&key, value, cx)?;
            Some(if name == "scopes" {
                Arg::Scopes { key, list }
            } else {
                Arg::ExtraScopes { key, list }
            })
        }
        "role" => {
            let value = match value {
                Value::Assigned(eq, tokens) => match single_lit_str(&tokens) {
                    Some(lit) => lit,
                    None => {
                        let shown = quote_role_guess(&tokens, "write");
                        cx.error(
                            if tokens.is_empty() {
                                eq
                            } else {
                                tokens_span(&tokens)
                            },
                            format_args!("the role is a string: write `role = \"{shown}\"`"),
                        );
                        return None;
                    }
                },
                _ => {
                    cx.error(
                        key.span(),
                        "`role` needs a value: `role = \"write\"` (one of `read`, `contributor`, `write`, `admin`)",
                    );
                    return None;
                }
            };
            Some(Arg::Role { key, value })
        }
        "accept" | "cross_site" | "param" => {
            let example = match name.as_str() {
                "accept" => "accept = \"session\"` (one of `session`, `token`, `any`)",
                "param" => "param = \"org\"` (the name of the route's path parameter)",
                _ => "cross_site = \"allow\"`",
            };
            let value = match value {
                Value::Assigned(eq, tokens) => match single_lit_str(&tokens) {
                    Some(lit) => lit,
                    None => {
                        let guess = quote_role_guess(
                            &tokens,
                            if name == "accept" { "session" } else { "allow" },
                        );
                        cx.error(
                            if tokens.is_empty() {
                                eq
                            } else {
                                tokens_span(&tokens)
                            },
                            format_args!("`{name}` takes a string: write `{name} = \"{guess}\"`"),
                        );
                        // A `param` was meant as the organization: no "needs the organization".
                        return (name == "param").then_some(Arg::MalformedOrg);
                    }
                },
                _ => {
                    cx.error(
                        key.span(),
                        format_args!("`{name}` needs a value: `{example}"),
                    );
                    return (name == "param").then_some(Arg::MalformedOrg);
                }
            };
            Some(Arg::Choice { key, value })
        }
        "pro" | "can_pay" => {
            match value {
                Value::Bare => {}
                Value::Assigned(eq, _) => {
                    cx.error(
                        eq,
                        format_args!(
                            "`{name}` takes no value: write `#[hf_login({name})]`, or leave it out"
                        ),
                    );
                    return None;
                }
                Value::List(g) => {
                    cx.error(
                        g.span(),
                        format_args!("`{name}` takes no value: write `#[hf_login({name})]`"),
                    );
                    return None;
                }
                Value::Malformed(span) => {
                    cx.error(
                        span,
                        format_args!(
                            "unexpected tokens after `{name}`; separate arguments with `,`"
                        ),
                    );
                    return None;
                }
            }
            Some(Arg::Flag { key })
        }
        "crate" => {
            let path = match value {
                Value::Assigned(eq, tokens) => {
                    let parsed = match single_lit_str(&tokens) {
                        Some(lit) => lit.parse::<syn::Path>().map_err(|_| lit.span()),
                        None => syn::parse2::<syn::Path>(tokens.iter().cloned().collect()).map_err(
                            |_| {
                                if tokens.is_empty() {
                                    eq
                                } else {
                                    tokens_span(&tokens)
                                }
                            },
                        ),
                    };
                    match parsed {
                        Ok(path) => path,
                        Err(span) => {
                            cx.error(
                                span,
                                "`crate` takes the path of the runtime crate, like `crate = \"::hf_auth_runtime\"`",
                            );
                            return None;
                        }
                    }
                }
                _ => {
                    cx.error(
                        key.span(),
                        "`crate` needs a value: `crate = \"::hf_auth_runtime\"`",
                    );
                    return None;
                }
            };
            Some(Arg::Crate { key, path })
        }
        _ => unreachable!("known keys are listed above"),
    }
}

fn single_lit_str(tokens: &[TokenTree]) -> Option<LitStr> {
    match tokens {
        [TokenTree::Literal(_)] => syn::parse2::<LitStr>(tokens.iter().cloned().collect()).ok(),
        _ => None,
    }
}

/// `role = Write` or `role = Role::Write` -> `write` (`default` when there is no identifier).
fn quote_role_guess(tokens: &[TokenTree], default: &str) -> String {
    match tokens.iter().rev().find_map(|t| match t {
        TokenTree::Ident(i) => Some(i.to_string().to_lowercase()),
        _ => None,
    }) {
        Some(guess) => guess,
        None => default.to_owned(),
    }
}

fn scope_list(key: &Ident, value: Value, cx: &mut Ctxt) -> Option<ScopeList> {
    let example =
        "scopes = \"read-repos write-repos\"` or `scopes(\"read-repos\", \"write-repos\")";
    let example = if key == "extra_scopes" {
        example.replace("scopes", "extra_scopes")
    } else {
        example.to_owned()
    };
    match value {
        Value::Assigned(eq, tokens) => match single_lit_str(&tokens) {
            Some(lit) => Some(ScopeList {
                span: lit.span(),
                names: split_string(&lit),
            }),
            None => {
                cx.error(
                    if tokens.is_empty() {
                        eq
                    } else {
                        tokens_span(&tokens)
                    },
                    format_args!("expected the scopes as one string: write `{example}`"),
                );
                None
            }
        },
        Value::List(group) => {
            let mut names = Vec::new();
            for segment in split_commas(group.stream()) {
                match single_lit_str(&segment) {
                    Some(lit) => names.push(Name {
                        value: lit.value(),
                        span: lit.span(),
                    }),
                    None => cx.error(
                        tokens_span(&segment),
                        format_args!(
                            "expected a scope name as a string, like `\"read-repos\"`; write `{example}`"
                        ),
                    ),
                }
            }
            Some(ScopeList {
                span: group.span(),
                names,
            })
        }
        Value::Bare => {
            cx.error(
                key.span(),
                format_args!("`{key}` needs a value: write `{example}`"),
            );
            None
        }
        Value::Malformed(span) => {
            cx.error(
                span,
                format_args!("expected `=` or `(...)`: write `{example}`"),
            );
            None
        }
    }
}

/// Splits `"read-repos write-repos"` at whitespace; each name gets the span of its own bytes
/// inside the literal when the compiler can give one (nightly), else the literal's span.
pub fn split_string(lit: &LitStr) -> Vec<Name> {
    let value = lit.value();
    let token = lit.token();
    // Byte offsets map one-to-one onto the source only for a plain literal without escapes.
    let plain = token.to_string() == format!("\"{value}\"") && !value.contains('\\');
    let mut names = Vec::new();
    let mut start = None;
    for (i, c) in value.char_indices().chain([(value.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                let span = plain
                    .then(|| token.subspan(1 + s..1 + i))
                    .flatten()
                    .unwrap_or_else(|| lit.span());
                names.push(Name {
                    value: value[s..i].to_owned(),
                    span,
                });
                start = None;
            }
            _ => {}
        }
    }
    names
}

/// A function whose body is kept as raw tokens, so a body that does not parse (mid-edit in an
/// IDE) still gets expanded and rustc reports the body's own error, not ours.
pub struct MaybeItemFn {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    pub body: Group,
}

impl Parse for MaybeItemFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        let body: Group = input.parse()?;
        if body.delimiter() != Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected the function's body"));
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function"));
        }
        Ok(MaybeItemFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl ToTokens for MaybeItemFn {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(kind: Kind, tokens: TokenStream) -> (OurAttr, Vec<String>) {
        let mut cx = Ctxt::new();
        let attr = parse_args(kind, Span::call_site(), tokens, &mut cx);
        let errors = cx
            .check()
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        (attr, errors)
    }

    fn names(list: &ScopeList) -> Vec<&str> {
        list.names.iter().map(|n| n.value.as_str()).collect()
    }

    #[test]
    fn string_and_list_forms() {
        let (attr, errors) = parse(Kind::HfLogin, quote!(scopes = "  read-repos\twrite-repos "));
        assert!(errors.is_empty(), "{errors:?}");
        let Arg::Scopes { list, .. } = &attr.args[0] else {
            panic!("not scopes")
        };
        assert_eq!(names(list), ["read-repos", "write-repos"]);

        let (attr, errors) = parse(
            Kind::HfLogin,
            quote!(
                scopes("email", "profile",),
                extra_scopes = "x",
                crate = "::a::b"
            ),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(attr.args.len(), 3);
        let Arg::Scopes { list, .. } = &attr.args[0] else {
            panic!("not scopes")
        };
        assert_eq!(names(list), ["email", "profile"]);
        assert!(matches!(&attr.args[1], Arg::ExtraScopes { .. }));
        let Arg::Crate { path, .. } = &attr.args[2] else {
            panic!("not crate")
        };
        assert_eq!(path.to_token_stream().to_string(), ":: a :: b");
    }

    #[test]
    fn require_org_forms() {
        let (attr, errors) = parse(Kind::RequireOrg, quote!("acme", role = "write"));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(&attr.args[0], Arg::Org(l) if l.value() == "acme"));
        assert!(matches!(&attr.args[1], Arg::Role { value, .. } if value.value() == "write"));
    }

    #[test]
    fn unknown_keys_are_kept_for_validation() {
        let (attr, errors) = parse(Kind::RequireOrg, quote!("acme", scopes = "email"));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(&attr.args[1], Arg::Unknown { key } if key == "scopes"));
    }

    #[test]
    fn syntax_errors_are_all_collected() {
        let (_, errors) = parse(Kind::RequireOrg, quote!(acme, role = Role::Write, 3));
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("`#[require_org(\"acme\")]`"));
        assert!(errors[1].contains("`role = \"write\"`"));
        let (_, errors) = parse(Kind::HfLogin, quote!("email", scopes = ["email"], scopes));
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("write `#[hf_login(scopes = \"email\")]`"));
    }

    #[test]
    fn recognises_paths() {
        let path: syn::Path = syn::parse_quote!(hf_auth_runtime::require_org);
        assert_eq!(Kind::of(&path), Some(Kind::RequireOrg));
        let path: syn::Path = syn::parse_quote!(hf_login);
        assert_eq!(Kind::of(&path), Some(Kind::HfLogin));
        let path: syn::Path = syn::parse_quote!(axum::debug_handler);
        assert_eq!(Kind::of(&path), None);
    }
}
