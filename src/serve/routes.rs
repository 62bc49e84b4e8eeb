//! The HTTP surface: routes, the shared state, reading a bounded form body and Basic
//! credentials, and handing the work to the pool (the one log line per request is
//! [`super::access`]).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use base64::Engine;
use zeroize::Zeroizing;

use super::api::{self, Answer, Call, Creds, Form};
use super::errors::{ApiError, Reason};
use super::ids::RequestIds;
use super::log::AccessLog;
use super::metrics::Metrics;
use super::pool::{Refused, WorkerPool};
use super::shapes::Base;
use super::{attempts, exec, ext, params, resources};
use crate::app::App;
use crate::store::ApiKey;
use crate::store::health::Probe;
// The station a request acted as, for the log line (pages set it too).
use crate::web::Station;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 16 * 1024;

pub struct Shared {
    pub pool: WorkerPool,
    pub metrics: Arc<Metrics>,
    pub log: Arc<AccessLog>,
    pub service_sid: String,
    /// `https` with TLS, else `http`.
    pub scheme: &'static str,
    pub fallback_host: String,
    pub body_timeout: Duration,
    /// `[server] trusted_proxies`: peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `/healthz`'s own connection: checked off the workers, one check at a time.
    pub health: Arc<tokio::sync::Mutex<Probe>>,
    /// Each request's id: this run's random prefix and a counter.
    pub ids: RequestIds,
    /// The access log as JSON lines (`--log-format json`).
    pub json_log: bool,
    /// Twilio's status callbacks (`[twilio] status_callback_url`), when taken.
    pub callbacks: Option<super::twilio_status::Callbacks>,
}

/// The longest a `/healthz` answer waits for the probe (PostgreSQL's probe gives up on a lock
/// after 1 s, on a statement after 2 s, on connecting after 2 s).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

type St = State<Arc<Shared>>;

/// One route: its method, its path template and its handler.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub(super) handler: fn() -> MethodRouter<Arc<Shared>>,
}

const fn route(
    method: &'static str,
    path: &'static str,
    handler: fn() -> MethodRouter<Arc<Shared>>,
) -> Route {
    Route {
        method,
        path,
        handler,
    }
}

/// Every route the server answers. The router is built from this table, and the
/// authorisation matrix test (tests/it/serve/matrix.rs) reads it, so no route can be added
/// without its answers for every role and station being stated.
pub const ROUTES: &[Route] = &[
    route("POST", "/v2/Services/{ServiceSid}/Verifications", || {
        post(create)
    }),
    route(
        "POST",
        "/v2/Services/{ServiceSid}/VerificationCheck",
        || post(check),
    ),
    route(
        "GET",
        "/v2/Services/{ServiceSid}/Verifications/{Sid}",
        || get(fetch),
    ),
    route(
        "POST",
        "/v2/Services/{ServiceSid}/Verifications/{Sid}",
        || post(update),
    ),
    // Issue 26: the Verify resources around verifications (`resources.rs`).
    route("GET", "/v2/Services", || {
        top_get(params::LIST, resources::list_services)
    }),
    route("GET", "/v2/Services/{ServiceSid}", || {
        res_get(params::NONE, resources::fetch_service)
    }),
    route("POST", "/v2/Services/{ServiceSid}", || {
        res_post(params::SERVICE, resources::update_service)
    }),
    route("GET", "/v2/Services/{ServiceSid}/RateLimits", || {
        res_get(params::LIST, resources::list_rate_limits)
    }),
    route("POST", "/v2/Services/{ServiceSid}/RateLimits", || {
        res_post(params::RATE_LIMIT, resources::create_rate_limit)
    }),
    route(
        "GET",
        "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}",
        || res_get(params::NONE, resources::fetch_rate_limit),
    ),
    route(
        "POST",
        "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}",
        || res_post(params::RATE_LIMIT_UPDATE, resources::update_rate_limit),
    ),
    route(
        "DELETE",
        "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}",
        || res_delete(resources::delete_rate_limit),
    ),
    route(
        "GET",
        "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets",
        || res_get(params::LIST, resources::list_buckets),
    ),
    route(
        "POST",
        "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets",
        || res_post(params::BUCKET, resources::create_bucket),
    ),
    route(
        "GET",
        "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets/{Sid}",
        || res_get(params::NONE, resources::fetch_bucket),
    ),
    route(
        "POST",
        "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets/{Sid}",
        || res_post(params::BUCKET, resources::update_bucket),
    ),
    route(
        "DELETE",
        "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets/{Sid}",
        || res_delete(resources::delete_bucket),
    ),
    route("GET", "/v2/Attempts", || {
        top_get(params::ATTEMPTS, attempts::list)
    }),
    route("GET", "/v2/Attempts/Summary", || {
        top_get(params::SUMMARY, attempts::summary)
    }),
    route("GET", "/v2/Attempts/{Sid}", || {
        top_get(params::NONE, attempts::fetch)
    }),
    route("GET", "/otpd/v1/status", || get(ext_status)),
    route("GET", "/otpd/v1/limits", || get(ext_limits)),
    route("POST", "/otpd/v1/limits", || post(ext_limits)),
    route("POST", "/otpd/v1/unlock", || post(ext_unlock)),
    route("GET", "/otpd/v1/audit", || get(ext_audit)),
    route("POST", "/otpd/v1/audit", || post(ext_audit)),
    route("POST", "/otpd/v1/execute", || post(ext_execute)),
    route("POST", "/otpd/v1/twilio/status", || post(twilio_status)),
    route("GET", "/healthz", || get(healthz)),
    route("GET", "/metrics", || get(metrics)),
];

