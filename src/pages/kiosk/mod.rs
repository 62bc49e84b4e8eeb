//! The kiosk as a touchscreen page at `/kiosk/` (issue 22): the terminal kiosk's guided flow
//! and words in a browser, which acts as a kiosk key's station after opening the key's one-time
//! enrolment link (`/kiosk/enrol/TOKEN`: a device cookie, HttpOnly, SameSite=Strict, Secure
//! under TLS, scoped to `/kiosk/`). Every request checks the device on a pool worker (a revoked
//! key ends it there and then), then runs one step of the visit ([`visit::step`]) as the key's
//! [`Caller`] and renders the next screen ([`screens`]). Forms post and redirect (works with
//! JavaScript off); `kiosk.js` adds the keypad, the countdown and the idle warning.

mod screens;
mod visit;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::app::{App, Enrolled};
use crate::domain::{Caller, Role};
use crate::web::assets::{self, Asset};
use crate::web::{self, Busy, Mount, cookie, csrf, form, html};
use visit::Visit;

/// Where the page lives (the device cookie is scoped to it).
pub const PATH: &str = "/kiosk/";
/// The device cookie.
const COOKIE: &str = "otpd_kiosk";
/// The device cookie's life: a year (revoking the key ends it sooner).
const COOKIE_SECONDS: u64 = 365 * 24 * 3600;

/// The page's script: on-screen keypad, resend countdown, idle warning.
pub const SCRIPT: Asset = Asset {
    path: "/assets/kiosk.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_str!("kiosk.js"),
};

/// The visits in progress, one per enrolled browser (by its cookie's hash).
#[derive(Default)]
struct Visits(Mutex<HashMap<String, Visit>>);

struct Kiosk {
    mount: Mount,
    visits: Visits,
}

type St = State<Arc<Kiosk>>;

pub fn router(mount: Mount) -> Router {
    let state = Arc::new(Kiosk {
        mount,
        visits: Visits::default(),
    });
    Router::new()
        .route(PATH, get(show).post(act))
        .route("/kiosk", get(|| async { html::see_other(PATH) }))
        .route("/kiosk/enrol/{token}", get(enrol))
        .route(SCRIPT.path, assets::route(&SCRIPT))
        .with_state(state)
}

/// What a worker decided.
enum Reply {
    Page(html::Markup, Option<String>),
    Redirect(Option<String>),
    OutOfService,
}

async fn show(State(k): St, headers: HeaderMap) -> Response {
    k.answer(&headers, None).await
}

