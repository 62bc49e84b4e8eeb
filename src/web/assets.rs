//! Static assets, compiled into the binary (no CDN, no file to deploy beside it): the one
//! stylesheet and each page's script, at fixed paths under `/assets/`, served by the pages'
//! router with the same headers as the pages (CSP `'self'` allows them).

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// The pages' one stylesheet.
pub const STYLE: Asset = Asset {
    path: "/assets/pages.css",
    content_type: "text/css; charset=utf-8",
    body: include_str!("assets/pages.css"),
};

/// `asset` as an answer.
pub fn respond(asset: &'static Asset) -> Response {
    ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
}

/// A route for `asset`: `router.route(asset.path, assets::route(&ASSET))`.
pub fn route<S: Clone + Send + Sync + 'static>(
    asset: &'static Asset,
) -> axum::routing::MethodRouter<S> {
    axum::routing::get(move || async move { respond(asset) })
}
