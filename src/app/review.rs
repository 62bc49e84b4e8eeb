//! The audit pages' sign-in and sessions (issue 23): an auditor or admin key's secret is
//! checked once, at sign-in; the browser then holds a random session token whose keyed hash
//! alone is stored. A session ends after [`IDLE`] without a request, [`LIFETIME`] after
//! sign-in, on sign-out, and at once when its key is revoked (the key is re-checked on every
//! request, as the API checks it). Sign-ins, refused sign-ins and sign-outs are audit events.
//! A child of `app` so it reaches the store, the secrets, the clock and the RNG.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::SecretString;

use super::App;
use crate::audit::Zone;
use crate::audit::args::{
    AuditArgs, AuditCommand, ExportArgs, ExportFormat, FilterArgs, ListArgs, TimeArgs,
};
use crate::audit::query::Page;
use crate::audit::stats::Day;
use crate::clock::to_ms;
use crate::domain::{Caller, Privilege};
use crate::error::Error;
use crate::store::audit::{Event, NewEvent};
use crate::store::{ApiKey, Backend, Role};

/// A session ends after this long without a request.
pub const IDLE: TimeDelta = TimeDelta::minutes(15);
/// A session ends this long after its sign-in, however busy.
pub const LIFETIME: TimeDelta = TimeDelta::hours(8);

/// What a sign-in came to.
pub enum SignIn {
    /// Signed in: the token goes to the browser (a cookie) and nowhere else.
    Session { token: SecretString, key: ApiKey },
    /// No live key with that SID and secret.
    BadCredentials,
    /// The key is live but may not read the audit log (a station or kiosk key).
    NotForReview { role: Role },
}

/// Why a session no longer lets its holder in (the page says which, then asks to sign in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// No such session (never made, or deleted long after it ended).
    Unknown,
    SignedOut,
    Idle,
    Lifetime,
    /// Its key was revoked (or its row no longer matches its seal).
    KeyRevoked,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignIn::Session { key, .. } => write!(f, "Session({})", key.sid),
            SignIn::BadCredentials => f.write_str("BadCredentials"),
            SignIn::NotForReview { role } => write!(f, "NotForReview({})", role.as_str()),
        }
    }
}

/// A SID as the audit log records it when it may be anything a visitor typed: sanitised and
/// cut short.
fn typed_sid(sid: &str) -> String {
    let cut: String = sid.chars().take(40).collect();
    crate::sanitize::sanitize(&cut)
}

impl App {
    /// Signs in to the audit pages with an API key's SID and secret, from `client` (the
    /// client's address, recorded in the audit event).
    pub fn audit_sign_in(
        &mut self,
        sid: &str,
        secret: &str,
        client: &str,
    ) -> Result<SignIn, Error> {
        let key = self.authenticate(sid, secret)?;
        let me = self.config.station.clone();
        let Some(key) = key else {
            let detail = format!(
                "key {} from {client}: unknown key or wrong secret",
                typed_sid(sid)
            );
            self.review_event(&me, Event::SignInRefused, detail)?;
            return Ok(SignIn::BadCredentials);
        };
        if !key.caller().may(Privilege::ReadAudit) {
            let detail = format!(
                "key {} from {client}: a {} key may not read the audit log",
                key.sid,
                key.role.as_str()
            );
            self.review_event(&key.station, Event::SignInRefused, detail)?;
            return Ok(SignIn::NotForReview { role: key.role });
        }
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        self.rng.fill_bytes(&mut bytes[..]);
        let token = zeroize::Zeroizing::new(hex::encode(&bytes[..]));
        let hash = self.secrets.session_hash(&token);
        let detail = format!("key {} ({}) from {client}", key.sid, key.role.as_str());
        let (sid, station) = (key.sid.clone(), key.station.clone());
        self.unit_of_work(|app, now| {
            let secrets = &app.secrets;
            let store: &mut dyn Backend = app.store.backend();
            store.transaction(|tx| {
                tx.delete_sessions_before(to_ms(now - LIFETIME - TimeDelta::days(1)))?;
                tx.insert_session(&hash, &sid, to_ms(now))?;
                let e = NewEvent::about_nothing(now, &station, Event::SignedIn, detail.clone());
                tx.append_event(secrets, &e).map(|_| ())
            })
        })?;
        Ok(SignIn::Session {
            token: SecretString::from(token.as_str()),
            key,
        })
    }

    /// The key a session token stands for, if the session is live now (and records this
    /// request, which restarts the idle limit); else why not. A revoked key ends the session.
    pub fn audit_session(&mut self, token: &str) -> Result<Result<ApiKey, Ended>, Error> {
        let hash = self.secrets.session_hash(token);
        let now = self.clock.now();
        let stored = self.store.backend().snapshot(|tx| tx.session(&hash))?;
        let Some(s) = stored else {
            return Ok(Err(Ended::Unknown));
        };
        let ended = match s.ended_at {
            Some(_) => Some(Ended::SignedOut),
            None if to_ms(now) - s.created_at >= LIFETIME.num_milliseconds() => {
                Some(Ended::Lifetime)
            }
            None if to_ms(now) - s.last_seen >= IDLE.num_milliseconds() => Some(Ended::Idle),
            None => None,
        };
        if let Some(e) = ended {
            return Ok(Err(e));
        }
        let Some(key) = self.live_key(&s.key_sid)? else {
            self.store
                .backend()
                .transaction(|tx| tx.end_session(&hash, to_ms(now)).map(|_| ()))?;
            return Ok(Err(Ended::KeyRevoked));
        };
        self.store
            .backend()
            .transaction(|tx| tx.touch_session(&hash, to_ms(now)))?;
        Ok(Ok(key))
    }