async fn act(State(k): St, headers: HeaderMap, body: Body) -> Response {
    match form::read(body).await {
        Ok(fields) => k.answer(&headers, Some(fields)).await,
        Err(form::FormError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE.into_response(),
        Err(form::FormError::TooSlow) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// Opens an enrolment link: once, before it expires, for a live kiosk key; else the
/// out-of-service page and no cookie.
async fn enrol(State(k): St, Path(token): Path<String>) -> Response {
    let well_formed = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return k.out_of_service();
    }
    let ran = web::run(k.mount.pool.as_ref(), move |app| app.enrol_device(&token)).await;
    match ran {
        Ok(Ok(Enrolled::Device { token, key })) => {
            let mut r = html::see_other(PATH);
            let c = cookie::set(COOKIE, &token, PATH, COOKIE_SECONDS, k.mount.tls);
            r.headers_mut().append(header::SET_COOKIE, c);
            r.extensions_mut().insert(web::Station(key.station));
            r
        }
        Ok(Ok(Enrolled::Refused)) => k.out_of_service(),
        Ok(Err(e)) => {
            let why = crate::render::error_text(&e);
            (k.mount.note)(&crate::render::error::warning(&format!(
                "kiosk enrolment: {why}"
            )));
            k.out_of_service()
        }
        Err(b) => busy(b),
    }
}

impl Kiosk {
    /// Checks the device, runs `form` (if any) as one step of its visit on a worker, and
    /// answers with the screen (GET) or a redirect to it (POST).
    async fn answer(self: &Arc<Self>, headers: &HeaderMap, form: Option<form::Fields>) -> Response {
        let Some(device) = cookie::read(headers, COOKIE).filter(|c| c.len() <= 128) else {
            return self.out_of_service();
        };
        let me = self.clone();
        let ran = web::run(self.mount.pool.as_ref(), move |app| {
            let reply = me.on_worker(app, &device, form.as_ref());
            let warnings = app.take_warnings();
            (reply, warnings)
        })
        .await;
        let (reply, warnings) = match ran {
            Ok(r) => r,
            Err(b) => return busy(b),
        };
        for w in warnings {
            // The operator's reason (a database error…), for the server's log.
            (self.mount.note)(&crate::render::error::warning(&w));
        }
        let station = |mut r: Response, s: Option<String>| {
            if let Some(s) = s {
                r.extensions_mut().insert(web::Station(s));
            }
            r
        };
        match reply {
            Reply::Page(markup, s) => station(html::page(markup), s),
            Reply::Redirect(s) => station(html::see_other(PATH), s),
            Reply::OutOfService => {
                let mut r = self.out_of_service();
                r.headers_mut().append(
                    header::SET_COOKIE,
                    cookie::clear(COOKIE, PATH, self.mount.tls),
                );
                r
            }
        }
    }

    fn on_worker(&self, app: &mut App, device: &str, form: Option<&form::Fields>) -> Reply {
        let key = match app.kiosk_device(device) {
            Ok(Some(key)) => key,
            Ok(None) => {
                self.visits.forget(device);
                return Reply::OutOfService;
            }
            // The visitor reads "out of service"; the operator's reason goes to the log.
            Err(e) => {
                app.warn(format!("kiosk page: {}", crate::render::error_text(&e)));
                return Reply::OutOfService;
            }
        };
        let now = app.now();
        let caller = Caller::key(key.station.clone(), key.sid.clone(), Role::Kiosk);
        let mut v = self.visits.take(app, device, now);
        let reply = match form {
            None => Reply::Page(screens::visit(app, &v, now), Some(key.station)),
            Some(fields) => {
                if csrf::matches(&v.csrf, fields.get(csrf::FIELD).map(String::as_str)) {
                    visit::step(app, &caller, &mut v, fields, now);
                }
                Reply::Redirect(Some(key.station))
            }
        };
        v.last_seen = now;
        self.visits.put(device, v);
        reply
    }

    fn out_of_service(&self) -> Response {
        let cfg = &self.mount.config;
        let locale = cfg
            .kiosk
            .locales
            .first()
            .copied()
            .unwrap_or(cfg.message.locale());
        html::with_status(StatusCode::FORBIDDEN, screens::out_of_service(locale))
    }
}

impl Visits {
    /// This device's visit, or a new one if there is none or it was left idle past its warning
    /// (what a previous visitor typed is gone then, even with the page's script off).
    fn take(&self, app: &App, device: &str, now: DateTime<Utc>) -> Visit {
        let idle = app.config().kiosk.idle_seconds + screens::WARN_SECONDS;
        let idle = TimeDelta::seconds(i64::try_from(idle).unwrap_or(i64::MAX / 1000));
        let found = self.lock().remove(&id(device));
        match found {
            Some(v) if now - v.last_seen <= idle => v,
            _ => Visit::new(app, now),
        }
    }

    fn put(&self, device: &str, v: Visit) {
        self.lock().insert(id(device), v);
    }

    fn forget(&self, device: &str) {
        self.lock().remove(&id(device));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Visit>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A device's key in memory: its cookie's hash (the cookie itself is not kept).
fn id(device: &str) -> String {
    hex::encode(Sha256::digest(device.as_bytes()))
}

fn busy(b: Busy) -> Response {
    let status = match b {
        Busy::Saturated => StatusCode::SERVICE_UNAVAILABLE,
        Busy::Lost => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut r = status.into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    r
}