/// The pages run their work on the API's pool: one bound on workers and queue for both.
impl crate::web::Blocking for Shared {
    fn submit(&self, job: crate::web::Job) -> Result<(), crate::web::Busy> {
        self.pool.submit(job).map_err(|r| match r {
            Refused::Saturated => crate::web::Busy::Saturated,
            Refused::Lost => crate::web::Busy::Lost,
        })
    }
}

async fn create(State(s): St, Path(service): Path<String>, h: HeaderMap, b: Body) -> Response {
    s.call(&service, &h, b, params::CREATE, api::create).await
}

async fn check(State(s): St, Path(service): Path<String>, h: HeaderMap, b: Body) -> Response {
    s.call(&service, &h, b, params::CHECK, api::check).await
}

async fn fetch(
    State(s): St,
    Path((service, sid)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    s.call(
        &service,
        &h,
        Body::empty(),
        params::NONE,
        move |app, key, call| api::fetch(app, key, &sid, call),
    )
    .await
}

async fn update(
    State(s): St,
    Path((service, sid)): Path<(String, String)>,
    h: HeaderMap,
    b: Body,
) -> Response {
    s.call(&service, &h, b, params::UPDATE, move |app, key, call| {
        api::update(app, key, &sid, call)
    })
    .await
}

async fn ext_status(State(s): St, h: HeaderMap) -> Response {
    let service = s.service_sid.clone();
    s.call(&service, &h, Body::empty(), params::NONE, ext::status)
        .await
}

async fn ext_limits(State(s): St, h: HeaderMap, b: Body) -> Response {
    let service = s.service_sid.clone();
    s.call(&service, &h, b, params::PHONE, ext::limits).await
}

async fn ext_unlock(State(s): St, h: HeaderMap, b: Body) -> Response {
    let service = s.service_sid.clone();
    s.call(&service, &h, b, params::PHONE, ext::unlock).await
}

async fn ext_audit(State(s): St, h: HeaderMap, b: Body) -> Response {
    let service = s.service_sid.clone();
    s.call(&service, &h, b, params::AUDIT, ext::audit).await
}

async fn ext_execute(State(s): St, h: HeaderMap, b: Body) -> Response {
    let service = s.service_sid.clone();
    s.call(&service, &h, b, params::EXECUTE, exec::execute)
        .await
}

/// A resource handler of `resources.rs`: the path's parameters after the service SID.
type Op = fn(&mut App, &ApiKey, &Call, &[String]) -> Answer;

/// Runs `op` for a route under `/v2/Services/{ServiceSid}`, its query read as parameters too.
async fn resource(
    s: Arc<Shared>,
    path: Vec<String>,
    query: Option<String>,
    (h, b): (HeaderMap, Body),
    allowed: &'static [&'static str],
    op: Op,
) -> Response {
    let Some((service, rest)) = path.split_first() else {
        return ApiError::not_found("at this path").into_response();
    };
    let rest = rest.to_vec();
    s.call_q(
        Some(service),
        &h,
        query,
        b,
        allowed,
        move |app, key, call| op(app, key, call, &rest),
    )
    .await
}

