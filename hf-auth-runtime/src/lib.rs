//! # hf-auth-runtime
//!
//! "Sign in with Hugging Face" for [axum]: the OAuth2 + OpenID Connect flow (PKCE S256, `state`,
//! `nonce`, ID-token verification, userinfo with orgs), sessions in encrypted cookies, Hugging
//! Face tokens for API clients, and the guards that the `#[hf_login]` and `#[require_org]`
//! attributes expand to.
//!
#![doc = include_str!("../docs/getting-started.md")]
//!
//! ## Where things live
//!
//! [`config`] (environment and builder), [`layer`] (the middleware), `flow` (login, callback,
//! logout), `session` (cookie codec, cache), `guard` (the hot path), `bearer` (API clients'
//! tokens), `provider` (discovery, JWKS, token, userinfo), [`rejection`] (HTML vs JSON answers),
//! [`mock`], [`registry`] (what the macros register), `openapi` (features `utoipa5`, `utoipa6`),
//! [`testing`] (feature `testing`), and the
//! [`guides`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bearer;
pub mod config;
mod context;
mod cookies;
mod cross_site;
mod crypto;
pub mod error;
mod flow;
mod guard;
pub mod layer;
mod links;
pub mod mock;
mod notice;
#[cfg(any(feature = "utoipa5", feature = "utoipa6"))]
pub mod openapi;
mod pages;
mod provider;
mod refresh;
pub mod registry;
pub mod rejection;
mod requirement;
mod return_path;
mod session;
mod session_change;
mod state;
#[cfg(feature = "testing")]
pub mod testing;
mod user;

pub use config::{HfAuth, HfAuthBuilder};
pub use error::{ConfigError, FlowError, RevokeError};
pub use guard::Guarded;
pub use layer::HfAuthLayer;
pub use links::AuthLinks;
pub use requirement::{
    Accept, CrossSite, OrgParam, OrgRequirement, Requirement, RequirementSource,
};
pub use session::end::{SessionEnd, SessionEndReason};
#[cfg(feature = "redis")]
pub use session::server_side::{revoke_user_in_store, revoke_user_in_store_with_ca};
pub use session::{MAX_CHUNKS, SESSION_COOKIE};
pub use session_change::SessionChange;
/// Entry points for the project's own fuzz targets and benchmarks (features `fuzzing`,
/// `bench-hooks`). Not a public API.
#[cfg(any(feature = "fuzzing", feature = "bench-hooks"))]
#[doc(hidden)]
#[path = "internal/mod.rs"]
pub mod __internal;
pub use cross_site::CrossSiteRefusal;
/// `#[handlers]` on an `impl` block lets `#[hf_login]` and `#[require_org]` guard its
/// associated functions (the guard types are generated beside the block).
///
/// ```
/// use axum::{routing::get, Router};
/// use hf_auth_runtime::{handlers, hf_login, HfUser};
///
/// struct Api;
///
/// #[handlers]
/// impl Api {
///     #[hf_login(scopes = "read-repos")]
///     async fn models(user: HfUser) -> String { user.handle().to_owned() }
/// }
///
/// let app: Router = Router::new().route("/models", get(Api::models));
/// ```
pub use hf_auth_macros::handlers;
/// `#[hf_login]`: the handler runs only for a signed-in user whose *granted* scopes cover the
/// list; others get a redirect to login (browsers), 401 or 403 (see [`AuthRejection`]).
///
/// ```
/// use axum::{routing::get, Router};
/// use hf_auth_runtime::{hf_login, HfUser};
///
/// #[hf_login]
/// async fn me(user: HfUser) -> String { user.handle().to_owned() }
///
/// #[hf_login(scopes = "read-repos write-repos")]
/// async fn upload(user: HfUser) -> String { format!("{} may write", user.handle()) }
///
/// // The list form points errors at the exact scope; `extra_scopes` is the escape hatch for a
/// // scope Hugging Face adds after this release.
/// #[hf_login(scopes("inference-api"), extra_scopes = "read-mcp")]
/// async fn infer() -> &'static str { "ok" }
///
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .route("/upload", get(upload))
///     .route("/infer", get(infer));
/// ```
///
/// A typo does not compile:
///
/// ```compile_fail
/// #[hf_auth_runtime::hf_login(scopes = "write_repos")] // error: did you mean `write-repos`?
/// async fn upload() {}
/// ```
pub use hf_auth_macros::hf_login;
/// `#[require_org("acme")]`, `#[require_org("acme", role = "write")]`: signed in and a member
/// of the org (matched on its handle) with at least that role (`read < contributor < write <
/// admin`). Stacks with `#[hf_login]` and with other `#[require_org]`s; all must hold.
///
/// ```
/// use axum::{routing::get, Router};
/// use hf_auth_runtime::{hf_login, require_org, HfUser};
///
/// #[require_org("acme", role = "admin")]
/// #[hf_login(scopes = "manage-repos")]
/// async fn admin(user: HfUser) -> String { format!("hello admin {}", user.handle()) }
///
/// let app: Router = Router::new().route("/acme/admin", get(admin));
/// ```
///
/// ```compile_fail
/// #[hf_auth_runtime::require_org("acme", role = "owner")] // error: unknown role; did you mean `admin`?
/// async fn admin() {}
/// ```
pub use hf_auth_macros::require_org;
pub use hf_auth_scopes::{mask_of, Role, ScopeSet, SCOPES};
pub use mock::MockUser;
pub use pages::escape as escape_html;
pub use registry::{route_requirements, space_metadata, RouteRequirement, ScopeCheck};
pub use rejection::{AuthRejection, Denial, Grant, GrantAsks, TokenRejection};
pub use return_path::safe_return_path;
pub use user::{HfUser, Org};

