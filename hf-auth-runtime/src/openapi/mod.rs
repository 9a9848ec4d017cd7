//! What an OpenAPI document says about hf-auth's routes (features `utoipa5`, `utoipa6`).
//!
//! [`utoipa5::HfAuthSecurity`] and [`utoipa6::HfAuthSecurity`] (one per utoipa major version)
//! add to a [utoipa] document:
//!
//! - two security schemes: [`OAUTH2_SCHEME`] (`hf_oauth`), Hugging Face's OAuth2 authorization
//!   code flow with every scope of the catalogue and its description, which is how a browser
//!   signs in (through the app's `/oauth/huggingface/login`; the session is then a cookie); and
//!   [`TOKEN_SCHEME`] (`hf_token`), HTTP bearer with a Hugging Face user access token (`hf_…`).
//!   Hugging Face OAuth access tokens are refused in `Authorization: Bearer` (see
//!   `hf_auth_scopes::tokens`), so the OAuth2 scheme describes the sign-in, not a token a client
//!   may send;
//! - on each operation whose handler carries `#[hf_login]` or `#[require_org]`, its security
//!   requirement: `[{hf_oauth: [scopes]}, {hf_token: [scopes]}]` for a route that accepts both
//!   (the default), only `hf_oauth` for `accept = "session"`, only `hf_token` for
//!   `accept = "token"`. The token's list names the scopes the token must grant (OpenAPI 3.1
//!   allows role names for non-OAuth2 schemes; `hf_auth_scopes::tokens` says which token
//!   permissions grant which scope);
//! - on those operations, what scopes cannot say (org memberships, PRO, a payment method) as a
//!   sentence appended to the description, and the whole requirement, machine-readable, in the
//!   extension `x-hf-auth`.
//!
//! Operations without a guard get nothing.
//!
//! # Matching operations to handlers
//!
//! An operation is matched by its `operationId`, which utoipa sets to the handler's function
//! name unless `#[utoipa::path(operation_id = "...")]` says otherwise, against the names the
//! macros register (for a handler in a `#[handlers]` block, the function's name without the
//! type). So:
//!
//! - keep utoipa's default `operationId` on guarded handlers; an operation with another one gets
//!   nothing, as if it were not guarded;
//! - handler names are not module-qualified: when two guarded handlers share a name and require
//!   different things, the operation named so gets nothing and a warning is logged naming both
//!   (rename one). An unguarded handler that shares its name with a guarded one elsewhere is
//!   documented as guarded; give guarded handlers names of their own.
//!
//! [utoipa]: https://docs.rs/utoipa

use std::collections::BTreeMap;

use hf_auth_scopes::{Role, SCOPES};

use crate::{
    registry::{route_requirements, RouteRequirement},
    requirement::{Accept, Requirement},
};

#[cfg(feature = "utoipa5")]
pub mod utoipa5 {
    //! [`HfAuthSecurity`] for utoipa 5 (and utoipa-axum 0.2): feature `utoipa5`.
    //!
    //! ```
    //! use hf_auth_runtime::{hf_login, openapi::utoipa5::HfAuthSecurity, HfUser};
    //! # use utoipa5 as utoipa;
    //! use utoipa::OpenApi;
    //!
    //! #[utoipa::path(get, path = "/me")]
    //! #[hf_login(scopes = "read-repos")]
    //! async fn me(user: HfUser) -> String { user.handle().to_owned() }
    //!
    //! #[derive(OpenApi)]
    //! #[openapi(paths(me), modifiers(&HfAuthSecurity))]
    //! struct ApiDoc;
    //!
    //! let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    //! assert_eq!(doc["paths"]["/me"]["get"]["security"][0]["hf_oauth"][0], "read-repos");
    //! ```
    use ::utoipa5 as utoipa;
    use utoipa::openapi::path::{Operation, PathItem};

    fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .filter_map(Option::as_mut)
    }

    include!("glue.rs");
}

#[cfg(feature = "utoipa6")]
pub mod utoipa6 {
    //! [`HfAuthSecurity`] for utoipa 6 (and utoipa-axum 0.3): feature `utoipa6`.
    //!
    //! ```
    //! use hf_auth_runtime::{hf_login, openapi::utoipa6::HfAuthSecurity, HfUser};
    //! # use utoipa6 as utoipa;
    //! use utoipa::OpenApi;
    //!
    //! #[utoipa::path(get, path = "/me")]
    //! #[hf_login(scopes = "read-repos")]
    //! async fn me(user: HfUser) -> String { user.handle().to_owned() }
    //!
    //! #[derive(OpenApi)]
    //! #[openapi(paths(me), modifiers(&HfAuthSecurity))]
    //! struct ApiDoc;
    //!
    //! let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    //! assert_eq!(doc["paths"]["/me"]["get"]["security"][0]["hf_oauth"][0], "read-repos");
    //! ```
    use ::utoipa6 as utoipa;
    use utoipa::openapi::path::{Operation, PathItem};

    fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
            &mut item.query,
        ]
        .into_iter()
        .filter_map(Option::as_mut)
        .chain(item.additional_operations.values_mut())
    }

    include!("glue.rs");
}

/// The name of the OAuth2 security scheme: signing in with Hugging Face (a browser session).
pub const OAUTH2_SCHEME: &str = "hf_oauth";
/// The name of the HTTP bearer security scheme: a Hugging Face user access token.
pub const TOKEN_SCHEME: &str = "hf_token";
/// The extension on a guarded operation that holds its whole requirement.
pub const EXTENSION: &str = "x-hf-auth";

/// Hugging Face's OAuth2 endpoints (`OPENID_PROVIDER_URL`'s discovery document gives the same).
const AUTHORIZE_URL: &str = "https://huggingface.co/oauth/authorize";
const TOKEN_URL: &str = "https://huggingface.co/oauth/token";

const OAUTH2_DESCRIPTION: &str = "Sign in with Hugging Face: a browser signs in through this \
app's `/oauth/huggingface/login` and then sends the session cookie. The scopes are those the \
user must have granted the app. Hugging Face OAuth access tokens are not accepted in \
`Authorization: Bearer`.";
const TOKEN_DESCRIPTION: &str = "A Hugging Face user access token (`hf_...`, from \
https://huggingface.co/settings/tokens) in `Authorization: Bearer`. The listed scopes are those \
the token's permissions must grant. OAuth access tokens, organization and app tokens are refused.";
const EXTRA_SCOPE_DESCRIPTION: &str = "a scope outside hf-auth's catalogue";

/// The guarded handlers, by the name an operation matches (the function's name).
struct Index {
    by_name: BTreeMap<&'static str, Vec<&'static RouteRequirement>>,
}

/// What one operation gets.
enum Found {
    One(&'static Requirement),
    /// Handlers of that name require different things.
    Ambiguous(Vec<&'static RouteRequirement>),
}

impl Index {
    fn from_registry() -> Index {
        Index::new(route_requirements())
    }

    fn new(routes: impl IntoIterator<Item = &'static RouteRequirement>) -> Index {
        let mut by_name: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for r in routes {
            let name = r.handler.rsplit("::").next().unwrap_or(r.handler);
            by_name.entry(name).or_default().push(r);
        }
        Index { by_name }
    }

    fn find(&self, operation_id: &str) -> Option<Found> {
        let routes = self.by_name.get(operation_id)?;
        let first = routes.first()?.requirement;
        Some(if routes.iter().all(|r| r.requirement == first) {
            Found::One(first)
        } else {
            Found::Ambiguous(routes.clone())
        })
    }

    /// Every scope a guarded handler requires that is not in the catalogue.
    fn extra_scopes(&self) -> Vec<&'static str> {
        let mut extra: Vec<_> = self
            .by_name
            .values()
            .flatten()
            .flat_map(|r| r.requirement.extra_scopes.iter().copied())
            .collect();
        extra.sort_unstable();
        extra.dedup();
        extra
    }
}

/// The scopes of the OAuth2 scheme: the catalogue, then the extra scopes in use.
fn scheme_scopes(index: &Index) -> Vec<(&'static str, &'static str)> {
    SCOPES
        .iter()
        .map(|s| (s.name, s.description))
        .chain(
            index
                .extra_scopes()
                .into_iter()
                .map(|s| (s, EXTRA_SCOPE_DESCRIPTION)),
        )
        .collect()
}

/// The alternatives of an operation's security requirement: scheme and scopes.
fn alternatives(req: &'static Requirement) -> Vec<(&'static str, &'static [&'static str])> {
    let mut out = Vec::with_capacity(2);
    if req.accept != Accept::Token {
        out.push((OAUTH2_SCHEME, req.scopes));
    }
    if req.accept != Accept::Session {
        out.push((TOKEN_SCHEME, req.scopes));
    }
    out
}

/// What a signed-in user needs beyond scopes, as a sentence for the operation's description.
fn note(req: &Requirement) -> Option<String> {
    let with_role = |role: Option<Role>| match role {
        Some(role) => format!(" with role `{}` or higher", role.as_str()),
        None => String::new(),
    };
    let mut needs: Vec<String> = Vec::new();
    for o in req.orgs {
        needs.push(format!(
            "membership of the Hugging Face organization `{}`{}",
            o.org,
            with_role(o.role)
        ));
    }
    for p in req.org_params {
        needs.push(format!(
            "membership of the Hugging Face organization named by the path parameter `{}`{}",
            p.param,
            with_role(p.role)
        ));
    }
    if req.pro {
        needs.push("a PRO subscription".to_owned());
    }
    if req.can_pay {
        needs.push("a payment method".to_owned());
    }
    if needs.is_empty() {
        return None;
    }
    Some(format!("hf-auth also requires {}.", needs.join("; ")))
}

