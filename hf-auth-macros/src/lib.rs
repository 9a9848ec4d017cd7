//! The attribute macros of [hf-auth]: `#[hf_login]` and `#[require_org]`, checked at compile time.
//!
//! Use them through `hf_auth_runtime` (`use hf_auth_runtime::{hf_login, require_org};`): the
//! generated code names `hf_auth_runtime::__private`, and the runtime's documentation carries the
//! compiling examples. This crate is released in lock-step with the runtime.
//!
//! The pipeline: `parse` reads the attributes into a typed model that keeps
//! every span, `validate` checks them against the scope catalogue of `hf-auth-scopes`
//! and reports all errors at once, `expand` generates the guard, and `fallback` emits
//! the errors plus the untouched function when something is wrong.
//!
//! [hf-auth]: https://github.com/hf-auth/hf-auth
#![forbid(unsafe_code)]

mod ctxt;
mod expand;
mod fallback;
mod impl_block;
mod parse;
mod validate;

use parse::Kind;
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};

/// Lets an axum handler run only for a signed-in Hugging Face user whose *granted* scopes cover
/// the listed ones; anyone else gets the runtime's rejection (a redirect to the login page for a
/// browser, `401` with `WWW-Authenticate` or `403` with a JSON `error` for an API client).
///
/// ```
/// use axum::{extract::Path, Json};
/// use hf_auth_runtime::{hf_login, HfUser};
///
/// // Any signed-in user.
/// #[hf_login]
/// async fn me(user: HfUser) -> String {
///     user.handle().to_owned()
/// }
///
/// // Scopes as one space-separated string, as in a Space's `hf_oauth_scopes`...
/// #[hf_login(scopes = "read-repos inference-api")]
/// async fn models(user: HfUser) -> String { todo!() }
///
/// // ...or as a list, where an error points at the exact string.
/// #[hf_login(scopes("write-repos", "write-discussions"))]
/// async fn open_pr(Path(repo): Path<String>, Json(pr): Json<serde_json::Value>) { todo!() }
/// ```
///
/// # Arguments
///
/// - `scopes = "a b"` or `scopes("a", "b")`: scopes from Hugging Face's documented catalogue
///   (`openid`, `profile`, `email`, `read-billing`, `read-memberships`, `read-repos`,
///   `gated-repos`, `contribute-repos`, `write-repos`, `manage-repos`, `read-collections`,
///   `write-collections`, `inference-api`, `read-endpoints`, `write-endpoints`, `jobs`,
///   `webhooks`, `write-discussions`). Without it, only sign-in is required.
/// - `extra_scopes = "a b"` or `extra_scopes("a", "b")`: the escape hatch for a scope Hugging
///   Face added after this release. Only its syntax is checked (non-empty, no whitespace,
///   `[a-z0-9_:.-]`); the runtime still requires the user to have been granted it.
/// - `accept = "any" | "session" | "token"`: which credentials the route accepts: a browser
///   session or a Hugging Face token in `Authorization: Bearer` (`any`, the default), only a
///   session, or only a token.
/// - `cross_site = "allow"`: let cookie-authenticated unsafe requests (POST, PUT, DELETE, ...)
///   from another site through, for a webhook that checks its own proof; the default,
///   `"refuse"`, answers them 403.
/// - `pro`: the user must have a PRO subscription (`isPro`).
/// - `can_pay`: the user must be able to pay (`canPay`); Hugging Face sends it only with the
///   `read-billing` scope, so the route must list it: `scopes = "read-billing", can_pay`.
///   An unknown `isPro` or `canPay` is a refusal.
/// - `crate = "path::to::runtime"`: where the runtime is, if you renamed the dependency
///   (default `::hf_auth_runtime`).
///
/// # Stacking
///
/// Add one or more [`macro@require_org`] to the same function, above or below; all must hold,
/// and they merge into one guard. `#[hf_login]` may appear once per function. `accept` and
/// `cross_site` may be given on any of them; when several give one, they must give the same
/// value (a compile error otherwise: a silent "strictest wins" would hide a mistake).
///
/// # What it generates
///
/// A hidden guard type named `__hf_auth_guard_<fn>` (with the function's visibility) holding the
/// requirement, a registration of that requirement (the runtime checks at start-up that
/// `OAUTH_SCOPES` covers every route, and can print the Space metadata the routes need), and the
/// function with the guard extractor paired with its first parameter that is not a `State`:
/// `pat: Ty` becomes `(_, pat): (Guarded<__hf_auth_guard_<fn>>, Ty)`, which axum extracts left
/// to right, so the guard runs before every extractor that reads the request, body extractors
/// included. A handler with no such parameter gains one, `_: Guarded<..>`, first, and so does
/// a handler with `#[utoipa::path]` below ours (utoipa-gen reads each parameter's pattern and
/// type, and skips a `_`; it cannot read the paired tuple). The body, the
/// return type, the number of parameters and their patterns are untouched, so `?`, `return`,
/// `State`, `Path`, `Json` and `#[axum::debug_handler]` (above or below ours) keep working.
///
/// # Compile errors
///
/// Each on the offending token, all of an attribute's errors in one build:
///
/// ```text
/// error: unknown scope `write_repos`; did you mean `write-repos`?
///  --> src/main.rs:4:27
///   |
/// 4 | #[hf_login(scopes("read", "write_repos"))]
///   |                           ^^^^^^^^^^^^^
/// ```
///
/// - an unknown scope (with a suggestion), a scope listed twice, an empty list, a scope listed
///   next to one that includes it (`read-repos` with `write-repos`);
/// - an unknown argument (with the valid ones);
/// - the item is not an `async fn`, takes `self`, or has type or const generics.
///
/// # Limits
///
/// - `#[axum::debug_handler]` may go above or below our attributes, except above ours on a
///   handler with no parameter other than `State`: debug_handler then calls its copy of the
///   handler without the parameter ours adds (rustc's E0061, "this function takes 1 argument
///   but 0 arguments were supplied", or 2 and 1 with a `State`). Put it below ours there, as for
///   any other attribute that copies the function, or take the user (`user: HfUser`). With
///   `#[utoipa::path]` below ours the guard is a parameter of its own on every handler, so
///   there `#[axum::debug_handler]` goes below ours too.
/// - `#[utoipa::path]` (utoipa's `axum_extras`) may go above or below our attributes; it is
///   recognised below ours by its path (`utoipa::path`, or a renamed `utoipa6::path`).
/// - In a stack, the attributes are recognised by their last path segment (`hf_login`,
///   `require_org`, also `hf_auth_runtime::hf_login`), so do not import them under other names.
/// - On an associated function in an `impl` block, put [`macro@handlers`] on the block: the
///   guard type is an item beside the function, which an `impl` block cannot hold. Without it,
///   rustc reports that a struct is not supported in impls.
#[proc_macro_attribute]
pub fn hf_login(args: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::HfLogin, args.into(), item.into()).into()
}

