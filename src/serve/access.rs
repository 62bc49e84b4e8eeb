//! The one access-log line per request: method, the route's template (never the raw path or
//! query, which could carry a number), status, time, station, client address, `client-gone`
//! when the client left before its answer, and a 5xx's reason; plus the request id header and
//! the in-flight gauge.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::client::{self, Peer};
use super::conn::Left;
use super::errors::Reason;
use super::metrics::Metrics;
use super::routes::Shared;
use crate::web::Station;

pub(super) async fn log(State(s): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let at = chrono::Utc::now();
    let id = s.ids.take();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(no route)".into());
    let client = req
        .extensions()
        .get::<Peer>()
        .map(|p| client::resolve(p.0, req.headers(), &s.trusted_proxies));
    // The pages brake failed sign-ins per client address.
    if let Some(c) = client {
        req.extensions_mut().insert(crate::web::ClientAddr(c));
    }
    // Set by the accept loop if the client leaves before its answer is ready (the request
    // runs on to its end on its own task: the work is done, so it is logged).
    let left = req.extensions().get::<Left>().cloned();
    // The gauge counts the requests being answered, not the read of it.
    let in_flight = (route != "/metrics").then(|| InFlight::new(s.metrics.clone()));
    let mut response = next.run(req).await;
    drop(in_flight);
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let station = response
        .extensions()
        .get::<Station>()
        .map(|s| crate::sanitize::sanitize(&s.0))
        .unwrap_or_else(|| "-".into());
    let status = response.status();
    let reason = status
        .is_server_error()
        .then(|| response.extensions().get::<Reason>().map(|r| r.0.clone()))
        .flatten();
    s.log.line(crate::render::serve::access_line(
        &crate::render::serve::Access {
            at,
            id: &id,
            method: method.as_str(),
            route: &route,
            status: status.as_u16(),
            millis: started.elapsed().as_millis(),
            station: &station,
            client: client.map(|c| c.to_string()).as_deref(),
            client_gone: left.is_some_and(|l| l.is_set()),
            reason: reason.as_deref(),
        },
        s.json_log,
    ));
    response
}

/// One request in the in-flight gauge, for as long as it lives (a panic included).
struct InFlight(Arc<Metrics>);

impl InFlight {
    fn new(metrics: Arc<Metrics>) -> InFlight {
        metrics.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(metrics)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
