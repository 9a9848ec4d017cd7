//! The request's context: what [`HfAuthLayer`](crate::HfAuthLayer) gives the guards and
//! extractors of one request (the shared state, the user once read, the `Set-Cookie` headers to
//! add to the response).
//!
//! It travels in the request's `Extensions`, so it reaches the handler whatever task polls it
//! (a `tokio::spawn` or a `Buffer` in between is fine), and the layer's response future holds
//! the other handle to collect the cookies.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, Mutex, OnceLock,
};

use axum::http::{request::Parts, HeaderValue};

use crate::{rejection::AuthRejection, state::SharedState, user::HfUser};

/// One request's context; shared by the request's extensions and the layer's response future.
pub(crate) struct RequestCtx {
    pub state: SharedState,
    /// The signed-in user, once a guard or extractor has read the session.
    pub user: OnceLock<HfUser>,
    set_cookies: Mutex<Vec<HeaderValue>>,
    /// Whether `set_cookies` holds any: most responses set none, and need no lock to say so.
    has_cookies: AtomicBool,
}

/// The handle on the context that the layer puts into the request's extensions.
#[derive(Clone)]
pub(crate) struct CtxHandle(pub Arc<RequestCtx>);

impl RequestCtx {
    pub fn new(state: SharedState) -> RequestCtx {
        RequestCtx {
            state,
            user: OnceLock::new(),
            set_cookies: Mutex::new(Vec::new()),
            has_cookies: AtomicBool::new(false),
        }
    }

    /// Queues `Set-Cookie` headers for the response.
    pub fn set_cookies(&self, headers: impl IntoIterator<Item = HeaderValue>) {
        let mut queued = self.set_cookies.lock().unwrap_or_else(|e| e.into_inner());
        queued.extend(headers);
        if !queued.is_empty() {
            self.has_cookies.store(true, Ordering::Release);
        }
    }

    /// The queued `Set-Cookie` headers, emptied.
    pub fn take_cookies(&self) -> Vec<HeaderValue> {
        if !self.has_cookies.swap(false, Ordering::Acquire) {
            return Vec::new();
        }
        std::mem::take(&mut *self.set_cookies.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The context of the request, or [`AuthRejection::NotAttached`] (500, logged) when no
/// [`HfAuthLayer`](crate::HfAuthLayer) is in front of the handler.
pub(crate) fn of(parts: &Parts) -> Result<&RequestCtx, AuthRejection> {
    match parts.extensions.get::<CtxHandle>() {
        Some(handle) => Ok(&handle.0),
        None => Err(AuthRejection::NotAttached),
    }
}