fn res_get(allowed: &'static [&'static str], op: Op) -> MethodRouter<Arc<Shared>> {
    get(
        move |State(s): St, Path(p): Path<Vec<String>>, RawQuery(q): RawQuery, h: HeaderMap| {
            resource(s, p, q, (h, Body::empty()), allowed, op)
        },
    )
}

/// A route outside any service (`/v2/Services`, `/v2/Attempts…`): all its path parameters go
/// to `op`.
fn top_get(allowed: &'static [&'static str], op: Op) -> MethodRouter<Arc<Shared>> {
    get(
        move |State(s): St, p: Option<Path<Vec<String>>>, RawQuery(q): RawQuery, h: HeaderMap| async move {
            let p = p.map(|Path(p)| p).unwrap_or_default();
            s.call_q(
                None,
                &h,
                q,
                Body::empty(),
                allowed,
                move |app, key, call| op(app, key, call, &p),
            )
            .await
        },
    )
}

fn res_post(allowed: &'static [&'static str], op: Op) -> MethodRouter<Arc<Shared>> {
    post(
        move |State(s): St, Path(p): Path<Vec<String>>, h: HeaderMap, b: Body| {
            resource(s, p, None, (h, b), allowed, op)
        },
    )
}

fn res_delete(op: Op) -> MethodRouter<Arc<Shared>> {
    delete(
        move |State(s): St, Path(p): Path<Vec<String>>, h: HeaderMap| {
            resource(s, p, None, (h, Body::empty()), params::NONE, op)
        },
    )
}

/// Twilio's status callbacks: authenticated by Twilio's signature, not by a key.
async fn twilio_status(State(s): St, h: HeaderMap, b: Body) -> Response {
    let cx = super::twilio_status::Ctx {
        callbacks: s.callbacks.as_ref(),
        metrics: &s.metrics,
        pool: &s.pool,
        body_timeout: s.body_timeout,
        body_limit: BODY_LIMIT,
    };
    super::twilio_status::callback(cx, h, b).await
}

/// A read on the probe's own connection, on a blocking thread of its own: it never queues
/// behind the workers nor waits for the writers' lock. While a check is stuck (a dead server
/// not yet noticed), later ones wait for it at most [`HEALTH_TIMEOUT`] — one thread at most.
async fn healthz(State(s): St) -> Response {
    let probe = s.health.clone();
    let checked = tokio::time::timeout(HEALTH_TIMEOUT, async move {
        let mut probe = probe.lock_owned().await;
        tokio::task::spawn_blocking(move || probe.check().is_ok())
            .await
            .unwrap_or(false)
    })
    .await;
    let down = |why: &'static str| {
        let mut r = (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response();
        r.extensions_mut().insert(Reason(why.into()));
        r
    };
    match checked {
        Ok(true) => (StatusCode::OK, "ok\n").into_response(),
        Ok(false) => down("storage unreachable"),
        Err(_) => down("storage not answering"),
    }
}