    /// Ends a session (audited); `false` if it was not live.
    pub fn audit_sign_out(&mut self, token: &str, client: &str) -> Result<bool, Error> {
        let hash = self.secrets.session_hash(token);
        self.unit_of_work(|app, now: DateTime<Utc>| {
            let secrets = &app.secrets;
            let store: &mut dyn Backend = app.store.backend();
            Ok(store.transaction(|tx| {
                let Some(s) = tx.session(&hash)? else {
                    return Ok(false);
                };
                if !tx.end_session(&hash, to_ms(now))? {
                    return Ok(false);
                }
                let station = tx
                    .api_key(&s.key_sid)?
                    .map_or_else(|| app.config.station.clone(), |k| k.station);
                let detail = format!("key {} from {client}", s.key_sid);
                let e = NewEvent::about_nothing(now, &station, Event::SignedOut, detail);
                tx.append_event(secrets, &e)?;
                Ok(true)
            })?)
        })
    }

    /// The key `sid` if it is live: its row matches its seal and neither the row nor the audit
    /// log records a revocation.
    fn live_key(&mut self, sid: &str) -> Result<Option<ApiKey>, Error> {
        let (key, revoked) = self
            .store
            .backend()
            .snapshot(|tx| Ok((tx.api_key(sid)?, tx.key_revoked_at(sid)?)))?;
        Ok(key.filter(|k| {
            k.seal_matches(&self.secrets) && k.revoked_at.is_none() && revoked.is_none()
        }))
    }

    /// The chain check of `otpd audit verify` (with its default head file), reporting the last
    /// row id read into `progress`; the finishing time comes with the verdict.
    pub fn check_chain(&mut self, progress: Arc<AtomicI64>) -> crate::audit::watch::Outcome {
        let run = |app: &mut App| -> Result<crate::audit::verify::Report, Error> {
            let args = crate::audit::args::VerifyArgs::default();
            let (head, head_file) =
                crate::audit::head::for_verify(&args, &app.config.audit).map_err(Error::Usage)?;
            let mut report = crate::audit::verify::verify_watched(
                app.store.backend(),
                &app.secrets,
                head.as_ref(),
                progress.clone(),
            )?;
            report.head_file = head_file;
            Ok(report)
        };
        let r = run(self).map_err(|e| e.to_string());
        (self.clock.now(), r)
    }

    /// One newest-first page of the listing `args` asks for, as `caller` may read it (auditor
    /// and admin keys), with times read in `zone`: the rows `otpd audit --json` lists.
    pub fn audit_page(
        &mut self,
        caller: &Caller,
        args: &ListArgs,
        zone: Zone,
    ) -> Result<Result<Page, Privilege>, Error> {
        if let Err(p) = caller.require(Privilege::ReadAudit) {
            return Ok(Err(p));
        }
        let now = self.clock.now();
        let region = self.config.phone.default_region;
        let page = crate::audit::query::list(
            self.store.backend(),
            &self.secrets,
            args,
            (now, zone),
            region,
        )?;
        Ok(Ok(page))
    }

    /// The per-day statistics of `otpd audit stats` for `caller` (from the rollup).
    pub fn audit_days(
        &mut self,
        caller: &Caller,
        time: &TimeArgs,
        zone: Zone,
    ) -> Result<Result<Vec<Day>, Privilege>, Error> {
        if let Err(p) = caller.require(Privilege::ReadAudit) {
            return Ok(Err(p));
        }
        let f = crate::audit::query::time_filter(time, self.clock.now(), zone)?;
        Ok(Ok(crate::audit::stats::stats(
            self.store.backend(),
            &f,
            zone,
        )?))
    }

    /// `otpd audit export` with the filter of `args` in `format`, for `caller`: the bytes the
    /// command prints with the same options and zone.
    pub fn audit_export(
        &mut self,
        caller: &Caller,
        filter: &FilterArgs,
        format: ExportFormat,
        zone: Zone,
        out: &mut dyn std::io::Write,
    ) -> Result<Result<(), Privilege>, Error> {
        if let Err(p) = caller.require(Privilege::ReadAudit) {
            return Ok(Err(p));
        }
        let args = AuditArgs {
            command: Some(AuditCommand::Export(ExportArgs {
                format,
                filter: filter.clone(),
            })),
            list: ListArgs::default(),
        };
        self.audit_in(&args, false, zone, out)?;
        Ok(Ok(()))
    }

    /// The newest audit row's id and MAC.
    pub fn audit_head(&mut self) -> Result<Option<(i64, String)>, Error> {
        Ok(self.store.backend().snapshot(|tx| tx.audit_head())?)
    }

    fn review_event(&mut self, station: &str, event: Event, detail: String) -> Result<(), Error> {
        self.unit_of_work(|app, now| {
            let secrets = &app.secrets;
            let store: &mut dyn Backend = app.store.backend();
            let e = NewEvent::about_nothing(now, station, event, detail.clone());
            Ok(store.transaction(|tx| tx.append_event(secrets, &e).map(|_| ()))?)
        })
    }
}
