//! [`HfAuthLayer`]: the middleware that lets guards and extractors of hf-auth find their
//! configuration, and adds the cookies they set to the response.

mod future;
mod service;

pub use future::ResponseFuture;
pub use service::HfAuthService;

use crate::state::SharedState;

/// The middleware the guards (`#[hf_login]`, `#[require_org]`, [`HfUser`](crate::HfUser)) need
/// in front of them. [`HfAuth::layer`](crate::HfAuth::layer) makes one; it is cheap to clone.
///
/// It reads no cookie and calls no provider: for each request it puts a small context into the
/// request's extensions (the configuration, and a place for `Set-Cookie` headers), and appends
/// the cookies queued there to the response, with `Cache-Control: private, no-store`. A guard
/// reached without it answers 500 and logs that the layer is missing, never admits.
///
/// Use it like any tower layer: [`Router::layer`](axum::Router::layer),
/// [`Router::route_layer`](axum::Router::route_layer), or inside a
/// `tower::ServiceBuilder` with other middleware.
///
/// ```
/// use axum::{routing::get, Router};
/// use hf_auth_runtime::{hf_login, HfAuth, HfUser};
///
/// #[hf_login]
/// async fn me(user: HfUser) -> String { user.handle().to_owned() }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let auth = HfAuth::builder().build().await.unwrap(); // mock mode: no credentials
/// let api = Router::new().route("/me", get(me));
/// let app: Router = Router::new()
///     .nest("/api", api)
///     .merge(auth.routes())
///     .layer(auth.layer());
/// # }
/// ```
#[derive(Clone)]
pub struct HfAuthLayer {
    pub(crate) state: SharedState,
}

impl std::fmt::Debug for HfAuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfAuthLayer").finish_non_exhaustive()
    }
}

impl<S> tower_layer::Layer<S> for HfAuthLayer {
    type Service = HfAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HfAuthService {
            inner,
            state: self.state.clone(),
        }
    }
}