async fn metrics(State(s): St) -> Response {
    let text = s.metrics.render(s.pool.depth(), s.log.dropped());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

impl Shared {
    /// Checks the service SID, reads the form and the credentials, then runs `op` on a worker
    /// after authenticating there — unless the form has a parameter not in `allowed` (the
    /// route's list in [`params`]): then 60200 naming it, once the credentials are known good.
    async fn call<F>(
        &self,
        service: &str,
        headers: &HeaderMap,
        body: Body,
        allowed: &'static [&'static str],
        op: F,
    ) -> Response
    where
        F: FnOnce(&mut App, &ApiKey, &Call) -> Answer + Send + 'static,
    {
        self.call_q(Some(service), headers, None, body, allowed, op)
            .await
    }

    /// [`Shared::call`] for a route that may have no service SID (`/v2/Attempts`) and whose
    /// query string carries parameters too (a list's filters and paging).
    async fn call_q<F>(
        &self,
        service: Option<&str>,
        headers: &HeaderMap,
        query: Option<String>,
        body: Body,
        allowed: &'static [&'static str],
        op: F,
    ) -> Response
    where
        F: FnOnce(&mut App, &ApiKey, &Call) -> Answer + Send + 'static,
    {
        if let Some(service) = service
            && service != self.service_sid
        {
            return ApiError::not_found(&format!("/Services/{}", clip(service))).into_response();
        }
        let mut form = match self.form(body).await {
            Ok(f) => f,
            Err(e) => return e.into_response(),
        };
        if let Some(q) = query.filter(|q| q.len() <= BODY_LIMIT) {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                form.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
        }
        let unsupported = params::unsupported(allowed, &form);
        let call = Call {
            creds: creds(headers),
            base: Base {
                origin: format!("{}://{}", self.scheme, self.host(headers)),
                service_sid: self.service_sid.clone(),
            },
            form,
            metrics: self.metrics.clone(),
        };
        let ran = self
            .pool
            .run(move |app| {
                let (answer, station) = match api::authorize(app, call.creds.as_ref()) {
                    Ok(key) => match unsupported {
                        Some(e) => (Err(e), Some(key.station)),
                        None => (op(app, &key, &call), Some(key.station)),
                    },
                    Err(e) => (Err(e), None),
                };
                (answer, station, app.take_warnings())
            })
            .await;
        let (answer, station) = match ran {
            Ok((answer, station, warnings)) => {
                // E.g. a key whose row fails its seal: one line each, naming no secret.
                for w in warnings {
                    let w = crate::render::error::warning(&w);
                    let at = chrono::Utc::now();
                    self.log
                        .line(crate::render::serve::note(at, &w, self.json_log));
                }
                (answer, station)
            }
            Err(Refused::Saturated) => (Err(ApiError::saturated()), None),
            Err(Refused::Lost) => (
                Err(ApiError::internal()
                    .because("the worker running this request stopped before answering")),
                None,
            ),
        };
        let mut response = match answer {
            Ok((StatusCode::NO_CONTENT, _)) => StatusCode::NO_CONTENT.into_response(),
            Ok((status, json)) => (status, axum::Json(json)).into_response(),
            Err(e) => e.into_response(),
        };
        if let Some(station) = station {
            response.extensions_mut().insert(Station(station));
        }
        response
    }

    /// The body as form fields, refusing more than [`BODY_LIMIT`] bytes or a body that is slow
    /// to arrive.
    async fn form(&self, body: Body) -> Result<Form, ApiError> {
        let read = axum::body::to_bytes(body, BODY_LIMIT);
        let bytes = match tokio::time::timeout(self.body_timeout, read).await {
            Ok(Ok(b)) => b,
            Ok(Err(_)) => return Err(ApiError::too_large(BODY_LIMIT)),
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    20408,
                    "The request body was too slow to arrive",
                ));
            }
        };
        let mut form = Form::new();
        for (k, v) in form_urlencoded::parse(&bytes) {
            form.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Ok(form)
    }

    /// The host the client addressed, for resource URLs (the listen address if the `Host`
    /// header is missing or odd).
    fn host(&self, headers: &HeaderMap) -> String {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .map(str::to_string)
            .unwrap_or_else(|| self.fallback_host.clone())
    }
}

/// A client-supplied word shortened and made safe for an error message.
fn clip(s: &str) -> String {
    crate::sanitize::sanitize(&s.chars().take(40).collect::<String>())
}

/// HTTP Basic `SID:secret`, if present and well-formed.
fn creds(headers: &HeaderMap) -> Option<Creds> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || b64.len() > 512 {
        return None;
    }
    let raw = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()?,
    );
    let text = std::str::from_utf8(&raw).ok()?;
    let (sid, secret) = text.split_once(':')?;
    Some(Creds {
        sid: sid.to_string(),
        secret: Zeroizing::new(secret.to_string()),
    })
}
