//! The mock user of local development: signed in without any provider, network or HF token.

use hf_auth_scopes::Role;

use crate::{error::ConfigError, user::Org};

/// The user that mock mode signs in. Mock mode is on only when neither `SPACE_ID` nor OAuth
/// credentials are set; it goes through the same session code as a real login.
///
/// From the environment: `HF_AUTH_MOCK_USER` (handle), `HF_AUTH_MOCK_ORGS`
/// (`acme:admin,other:read`, role optional), `HF_AUTH_MOCK_SCOPES` (space-separated; default:
/// the app's `OAUTH_SCOPES`).
///
/// ```
/// use hf_auth_runtime::{MockUser, Role};
/// let dev = MockUser::new("alice").org("acme", Role::Write).scopes("openid profile read-repos");
/// assert_eq!(dev.handle(), "alice");
/// assert_eq!(MockUser::default().handle(), "dev-user");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockUser {
    pub(crate) handle: String,
    pub(crate) name: String,
    pub(crate) orgs: Vec<Org>,
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) is_pro: bool,
}

impl Default for MockUser {
    /// `dev-user` ("Dev User"), in no org, granted the app's configured scopes.
    fn default() -> Self {
        MockUser::new("dev-user").name("Dev User")
    }
}

impl MockUser {
    /// A mock user with this handle, in no org.
    pub fn new(handle: impl Into<String>) -> MockUser {
        let handle = handle.into();
        MockUser {
            name: handle.clone(),
            handle,
            orgs: Vec::new(),
            scopes: None,
            is_pro: false,
        }
    }
    /// The full name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// Adds an org membership with a role.
    pub fn org(mut self, handle: impl Into<String>, role: Role) -> Self {
        self.orgs.push(Org {
            handle: handle.into(),
            role: Some(role),
            sub: None,
        });
        self
    }
    /// The granted scopes (space-separated). By default, the scopes the app asks for.
    pub fn scopes(mut self, scopes: &str) -> Self {
        self.scopes = Some(scopes.split_whitespace().map(str::to_owned).collect());
        self
    }
    /// Whether the user has a PRO subscription.
    pub fn pro(mut self, is_pro: bool) -> Self {
        self.is_pro = is_pro;
        self
    }
    /// The handle.
    pub fn handle(&self) -> &str {
        &self.handle
    }

    /// Reads `HF_AUTH_MOCK_USER` and `HF_AUTH_MOCK_ORGS`, `HF_AUTH_MOCK_SCOPES`.
    pub(crate) fn from_env(
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<MockUser>, ConfigError> {
        let handle = var("HF_AUTH_MOCK_USER");
        let orgs = var("HF_AUTH_MOCK_ORGS");
        let scopes = var("HF_AUTH_MOCK_SCOPES");
        if handle.is_none() && orgs.is_none() && scopes.is_none() {
            return Ok(None);
        }
        let mut user = match handle {
            Some(h) => {
                hf_auth_scopes::check_handle(&h).map_err(|reason| ConfigError::Invalid {
                    variable: "HF_AUTH_MOCK_USER",
                    reason: format!("{h:?}: {reason}"),
                })?;
                MockUser::new(h)
            }
            None => MockUser::default(),
        };
        for entry in orgs.iter().flat_map(|o| o.split(',')).map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            let (org, role) = match entry.split_once(':') {
                Some((org, role)) => {
                    let parsed = Role::parse(role.trim()).ok_or_else(|| ConfigError::Invalid {
                        variable: "HF_AUTH_MOCK_ORGS",
                        reason: format!(
                            "unknown role {role:?} in {entry:?}; use read, contributor, write or admin"
                        ),
                    })?;
                    (org.trim(), Some(parsed))
                }
                None => (entry, None),
            };
            hf_auth_scopes::check_handle(org).map_err(|reason| ConfigError::Invalid {
                variable: "HF_AUTH_MOCK_ORGS",
                reason: format!("{org:?}: {reason}"),
            })?;
            user.orgs.push(Org {
                handle: org.to_owned(),
                role,
                sub: None,
            });
        }
        if let Some(s) = scopes {
            user = user.scopes(&s);
        }
        Ok(Some(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_the_environment() {
        let u = MockUser::from_env(&env(&[
            ("HF_AUTH_MOCK_USER", "alice"),
            ("HF_AUTH_MOCK_ORGS", "acme:admin, friends"),
            ("HF_AUTH_MOCK_SCOPES", "openid profile"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(u.handle, "alice");
        assert_eq!(u.orgs[0].role, Some(Role::Admin));
        assert_eq!(
            u.orgs[1],
            Org {
                handle: "friends".into(),
                role: None,
                sub: None,
            }
        );
        assert_eq!(u.scopes.as_deref().unwrap(), ["openid", "profile"]);
        assert!(MockUser::from_env(&env(&[])).unwrap().is_none());
        let err = MockUser::from_env(&env(&[("HF_AUTH_MOCK_ORGS", "acme:owner")])).unwrap_err();
        assert!(err.to_string().contains("HF_AUTH_MOCK_ORGS"), "{err}");
    }
}
