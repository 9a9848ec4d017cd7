//! The hot path, top to bottom: who is calling, and may they call this handler?
//!
//! Every protected request runs [`credentials_of`]: an API client's bearer token (looked up in
//! the token cache, `bearer`) or else the browser's session ([`session_of`]: find the session
//! cookie, look it up in the cache or decrypt it, check expiry); then
//! [`Requirement::check_session`] (bit masks and a short scan of the user's orgs). No provider
//! call happens here unless a token is not cached yet (whoami), or a session's access token has
//! expired and a refresh token exists (then `refresh` takes over).

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
    bearer::{bearer_token, token_text, BearerError},
    context::{self, RequestCtx},
    cross_site,
    error::Escaped,
    refresh,
    rejection::{AuthRejection, TokenProblem},
    requirement::{Accept, CrossSite, RequirementSource},
    session::{self, now_unix},
    state::AuthState,
    user::HfUser,
};

/// An extractor that lets the handler run only when the signed-in user meets
/// `R::REQUIREMENT`; otherwise it answers with an [`AuthRejection`]. The macros pair it with the
/// first extractor of the handlers they annotate (`(Guarded<R>, T)`), so it runs first. The user it found is kept for an [`HfUser`]
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
        let ctx = match context::of(parts) {
            Ok(ctx) => ctx,
            Err(e) => return Extracted::Done(Some(Err(e))),
        };
        let step = credentials_of(parts, ctx, R::REQUIREMENT.accept, R::REQUIREMENT.cross_site)
            // Incremental consent: a visitor who is not signed in is asked for what this
            // route needs at the first login.
            .map_err(|e| match ctx.state.incremental {
                true => e.with_login_scopes(R::REQUIREMENT.scopes),
                false => e,
            });
        extracted(parts, ctx, step, admit::<R>)
    }
}

/// Checks `R`'s requirement for `user`, keeping the user for an `HfUser` parameter of the same
/// handler (the session is read once).
fn admit<R: RequirementSource>(
    parts: &Parts,
    ctx: &RequestCtx,
    user: HfUser,
) -> Result<Guarded<R>, AuthRejection> {
    if let Err(denial) = R::REQUIREMENT.check_parts(&user.0, parts) {
        tracing::debug!(user = %Escaped::str(user.handle()), ?denial, "access denied");
        return Err(AuthRejection::denied(parts, &ctx.state, &user, denial));
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
        let ctx = match context::of(parts) {
            Ok(ctx) => ctx,
            Err(e) => return Extracted::Done(Some(Err(e))),
        };
        // Behind a guard of the same handler, the user it admitted.
        if let Some(user) = ctx.user.get() {
            return Extracted::Done(Some(Ok(user.clone())));
        }
        let step = credentials_of(parts, ctx, Accept::Any, CrossSite::Refuse);
        extracted(parts, ctx, step, keep)
    }
}

/// Keeps `user` for the other extractors of the request.
fn keep(_: &Parts, ctx: &RequestCtx, user: HfUser) -> Result<HfUser, AuthRejection> {
    let _ = ctx.user.get_or_init(|| user.clone());
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

/// What reading the credentials found: a user, a session whose access token must be refreshed
/// first, or a token not in the cache yet.
pub(crate) enum Step<'a> {
    Ready(HfUser),
    Refresh(HfUser),
    Identify(&'a str),
    /// A server-side session this replica has not cached: load it from the store.
    #[cfg(feature = "redis")]
    Load(crate::session::store::SessionId),
}

/// The request's credentials: a bearer token when there is an `Authorization` header (then
/// the cookies are ignored: an API client is never redirected to a login page, and the token
/// is not ambient, so cross-site rules do not apply), else the session cookie, refused for an
/// unsafe method from another site unless the route allows it (without a session, not signed
/// in, wherever the request comes from). Synchronous; a cached token
/// or session costs no allocation.
fn credentials_of<'a>(
    parts: &'a Parts,
    ctx: &RequestCtx,
    accept: Accept,
    cross_site: CrossSite,
) -> Result<Step<'a>, AuthRejection> {
    match bearer_token(&parts.headers) {
        Err(bad) => Err(AuthRejection::token(TokenProblem::Header(bad))),
        Ok(Some(_)) if accept == Accept::Session => {
            Err(AuthRejection::token(TokenProblem::NotAccepted))
        }
        Ok(Some(token)) => match ctx.state.bearer.cached(token) {
            Some(Ok(session)) => Ok(Step::Ready(HfUser(session))),
            Some(Err(e)) => Err(token_error(parts, e)),
            // Not in the cache: whoami is asked, with the token's text.
            None => token_text(token)
                .map(Step::Identify)
                .map_err(|bad| AuthRejection::token(TokenProblem::Header(bad))),
        },
        Ok(None) if accept == Accept::Token => Err(AuthRejection::token(TokenProblem::Missing)),
        Ok(None) => {
            // The session first: the cross-site rule is about requests that a session cookie
            // authenticates, so a request without one (or with one that opens no session) is
            // signed out, 401 like any other, wherever it comes from. A session found is
            // checked before it is refreshed or loaded, so another site triggers neither.
            let step = session_of(parts, ctx)?;
            if cross_site == CrossSite::Refuse {
                cross_site::check(&parts.method, &parts.headers, &ctx.state.trusted_origins)
                    .map_err(|reason| AuthRejection::cross_site(parts, reason))?;
            }
            Ok(step)
        }
    }
}

