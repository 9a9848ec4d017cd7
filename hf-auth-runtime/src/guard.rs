//! The hot path: who is signed in, and may they call this handler?
//!
//! Every protected request runs [`current_user`] (read the session cookie, decrypt, check
//! expiry) and [`Requirement::check`] (bit masks and a short scan of the user's orgs). No
//! provider call happens here unless the access token has expired and a refresh token exists.

use std::{
    future::Future,
    marker::PhantomData,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};
use hf_auth_scopes::{implied_closure, Role};

use crate::{
    layer::{with_request, RequestCtx},
    rejection::{AuthRejection, Denial},
    session::{self, now_unix, SessionData},
    state::{AuthState, Backend, SharedState},
    user::HfUser,
};

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
}

impl Requirement {
    /// Only a signed-in user.
    pub const SIGNED_IN: Requirement = Requirement {
        scope_mask: 0,
        scopes: &[],
        extra_scopes: &[],
        orgs: &[],
    };

    /// Whether `user` meets this requirement; if not, what is missing.
    pub fn check(&self, user: &HfUser) -> Result<(), Denial> {
        check(self, &user.0)
    }
}

fn check(req: &Requirement, s: &SessionData) -> Result<(), Denial> {
    // Most checks are met by the granted scopes themselves; the implications only when not.
    let missing_known = match req.scope_mask & !s.scope_mask {
        0 => 0,
        missing => missing & !implied_closure(s.scope_mask),
    };
    let missing_extra = req
        .extra_scopes
        .iter()
        .any(|x| !s.extra_scopes.iter().any(|g| g == x));
    if missing_known != 0 || missing_extra {
        let missing = req
            .scopes
            .iter()
            .copied()
            .filter(|name| match hf_auth_scopes::index_of(name) {
                Some(bit) => missing_known & (1 << bit) != 0,
                None => !s.extra_scopes.iter().any(|g| g == name),
            })
            .collect();
        return Err(Denial::MissingScopes(missing));
    }
    for need in req.orgs {
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

/// A type that names a [`Requirement`]; what [`Guarded`] checks.
pub trait RequirementSource: Send + Sync + 'static {
    /// The requirement.
    const REQUIREMENT: &'static Requirement;
}

/// An extractor that lets the handler run only when the signed-in user meets
/// `R::REQUIREMENT`; otherwise it answers with an [`AuthRejection`]. The macros add it as the
/// first parameter of the handlers they annotate. The user it found is kept for an [`HfUser`]
/// parameter of the same handler, so the session is read once.
pub struct Guarded<R: RequirementSource>(PhantomData<fn() -> R>);

impl<R: RequirementSource> std::fmt::Debug for Guarded<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Guarded").field(R::REQUIREMENT).finish()
    }
}

impl<S, R> FromRequestParts<S> for Guarded<R>
where
    S: Send + Sync,
    R: RequirementSource,
{
    type Rejection = AuthRejection;

    fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        let step = with_request(|ctx| session_of(parts, ctx));
        extracted(parts, step, admit::<R>)
    }
}

/// Checks `R`'s requirement for `user`, keeping the user for an `HfUser` parameter of the same
/// handler (the session is read once).
fn admit<R: RequirementSource>(parts: &Parts, user: HfUser) -> Result<Guarded<R>, AuthRejection> {
    with_request(|ctx| {
        if let Err(denial) = check(R::REQUIREMENT, &user.0) {
            tracing::debug!(user = %user.handle(), ?denial, "access denied");
            return Err(AuthRejection::denied(parts, &ctx.state, denial));
        }
        let _ = ctx.user.set(user);
        Ok(Guarded(PhantomData))
    })?
}

impl<S: Send + Sync> FromRequestParts<S> for HfUser {
    type Rejection = AuthRejection;

    fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        let step = with_request(|ctx| match ctx.user.get() {
            Some(user) => Ok(Step::Ready(user.clone())),
            None => session_of(parts, ctx),
        });
        extracted(parts, step, keep)
    }
}

/// The future of an extractor that read the session (`step`) and ends with `finish`. Decided
/// before the future is returned: a session in the cache makes a future that is already done
/// (a few words inside the handler's future); only a refresh awaits.
fn extracted<T: Send + 'static>(
    parts: &Parts,
    step: Result<Result<Step, AuthRejection>, AuthRejection>,
    finish: fn(&Parts, HfUser) -> Result<T, AuthRejection>,
) -> Extracted<'_, T> {
    match step.and_then(|s| s) {
        Ok(Step::Ready(user)) => Extracted::Done(Some(finish(parts, user))),
        Ok(Step::Refresh(state, data)) => Extracted::Waiting(Box::pin(async move {
            finish(parts, refreshed(parts, &state, &data).await?)
        })),
        Err(e) => Extracted::Done(Some(Err(e))),
    }
}

/// Keeps `user` for the other extractors of the request.
fn keep(_: &Parts, user: HfUser) -> Result<HfUser, AuthRejection> {
    with_request(|ctx| {
        let _ = ctx.user.get_or_init(|| user.clone());
    })?;
    Ok(user)
}

