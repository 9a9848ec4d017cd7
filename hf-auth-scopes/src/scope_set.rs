//! [`ScopeSet`]: a set of granted (or configured) scopes, and the one rule of whether it covers
//! what a route requires.

use crate::{implied_closure, index_of, names_in};

/// A set of scopes: the documented ones as a bit mask over [`SCOPES`](crate::SCOPES), the others
/// (scopes Hugging Face added after this release) by name.
///
/// It is the one place that answers "do these scopes cover those": a scope covers itself and
/// every scope it includes (`write-repos` includes `read-repos`).
///
/// ```
/// use hf_auth_scopes::{mask_of, ScopeSet};
///
/// let granted = ScopeSet::parse("openid profile write-repos read-mcp");
/// assert!(granted.covers(mask_of(&["read-repos"]), &[]));
/// assert!(granted.covers(0, &["read-mcp"]));
/// assert_eq!(granted.missing(&["read-repos", "jobs", "other"]), ["jobs", "other"]);
/// assert_eq!(granted.names().collect::<Vec<_>>(), ["openid", "profile", "write-repos", "read-mcp"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScopeSet {
    mask: u32,
    extra: Vec<String>,
}

impl ScopeSet {
    /// The empty set.
    pub const fn new() -> ScopeSet {
        ScopeSet {
            mask: 0,
            extra: Vec::new(),
        }
    }

    /// The documented scopes of a mask (bits beyond the catalogue are dropped).
    pub const fn from_mask(mask: u32) -> ScopeSet {
        ScopeSet {
            mask: mask & ((1 << crate::SCOPES.len()) - 1),
            extra: Vec::new(),
        }
    }

    /// The scopes of a space-separated list, as the provider grants them (`scope` field).
    pub fn parse(list: &str) -> ScopeSet {
        ScopeSet::from_names(list.split_ascii_whitespace())
    }

    /// The scopes named, documented or not; duplicates are kept once.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> ScopeSet {
        let mut set = ScopeSet::new();
        for name in names {
            set.insert(name);
        }
        set
    }

    /// Adds one scope.
    pub fn insert(&mut self, name: &str) {
        match index_of(name) {
            Some(bit) => self.mask |= 1 << bit,
            None => {
                if !name.is_empty() && !self.extra.iter().any(|e| e == name) {
                    self.extra.push(name.to_owned());
                }
            }
        }
    }

    /// Adds every scope of `other`.
    pub fn extend(&mut self, other: &ScopeSet) {
        self.mask |= other.mask;
        for name in &other.extra {
            self.insert(name);
        }
    }

    /// The documented scopes, as a mask (without what they include).
    pub fn mask(&self) -> u32 {
        self.mask
    }

    /// The scopes outside the catalogue, in the order they were added.
    pub fn extra(&self) -> &[String] {
        &self.extra
    }

    /// The names of the scopes in the set: documented ones in catalogue order, then the others.
    pub fn names<'a>(&'a self) -> impl Iterator<Item = &'a str> + 'a {
        names_in(self.mask)
            .map(|n| -> &'a str { n })
            .chain(self.extra.iter().map(String::as_str))
    }

    /// Whether `name` is in the set, directly or through a scope that includes it.
    pub fn contains(&self, name: &str) -> bool {
        match index_of(name) {
            Some(bit) => implied_closure(self.mask) & (1 << bit) != 0,
            None => self.extra.iter().any(|e| e == name),
        }
    }

    /// Whether the set covers a requirement given as a mask of documented scopes and a list of
    /// other scopes. Allocation-free; the implications are computed only when the mask alone
    /// does not cover it (the common case is a plain subset).
    pub fn covers(&self, mask: u32, extra: &[&str]) -> bool {
        let missing = mask & !self.mask;
        (missing == 0 || missing & !implied_closure(self.mask) == 0)
            && extra.iter().all(|x| self.extra.iter().any(|e| e == x))
    }

    /// The scopes of `required` that the set does not cover, in their order.
    pub fn missing<'r>(&self, required: &[&'r str]) -> Vec<&'r str> {
        required
            .iter()
            .copied()
            .filter(|name| !self.contains(name))
            .collect()
    }
}

impl std::fmt::Display for ScopeSet {
    /// The space-separated list, as the provider takes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask_of;

    #[test]
    fn covers_with_implications_and_extras() {
        let s = ScopeSet::parse("openid  write-repos future");
        assert!(s.covers(0, &[]));
        assert!(s.covers(
            mask_of(&["openid", "read-repos", "write-repos"]),
            &["future"]
        ));
        assert!(!s.covers(mask_of(&["manage-repos"]), &[]));
        assert!(!s.covers(0, &["other"]));
        // read-repos does not include write-repos
        assert!(!ScopeSet::parse("read-repos").covers(mask_of(&["write-repos"]), &[]));
        assert_eq!(
            s.missing(&["read-repos", "manage-repos", "future", "x"]),
            ["manage-repos", "x"]
        );
    }

    #[test]
    fn names_insert_and_display() {
        let mut s = ScopeSet::from_names(["b-extra", "profile", "openid", "b-extra", ""]);
        assert_eq!(s.to_string(), "openid profile b-extra");
        s.extend(&ScopeSet::parse("jobs a-extra"));
        assert_eq!(s.extra(), ["b-extra", "a-extra"]);
        assert!(s.contains("jobs") && !s.contains("email"));
        assert_eq!(s.mask(), mask_of(&["openid", "profile", "jobs"]));
    }
}
