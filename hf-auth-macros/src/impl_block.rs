//! `#[handlers]` on an `impl` block: our attributes on its associated functions. Their guard
//! types, requirements and registrations are items an `impl` block cannot hold, so they are
//! generated beside the block, at module level; each function stays in the block with the
//! guard in its parameters, as for a free function.

use crate::{ctxt::Ctxt, expand, fallback, parse, validate};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};

pub fn run(args: TokenStream, item: TokenStream) -> TokenStream {
    if !args.is_empty() {
        let e =
            syn::Error::new_spanned(&args, "`#[handlers]` takes no arguments").to_compile_error();
        return quote!(#e #item);
    }
    let mut block = match syn::parse2::<syn::ItemImpl>(item.clone()) {
        Ok(block) => block,
        Err(_) => {
            let e = syn::Error::new(
                Span::call_site(),
                "`#[handlers]` goes on an `impl` block whose associated functions carry `#[hf_login]` or `#[require_org]`",
            )
            .to_compile_error();
            return quote!(#e #item);
        }
    };
    let self_name = match &*block.self_ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map_or_else(|| "Self".to_owned(), |s| validate::unraw(&s.ident)),
        _ => "Self".to_owned(),
    };
    let mut beside = TokenStream::new();
    for item in &mut block.items {
        let syn::ImplItem::Fn(f) = item else { continue };
        if !f.attrs.iter().any(|a| parse::Kind::of(a.path()).is_some()) {
            continue;
        }
        let Ok(mut func) = syn::parse2::<parse::MaybeItemFn>(f.to_token_stream()) else {
            continue;
        };
        let mut cx = Ctxt::new();
        let attrs = parse::take_our_attrs(&mut func.attrs, &mut cx);
        let requirement = validate::validate(&attrs, &func, &mut cx);
        let (items, func) = match cx.check() {
            Ok(()) => {
                let name = validate::unraw(&func.sig.ident);
                let guard = format_ident!("__hf_auth_guard_{}_{}", self_name, name);
                let handler = format!("{self_name}::{name}");
                expand::expand_parts(func, &requirement, &attrs, &guard, &handler)
            }
            Err(errors) => fallback::errors_apart(errors, func, &attrs),
        };
        beside.extend(items);
        *item = syn::ImplItem::Verbatim(func);
    }
    quote!(#beside #block)
}