/// An extractor's future: already done (the session was in the cache), or waiting for a
/// token refresh, which is rare, and boxed so that it does not make every handler's future
/// larger.
enum Extracted<'a, T> {
    Done(Option<Result<T, AuthRejection>>),
    Waiting(Pin<Box<dyn Future<Output = Result<T, AuthRejection>> + Send + 'a>>),
}

// The result is moved out, never pinned in place.
impl<T> Unpin for Extracted<'_, T> {}

impl<T> Future for Extracted<'_, T> {
    type Output = Result<T, AuthRejection>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Extracted::Done(out) => Poll::Ready(out.take().expect("polled after completion")),
            Extracted::Waiting(fut) => fut.as_mut().poll(cx),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for HfUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <HfUser as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(user) => Ok(Some(user)),
            Err(AuthRejection::NotSignedIn { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// What reading the session found: a user, or a session whose access token must be refreshed
/// first (with an owned handle on the state: the request's context is lent only to synchronous
/// code, never across the refresh's awaits).
enum Step {
    Ready(HfUser),
    Refresh(SharedState, Arc<SessionData>),
}

/// Reads the signed-in session of a request: synchronous, no allocation when the session is
/// in the cache. A missing, forged or ended session is "not signed in".
fn session_of(parts: &Parts, ctx: &RequestCtx) -> Result<Step, AuthRejection> {
    let state: &AuthState = &ctx.state;
    let Some(data) = state.cache.decode(&state.key, &parts.headers) else {
        return Err(AuthRejection::not_signed_in(parts, state));
    };
    let now = now_unix();
    if now >= data.session_ends_at {
        ctx.set_cookies(session::clear(&parts.headers, state.policy));
        return Err(AuthRejection::not_signed_in(parts, state));
    }
    if now >= data.expires_at {
        return Ok(Step::Refresh(ctx.state.clone(), data));
    }
    Ok(Step::Ready(HfUser(data)))
}

/// The session after refreshing its expired access token, with its new cookies queued; "not
/// signed in" (and the cookies cleared) when there is no refresh token or the refresh fails.
async fn refreshed(
    parts: &Parts,
    state: &AuthState,
    data: &SessionData,
) -> Result<HfUser, AuthRejection> {
    let fresh = refresh(state, data).await;
    let set = match &fresh {
        Some(fresh) => match session::write(&parts.headers, state.policy, &state.key, fresh) {
            Ok(set) => set,
            Err(e) => {
                tracing::warn!(error = %e, "could not store the refreshed session");
                Vec::new()
            }
        },
        None => session::clear(&parts.headers, state.policy),
    };
    with_request(|ctx| ctx.set_cookies(set))?;
    match fresh {
        Some(fresh) => Ok(HfUser(Arc::new(fresh))),
        None => Err(AuthRejection::not_signed_in(parts, state)),
    }
}

async fn refresh(state: &AuthState, old: &SessionData) -> Option<SessionData> {
    let Backend::Real(provider) = &state.backend else {
        return None;
    };
    let refresh_token = old.refresh_token.as_deref()?;
    let tokens = match provider.refresh(refresh_token).await {
        Ok(t) => t,
        Err(e) => {
            tracing::info!(user = %old.handle, error = %e, "refreshing the access token failed; the session ends");
            return None;
        }
    };
    // Memberships and roles may have changed since the login.
    let info = match provider.userinfo(&tokens.access_token, &old.sub).await {
        Ok(info) => info,
        Err(e) => {
            tracing::info!(user = %old.handle, error = %e, "userinfo after refresh failed; the session ends");
            return None;
        }
    };
    let mut fresh = crate::flow::session_from(state, tokens, info, old.session_ends_at);
    if fresh.refresh_token.is_none() {
        fresh.refresh_token = old.refresh_token.clone();
    }
    tracing::debug!(user = %fresh.handle, "refreshed the access token");
    Some(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::user_in_orgs;
    use hf_auth_scopes::mask_of;

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
        };
        assert!(check(&Requirement::SIGNED_IN, &s).is_ok());
        // granted write-repos includes read-repos
        assert!(check(&req(&["read-repos"], &[]), &s).is_ok());
        assert_eq!(
            check(&req(&["manage-repos", "read-repos", "jobs"], &[]), &s),
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
        assert!(check(&req(&[], ACME), &s).is_ok());
        assert!(check(&req(&[], ACME_WRITE), &s).is_ok());
        assert!(matches!(
            check(&req(&[], ACME_ADMIN), &s),
            Err(Denial::Org { org: "acme", .. })
        ));
        assert!(matches!(
            check(&req(&[], OTHER), &s),
            Err(Denial::Org { org: "other", .. })
        ));
        // an undisclosed role meets no role requirement
        s.orgs[0].role = None;
        assert!(check(&req(&[], ACME), &s).is_ok());
        assert!(check(&req(&[], ACME_WRITE), &s).is_err());
    }

    #[test]
    fn extra_scopes() {
        let mut s = user_in_orgs(0);
        let r = Requirement {
            scope_mask: 0,
            scopes: &["future-scope"],
            extra_scopes: &["future-scope"],
            orgs: &[],
        };
        assert_eq!(
            check(&r, &s),
            Err(Denial::MissingScopes(vec!["future-scope"]))
        );
        s.extra_scopes.push("future-scope".into());
        assert!(check(&r, &s).is_ok());
    }
}
