//! The hot path, top to bottom: who is signed in, and may they call this handler?
//!
//! Every protected request runs [`session_of`] (find the session cookie, look it up in the
//! cache or decrypt it, check expiry) and [`Requirement::check_session`] (bit masks and a short
//! scan of the user's orgs). No provider call happens here unless the access token has expired
//! and a refresh token exists (then `refresh` takes over).

use std::{
    future::Future,
    marker::PhantomData,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};

use crate::{
    context::{self, RequestCtx},
    refresh,
    rejection::AuthRejection,
    requirement::RequirementSource,
    session::{self, now_unix},
    state::AuthState,
    user::HfUser,
};

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
        let parts: &Parts = parts;
        let step = context::of(parts).and_then(|ctx| session_of(parts, ctx));
        extracted(parts, step, admit::<R>)
    }
}

/// Checks `R`'s requirement for `user`, keeping the user for an `HfUser` parameter of the same
/// handler (the session is read once).
fn admit<R: RequirementSource>(parts: &Parts, user: HfUser) -> Result<Guarded<R>, AuthRejection> {
    let ctx = context::of(parts)?;
    if let Err(denial) = R::REQUIREMENT.check_parts(&user.0, parts) {
        tracing::debug!(user = %user.handle(), ?denial, "access denied");
        return Err(AuthRejection::denied(parts, &ctx.state, denial));
    }
    let _ = ctx.user.set(user);
    Ok(Guarded(PhantomData))
}

impl<S: Send + Sync> FromRequestParts<S> for HfUser {
    type Rejection = AuthRejection;

    fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        let parts: &Parts = parts;
        let step = context::of(parts).and_then(|ctx| match ctx.user.get() {
            Some(user) => Ok(Step::Ready(user.clone())),
            None => session_of(parts, ctx),
        });
        extracted(parts, step, keep)
    }
}

/// Keeps `user` for the other extractors of the request.
fn keep(parts: &Parts, user: HfUser) -> Result<HfUser, AuthRejection> {
    let _ = context::of(parts)?.user.get_or_init(|| user.clone());
    Ok(user)
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
/// first.
pub(crate) enum Step {
    Ready(HfUser),
    Refresh(HfUser),
}

/// Reads the signed-in session of a request: synchronous, no allocation when the session is
/// in the cache. A missing, forged or ended session is "not signed in".
pub(crate) fn session_of(parts: &Parts, ctx: &RequestCtx) -> Result<Step, AuthRejection> {
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
        return Ok(Step::Refresh(HfUser(data)));
    }
    Ok(Step::Ready(HfUser(data)))
}

/// The future of an extractor that read the session (`step`) and ends with `finish`. Decided
/// before the future is returned: a session in the cache makes a future that is already done
/// (a few words inside the handler's future); only a refresh awaits.
fn extracted<T: Send + 'static>(
    parts: &Parts,
    step: Result<Step, AuthRejection>,
    finish: fn(&Parts, HfUser) -> Result<T, AuthRejection>,
) -> Extracted<'_, T> {
    match step {
        Ok(Step::Ready(user)) => Extracted::Done(Some(finish(parts, user))),
        Ok(Step::Refresh(expired)) => Extracted::Waiting(Box::pin(async move {
            finish(parts, refresh::refreshed(parts, expired).await?)
        })),
        Err(e) => Extracted::Done(Some(Err(e))),
    }
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