/// Lets an axum handler run only for a signed-in member of a Hugging Face organization, matched
/// on its handle, optionally with at least a given role: `read < contributor < write < admin`.
/// Implies [`macro@hf_login`].
///
/// ```
/// use hf_auth_runtime::{hf_login, require_org, HfUser};
///
/// // Any member of `acme`.
/// #[require_org("acme")]
/// async fn dashboard(user: HfUser) -> String { todo!() }
///
/// // A member of `acme` with role `write` or `admin`, and of `acme-labs`,
/// // who granted `write-repos`.
/// #[hf_login(scopes = "write-repos")]
/// #[require_org("acme", role = "write")]
/// #[require_org("acme-labs")]
/// async fn publish(user: HfUser) -> String { todo!() }
/// ```
///
/// # Arguments
///
/// - first, the organization's handle as a string (ASCII letters, digits, `-`, `_`, `.`; not
///   its display name, not a URL);
/// - `role = "read" | "contributor" | "write" | "admin"`: the lowest role accepted; without it,
///   any member;
/// - or, instead of the handle, `param = "org"`: the organization is the value of the route's
///   path parameter `{org}` at request time (`/orgs/{org}/settings`); a route whose path has
///   no such parameter answers 500 and logs the mistake once;
/// - `accept = "..."`, `cross_site = "allow"`: as for [`macro@hf_login`];
/// - `crate = "path::to::runtime"`: as for [`macro@hf_login`].
///
/// # Compile errors
///
/// ```text
/// error: unknown role `writer`; expected one of `read`, `contributor`, `write` and `admin` (lowest to highest); did you mean `write`?
///  --> src/main.rs:3:29
///   |
/// 3 | #[require_org("acme", role = "writer")]
///   |                              ^^^^^^^^
/// ```
///
/// Also: a missing or invalid organization handle, the same organization required twice, an
/// unknown argument, and the item errors of [`macro@hf_login`].
#[proc_macro_attribute]
pub fn require_org(args: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::RequireOrg, args.into(), item.into()).into()
}

/// Lets [`macro@hf_login`] and [`macro@require_org`] guard the associated functions of an
/// `impl` block: put it on the block. The guards are generated beside the block, named
/// `__hf_auth_guard_<Type>_<fn>`, and registered as `Type::fn`.
///
/// ```
/// use hf_auth_runtime::{handlers, hf_login, require_org, HfUser};
///
/// struct Api;
///
/// #[handlers]
/// impl Api {
///     #[hf_login(scopes = "read-repos")]
///     async fn models(user: HfUser) -> String {
///         user.handle().to_owned()
///     }
///
///     #[require_org("acme", role = "write")]
///     async fn dashboard(user: HfUser) -> String {
///         user.handle().to_owned()
///     }
///
///     // Functions without our attributes are left alone.
///     fn helper() {}
/// }
///
/// let _app: axum::Router = axum::Router::new()
///     .route("/models", axum::routing::get(Api::models))
///     .route("/dashboard", axum::routing::get(Api::dashboard));
/// ```
#[proc_macro_attribute]
pub fn handlers(args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::run(args.into(), item.into()).into()
}

/// The outermost of our attributes expands first: it takes the others off the function, checks
/// them all together and generates one guard.
fn run(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let Ok(mut func) = syn::parse2::<parse::MaybeItemFn>(item.clone()) else {
        return fallback::not_a_function(kind, item);
    };
    let mut cx = ctxt::Ctxt::new();
    let mut attrs = vec![parse::parse_args(kind, Span::call_site(), args, &mut cx)];
    attrs.extend(parse::take_our_attrs(&mut func.attrs, &mut cx));
    let requirement = validate::validate(&attrs, &func, &mut cx);
    match cx.check() {
        Ok(()) => expand::expand(func, &requirement, &attrs),
        Err(errors) => fallback::with_errors(errors, func, &attrs),
    }
}
