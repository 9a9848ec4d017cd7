//! The signed-in user as handlers see it.

use std::{fmt, sync::Arc, time::SystemTime};

use hf_auth_scopes::Role;

use crate::session::{end::SessionEnd, SessionData};

/// A Hugging Face organization the user belongs to, with the user's role in it when the user
/// granted the app access to that org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// The org's handle (`preferred_username` in userinfo), e.g. `acme`.
    pub handle: String,
    /// The user's role (`roleInOrg`), if Hugging Face disclosed it: only for orgs the user
    /// granted the app access to on the consent screen.
    pub role: Option<Role>,
    /// The org's ID (`sub` in userinfo), if known: the value a login passes as `orgIds` to ask
    /// the user to grant this org. `None` for sessions signed in before hf-auth kept it, and for
    /// API clients.
    pub sub: Option<String>,
}

/// The JSON form of an [`Org`]: `handle`, `role` as Hugging Face spells it, and `sub` when known.
#[derive(serde::Serialize, serde::Deserialize)]
struct OrgJson {
    handle: String,
    #[serde(with = "role_opt")]
    role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
}

/// The session cookie's form of an [`Org`]: the handle, then the role as one byte, exactly as
/// before the org's `sub` was kept, so sessions sealed earlier still decode (the cookie format
/// is `postcard`, which has no optional fields). A known `sub` rides in the handle's string,
/// after a NUL byte, which no Hugging Face handle contains.
#[derive(serde::Serialize, serde::Deserialize)]
struct OrgWire {
    handle: String,
    #[serde(with = "role_opt")]
    role: Option<Role>,
}