use axum::Router;

/// Reads the Spaces environment (see [`HfAuth::from_env`]), discovers the provider and adds the
/// routes `/oauth/huggingface/login`, `/callback` and `/logout` plus the layers the guards need.
/// Call it after adding your own routes.
///
/// # Panics
/// When the configuration cannot work, with a message that names the variable and the fix. Use
/// [`try_attach_huggingface_oauth`] to handle the error yourself.
pub async fn attach_huggingface_oauth<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    match try_attach_huggingface_oauth(router).await {
        Ok(router) => router,
        Err(e) => panic!("hf-auth cannot start: {e}"),
    }
}

/// [`attach_huggingface_oauth`], returning the configuration error instead of panicking.
pub async fn try_attach_huggingface_oauth<S>(router: Router<S>) -> Result<Router<S>, ConfigError>
where
    S: Clone + Send + Sync + 'static,
{
    Ok(HfAuth::from_env()?.build().await?.attach(router))
}

/// Long-form guides, each a Markdown file of the crate (`docs/`) whose examples are doctests.
pub mod guides {
    #[doc = include_str!("../docs/composing.md")]
    pub mod composing {}
    #[cfg(feature = "testing")]
    #[doc = include_str!("../docs/testing.md")]
    pub mod testing {}
    #[doc = include_str!("../docs/deploying.md")]
    pub mod deploying {}
    #[doc = include_str!("../docs/security.md")]
    pub mod security {}
    #[doc = include_str!("../docs/scaling-out.md")]
    pub mod scaling_out {}
    #[doc = include_str!("../docs/streams.md")]
    pub mod streams {}
    #[cfg(feature = "utoipa5")]
    #[doc = include_str!("../docs/openapi.md")]
    pub mod openapi {}
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// What the macros' generated code names. Not a public API: it changes with the macros, which
/// are released in lock-step with this crate.
#[doc(hidden)]
pub mod __private {
    pub use crate::guard::Guarded;
    pub use crate::registry::RouteRequirement;
    pub use crate::requirement::{
        Accept, CrossSite, OrgParam, OrgRequirement, Requirement, RequirementSource,
    };
    pub use hf_auth_scopes::{mask_of, Role};
    pub use inventory;
}
