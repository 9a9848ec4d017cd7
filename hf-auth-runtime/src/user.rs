//! The signed-in user as handlers see it.

use std::{fmt, sync::Arc, time::SystemTime};

use hf_auth_scopes::Role;

use crate::session::SessionData;

/// A Hugging Face organization the user belongs to, with the user's role in it when the user
/// granted the app access to that org.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Org {
    /// The org's handle (`preferred_username` in userinfo), e.g. `acme`.
    pub handle: String,
    /// The user's role (`roleInOrg`), if Hugging Face disclosed it.
    #[serde(with = "role_opt")]
    pub role: Option<Role>,
}

/// Roles are (de)serialized as Hugging Face spells them in JSON, and as one byte in the
/// session cookie; an unknown role reads as `None`.
mod role_opt {
    use hf_auth_scopes::Role;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(role: &Option<Role>, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return match role {
                Some(r) => s.serialize_some(r.as_str()),
                None => s.serialize_none(),
            };
        }
        s.serialize_u8(role.map_or(0, |r| r as u8 + 1))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Role>, D::Error> {
        if d.is_human_readable() {
            return Ok(Option::<String>::deserialize(d)?.and_then(|r| Role::parse(&r)));
        }
        let n = u8::deserialize(d)?;
        Ok(n.checked_sub(1)
            .and_then(|i| Role::ALL.get(usize::from(i)).copied()))
    }
}

/// The signed-in user. Use it as an axum extractor: a handler that takes `HfUser` runs only for
/// a signed-in user; `Option<HfUser>` runs for everyone.
///
/// Cloning is cheap (one reference count). `Debug` never shows the access or refresh token.
///
/// ```
/// use axum::{routing::get, Json, Router};
/// use hf_auth_runtime::HfUser;
///
/// async fn me(user: HfUser) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "handle": user.handle(), "orgs": user.orgs() }))
/// }
/// async fn home(user: Option<HfUser>) -> String {
///     match user {
///         Some(u) => format!("Hello {}", u.handle()),
///         None => "Hello stranger".to_owned(),
///     }
/// }
/// let app: Router = Router::new().route("/me", get(me)).route("/", get(home));
/// ```
#[derive(Clone)]
pub struct HfUser(pub(crate) Arc<SessionData>);

impl HfUser {
    /// The user's stable ID (`sub`), e.g. `62f264b9f3c90f4b6514a269`. Key your data on this, not
    /// on the handle, which users can rename.
    pub fn id(&self) -> &str {
        &self.0.sub
    }
    /// The user's handle (`preferred_username`).
    pub fn handle(&self) -> &str {
        &self.0.handle
    }
    /// The user's full name, if known.
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// The avatar URL, if known.
    pub fn avatar_url(&self) -> Option<&str> {
        self.0.avatar.as_deref()
    }
    /// `isPro` from userinfo, if Hugging Face sent it.
    pub fn is_pro(&self) -> Option<bool> {
        self.0.is_pro
    }
    /// `canPay` from userinfo (needs the `read-billing` scope), if Hugging Face sent it.
    pub fn can_pay(&self) -> Option<bool> {
        self.0.can_pay
    }
    /// The orgs the user belongs to.
    pub fn orgs(&self) -> &[Org] {
        &self.0.orgs
    }
    /// The user's role in `org` (matched on the handle), `None` if not a member or undisclosed.
    pub fn role_in(&self, org: &str) -> Option<Role> {
        self.0
            .orgs
            .iter()
            .find(|o| o.handle == org)
            .and_then(|o| o.role)
    }
    /// Whether the user is a member of `org` (matched on the handle).
    pub fn is_member_of(&self, org: &str) -> bool {
        self.0.orgs.iter().any(|o| o.handle == org)
    }
    /// The scopes the provider granted (not merely those asked for).
    pub fn scopes(&self) -> Vec<&str> {
        self.0.scopes.names().collect()
    }
    /// Whether `scope` was granted, directly or through a scope that includes it
    /// (`write-repos` includes `read-repos`).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.scopes.contains(scope)
    }
    /// The OAuth access token, to call the Hub on the user's behalf
    /// (`Authorization: Bearer <token>`). Never log it.
    pub fn access_token(&self) -> &str {
        &self.0.access_token
    }
    /// When the access token expires.
    pub fn expires_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(self.0.expires_at)
    }
}

impl fmt::Debug for HfUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HfUser")
            .field("id", &self.id())
            .field("handle", &self.handle())
            .field("orgs", &self.orgs())
            .field("scopes", &self.scopes())
            .field("access_token", &"<redacted>")
            .finish()
    }
}
