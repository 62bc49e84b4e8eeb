//! The audit pages (issue 23): sign-in with an auditor or admin key, the events (newest
//! first, keyset pages, filters named as `otpd audit`'s options), the chain's status at the top
//! of every page, the per-day statistics with server-drawn charts, and the export links. Thin
//! handlers: read the query or form, run the core on the server's worker pool as the signed-in
//! key's caller (`App::audit_*`), render with [`view`] and [`stats`]; the wording is in
//! `render::audit_pages`.

mod session;
mod stats;
mod view;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::audit::Zone;
use crate::audit::args::{ExportFormat, ListArgs};
use crate::audit::export::{Capped, MAX_EXPORT_BYTES};
use crate::audit::watch::ChainWatch;
use crate::domain::sign_in_limit::SignInLimit;
use crate::render::audit_pages as words;
use crate::web::assets::{self, Asset};
use crate::web::{self, Mount, html};

use session::Visit;

/// The audit pages' script: the reader's zone, and the chain's progress while a check runs.
pub const SCRIPT: Asset = Asset {
    path: "/assets/audit.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_str!("audit.js"),
};

/// The most events one page lists.
const MAX_PAGE: u32 = 1000;

/// What the audit pages share across requests.
pub struct Shared {
    mount: Mount,
    watch: Arc<ChainWatch>,
    limit: Arc<Mutex<SignInLimit>>,
}

type St = State<Arc<Shared>>;

pub fn router(mount: Mount) -> Router {
    let shared = Arc::new(Shared {
        mount,
        watch: ChainWatch::new(),
        limit: Arc::default(),
    });
    Router::new()
        .route("/audit", get(|| async { html::see_other("/audit/") }))
        .route("/audit/", get(events))
        .route("/audit/stats", get(stats_page))
        .route("/audit/export.csv", get(export_csv))
        .route("/audit/export.json", get(export_json))
        .route("/audit/chain", get(chain))
        .route("/audit/check", post(check))
        .route("/audit/sign-in", post(session::sign_in))
        .route("/audit/sign-out", post(session::sign_out))
        .route(SCRIPT.path, assets::route(&SCRIPT))
        .with_state(shared)
}

/// A page's query: the zone (`tz`) and the rest, read as `otpd audit`'s options.
struct Query {
    zone: Zone,
    zone_name: String,
    args: ListArgs,
}

fn query(q: Option<&str>) -> Result<Query, String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let tz = pairs
        .iter()
        .find(|(k, _)| k == "tz")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "UTC".into());
    let zone = Zone::named(&tz).ok_or_else(|| words::bad_zone(&tz))?;
    let mut args = ListArgs::from_pairs(
        pairs
            .iter()
            .filter(|(k, _)| k != "tz")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(|e| words::bad_filter(&e))?;
    if args.limit > MAX_PAGE {
        return Err(words::bad_filter(&format!(
            "at most {MAX_PAGE} events a page"
        )));
    }
    if !q.unwrap_or("").contains("limit=") {
        args.limit = 50;
    }
    Ok(Query {
        zone,
        zone_name: tz,
        args,
    })
}

/// `GET /audit/`: the events page (or the sign-in page).
async fn events(State(s): St, req: Request) -> Response {
    let headers = req.headers().clone();
    let q = query(req.uri().query());
    let visit = Visit::read(&headers, &s);
    let watch = s.watch.clone();
    let config = s.mount.config.clone();
    let answer = session::signed_in(&s, &visit, move |app, key| {
        let q = match q {
            Ok(q) => q,
            Err(why) => return Ok(view::Body::Problem(why)),
        };
        let caller = key.caller();
        let page = match app.audit_page(&caller, &q.args, q.zone)? {
            Ok(p) => p,
            Err(_) => {
                return Ok(view::Body::Problem(words::not_for_review(
                    key.role.as_str(),
                )));
            }
        };
        let head = app.audit_head()?;
        session::start_check_once(&watch, app, &config);
        Ok(view::Body::Events(Box::new(view::Events {
            page,
            head,
            status: watch.status(),
            zone: q.zone,
            zone_name: q.zone_name,
            args: q.args,
        })))
    })
    .await;
    visit.respond(answer)
}

