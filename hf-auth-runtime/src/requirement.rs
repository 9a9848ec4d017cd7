//! What a handler requires ([`Requirement`]) and the one check of a user against it.

use hf_auth_scopes::Role;

use crate::{rejection::Denial, session::SessionData, user::HfUser};

/// An org a handler requires, with the least role (`None`: any member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgRequirement {
    /// The org's handle.
    pub org: &'static str,
    /// The least role, if any.
    pub role: Option<Role>,
}

/// What a handler requires: granted scopes and org memberships. The macros build these at
/// compile time; by hand, write a `static` and a [`RequirementSource`].
///
/// ```
/// use hf_auth_runtime::{mask_of, OrgRequirement, Requirement, RequirementSource, Role};
///
/// struct AcmeWriters;
/// impl RequirementSource for AcmeWriters {
///     const REQUIREMENT: &'static Requirement = &Requirement {
///         scope_mask: mask_of(&["read-repos"]),
///         scopes: &["read-repos"],
///         extra_scopes: &[],
///         orgs: &[OrgRequirement { org: "acme", role: Some(Role::Write) }],
///         ..Requirement::SIGNED_IN
///     };
/// }
/// // A handler taking `hf_auth_runtime::Guarded<AcmeWriters>` runs only for them.
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// The documented scopes required, as a mask (see [`mask_of`](crate::mask_of)).
    pub scope_mask: u32,
    /// Every required scope by name (documented and extra), for messages and the start-up check.
    pub scopes: &'static [&'static str],
    /// Required scopes outside Hugging Face's documented catalogue.
    pub extra_scopes: &'static [&'static str],
    /// Required org memberships; all must hold.
    pub orgs: &'static [OrgRequirement],
    /// Which credentials the route accepts: a browser session, a bearer token, or both.
    pub accept: Accept,
    /// Whether cookie-authenticated unsafe requests from another site are refused.
    pub cross_site: CrossSite,
    /// The user must have a PRO subscription (`isPro`; `#[hf_login(pro)]`).
    pub pro: bool,
    /// The user must be able to pay (`canPay`, sent only with the `read-billing` scope;
    /// `#[hf_login(scopes = "read-billing", can_pay)]`).
    pub can_pay: bool,
}

/// Which credentials a route accepts (`#[hf_login(accept = "...")]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accept {
    /// A browser session or a Hugging Face token in `Authorization: Bearer` (the default).
    #[default]
    Any,
    /// Only a browser session: a request with a bearer token is refused (401).
    Session,
    /// Only a bearer token: a request without one is refused (401), never redirected to login.
    Token,
}

/// What a route does with a cookie-authenticated request with an unsafe method (POST, PUT,
/// PATCH, DELETE, ...) that comes from another site (`#[hf_login(cross_site = "...")]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrossSite {
    /// Refuse it with 403 (the default): the browser sent the session cookie on another
    /// site's behalf (cross-site request forgery).
    #[default]
    Refuse,
    /// Let it through: for routes that another site must be able to call with the user's
    /// cookies and that check their own proof (webhooks with a signature, for example).
    Allow,
}

impl Requirement {
    /// Only a signed-in user.
    pub const SIGNED_IN: Requirement = Requirement {
        scope_mask: 0,
        scopes: &[],
        extra_scopes: &[],
        orgs: &[],
        accept: Accept::Any,
        cross_site: CrossSite::Refuse,
        pro: false,
        can_pay: false,
    };

    /// Whether `user` meets this requirement; if not, what is missing.
    pub fn check(&self, user: &HfUser) -> Result<(), Denial> {
        self.check_session(&user.0)
    }

    /// The check on the hot path: bit masks, then a short scan of the user's orgs.
    pub(crate) fn check_session(&self, s: &SessionData) -> Result<(), Denial> {
        if !s.scopes.covers(self.scope_mask, self.extra_scopes) {
            return Err(Denial::MissingScopes(s.scopes.missing(self.scopes)));
        }
        // An unknown `isPro`/`canPay` (not sent) is a refusal: fail closed.
        if self.pro && s.is_pro != Some(true) {
            return Err(Denial::NotPro);
        }
        if self.can_pay && s.can_pay != Some(true) {
            return Err(Denial::CannotPay);
        }
        for need in self.orgs {
            let membership = s.orgs.iter().find(|o| o.handle == need.org);
            let ok = match (membership, need.role) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(o), Some(least)) => o.role.is_some_and(|r| r >= least),
            };
            if !ok {
                return Err(Denial::Org {
                    org: need.org,
                    role: need.role,
                });
            }
        }
        Ok(())
    }
}

