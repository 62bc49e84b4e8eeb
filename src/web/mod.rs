//! What every web page `otpd serve` serves shares, below the front-ends so the pages front-end
//! (`crate::pages`) and the server (`crate::serve`) both use it without importing each other:
//! the seam to the server's bounded worker pool ([`Blocking`]), the security headers every page
//! carries ([`headers`]), CSRF tokens ([`csrf`]), cookies ([`cookie`]), the embedded static
//! assets ([`assets`]), HTML written with escaping by construction ([`html`]) and bounded form
//! bodies ([`form`]). Nothing here knows a page: the kiosk page and the audit pages build on it.

pub mod assets;
pub mod cookie;
pub mod csrf;
pub mod form;
pub mod headers;
pub mod html;

use std::sync::Arc;

use crate::app::App;
use crate::config::Config;

/// Work for a pool worker: it runs on that worker's own [`App`] (argon2 and the store block,
/// so they never run on the async threads).
pub type Job = Box<dyn FnOnce(&mut App) + Send>;

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// Every worker is busy and the queue is full.
    Saturated,
    /// The job panicked or the server is stopping.
    Lost,
}

/// The server's bounded worker pool, as the pages see it.
pub trait Blocking: Send + Sync {
    /// Queues `job`, or refuses at once when the queue is full.
    fn submit(&self, job: Job) -> Result<(), Busy>;
}

/// Runs `f` on a worker of `pool` and waits (asynchronously) for its answer.
pub async fn run<T: Send + 'static>(
    pool: &dyn Blocking,
    f: impl FnOnce(&mut App) -> T + Send + 'static,
) -> Result<T, Busy> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    pool.submit(Box::new(move |app| {
        let _ = reply.send(f(app));
    }))?;
    answer.await.map_err(|_| Busy::Lost)
}

/// What the server hands the pages when it mounts them: its pool, whether it speaks TLS
/// (cookies are then `Secure`), the configuration it was started with, and its log (a line
/// for the operator — a database error behind a page — written without blocking).
#[derive(Clone)]
pub struct Mount {
    pub pool: Arc<dyn Blocking>,
    pub tls: bool,
    pub config: Arc<Config>,
    pub note: Arc<dyn Fn(&str) + Send + Sync>,
}

/// Builds the pages' routes for a server (the crate root passes `pages::router`).
pub type Pages = fn(Mount) -> axum::Router;

/// The client's address as the server resolved it (through trusted proxies), set on each
/// request for the pages (the audit pages brake failed sign-ins per address).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub std::net::IpAddr);

/// The station a request acted as, set on a response for the server's access log line.
#[derive(Clone, Debug)]
pub struct Station(pub String);