/// `GET /audit/stats`: the per-day figures and their charts.
async fn stats_page(State(s): St, req: Request) -> Response {
    let headers = req.headers().clone();
    let q = query(req.uri().query());
    let visit = Visit::read(&headers, &s);
    let watch = s.watch.clone();
    let config = s.mount.config.clone();
    let answer = session::signed_in(&s, &visit, move |app, key| {
        let q = match q {
            Ok(q) => q,
            Err(why) => return Ok(view::Body::Problem(why)),
        };
        let days = match app.audit_days(&key.caller(), &q.args.filter.time, q.zone)? {
            Ok(d) => d,
            Err(_) => {
                return Ok(view::Body::Problem(words::not_for_review(
                    key.role.as_str(),
                )));
            }
        };
        let head = app.audit_head()?;
        session::start_check_once(&watch, app, &config);
        Ok(view::Body::Stats(Box::new(view::StatsView {
            days,
            head,
            status: watch.status(),
            zone: q.zone,
            zone_name: q.zone_name,
            args: q.args,
        })))
    })
    .await;
    visit.respond(answer)
}

async fn export_csv(state: St, req: Request) -> Response {
    export(state, req, ExportFormat::Csv).await
}

async fn export_json(state: St, req: Request) -> Response {
    export(state, req, ExportFormat::Json).await
}

/// `GET /audit/export.csv|json`: what `otpd audit export` prints with the page's filter and
/// zone, byte for byte.
async fn export(State(s): St, req: Request, format: ExportFormat) -> Response {
    let headers = req.headers().clone();
    let q = query(req.uri().query());
    let visit = Visit::read(&headers, &s);
    let answer = session::signed_in(&s, &visit, move |app, key| {
        let q = match q {
            Ok(q) => q,
            Err(why) => return Ok(view::Body::Problem(why)),
        };
        let mut out = Capped::default();
        let r = app.audit_export(&key.caller(), &q.args.filter, format, q.zone, &mut out);
        if out.over {
            return Ok(view::Body::Problem(words::export_too_large(
                MAX_EXPORT_BYTES >> 20,
            )));
        }
        match r? {
            Ok(()) => Ok(view::Body::File(format, out.buf)),
            Err(_) => Ok(view::Body::Problem(words::not_for_review(
                key.role.as_str(),
            ))),
        }
    })
    .await;
    visit.respond(answer)
}

/// `GET /audit/chain`: the chain's status as JSON, for the page's script to keep the live
/// region current while a check runs.
async fn chain(State(s): St, req: Request) -> Response {
    let headers = req.headers().clone();
    let zone = query(req.uri().query())
        .map(|q| q.zone)
        .unwrap_or(Zone::Named(chrono_tz::UTC));
    let visit = Visit::read(&headers, &s);
    let watch = s.watch.clone();
    let answer = session::signed_in(&s, &visit, move |_, _| {
        let status = watch.status();
        let (line, detail) = words::chain_status(&status, zone);
        let (running, reached, head) = match status {
            crate::audit::watch::Status::Running { reached, head } => (true, reached, head),
            _ => (false, 0, 0),
        };
        Ok(view::Body::Json(serde_json::json!({
            "status": line,
            "detail": detail,
            "running": running,
            "reached": reached,
            "head": head,
        })))
    })
    .await;
    visit.respond(answer)
}

/// `POST /audit/check`: starts a check of the chain (unless one runs), then back to the page.
async fn check(State(s): St, req: Request) -> Response {
    let headers = req.headers().clone();
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .filter(|r| r.contains("/audit/"))
        .map(|_| "/audit/")
        .unwrap_or("/audit/");
    let form = match web::form::read(req.into_body()).await {
        Ok(f) => f,
        Err(_) => return view::problem(StatusCode::BAD_REQUEST, words::bad_form()),
    };
    let visit = Visit::read(&headers, &s);
    if !visit.csrf_ok(&form) {
        return view::problem(StatusCode::FORBIDDEN, words::bad_form());
    }
    let watch = s.watch.clone();
    let config = s.mount.config.clone();
    let answer = session::signed_in(&s, &visit, move |app, _| {
        session::start_check(&watch, app, &config);
        Ok(view::Body::Redirect(back.to_string()))
    })
    .await;
    visit.respond(answer)
}

/// A signed-in answer as a response.
fn render(body: view::Body, csrf_token: &str) -> Response {
    match body {
        view::Body::Events(e) => html::page(view::events(&e, csrf_token)),
        view::Body::Stats(s) => html::page(stats::page(&s, csrf_token)),
        view::Body::File(format, bytes) => {
            let (kind, name) = match format {
                ExportFormat::Csv => ("text/csv; charset=utf-8", "otpd-audit.csv"),
                ExportFormat::Json => ("application/x-ndjson", "otpd-audit.jsonl"),
            };
            let mut r = (StatusCode::OK, bytes).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        view::Body::Json(v) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            v.to_string(),
        )
            .into_response(),
        view::Body::Redirect(to) => html::see_other(&to),
        view::Body::Problem(why) => view::problem(StatusCode::BAD_REQUEST, &why),
    }
}
