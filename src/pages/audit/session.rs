//! Who is reading the audit pages: the session cookie (its token checked by the core on every
//! request), the CSRF cookie every form echoes, sign-in (braked per client address) and
//! sign-out, and running a page's work on the server's pool as the signed-in key.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use secrecy::ExposeSecret;

use super::view::{self, Body};
use super::{Shared, St};
use crate::app::App;
use crate::app::review::{Ended, LIFETIME, SignIn};
use crate::audit::watch::{ChainWatch, Status};
use crate::config::Config;
use crate::error::Error;
use crate::render::audit_pages as words;
use crate::store::ApiKey;
use crate::web::{self, ClientAddr, cookie, csrf, form::Fields};

/// The session cookie (its value is the token the core knows only hashed).
const SESSION: &str = "otpd_audit";
/// The CSRF cookie; every form carries its value in [`csrf::FIELD`].
const CSRF: &str = "otpd_audit_csrf";
/// Where both cookies are sent.
const PATH: &str = "/audit/";

/// One request's cookies.
pub(super) struct Visit {
    token: Option<String>,
    pub(super) csrf: String,
    /// Set when this answer must give the browser a CSRF cookie.
    new_csrf: bool,
    tls: bool,
}

/// What running a page as the signed-in key came to.
pub(super) enum Answer {
    Page(Body, String),
    /// No live session: the sign-in page, with why the last one ended.
    SignIn(Option<Ended>),
    Busy,
    Failed,
}

impl Visit {
    pub(super) fn read(headers: &HeaderMap, s: &Shared) -> Visit {
        let token = cookie::read(headers, SESSION).filter(|t| !t.is_empty());
        let (csrf, new_csrf) = match cookie::read(headers, CSRF).filter(|c| c.len() == 64) {
            Some(c) => (c, false),
            None => (csrf::token(), true),
        };
        Visit {
            token,
            csrf,
            new_csrf,
            tls: s.mount.tls,
        }
    }

    /// Whether a form carries this visit's CSRF token (and the browser sent the cookie).
    pub(super) fn csrf_ok(&self, form: &Fields) -> bool {
        !self.new_csrf && csrf::matches(&self.csrf, form.get(csrf::FIELD).map(String::as_str))
    }

    /// The answer as a response, with the cookies this visit must set.
    pub(super) fn respond(&self, answer: Answer) -> Response {
        let mut r = match answer {
            Answer::Page(body, station) => {
                let mut r = super::render(body, &self.csrf);
                r.extensions_mut().insert(web::Station(station));
                r
            }
            Answer::SignIn(ended) => {
                let msg = ended.and_then(words::ended);
                let mut r = view::sign_in(StatusCode::OK, msg, &self.csrf, "");
                if self.token.is_some() {
                    r.headers_mut()
                        .append(header::SET_COOKIE, cookie::clear(SESSION, PATH, self.tls));
                }
                r
            }
            Answer::Busy => view::problem(StatusCode::SERVICE_UNAVAILABLE, words::busy()),
            Answer::Failed => view::problem(StatusCode::INTERNAL_SERVER_ERROR, words::failed()),
        };
        self.set_csrf(&mut r);
        r
    }

    fn set_csrf(&self, r: &mut Response) {
        if self.new_csrf {
            let max_age = LIFETIME.num_seconds() as u64;
            r.headers_mut().append(
                header::SET_COOKIE,
                cookie::set(CSRF, &self.csrf, PATH, max_age, self.tls),
            );
        }
    }
}

/// Runs `f` on a pool worker as the key of this visit's live session; the sign-in page when
/// there is none.
pub(super) async fn signed_in(
    s: &Shared,
    visit: &Visit,
    f: impl FnOnce(&mut App, &ApiKey) -> Result<Body, Error> + Send + 'static,
) -> Answer {
    let Some(token) = visit.token.clone() else {
        return Answer::SignIn(None);
    };
    let ran = web::run(&*s.mount.pool, move |app| {
        let key = match app.audit_session(&token)? {
            Ok(key) => key,
            Err(ended) => return Ok(Err(ended)),
        };
        let station = key.station.clone();
        Ok(Ok((f(app, &key)?, station)))
    })
    .await;
    match ran {
        Ok(Ok(Ok((body, station)))) => Answer::Page(body, station),
        Ok(Ok(Err(ended))) => Answer::SignIn(Some(ended)),
        Ok(Err::<_, Error>(_)) => Answer::Failed,
        Err(_) => Answer::Busy,
    }
}

/// Starts a chain check on a thread of its own (with its own connection to the store), unless
/// one runs.
pub(super) fn start_check(watch: &Arc<ChainWatch>, app: &mut App, config: &Arc<Config>) {
    let head = app.audit_head().ok().flatten().map_or(0, |(id, _)| id);
    let config = config.clone();
    watch.start(head, move |progress| {
        match App::for_process((*config).clone()) {
            Ok(mut app) => app.check_chain(progress),
            Err(e) => (chrono::Utc::now(), Err(e.to_string())),
        }
    });
}

