//! The service [`HfAuthLayer`](super::HfAuthLayer) wraps around the app.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use axum::http::{Request, Response};

use super::ResponseFuture;
use crate::{
    context::{CtxHandle, RequestCtx},
    state::SharedState,
};

/// The service of [`HfAuthLayer`](super::HfAuthLayer): gives each request its context.
#[derive(Clone)]
pub struct HfAuthService<S> {
    pub(super) inner: S,
    pub(super) state: SharedState,
}

impl<S> std::fmt::Debug for HfAuthService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfAuthService").finish_non_exhaustive()
    }
}

impl<S, B, R> tower_service::Service<Request<B>> for HfAuthService<S>
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
        let ctx = Arc::new(RequestCtx::new(self.state.clone()));
        req.extensions_mut().insert(CtxHandle(ctx.clone()));
        ResponseFuture::new(self.inner.call(req), ctx)
    }
}