fn token_error(parts: &Parts, e: BearerError) -> AuthRejection {
    match e {
        BearerError::Unavailable { retry_after } => AuthRejection::unavailable(parts, retry_after),
        e => AuthRejection::token(TokenProblem::Token(e)),
    }
}

/// Reads the signed-in session of a request: synchronous, no allocation when the session is
/// in the cache. A missing, forged or ended session is "not signed in".
pub(crate) fn session_of<'a>(parts: &Parts, ctx: &RequestCtx) -> Result<Step<'a>, AuthRejection> {
    let state: &AuthState = &ctx.state;
    let names = state.policy.session_names();
    #[cfg(feature = "redis")]
    if let Some(server) = &state.server_sessions {
        use crate::session::server_side::Found;
        return match server.find(&state.key, &parts.headers, names) {
            Some(Found::Cached(data)) => timed(parts, ctx, data),
            Some(Found::Load(id)) => Ok(Step::Load(id)),
            None => Err(AuthRejection::not_signed_in(parts, state)),
        };
    }
    let data = state
        .cache
        .decode(&state.key, &parts.headers, names)
        .ok_or_else(|| AuthRejection::not_signed_in(parts, state))?;
    timed(parts, ctx, data)
}

/// A session's times: ended (its cookies cleared: not signed in), its access token expired
/// (to refresh), or ready.
fn timed<'a>(
    parts: &Parts,
    ctx: &RequestCtx,
    data: std::sync::Arc<crate::session::SessionData>,
) -> Result<Step<'a>, AuthRejection> {
    let state: &AuthState = &ctx.state;
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

/// The session's user for a page that shows who is signed in (no refresh, no rejection): an
/// expired session counts as signed in while a refresh can renew it (the next protected
/// request does).
pub(crate) async fn signed_in(parts: &Parts, ctx: &RequestCtx) -> Option<HfUser> {
    let step = session_of(parts, ctx);
    #[cfg(feature = "redis")]
    let step = match step {
        Ok(Step::Load(id)) => loaded(parts, ctx, &id).await,
        other => other,
    };
    match step {
        Ok(Step::Ready(user)) => Some(user),
        Ok(Step::Refresh(user)) => user.0.refresh_token.is_some().then_some(user),
        _ => None,
    }
}

/// The future of an extractor that read the session (`step`) and ends with `finish`. Decided
/// before the future is returned: a session in the cache makes a future that is already done
/// (a few words inside the handler's future); only a refresh awaits.
fn extracted<'a, T: Send + 'static>(
    parts: &'a Parts,
    ctx: &'a RequestCtx,
    step: Result<Step<'a>, AuthRejection>,
    finish: fn(&Parts, &RequestCtx, HfUser) -> Result<T, AuthRejection>,
) -> Extracted<'a, T> {
    match step {
        Ok(Step::Ready(user)) => Extracted::Done(Some(finish(parts, ctx, user))),
        Ok(Step::Refresh(expired)) => Extracted::Waiting(Box::pin(async move {
            finish(parts, ctx, refresh::refreshed(parts, expired).await?)
        })),
        Ok(Step::Identify(token)) => Extracted::Waiting(Box::pin(async move {
            let session = ctx
                .state
                .bearer
                .identify(token)
                .await
                .map_err(|e| token_error(parts, e))?;
            finish(parts, ctx, HfUser(session))
        })),
        #[cfg(feature = "redis")]
        Ok(Step::Load(id)) => Extracted::Waiting(Box::pin(async move {
            let user = match loaded(parts, ctx, &id).await? {
                Step::Refresh(expired) => refresh::refreshed(parts, expired).await?,
                Step::Ready(user) => user,
                // `timed` makes only the two above.
                _ => return Err(AuthRejection::not_signed_in(parts, &ctx.state)),
            };
            finish(parts, ctx, user)
        })),
        Err(e) => Extracted::Done(Some(Err(e))),
    }
}

/// A server-side session loaded from the store: gone (its cookie cleared: not signed in), or
/// its times checked; 503 with `Retry-After` when the store cannot be reached (never admitted
/// without the check).
#[cfg(feature = "redis")]
async fn loaded<'a>(
    parts: &Parts,
    ctx: &RequestCtx,
    id: &crate::session::store::SessionId,
) -> Result<Step<'a>, AuthRejection> {
    use crate::session::store::StoreError;
    let state: &AuthState = &ctx.state;
    let Some(server) = &state.server_sessions else {
        return Err(AuthRejection::not_signed_in(parts, state));
    };
    match server
        .load(&parts.headers, state.policy.session_names(), id)
        .await
    {
        Ok(data) => timed(parts, ctx, data),
        Err(StoreError::NotFound | StoreError::Expired | StoreError::Corrupt) => {
            ctx.set_cookies(session::clear(&parts.headers, state.policy));
            Err(AuthRejection::not_signed_in(parts, state))
        }
        Err(e) => {
            tracing::warn!(error = %e, "the session store could not be asked; answering 503");
            Err(AuthRejection::unavailable(parts, STORE_RETRY_AFTER))
        }
    }
}

/// What a 503 tells the client when the session store cannot be reached.
#[cfg(feature = "redis")]
const STORE_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

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
