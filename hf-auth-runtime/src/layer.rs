//! The one layer hf-auth adds to a router: it gives handlers and guards the shared state and a
//! place to put `Set-Cookie` headers (a login, a logout, a refreshed or ended session), and
//! appends those to the response. No cookie is parsed here.
//!
//! The request's context lives in the response future itself and is reached through a Tokio
//! task-local while that future is polled, so a request costs no allocation and no
//! `Extensions` entry: extractors run inside the poll of the future this layer wraps.

use std::{
    cell::{OnceCell, RefCell},
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::http::{header::SET_COOKIE, HeaderValue, Request, Response};
use tokio::task::futures::TaskLocalFuture;

use crate::{rejection::AuthRejection, state::SharedState, user::HfUser};

tokio::task_local! {
    /// The context of the request whose future is being polled, inside [`AuthService`].
    static REQUEST: RequestCtx;
}

/// What a request carries from the layer: the shared state, and the cookies to set.
pub(crate) struct RequestCtx {
    pub state: SharedState,
    /// The signed-in user, once a guard or extractor has read the session.
    pub user: OnceCell<HfUser>,
    set_cookies: RefCell<Vec<HeaderValue>>,
}

impl RequestCtx {
    pub fn new(state: SharedState) -> RequestCtx {
        RequestCtx {
            state,
            user: OnceCell::new(),
            set_cookies: RefCell::new(Vec::new()),
        }
    }

    /// Queues `Set-Cookie` headers for the response.
    pub fn set_cookies(&self, headers: impl IntoIterator<Item = HeaderValue>) {
        self.set_cookies.borrow_mut().extend(headers);
    }
}

/// Runs `f` with the context of the current request; [`AuthRejection::NotAttached`] outside a
/// router that [`HfAuth::attach`](crate::HfAuth::attach) layered.
pub(crate) fn with_request<R>(f: impl FnOnce(&RequestCtx) -> R) -> Result<R, AuthRejection> {
    REQUEST.try_with(f).map_err(|_| AuthRejection::NotAttached)
}

/// Runs `f` as if inside a request to a router attached to `state` (the bench hooks).
#[cfg(feature = "testing")]
pub(crate) fn in_request<R>(state: SharedState, f: impl FnOnce() -> R) -> R {
    REQUEST.sync_scope(RequestCtx::new(state), f)
}

#[derive(Clone)]
pub(crate) struct AuthLayer {
    pub state: SharedState,
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            state: self.state.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct AuthService<S> {
    inner: S,
    state: SharedState,
}

impl<S, B, R> tower_service::Service<Request<B>> for AuthService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // axum runs a handler's extractors when its future is polled, inside the scope.
        let ctx = RequestCtx::new(self.state.clone());
        ResponseFuture {
            inner: REQUEST.scope(ctx, self.inner.call(req)),
        }
    }
}

pin_project_lite::pin_project! {
    pub(crate) struct ResponseFuture<F> {
        #[pin]
        inner: TaskLocalFuture<RequestCtx, F>,
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.project().inner;
        let mut response = match inner.as_mut().poll(cx) {
            Poll::Ready(Ok(r)) => r,
            other => return other,
        };
        if let Some(ctx) = inner.take_value() {
            for value in ctx.set_cookies.into_inner() {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
        Poll::Ready(Ok(response))
    }
}
