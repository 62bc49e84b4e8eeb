//! The web pages `otpd serve` serves beside its API: a front-end like the prompt and the kiosk
//! (parse a form → call the core as the signed-in caller → render HTML from the same outcomes
//! and locale files), composed by the crate root and handed to the server, which mounts it
//! under its access log, its connection guards and its worker pool. What every page shares
//! (headers, CSRF, cookies, assets, escaping) is in [`crate::web`], below both.

mod audit;
mod kiosk;

use axum::Router;
use axum::middleware;

use crate::web::{Mount, assets, headers};

/// Every page's routes, each answer with the security headers.
pub fn router(mount: Mount) -> Router {
    // The pages mount here (the kiosk page, the audit pages), each given `mount`.
    Router::new()
        .route(assets::STYLE.path, assets::route(&assets::STYLE))
        .merge(kiosk::router(mount.clone()))
        .merge(audit::router(mount))
        .layer(middleware::from_fn(headers::secure))
}
