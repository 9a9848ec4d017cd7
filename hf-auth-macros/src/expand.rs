//! Code generation only: every check has passed by the time we get here.
//!
//! The function is re-emitted piece by piece (tracing-attributes style): its attributes,
//! visibility, signature tokens, return type and body keep their own spans, and the only change
//! is that the guard extractor runs before the handler's first extractor: that parameter
//! `pat: Ty` becomes `(_, pat): (Guarded<G>, Ty)`, a tuple axum extracts left to right. The
//! function keeps its number of parameters, so an attribute above ours that copies the function
//! and calls it with its original arguments (`#[axum::debug_handler]`) still compiles. Leading
//! `State<_>` parameters are left as written; a handler with no other parameter gains one,
//! `_: Guarded<G>`, first, as does a handler with `#[utoipa::path]` below ours (utoipa-gen reads
//! the parameters, and skips a `_` one). Generated code names nothing but `<runtime>::__private::...`.

use crate::parse::{MaybeItemFn, OurAttr};
use crate::validate::{unraw, Requirement};
use hf_auth_scopes::Role;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};

/// The guard type, its requirement, its registration, and the function whose first extractor
/// is the guard (so it runs before every other extractor, body extractors included).
pub fn expand(func: MaybeItemFn, req: &Requirement, attrs: &[OurAttr]) -> TokenStream {
    let guard = format_ident!("__hf_auth_guard_{}", func.sig.ident);
    let handler = unraw(&func.sig.ident);
    let (items, func) = expand_parts(func, req, attrs, &guard, &handler);
    quote!(#items #func)
}

/// [`expand`] in two parts: the items that must be at module level (the guard type, its
/// requirement and registration), and the function. For a function in an `impl` block
/// (`#[handlers]`), the items go beside the block; `guard` names the guard type and `handler`
/// the route in the registry.
pub fn expand_parts(
    func: MaybeItemFn,
    req: &Requirement,
    attrs: &[OurAttr],
    guard: &syn::Ident,
    handler: &str,
) -> (TokenStream, TokenStream) {
    let krate = &req.krate;
    let p = quote!(#krate::__private);
    let MaybeItemFn {
        attrs: fn_attrs,
        vis,
        sig,
        body,
    } = func;
    let ident = &sig.ident;

    let documented = &req.scopes;
    let extra = &req.extra_scopes;
    let all = documented.iter().chain(extra);
    let role_of = |role: Option<Role>| match role {
        None => quote!(::core::option::Option::None),
        Some(role) => {
            let variant = format_ident!("{}", role_variant(role));
            quote!(::core::option::Option::Some(#p::Role::#variant))
        }
    };
    let orgs = req.orgs.iter().map(|o| {
        let org = &o.org;
        let role = role_of(o.role);
        quote!(#p::OrgRequirement { org: #org, role: #role })
    });
    let org_params = req.org_params.iter().map(|(param, role)| {
        let role = role_of(*role);
        quote!(#p::OrgParam { param: #param, role: #role })
    });
    let accept = format_ident!("{}", req.accept);
    let cross_site = format_ident!("{}", req.cross_site);
    let (pro, can_pay) = (req.pro, req.can_pay);
    let stacked = mark_stacked_used(attrs);
    let line = quote_spanned!(ident.span()=> ::core::line!());

    // `async fn name<'a>(inputs with the guard...) -> output where ... { body }`, pieces as
    // written.
    let syn::Signature {
        constness,
        asyncness,
        unsafety,
        abi,
        fn_token,
        generics,
        paren_token,
        inputs,
        variadic,
        output,
        ..
    } = &sig;
    let where_clause = &generics.where_clause;
    let mut params = TokenStream::new();
    let guard_ty = quote!(#p::Guarded<#guard>);
    // An attribute below ours that reads the parameters (`#[utoipa::path]`) sees the guard as a
    // parameter of its own, `_`, which it skips; paired with an extractor it would not parse.
    let at = guarded_input(inputs).filter(|_| !reads_parameters(&fn_attrs));
    paren_token.surround(&mut params, |tokens| {
        match at {
            None => {
                tokens.extend(quote!(_: #guard_ty,));
                inputs.to_tokens(tokens);
            }
            Some(at) => {
                for pair in inputs.pairs() {
                    let (arg, comma) = pair.into_tuple();
                    match arg {
                        syn::FnArg::Typed(t) if std::ptr::eq(t, at) => {
                            let syn::PatType { attrs, pat, ty, .. } = t;
                            tokens.extend(quote!(#(#attrs)* (_, #pat): (#guard_ty, #ty)));
                        }
                        other => other.to_tokens(tokens),
                    }
                    comma.to_tokens(tokens);
                }
            }
        }
        if let Some(variadic) = variadic {
            if !inputs.empty_or_trailing() {
                tokens.extend(quote!(,));
            }
            variadic.to_tokens(tokens);
        }
    });

    let items = quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #guard;

        #[automatically_derived]
        impl #p::RequirementSource for #guard {
            const REQUIREMENT: &'static #p::Requirement = &#p::Requirement {
                scope_mask: #p::mask_of(&[#(#documented),*]),
                scopes: &[#(#all),*],
                extra_scopes: &[#(#extra),*],
                orgs: &[#(#orgs),*],
                org_params: &[#(#org_params),*],
                accept: #p::Accept::#accept,
                cross_site: #p::CrossSite::#cross_site,
                pro: #pro,
                can_pay: #can_pay,
            };
        }

        #p::inventory::submit! {
            #p::RouteRequirement {
                handler: #handler,
                module_path: ::core::module_path!(),
                file: ::core::file!(),
                line: #line,
                requirement: <#guard as #p::RequirementSource>::REQUIREMENT,
            }
        }

        #stacked
    };
    let func = quote! {
        #(#fn_attrs)*
        #vis #constness #asyncness #unsafety #abi #fn_token #ident #generics #params #output #where_clause
        #body
    };
    (items, func)
}

/// The parameter the guard is paired with: the first one that is not a `State<_>`. Extracting
/// the state reads nothing of the request, and an attribute such as `#[axum::debug_handler]`
/// below ours infers the state's type from each `State<T>` it can see, so those stay as
/// written. `None` when there is no other parameter: then the guard is a parameter of its own.
fn guarded_input(
    inputs: &syn::punctuated::Punctuated<syn::FnArg, syn::Token![,]>,
) -> Option<&syn::PatType> {
    inputs.iter().find_map(|arg| match arg {
        syn::FnArg::Typed(t) if !is_state(&t.ty) => Some(t),
        // `validate` has refused a `self` parameter already.
        _ => None,
    })
}

/// Whether one of the attributes left on the function (those below ours, expanded after it)
/// infers documentation from the parameters: `#[utoipa::path]` (also under a renamed `utoipa`
/// dependency, `#[utoipa6::path]`). utoipa-gen reads each parameter's pattern and type, and
/// neither our tuple pattern `(_, pat)` nor its tuple type is something it can read; it skips a
/// parameter whose pattern is `_`.
fn reads_parameters(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let segments = &a.path().segments;
        segments.len() >= 2
            && segments.last().is_some_and(|s| s.ident == "path")
            && segments
                .first()
                .is_some_and(|s| s.ident.to_string().starts_with("utoipa"))
    })
}

/// Whether `ty` is written `State<..>` (any path ending in `State`).
fn is_state(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "State"))
}

fn role_variant(role: Role) -> &'static str {
    match role {
        Role::Read => "Read",
        Role::Contributor => "Contributor",
        Role::Write => "Write",
        Role::Admin => "Admin",
    }
}

/// The stacked attributes were taken off the function before rustc resolved them; naming their
/// paths once keeps the user's `use hf_auth_runtime::require_org;` from warning as unused.
pub fn mark_stacked_used(attrs: &[OurAttr]) -> TokenStream {
    let paths = attrs.iter().filter_map(|a| a.path.as_ref());
    quote! {
        #(
            #[allow(unused_imports)]
            use #paths as _;
        )*
    }
}
