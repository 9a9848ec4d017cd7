//! The app's own hook at sign-in and sign-out ([`HfAuthBuilder::on_session_change`]), so that
//! data the app keeps per browser (a `tower-sessions` session, a cookie of its own) begins and
//! ends with the hf-auth session.
//!
//! [`HfAuthBuilder::on_session_change`]: crate::HfAuthBuilder::on_session_change

use std::{future::Future, pin::Pin, sync::Arc};

use axum::{
    http::request::Parts,
    response::{IntoResponse, IntoResponseParts, Response},
};

use crate::HfUser;

/// What just happened to the browser's hf-auth session, as the hook of
/// [`HfAuthBuilder::on_session_change`](crate::HfAuthBuilder::on_session_change) hears it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SessionChange {
    /// A session began: a login finished (the callback, or the mock login), a "Grant access"
    /// step-up included. The user may be another one than the browser's previous session's:
    /// compare [`HfUser::id`] with what your data belongs to before you keep it.
    SignedIn(HfUser),
    /// The logout route ended the session; the user, if the request carried a valid session.
    /// A logout that did not end it (the store unreachable, the confirmation page shown to a
    /// logout another site started) is no change and calls nothing.
    SignedOut(Option<HfUser>),
}

type BoxFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

/// The hook as the routes hold it: takes the event, the request's parts and hf-auth's answer,
/// and gives back the answer with what the app's own answer adds.
#[derive(Clone)]
pub(crate) struct SessionHook(
    Arc<dyn Fn(SessionChange, Parts, Response) -> BoxFuture + Send + Sync>,
);

impl SessionHook {
    pub(crate) fn new<F, Fut, R>(hook: F) -> SessionHook
    where
        F: Fn(SessionChange, Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoResponseParts + Send + 'static,
    {
        let hook = Arc::new(hook);
        SessionHook(Arc::new(move |change, parts, response| {
            let hook = hook.clone();
            Box::pin(async move {
                let added = hook(change, parts).await;
                // A part that cannot be added (an invalid header, say) is axum's error answer,
                // as in any handler that returned it.
                (added, response).into_response()
            })
        }))
    }

    /// Runs the hook, if one is set, and gives back the answer to send.
    pub(crate) async fn run(
        hook: Option<&SessionHook>,
        change: SessionChange,
        parts: Parts,
        response: Response,
    ) -> Response {
        match hook {
            Some(SessionHook(hook)) => hook(change, parts, response).await,
            None => response,
        }
    }
}

impl std::fmt::Debug for SessionHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionHook(..)")
    }
}