impl serde::Serialize for Org {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return OrgJson {
                handle: self.handle.clone(),
                role: self.role,
                sub: self.sub.clone(),
            }
            .serialize(s);
        }
        let handle = match &self.sub {
            Some(sub) => format!("{}\0{sub}", self.handle),
            None => self.handle.clone(),
        };
        OrgWire {
            handle,
            role: self.role,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Org {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Org, D::Error> {
        if d.is_human_readable() {
            let o = OrgJson::deserialize(d)?;
            return Ok(Org {
                handle: o.handle,
                role: o.role,
                sub: o.sub,
            });
        }
        let o = OrgWire::deserialize(d)?;
        Ok(match o.handle.split_once('\0') {
            Some((handle, sub)) => Org {
                handle: handle.to_owned(),
                role: o.role,
                sub: (!sub.is_empty()).then(|| sub.to_owned()),
            },
            None => Org {
                handle: o.handle,
                role: o.role,
                sub: None,
            },
        })
    }
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
    /// The user's membership of `org` (matched on the handle), if listed.
    pub fn org(&self, org: &str) -> Option<&Org> {
        self.0.orgs.iter().find(|o| o.handle == org)
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
    /// When the access token expires (a refresh renews it on a later request; see
    /// [`session_ends_at`](Self::session_ends_at) for the session's own end).
    pub fn expires_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(self.0.expires_at)
    }
    /// When the session ends, whatever refreshes happen: its login time plus the session
    /// lifetime (`HF_AUTH_SESSION_LIFETIME`). For an API client's token (no session), when
    /// hf-auth checks the token with Hugging Face again, or the token's own expiry if it states
    /// one. A logout or a revocation ends a session earlier: see
    /// [`session_end`](Self::session_end).
    pub fn session_ends_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(self.0.session_ends_at)
    }
    /// A future that resolves, with the [`SessionEndReason`](crate::SessionEndReason), when this session ends: at
    /// [`session_ends_at`](Self::session_ends_at), at its logout, at a revocation. For a
    /// handler that outlives its request (SSE, WebSocket): hold it beside the stream in
    /// `tokio::select!` and stop when it resolves. Registered only when called; dropping it
    /// unregisters.
    ///
    /// What it hears depends on where sessions live:
    /// - **With a session store** (`HF_AUTH_SESSION_STORE`): a logout on any replica, a
    ///   revocation ([`HfAuth::revoke_user`](crate::HfAuth::revoke_user),
    ///   `revoke_user_in_store`), or a later login in the same browser, within the store's 1 s
    ///   bound on every replica. While the store's invalidation channel is cut, the session is
    ///   asked about every second; if the store cannot be reached, it resolves with
    ///   [`SessionEndReason::StoreUnavailable`](crate::SessionEndReason::StoreUnavailable) (requests get 503 meanwhile).
    /// - **Stateless cookie sessions** (no store): only a logout of this session on this same
    ///   process, and the end time. The server keeps no session state, so a logout on another
    ///   replica is not heard, and there is no revocation: with several replicas, use a session
    ///   store if a stream must end at logout.
    /// - **API clients** (bearer tokens) have no session: it resolves at
    ///   [`session_ends_at`](Self::session_ends_at) only, so a long stream checks the token
    ///   again when the client reconnects.
    /// - **Mock mode** behaves as the sessions do (stateless, or stored with a store); the
    ///   mock bearer token lasts a year.
    ///
    /// ```
    /// use std::{convert::Infallible, time::Duration};
    ///
    /// use axum::response::sse::{Event, Sse};
    /// use hf_auth_runtime::{hf_login, HfUser};
    ///
    /// #[hf_login]
    /// async fn events(user: HfUser) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    ///     let end = user.session_end();
    ///     let ticks = tokio::time::interval(Duration::from_secs(1));
    ///     Sse::new(futures_util::stream::unfold(
    ///         (end, ticks, false),
    ///         |(mut end, mut ticks, done)| async move {
    ///             if done {
    ///                 return None;
    ///             }
    ///             tokio::select! {
    ///                 reason = &mut end => {
    ///                     let last = Event::default().event("end").data(reason.as_str());
    ///                     Some((Ok(last), (end, ticks, true)))
    ///                 }
    ///                 _ = ticks.tick() => Some((Ok(Event::default().data("tick")), (end, ticks, false))),
    ///             }
    ///         },
    ///     ))
    /// }
    /// ```
    pub fn session_end(&self) -> SessionEnd {
        crate::session::end::watch(&self.0)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `Org` as sessions sealed before it kept the org's `sub` encoded it.
    #[derive(serde::Serialize)]
    struct OldOrg {
        handle: String,
        #[serde(with = "role_opt")]
        role: Option<Role>,
    }

    #[test]
    fn sessions_sealed_before_the_sub_still_decode() {
        let old = postcard::to_allocvec(&vec![
            OldOrg {
                handle: "acme".into(),
                role: Some(Role::Admin),
            },
            OldOrg {
                handle: "friends".into(),
                role: None,
            },
        ])
        .unwrap();
        let orgs: Vec<Org> = postcard::from_bytes(&old).unwrap();
        assert_eq!(
            orgs,
            [
                Org {
                    handle: "acme".into(),
                    role: Some(Role::Admin),
                    sub: None
                },
                Org {
                    handle: "friends".into(),
                    role: None,
                    sub: None
                }
            ]
        );
    }

    #[test]
    fn the_sub_round_trips_in_the_cookie_and_in_json() {
        let orgs = vec![
            Org {
                handle: "acme".into(),
                role: None,
                sub: Some("65a1b2c3d4e5f60718293a4b".into()),
            },
            Org {
                handle: "other".into(),
                role: Some(Role::Read),
                sub: None,
            },
        ];
        let bytes = postcard::to_allocvec(&orgs).unwrap();
        assert_eq!(postcard::from_bytes::<Vec<Org>>(&bytes).unwrap(), orgs);
        let json = serde_json::to_value(&orgs).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                { "handle": "acme", "role": null, "sub": "65a1b2c3d4e5f60718293a4b" },
                { "handle": "other", "role": "read" }
            ])
        );
        assert_eq!(serde_json::from_value::<Vec<Org>>(json).unwrap(), orgs);
    }
}
