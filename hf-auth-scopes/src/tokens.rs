//! What a Hugging Face token presented as `Authorization: Bearer` grants, in our scopes.
//!
//! Hugging Face publishes no mapping from its token permissions to OAuth scopes, so this module
//! is hf-auth's decision, kept in one place. Hugging Face's `GET /api/whoami-v2` describes a
//! token; the runtime reads the fields named below and asks [`granted_mask`] for the scopes.
//!
//! Every user token grants `openid profile` (whoami tells who the user is). Beyond that:
//!
//! | token (whoami `auth`)                                   | grants                                                                                               |
//! |---------------------------------------------------------|------------------------------------------------------------------------------------------------------|
//! | classic, `accessToken.role: "read"`                     | `read-memberships read-repos gated-repos read-collections inference-api read-endpoints`               |
//! | classic, `role: "contributor"`                          | as `read`, plus `contribute-repos write-discussions`                                                  |
//! | classic, `role: "write"` or `"admin"`                   | as `read`, plus `contribute-repos write-repos manage-repos write-collections write-endpoints jobs webhooks write-discussions` |
//! | classic, any other role                                 | nothing more (fail closed)                                                                           |
//! | fine-grained (`role: "fineGrained"`)                    | `read-memberships`, plus per permission of [`FINE_GRAINED`]; orgs: see [`fine_grained_org_role`]      |
//! | OAuth access token (`auth.type: "oauth"`, `hf_oauth_…`) | refused: whoami does not say which app it was issued to, so any other Space's token would pass; see [`refusal`] |
//! | token of an org or an app (`type` other than `user`, or `auth.type` `app…`) | refused: see [`refusal`]                                         |
//!
//! Fine-grained tokens: the permissions counted are those of `fineGrained.global` and those of
//! the `fineGrained.scoped[]` entry whose entity is the user's own (`type: "user"` with the
//! user's id or handle). Permissions on an org's entity say what the token may do in that org,
//! not what it may do for the user, so they grant no scope. `canReadGatedRepos: true` grants
//! `gated-repos`. A permission not in [`FINE_GRAINED`] grants nothing.
//!
//! Orgs: a classic token acts in every org of its user, with the user's role there (as the
//! user's session would). A fine-grained token acts only in the orgs its `fineGrained.scoped[]`
//! names (entities of `type: "org"`, matched to the user's orgs by id, then by name), and there
//! with at most the role its permissions on that org reach:
//!
//! | permissions on the org's entity                         | the org, for `#[require_org]`                                  |
//! |---------------------------------------------------------|----------------------------------------------------------------|
//! | none, or the org is not in `scoped[]`                   | left out: the token is no member there                          |
//! | `org.write` among them                                  | the user's role                                                 |
//! | `repo.write` among them (no `org.write`)                | the user's role, at most `write`                                |
//! | only others (`repo.content.read`, `discussion.write`, …) | the user's role, at most `read`                                 |
//!
//! Classic tokens read (and, for `write`, write) everything their user can, so they get every
//! scope of that kind, except `email` and `read-billing`: a token does not say its user agreed to
//! share those with this app.
//!
//! ```
//! use hf_auth_scopes::{mask_of, tokens::{granted_mask, TokenGrant}};
//!
//! let fine = TokenGrant::FineGrained {
//!     permissions: &["repo.content.read", "inference.serverless.write"],
//!     can_read_gated_repos: false,
//! };
//! assert_eq!(
//!     granted_mask(&fine),
//!     mask_of(&["openid", "profile", "read-memberships", "read-repos", "inference-api"]),
//! );
//! ```

use crate::{mask_of, Role};

/// What every accepted user token grants: whoami identifies the user.
pub const BASE: u32 = mask_of(&["openid", "profile"]);

/// A classic token with role `read`.
pub const CLASSIC_READ: u32 = BASE
    | mask_of(&[
        "read-memberships",
        "read-repos",
        "gated-repos",
        "read-collections",
        "inference-api",
        "read-endpoints",
    ]);