/// The whole requirement, for the `x-hf-auth` extension.
fn extension(req: &Requirement) -> serde_json::Value {
    let role = |role: Option<Role>| role.map(Role::as_str);
    serde_json::json!({
        "scopes": req.scopes,
        "accept": match req.accept {
            Accept::Any => "any",
            Accept::Session => "session",
            Accept::Token => "token",
        },
        "orgs": req.orgs.iter().map(|o| serde_json::json!({"org": o.org, "role": role(o.role)})).collect::<Vec<_>>(),
        "org_params": req.org_params.iter().map(|p| serde_json::json!({"param": p.param, "role": role(p.role)})).collect::<Vec<_>>(),
        "pro": req.pro,
        "can_pay": req.can_pay,
    })
}

#[cold]
fn warn_ambiguous(operation_id: &str, routes: &[&RouteRequirement]) {
    let handlers: Vec<String> = routes
        .iter()
        .map(|r| format!("{}::{} ({}:{})", r.module_path, r.handler, r.file, r.line))
        .collect();
    tracing::warn!(
        operation_id,
        handlers = %handlers.join(", "),
        "OpenAPI: guarded handlers with this name require different things, so the operation \
         gets no security requirement; give them names of their own"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requirement::{OrgParam, OrgRequirement};

    fn route(
        handler: &'static str,
        module_path: &'static str,
        requirement: &'static Requirement,
    ) -> &'static RouteRequirement {
        Box::leak(Box::new(RouteRequirement {
            handler,
            module_path,
            file: "src/lib.rs",
            line: 1,
            requirement,
        }))
    }

    static READ: Requirement = Requirement {
        scope_mask: hf_auth_scopes::mask_of(&["read-repos"]),
        scopes: &["read-repos"],
        ..Requirement::SIGNED_IN
    };
    static WRITE: Requirement = Requirement {
        scope_mask: hf_auth_scopes::mask_of(&["write-repos"]),
        scopes: &["write-repos", "x-later"],
        extra_scopes: &["x-later"],
        accept: Accept::Token,
        ..Requirement::SIGNED_IN
    };

    #[test]
    fn operations_match_function_names() {
        let index = Index::new([
            route("list", "app::a", &READ),
            // The same requirement registered twice (a copy kept by `#[axum::debug_handler]`, or
            // two handlers alike) is no ambiguity.
            route("list", "app::b", &READ),
            route("Api::publish", "app", &WRITE),
        ]);
        assert!(matches!(index.find("list"), Some(Found::One(r)) if *r == READ));
        assert!(matches!(index.find("publish"), Some(Found::One(r)) if *r == WRITE));
        assert!(index.find("Api::publish").is_none());
        assert!(index.find("other").is_none());
        assert_eq!(index.extra_scopes(), ["x-later"]);
    }

    #[test]
    fn handlers_of_one_name_with_different_requirements_are_ambiguous() {
        let index = Index::new([
            route("list", "app::a", &READ),
            route("list", "app::b", &WRITE),
        ]);
        let Some(Found::Ambiguous(routes)) = index.find("list") else {
            panic!("not ambiguous")
        };
        assert_eq!(routes.len(), 2);
    }

    #[test]
    fn schemes_follow_accept() {
        assert_eq!(
            alternatives(&READ),
            [
                (OAUTH2_SCHEME, &["read-repos"][..]),
                (TOKEN_SCHEME, &["read-repos"][..])
            ]
        );
        assert_eq!(
            alternatives(&WRITE),
            [(TOKEN_SCHEME, &["write-repos", "x-later"][..])]
        );
        static SESSION: Requirement = Requirement {
            accept: Accept::Session,
            ..Requirement::SIGNED_IN
        };
        assert_eq!(alternatives(&SESSION), [(OAUTH2_SCHEME, &[][..])]);
    }

    #[test]
    fn scheme_lists_the_catalogue_and_extra_scopes() {
        let index = Index::new([route("publish", "app", &WRITE)]);
        let scopes = scheme_scopes(&index);
        assert_eq!(scopes.len(), SCOPES.len() + 1);
        assert!(scopes.contains(&("write-repos", "read and write the user's repos")));
        assert_eq!(scopes.last(), Some(&("x-later", EXTRA_SCOPE_DESCRIPTION)));
    }

    #[test]
    fn what_scopes_cannot_say() {
        assert_eq!(note(&READ), None);
        static ORGS: Requirement = Requirement {
            orgs: &[OrgRequirement {
                org: "acme",
                role: Some(Role::Write),
            }],
            org_params: &[OrgParam {
                param: "org",
                role: None,
            }],
            pro: true,
            ..Requirement::SIGNED_IN
        };
        assert_eq!(
            note(&ORGS).as_deref(),
            Some(
                "hf-auth also requires membership of the Hugging Face organization `acme` with \
                 role `write` or higher; membership of the Hugging Face organization named by \
                 the path parameter `org`; a PRO subscription."
            )
        );
        assert_eq!(
            extension(&ORGS),
            serde_json::json!({
                "scopes": [], "accept": "any",
                "orgs": [{"org": "acme", "role": "write"}],
                "org_params": [{"param": "org", "role": null}],
                "pro": true, "can_pay": false,
            })
        );
    }
}
