//! The router as a whole: every route of [`ROUTES`], the web pages beside them, the answers
//! for no route and a wrong method, and the access log around all of it.

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::response::IntoResponse;

use super::errors::ApiError;
use super::routes::{ROUTES, Shared};

/// The API's routes and, when given, the web pages' (`pages`, built by the crate root's
/// pages front-end over [`Shared`]'s pool), under one access log.
pub fn router(shared: Arc<Shared>, pages: Option<Router>) -> Router {
    let api = ROUTES
        .iter()
        .fold(Router::new(), |r, each| {
            r.route(each.path, (each.handler)())
        })
        .with_state(shared.clone());
    match pages {
        Some(pages) => api.merge(pages),
        None => api,
    }
    .fallback(|| async { ApiError::not_found("at this path").into_response() })
    .method_not_allowed_fallback(|| async { ApiError::method_not_allowed().into_response() })
    .layer(middleware::from_fn_with_state(shared, super::access::log))
}
