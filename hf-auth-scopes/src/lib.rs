//! The one place where hf-auth keeps Hugging Face's OAuth scope catalogue, which scope implies
//! which, and the org roles.
//!
//! Both the compile-time checks of `hf-auth-macros` and the run-time guards of `hf-auth-runtime`
//! read these tables, so a scope the macros accept is a scope the runtime understands.
//!
//! ```
//! use hf_auth_scopes::{index_of, implied_closure, mask_of, Role};
//!
//! assert_eq!(index_of("write-repos").map(|i| hf_auth_scopes::SCOPES[i].name), Some("write-repos"));
//! // write-repos includes read-repos:
//! let granted = implied_closure(mask_of(&["write-repos"]));
//! assert_eq!(granted & mask_of(&["read-repos"]), mask_of(&["read-repos"]));
//! assert!(Role::Admin > Role::Write);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;

mod scope_set;
pub use scope_set::ScopeSet;
pub mod tokens;

/// One documented Hugging Face OAuth scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeInfo {
    /// The scope as it is sent to and granted by the provider, e.g. `write-repos`.
    pub name: &'static str,
    /// What it lets an app do, in a few words.
    pub description: &'static str,
    /// Another scope that this one includes (`write-repos` includes `read-repos`).
    pub implies: Option<&'static str>,
}

const fn scope(name: &'static str, description: &'static str) -> ScopeInfo {
    ScopeInfo {
        name,
        description,
        implies: None,
    }
}

const fn scope_implying(
    name: &'static str,
    description: &'static str,
    implies: &'static str,
) -> ScopeInfo {
    ScopeInfo {
        name,
        description,
        implies: Some(implies),
    }
}

/// The 18 scopes Hugging Face documents, in a fixed order: a scope's index is its bit in a
/// scope mask.
pub const SCOPES: [ScopeInfo; 18] = [
    scope("openid", "issue an ID token alongside the access token"),
    scope("profile", "read the user's profile (username, avatar, ...)"),
    scope("email", "read the user's email address"),
    scope(
        "read-billing",
        "learn whether the user has a payment method",
    ),
    scope(
        "read-memberships",
        "read the user's organizations and their role in each",
    ),
    scope("read-repos", "read the user's repos, private ones included"),
    scope(
        "gated-repos",
        "read public gated repos the user was granted access to",
    ),
    scope(
        "contribute-repos",
        "create repos and access the repos this app created",
    ),
    scope_implying(
        "write-repos",
        "read and write the user's repos",
        "read-repos",
    ),
    scope(
        "manage-repos",
        "fully manage the user's repos, including creating and deleting them",
    ),
    scope("read-collections", "read the user's collections"),
    scope_implying(
        "write-collections",
        "read and write the user's collections",
        "read-collections",
    ),
    scope(
        "inference-api",
        "call Inference Providers on the user's behalf",
    ),
    scope(
        "read-endpoints",
        "view the user's Inference Endpoints and send requests to them",
    ),
    scope_implying(
        "write-endpoints",
        "manage the user's Inference Endpoints",
        "read-endpoints",
    ),
    scope("jobs", "run Jobs"),
    scope("webhooks", "manage webhooks"),
    scope(
        "write-discussions",
        "open discussions and PRs, comment and react on the user's behalf",
    ),
];