/// A type that names a [`Requirement`]; what [`Guarded`](crate::Guarded) checks.
pub trait RequirementSource: Send + Sync + 'static {
    /// The requirement.
    const REQUIREMENT: &'static Requirement;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::user_in_orgs;
    use hf_auth_scopes::mask_of;

    fn req_check(r: &Requirement, s: &SessionData) -> Result<(), Denial> {
        r.check_session(s)
    }

    #[test]
    fn scopes_orgs_and_roles() {
        let mut s = user_in_orgs(0);
        s.orgs = vec![crate::user::Org {
            handle: "acme".into(),
            role: Some(Role::Write),
        }];
        let req = |scopes: &'static [&'static str], orgs: &'static [OrgRequirement]| Requirement {
            scope_mask: mask_of(scopes),
            scopes,
            extra_scopes: &[],
            orgs,
            ..Requirement::SIGNED_IN
        };
        assert!(Requirement::SIGNED_IN.check_session(&s).is_ok());
        // granted write-repos includes read-repos
        assert!(req_check(&req(&["read-repos"], &[]), &s).is_ok());
        assert_eq!(
            req_check(&req(&["manage-repos", "read-repos", "jobs"], &[]), &s),
            Err(Denial::MissingScopes(vec!["manage-repos", "jobs"]))
        );
        const ACME: &[OrgRequirement] = &[OrgRequirement {
            org: "acme",
            role: None,
        }];
        const ACME_WRITE: &[OrgRequirement] = &[OrgRequirement {
            org: "acme",
            role: Some(Role::Write),
        }];
        const ACME_ADMIN: &[OrgRequirement] = &[OrgRequirement {
            org: "acme",
            role: Some(Role::Admin),
        }];
        const OTHER: &[OrgRequirement] = &[OrgRequirement {
            org: "other",
            role: None,
        }];
        assert!(req_check(&req(&[], ACME), &s).is_ok());
        assert!(req_check(&req(&[], ACME_WRITE), &s).is_ok());
        assert!(matches!(
            req_check(&req(&[], ACME_ADMIN), &s),
            Err(Denial::Org { org: "acme", .. })
        ));
        assert!(matches!(
            req_check(&req(&[], OTHER), &s),
            Err(Denial::Org { org: "other", .. })
        ));
        // an undisclosed role meets no role requirement
        s.orgs[0].role = None;
        assert!(req_check(&req(&[], ACME), &s).is_ok());
        assert!(req_check(&req(&[], ACME_WRITE), &s).is_err());
    }

    #[test]
    fn extra_scopes() {
        let mut s = user_in_orgs(0);
        let r = Requirement {
            scope_mask: 0,
            scopes: &["future-scope"],
            extra_scopes: &["future-scope"],
            orgs: &[],
            ..Requirement::SIGNED_IN
        };
        assert_eq!(
            r.check_session(&s),
            Err(Denial::MissingScopes(vec!["future-scope"]))
        );
        s.scopes.insert("future-scope");
        assert!(r.check_session(&s).is_ok());
    }

    #[test]
    fn pro_and_can_pay_fail_closed() {
        let mut s = user_in_orgs(0);
        let pro = Requirement {
            pro: true,
            ..Requirement::SIGNED_IN
        };
        let pay = Requirement {
            can_pay: true,
            ..Requirement::SIGNED_IN
        };
        for unknown_or_no in [None, Some(false)] {
            s.is_pro = unknown_or_no;
            s.can_pay = unknown_or_no;
            assert_eq!(pro.check_session(&s), Err(Denial::NotPro));
            assert_eq!(pay.check_session(&s), Err(Denial::CannotPay));
        }
        s.is_pro = Some(true);
        assert!(pro.check_session(&s).is_ok());
        assert_eq!(pay.check_session(&s), Err(Denial::CannotPay));
        s.can_pay = Some(true);
        assert!(pay.check_session(&s).is_ok());
    }
}
