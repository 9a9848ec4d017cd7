//! The one layer hf-auth adds to a router: it gives handlers and guards the shared state and a
//! place to put `Set-Cookie` headers (a login, a logout, a refreshed or ended session), and
//! appends those to the response. One allocation per request; no cookie is parsed here.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, OnceLock},
    task::{Context, Poll},
};

use axum::http::{header::SET_COOKIE, HeaderValue, Request, Response};

use crate::{state::SharedState, user::HfUser};

/// What a request carries from the layer: the shared state, and the cookies to set.
pub(crate) struct RequestCtx {
    pub state: SharedState,
    /// The signed-in user, once a guard or extractor has read the session.
    pub user: OnceLock<HfUser>,
    set_cookies: Mutex<Vec<HeaderValue>>,
}

impl RequestCtx {
    /// Queues `Set-Cookie` headers for the response.
    pub fn set_cookies(&self, headers: impl IntoIterator<Item = HeaderValue>) {
        self.set_cookies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(headers);
    }

    pub fn new(state: SharedState) -> Arc<RequestCtx> {
        Arc::new(RequestCtx {
            state,
            user: OnceLock::new(),
            set_cookies: Mutex::new(Vec::new()),
        })
    }
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

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let ctx = RequestCtx::new(self.state.clone());
        req.extensions_mut().insert(ctx.clone());
        ResponseFuture {
            inner: self.inner.call(req),
            ctx,
        }
    }
}

pin_project_lite::pin_project! {
    pub(crate) struct ResponseFuture<F> {
        #[pin]
        inner: F,
        ctx: Arc<RequestCtx>,
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.inner.poll(cx) {
            Poll::Ready(Ok(r)) => r,
            other => return other,
        };
        let queued = std::mem::take(
            &mut *this
                .ctx
                .set_cookies
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for value in queued {
            response.headers_mut().append(SET_COOKIE, value);
        }
        Poll::Ready(Ok(response))
    }
}
