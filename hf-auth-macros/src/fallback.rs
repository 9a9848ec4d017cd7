//! What to emit when something is wrong: the errors, plus the user's item as harmless as it
//! can be (our attributes removed, nothing added), so the rest of their crate still compiles and
//! they see our messages, not a flood of follow-on errors.

use crate::expand::mark_stacked_used;
use crate::parse::{Kind, MaybeItemFn, OurAttr};
use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Item};

/// The errors and the function unchanged (minus our attributes, already checked).
pub fn with_errors(errors: Vec<syn::Error>, func: MaybeItemFn, attrs: &[OurAttr]) -> TokenStream {
    let errors = errors.into_iter().map(|e| e.to_compile_error());
    let stacked = mark_stacked_used(attrs);
    quote! {
        #(#errors)*
        #stacked
        #func
    }
}

/// [`with_errors`] in two parts, for a function in an `impl` block: the errors (and the uses
/// that keep stacked attributes' imports used), which go beside the block, and the function.
pub fn errors_apart(
    errors: Vec<syn::Error>,
    func: MaybeItemFn,
    attrs: &[OurAttr],
) -> (TokenStream, TokenStream) {
    let errors = errors.into_iter().map(|e| e.to_compile_error());
    let stacked = mark_stacked_used(attrs);
    (quote!(#(#errors)* #stacked), func.into_token_stream())
}

/// The attribute is on something that is not a function: say what it is on, and give the item
/// back without our attributes.
pub fn not_a_function(kind: Kind, item: TokenStream) -> TokenStream {
    let split = |input: ParseStream| {
        let attrs = input.call(Attribute::parse_outer)?;
        let rest: TokenStream = input.parse()?;
        Ok((attrs, rest))
    };
    let (attrs, rest) = split.parse2(item.clone()).unwrap_or((Vec::new(), item));
    let attrs = attrs.into_iter().filter(|a| Kind::of(a.path()).is_none());
    let (span, what) = describe(&rest);
    let error = syn::Error::new(
        span,
        format_args!(
            "`#[{}]` goes on an `async fn` axum handler, not on {what}",
            kind.name()
        ),
    )
    .to_compile_error();
    quote! {
        #error
        #(#attrs)*
        #rest
    }
}

fn describe(rest: &TokenStream) -> (Span, &'static str) {
    let Ok(item) = syn::parse2::<Item>(rest.clone()) else {
        let span = rest
            .clone()
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |t| t.span());
        return (span, "this item");
    };
    match &item {
        Item::Struct(i) => (i.struct_token.span, "a struct"),
        Item::Enum(i) => (i.enum_token.span, "an enum"),
        Item::Union(i) => (i.union_token.span, "a union"),
        Item::Impl(i) => (i.impl_token.span, "an `impl` block; put it on each handler"),
        Item::Trait(i) => (i.trait_token.span, "a trait"),
        Item::Mod(i) => (i.mod_token.span, "a module; put it on each handler"),
        Item::Const(i) => (i.const_token.span, "a constant"),
        Item::Static(i) => (i.static_token.span, "a static"),
        Item::Type(i) => (i.type_token.span, "a type alias"),
        Item::Use(i) => (i.use_token.span, "a `use`"),
        Item::Fn(i) => (i.sig.fn_token.span, "this function"),
        Item::ForeignMod(i) => (i.abi.span(), "an `extern` block"),
        other => (other.to_token_stream().span(), "this item"),
    }
}