/// A classic token with role `contributor`.
pub const CLASSIC_CONTRIBUTOR: u32 =
    CLASSIC_READ | mask_of(&["contribute-repos", "write-discussions"]);

/// A classic token with role `write` (or `admin`).
pub const CLASSIC_WRITE: u32 = CLASSIC_READ
    | mask_of(&[
        "contribute-repos",
        "write-repos",
        "manage-repos",
        "write-collections",
        "write-endpoints",
        "jobs",
        "webhooks",
        "write-discussions",
    ]);

/// What a fine-grained token grants whatever its permissions.
pub const FINE_GRAINED_BASE: u32 = BASE | mask_of(&["read-memberships"]);

/// Fine-grained permission -> the scopes it grants. The code is the table.
pub const FINE_GRAINED: [(&str, u32); 13] = [
    ("repo.content.read", mask_of(&["read-repos"])),
    ("repo.write", mask_of(&["read-repos", "write-repos"])),
    ("inference.serverless.write", mask_of(&["inference-api"])),
    (
        "inference.endpoints.infer.write",
        mask_of(&["read-endpoints"]),
    ),
    (
        "inference.endpoints.write",
        mask_of(&["read-endpoints", "write-endpoints"]),
    ),
    ("job.write", mask_of(&["jobs"])),
    ("user.webhooks.write", mask_of(&["webhooks"])),
    ("user.webhooks.read", 0),
    ("collection.read", mask_of(&["read-collections"])),
    (
        "collection.write",
        mask_of(&["read-collections", "write-collections"]),
    ),
    ("discussion.write", mask_of(&["write-discussions"])),
    ("user.billing.read", mask_of(&["read-billing"])),
    // Reading the user's settings is not one of our scopes.
    ("user.read", 0),
];

/// The kind of a user token and what whoami says about its permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenGrant<'a> {
    /// A classic user access token with this `auth.accessToken.role`.
    Classic(&'a str),
    /// A fine-grained token: the permissions of `fineGrained.global` and of the user's own
    /// `scoped[]` entity, and `canReadGatedRepos`.
    FineGrained {
        /// The permissions that apply to the user's own entity.
        permissions: &'a [&'a str],
        /// `fineGrained.canReadGatedRepos`.
        can_read_gated_repos: bool,
    },
}

/// The scope mask a user token grants; see the module's table.
pub fn granted_mask(grant: &TokenGrant<'_>) -> u32 {
    match grant {
        TokenGrant::Classic("read") => CLASSIC_READ,
        TokenGrant::Classic("contributor") => CLASSIC_CONTRIBUTOR,
        TokenGrant::Classic("write" | "admin") => CLASSIC_WRITE,
        TokenGrant::Classic(_) => BASE,
        TokenGrant::FineGrained {
            permissions,
            can_read_gated_repos,
        } => {
            let mut mask = FINE_GRAINED_BASE;
            for p in permissions.iter() {
                mask |= fine_grained_permission(p);
            }
            if *can_read_gated_repos {
                mask |= mask_of(&["gated-repos"]);
            }
            mask
        }
    }
}

/// The scopes one fine-grained permission grants (0 for a permission not in [`FINE_GRAINED`]).
pub fn fine_grained_permission(permission: &str) -> u32 {
    FINE_GRAINED
        .iter()
        .find(|(p, _)| *p == permission)
        .map_or(0, |(_, m)| *m)
}

/// The most a fine-grained token may act as in an org it names in `fineGrained.scoped[]`,
/// given its `permissions` on that org's entity; `None` when it names no permission there, so
/// the org is left out. The token's role in the org is the user's, capped at this; see the
/// module's table.
///
/// ```
/// use hf_auth_scopes::{tokens::fine_grained_org_role, Role};
///
/// assert_eq!(fine_grained_org_role(&["repo.content.read"]), Some(Role::Read));
/// assert_eq!(fine_grained_org_role(&["repo.content.read", "repo.write"]), Some(Role::Write));
/// assert_eq!(fine_grained_org_role(&["org.write"]), Some(Role::Admin));
/// assert_eq!(fine_grained_org_role(&[]), None);
/// ```
pub fn fine_grained_org_role(permissions: &[&str]) -> Option<Role> {
    if permissions.is_empty() {
        return None;
    }
    let has = |p: &str| permissions.contains(&p);
    Some(if has("org.write") {
        Role::Admin
    } else if has("repo.write") {
        Role::Write
    } else {
        Role::Read
    })
}