/// Scopes every Hugging Face Space gets whatever its metadata says.
pub const ALWAYS_GRANTED_IN_SPACES: [&str; 2] = ["openid", "profile"];

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The index (and so the mask bit) of a documented scope, or `None` for any other string.
pub const fn index_of(name: &str) -> Option<usize> {
    let mut i = 0;
    while i < SCOPES.len() {
        if str_eq(SCOPES[i].name, name) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The mask of a list of documented scopes; names outside the catalogue are skipped.
///
/// It is a `const fn`, so generated code computes a route's mask at compile time.
pub const fn mask_of(names: &[&str]) -> u32 {
    let mut mask = 0;
    let mut i = 0;
    while i < names.len() {
        if let Some(bit) = index_of(names[i]) {
            mask |= 1 << bit;
        }
        i += 1;
    }
    mask
}

/// A mask of granted scopes together with every scope they include.
pub const fn implied_closure(mask: u32) -> u32 {
    let mut out = mask;
    let mut i = 0;
    while i < SCOPES.len() {
        if out & (1 << i) != 0 {
            if let Some(implied) = SCOPES[i].implies {
                if let Some(bit) = index_of(implied) {
                    out |= 1 << bit;
                }
            }
        }
        i += 1;
    }
    out
}

/// The names of the scopes in a mask, in catalogue order.
pub fn names_in(mask: u32) -> impl Iterator<Item = &'static str> {
    SCOPES
        .iter()
        .enumerate()
        .filter(move |(i, _)| mask & (1 << i) != 0)
        .map(|(_, s)| s.name)
}

/// The scope that `name` is included in, if it is: `implied_by("read-repos") == Some("write-repos")`.
pub fn implied_by(name: &str) -> Option<&'static str> {
    SCOPES
        .iter()
        .find(|s| s.implies == Some(name))
        .map(|s| s.name)
}

/// A member's role in a Hugging Face organization, ordered `Read < Contributor < Write < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// `read`
    Read,
    /// `contributor`
    Contributor,
    /// `write`
    Write,
    /// `admin`
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Read, Role::Contributor, Role::Write, Role::Admin];

    /// The role as Hugging Face spells it in `roleInOrg`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Contributor => "contributor",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }

    /// Parses a role as Hugging Face spells it; `None` for anything else.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a valid Hugging Face user or organization handle.
pub fn check_handle(handle: &str) -> Result<(), &'static str> {
    if handle.is_empty() {
        return Err("an organization handle cannot be empty");
    }
    if handle.len() > 96 {
        return Err("an organization handle has at most 96 characters");
    }
    if !handle
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("an organization handle has only ASCII letters, digits, `-`, `_` and `.`");
    }
    let (first, last) = (handle.as_bytes()[0], handle.as_bytes()[handle.len() - 1]);
    if matches!(first, b'-' | b'.') || matches!(last, b'-' | b'.') {
        return Err("an organization handle cannot start or end with `-` or `.`");
    }
    if handle.contains("--") || handle.contains("..") {
        return Err("an organization handle cannot contain `--` or `..`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_unique_names_and_valid_implications() {
        for (i, s) in SCOPES.iter().enumerate() {
            assert_eq!(index_of(s.name), Some(i), "{} listed twice", s.name);
            if let Some(implied) = s.implies {
                assert!(
                    index_of(implied).is_some(),
                    "{implied} is not in the catalogue"
                );
            }
        }
        assert!(SCOPES.len() <= 32, "a scope mask is a u32");
    }

    #[test]
    fn write_includes_read_for_repos_endpoints_collections() {
        for (w, r) in [
            ("write-repos", "read-repos"),
            ("write-endpoints", "read-endpoints"),
            ("write-collections", "read-collections"),
        ] {
            let closure = implied_closure(mask_of(&[w]));
            assert_eq!(closure, mask_of(&[w, r]));
            assert_eq!(implied_by(r), Some(w));
        }
        assert_eq!(
            implied_closure(mask_of(&["read-repos"])),
            mask_of(&["read-repos"])
        );
    }

    #[test]
    fn unknown_names_are_not_in_masks() {
        assert_eq!(mask_of(&["write_repos", "offline_access"]), 0);
        assert_eq!(
            names_in(mask_of(&["email", "openid"])).collect::<Vec<_>>(),
            ["openid", "email"]
        );
    }

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Read < Role::Contributor && Role::Contributor < Role::Write);
        assert!(Role::Write < Role::Admin);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("owner"), None);
    }

    #[test]
    fn handles() {
        assert!(check_handle("acme").is_ok());
        assert!(check_handle("Hugging-Face_1.x").is_ok());
        for bad in ["", "-acme", "acme.", "ac me", "a--b", "acmé", "a/b"] {
            assert!(check_handle(bad).is_err(), "{bad:?} accepted");
        }
    }
}
