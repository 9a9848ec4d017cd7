//! What a handler requires ([`Requirement`]) and the one check of a user against it.

use std::sync::Mutex;

use axum::{
    extract::{MatchedPath, OriginalUri},
    http::request::Parts,
};
use hf_auth_scopes::Role;
use percent_encoding::percent_decode_str;

use crate::{rejection::Denial, session::SessionData, user::HfUser};

/// An org a handler requires, with the least role (`None`: any member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgRequirement {
    /// The org's handle.
    pub org: &'static str,
    /// The least role, if any.
    pub role: Option<Role>,
}

/// An org a handler requires whose handle is a path parameter of the route, read at request
/// time (`#[require_org(param = "org")]` on a route `/orgs/{org}`), with the least role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgParam {
    /// The path parameter's name, without braces (`org` for `/orgs/{org}`).
    pub param: &'static str,
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
    /// Required memberships of the orgs named by path parameters; all must hold.
    pub org_params: &'static [OrgParam],
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
        org_params: &[],
        accept: Accept::Any,
        cross_site: CrossSite::Refuse,
        pro: false,
        can_pay: false,
    };

    /// Whether `user` meets this requirement; if not, what is missing. A requirement with
    /// [`org_params`](Self::org_params) needs the request's path, which this does not have: it
    /// fails closed with [`Denial::NoPathParam`].
    pub fn check(&self, user: &HfUser) -> Result<(), Denial> {
        self.check_session(&user.0)?;
        match self.org_params.first() {
            Some(need) => Err(Denial::NoPathParam { param: need.param }),
            None => Ok(()),
        }
    }

    /// The check of a request: [`check_session`](Self::check_session), then, only for a
    /// requirement with [`org_params`](Self::org_params), the orgs named in the request's path.
    /// Without them it reads nothing of `parts` and allocates nothing.
    pub(crate) fn check_parts(&self, s: &SessionData, parts: &Parts) -> Result<(), Denial> {
        self.check_session(s)?;
        if self.org_params.is_empty() {
            return Ok(());
        }
        self.check_path_orgs(s, parts)
    }

    #[cold]
    fn check_path_orgs(&self, s: &SessionData, parts: &Parts) -> Result<(), Denial> {
        for need in self.org_params {
            let Some(org) = path_param(parts, need.param) else {
                self.log_missing_param_once(parts, need.param);
                return Err(Denial::NoPathParam { param: need.param });
            };
            let membership = s.orgs.iter().find(|o| o.handle == org);
            if !role_ok(membership.map(|o| o.role), need.role) {
                return Err(Denial::PathOrg {
                    org,
                    role: need.role,
                });
            }
        }
        Ok(())
    }

    /// A route whose path has no such parameter is a programming error: logged once per
    /// requirement, then every request gets the same 500.
    fn log_missing_param_once(&self, parts: &Parts, param: &'static str) {
        static LOGGED: Mutex<Vec<usize>> = Mutex::new(Vec::new());
        let id = self as *const Requirement as usize;
        let first = LOGGED.lock().map_or(true, |mut logged| {
            if logged.contains(&id) {
                false
            } else {
                logged.push(id);
                true
            }
        });
        if first {
            let route = parts
                .extensions
                .get::<MatchedPath>()
                .map_or("(no matched path)", MatchedPath::as_str);
            tracing::error!(
                route,
                param,
                "#[require_org(param = \"{param}\")] is on a handler whose route has no path parameter `{{{param}}}`; every request to it is refused with 500"
            );
        }
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
            if !role_ok(membership.map(|o| o.role), need.role) {
                return Err(Denial::Org {
                    org: need.org,
                    role: need.role,
                });
            }
        }
        Ok(())
    }
}

/// Whether a membership (`None`: not a member; `Some(None)`: a member whose role was not
/// disclosed) meets the least role.
fn role_ok(membership: Option<Option<Role>>, least: Option<Role>) -> bool {
    match (membership, least) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(role), Some(least)) => role.is_some_and(|r| r >= least),
    }
}

/// The value of the path parameter `name` of this request, found by lining up the route's
/// matched path (`/orgs/{org}/settings`) with the path the client asked for, segment by
/// segment, and percent-decoding it. `None` if the route has no segment that is exactly
/// `{name}` (or a catch-all comes before it), or the value is empty or not UTF-8.
fn path_param(parts: &Parts, name: &str) -> Option<String> {
    let matched = parts.extensions.get::<MatchedPath>()?.as_str();
    // Under `Router::nest` the matched path is the full one, and so is the original URI.
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0)
        .path();
    let mut actual = path.split('/');
    for pattern in matched.split('/') {
        let segment = actual.next()?;
        if pattern.starts_with("{*") {
            return None;
        }
        let Some(inner) = pattern.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
            continue;
        };
        if inner == name {
            let value = percent_decode_str(segment).decode_utf8().ok()?;
            return (!value.is_empty()).then(|| value.into_owned());
        }
    }
    None
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
            sub: None,
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