/// Why OAuth access tokens are refused.
pub const OAUTH_REFUSAL: &str = "OAuth access tokens are not accepted: Hugging Face does not say which app a token was issued to; use a user access token (hf_...) from https://huggingface.co/settings/tokens";

/// Why a token of this whoami `type` (the entity that owns it) and `auth.type` is refused, or
/// `None` when it is a user's token that hf-auth accepts.
///
/// Org tokens (`type: "org"`) and app tokens (`type: "app"`, or `auth.type` starting with
/// `app`, such as `app_token_as_user`) act for something other than one signed-in user, so the
/// user guards cannot reason about them. A missing `type` is refused too. OAuth access tokens
/// (`auth.type: "oauth"`) are refused with [`OAUTH_REFUSAL`]: whoami describes the user but not
/// the app the token was issued to, so an `hf_oauth_…` token that any other Space received at
/// its login would pass as its user here.
pub fn refusal(entity_type: Option<&str>, auth_type: Option<&str>) -> Option<&'static str> {
    match entity_type {
        Some("user") => {}
        Some("org") => return Some(ORG_REFUSAL),
        Some("app") => return Some(APP_REFUSAL),
        _ => return Some(NOT_A_USER_REFUSAL),
    }
    match auth_type {
        Some(t) if t.starts_with("app") => Some(APP_REFUSAL),
        Some("oauth") => Some(OAUTH_REFUSAL),
        Some("access_token") | None => None,
        Some(_) => Some(OTHER_KIND_REFUSAL),
    }
}

const ORG_REFUSAL: &str = "organization tokens are not accepted; use a user token";
const APP_REFUSAL: &str = "app tokens are not accepted; use a user token";
const NOT_A_USER_REFUSAL: &str = "the token does not belong to a user";
const OTHER_KIND_REFUSAL: &str = "this kind of token is not accepted; use a user access token";