/// The first page after the server starts checks the chain, so its status is never unknown
/// for long.
pub(super) fn start_check_once(watch: &Arc<ChainWatch>, app: &mut App, config: &Arc<Config>) {
    if matches!(watch.status(), Status::Never) {
        start_check(watch, app, config);
    }
}

/// What a sign-in attempt came to, with the address it came from.
enum Tried {
    In(SignIn),
    Braked(chrono::DateTime<chrono::Utc>),
}

/// `POST /audit/sign-in`: the key SID and secret, checked once; a session cookie on success.
pub(super) async fn sign_in(State(s): St, req: Request) -> Response {
    let headers = req.headers().clone();
    let addr = req
        .extensions()
        .get::<ClientAddr>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0);
    let visit = Visit::read(&headers, &s);
    let form = match web::form::read(req.into_body()).await {
        Ok(f) => f,
        Err(_) => return refuse(&visit, StatusCode::BAD_REQUEST, words::bad_form(), ""),
    };
    if !visit.csrf_ok(&form) {
        return refuse(&visit, StatusCode::FORBIDDEN, words::bad_form(), "");
    }
    let sid = form
        .get("sid")
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let secret = zeroize::Zeroizing::new(form.get("secret").cloned().unwrap_or_default());
    if sid.is_empty() || secret.is_empty() {
        return refuse(
            &visit,
            StatusCode::BAD_REQUEST,
            words::missing_field(),
            &sid,
        );
    }
    let limit = s.limit.clone();
    let typed = sid.clone();
    let ran = web::run(&*s.mount.pool, move |app| {
        let now = app.now();
        let braked = limit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .check(addr, now);
        if let Some(until) = braked {
            return Ok(Tried::Braked(until));
        }
        let r = app.audit_sign_in(&typed, &secret, &addr.to_string())?;
        if !matches!(r, SignIn::Session { .. }) {
            limit
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .failed(addr, now);
        }
        Ok::<_, Error>(Tried::In(r))
    })
    .await;
    let zone = crate::audit::Zone::Named(chrono_tz::UTC);
    match ran {
        Err(_) => refuse(&visit, StatusCode::SERVICE_UNAVAILABLE, words::busy(), &sid),
        Ok(Err(_)) => refuse(
            &visit,
            StatusCode::INTERNAL_SERVER_ERROR,
            words::failed(),
            &sid,
        ),
        Ok(Ok(Tried::Braked(until))) => refuse(
            &visit,
            StatusCode::TOO_MANY_REQUESTS,
            &words::too_many_failures(until, zone),
            &sid,
        ),
        Ok(Ok(Tried::In(SignIn::BadCredentials))) => refuse(
            &visit,
            StatusCode::UNAUTHORIZED,
            words::bad_credentials(),
            &sid,
        ),
        Ok(Ok(Tried::In(SignIn::NotForReview { role }))) => refuse(
            &visit,
            StatusCode::FORBIDDEN,
            &words::not_for_review(role.as_str()),
            &sid,
        ),
        Ok(Ok(Tried::In(SignIn::Session { token, key }))) => {
            let mut r = crate::web::html::see_other("/audit/");
            let max_age = LIFETIME.num_seconds() as u64;
            r.headers_mut().append(
                header::SET_COOKIE,
                cookie::set(SESSION, token.expose_secret(), PATH, max_age, visit.tls),
            );
            visit.set_csrf(&mut r);
            r.extensions_mut().insert(web::Station(key.station));
            r
        }
    }
}

fn refuse(visit: &Visit, status: StatusCode, msg: &str, sid: &str) -> Response {
    let mut r = view::sign_in(status, Some(msg), &visit.csrf, sid);
    visit.set_csrf(&mut r);
    r
}

/// `POST /audit/sign-out`: ends the session (audited) and clears its cookie.
pub(super) async fn sign_out(State(s): St, req: Request) -> Response {
    let headers = req.headers().clone();
    let addr = req
        .extensions()
        .get::<ClientAddr>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0);
    let visit = Visit::read(&headers, &s);
    let form = match web::form::read(req.into_body()).await {
        Ok(f) => f,
        Err(_) => return refuse(&visit, StatusCode::BAD_REQUEST, words::bad_form(), ""),
    };
    if !visit.csrf_ok(&form) {
        return view::problem(StatusCode::FORBIDDEN, words::bad_form());
    }
    if let Some(token) = visit.token.clone() {
        let ran = web::run(&*s.mount.pool, move |app| {
            app.audit_sign_out(&token, &addr.to_string())
        })
        .await;
        if !matches!(ran, Ok(Ok(_))) {
            return view::problem(StatusCode::SERVICE_UNAVAILABLE, words::busy());
        }
    }
    let mut r = view::sign_in(
        StatusCode::OK,
        words::ended(Ended::SignedOut),
        &visit.csrf,
        "",
    );
    r.headers_mut()
        .append(header::SET_COOKIE, cookie::clear(SESSION, PATH, visit.tls));
    visit.set_csrf(&mut r);
    r
}
