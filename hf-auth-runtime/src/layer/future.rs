//! The response future of [`HfAuthService`](super::HfAuthService).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::http::Response;

use crate::{context::RequestCtx, cookies};

pin_project_lite::pin_project! {
    /// The response future of [`HfAuthService`](super::HfAuthService): the inner service's,
    /// then the cookies the request's guards queued.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        ctx: Option<Arc<RequestCtx>>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, ctx: Arc<RequestCtx>) -> Self {
        ResponseFuture {
            inner,
            ctx: Some(ctx),
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
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
        if let Some(ctx) = this.ctx.take() {
            cookies::append(response.headers_mut(), ctx.take_cookies());
        }
        Poll::Ready(Ok(response))
    }
}