/// Every reason [`refusal`] gives, the last one for anything else: for a cache that stores a
/// reason and reads it back as one of these.
pub const REFUSALS: &[&str] = &[
    ORG_REFUSAL,
    APP_REFUSAL,
    OAUTH_REFUSAL,
    OTHER_KIND_REFUSAL,
    NOT_A_USER_REFUSAL,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{index_of, names_in};

    fn names(mask: u32) -> Vec<&'static str> {
        names_in(mask).collect()
    }

    #[test]
    fn classic_read() {
        assert_eq!(
            names(granted_mask(&TokenGrant::Classic("read"))),
            [
                "openid",
                "profile",
                "read-memberships",
                "read-repos",
                "gated-repos",
                "read-collections",
                "inference-api",
                "read-endpoints"
            ]
        );
    }

    #[test]
    fn classic_write_and_admin_add_writes_only() {
        let w = granted_mask(&TokenGrant::Classic("write"));
        assert_eq!(w, granted_mask(&TokenGrant::Classic("admin")));
        assert_eq!(
            names(w & !CLASSIC_READ),
            [
                "contribute-repos",
                "write-repos",
                "manage-repos",
                "write-collections",
                "write-endpoints",
                "jobs",
                "webhooks",
                "write-discussions"
            ]
        );
        assert_eq!(w & mask_of(&["email", "read-billing"]), 0);
    }

    #[test]
    fn classic_contributor() {
        assert_eq!(
            names(granted_mask(&TokenGrant::Classic("contributor")) & !CLASSIC_READ),
            ["contribute-repos", "write-discussions"]
        );
    }

    #[test]
    fn unknown_classic_role_fails_closed() {
        for role in ["", "owner", "Write", "fineGrained"] {
            assert_eq!(granted_mask(&TokenGrant::Classic(role)), BASE, "{role}");
        }
    }

    #[test]
    fn fine_grained_org_roles() {
        assert_eq!(fine_grained_org_role(&[]), None);
        for read_only in [
            &["repo.content.read"][..],
            &["discussion.write"],
            &["collection.write", "inference.endpoints.write"],
            &["org.read"],
        ] {
            assert_eq!(
                fine_grained_org_role(read_only),
                Some(Role::Read),
                "{read_only:?}"
            );
        }
        assert_eq!(
            fine_grained_org_role(&["repo.content.read", "repo.write"]),
            Some(Role::Write)
        );
        assert_eq!(
            fine_grained_org_role(&["repo.write", "org.write"]),
            Some(Role::Admin)
        );
    }

    #[test]
    fn every_fine_grained_row() {
        let expect: [(&str, &[&str]); 13] = [
            ("repo.content.read", &["read-repos"]),
            ("repo.write", &["read-repos", "write-repos"]),
            ("inference.serverless.write", &["inference-api"]),
            ("inference.endpoints.infer.write", &["read-endpoints"]),
            (
                "inference.endpoints.write",
                &["read-endpoints", "write-endpoints"],
            ),
            ("job.write", &["jobs"]),
            ("user.webhooks.write", &["webhooks"]),
            ("user.webhooks.read", &[]),
            ("collection.read", &["read-collections"]),
            (
                "collection.write",
                &["read-collections", "write-collections"],
            ),
            ("discussion.write", &["write-discussions"]),
            ("user.billing.read", &["read-billing"]),
            ("user.read", &[]),
        ];
        assert_eq!(expect.len(), FINE_GRAINED.len());
        for (perm, scopes) in expect {
            let got = granted_mask(&TokenGrant::FineGrained {
                permissions: &[perm],
                can_read_gated_repos: false,
            });
            assert_eq!(got & !FINE_GRAINED_BASE, mask_of(scopes), "{perm}");
            for s in scopes {
                assert!(index_of(s).is_some(), "{s} not in the catalogue");
            }
        }
    }

    #[test]
    fn fine_grained_base_gated_and_unknown() {
        let none = TokenGrant::FineGrained {
            permissions: &[],
            can_read_gated_repos: false,
        };
        assert_eq!(
            names(granted_mask(&none)),
            ["openid", "profile", "read-memberships"]
        );
        let gated = TokenGrant::FineGrained {
            permissions: &["repo.delete.everything", "org.write"],
            can_read_gated_repos: true,
        };
        assert_eq!(
            granted_mask(&gated),
            FINE_GRAINED_BASE | mask_of(&["gated-repos"])
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(refusal(Some("user"), Some("access_token")), None);
        assert_eq!(refusal(Some("user"), Some("oauth")), Some(OAUTH_REFUSAL));
        assert_eq!(refusal(Some("user"), None), None);
        assert!(refusal(Some("org"), Some("access_token")).is_some());
        assert!(refusal(Some("app"), None).is_some());
        assert!(refusal(None, Some("access_token")).is_some());
        assert!(refusal(Some("user"), Some("app_token_as_user")).is_some());
        assert!(refusal(Some("user"), Some("app_token")).is_some());
        assert!(refusal(Some("user"), Some("something_new")).is_some());
    }

    #[test]
    fn refusals_lists_every_reason_refusal_gives() {
        let types = [None, Some("user"), Some("org"), Some("app"), Some("space")];
        let auths = [
            None,
            Some("access_token"),
            Some("oauth"),
            Some("app_token"),
            Some("new"),
        ];
        let mut given: Vec<&str> = types
            .iter()
            .flat_map(|t| auths.iter().filter_map(move |a| refusal(*t, *a)))
            .collect();
        given.sort_unstable();
        given.dedup();
        let mut listed = REFUSALS.to_vec();
        listed.sort_unstable();
        assert_eq!(given, listed);
    }
}
