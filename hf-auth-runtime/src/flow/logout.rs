//! `GET /oauth/huggingface/logout`: ends the session and goes back to a same-site page.

use axum::{
    extract::{OriginalUri, State},
    http::HeaderMap,
    response::Response,
};

use super::{misplaced, query::query_param, redirect};
use crate::{return_path::safe_return_path, session, state::SharedState};

pub(super) async fn logout(
    State(state): State<SharedState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = misplaced(uri.path(), &state.routes.logout, "logout") {
        return r;
    }
    let target = safe_return_path(query_param(uri.query(), "_target_url").as_deref()).to_owned();
    redirect(&target, session::clear(&headers, state.policy))
}
