//! The use cases — send, resend, verify, status, cancel, limits, unlock — one file each. Each
//! decides with the pure domain, persists through the store's vocabulary ([`Tx`]) in short
//! write transactions together with its audit event, and returns a typed [`Outcome`]. Nothing
//! here prints or names a database; audit `detail` strings are data for the log. (Two hints
//! still ride in outcomes as text — `operator_action` and a status's `delivery_error` — until
//! `Outcome` carries them typed for the renderer to word.)
//!
//! The argon2 hash is never computed while the write lock is held: every terminal would queue
//! behind every other. Verify therefore counts the attempt in one short transaction, hashes,
//! then consumes in a second; the conditional updates make the second step safe.

pub mod attempts;
mod by_sid;
mod cancel;
mod events;
mod limits;
pub mod rate_limits;
mod refusal;
mod send;
pub mod settings;
mod status;
mod unlock;
mod verify;

use chrono::{DateTime, Utc};

use crate::crypto::{CodeHasher, HashError, Secrets};
use crate::delivery::Delivery;
use crate::domain::{Caller, Challenge, Limits, Outcome, PhoneNumber, Policy, Privilege, State};
use crate::store::audit::{Event, NewEvent};
use crate::store::{Backend, StoreError, Tx};

pub use events::Reported;
pub use refusal::Refusal;
pub use send::Wording;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// Everything a use case needs, borrowed from the application: a store and the read-only
/// context.
pub struct Service<'a> {
    store: &'a mut dyn Backend,
    cx: Ctx<'a>,
}

/// The read-only part of a [`Service`]; `Copy`, so transactions' closures can use it while
/// the store is borrowed mutably.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub secrets: &'a Secrets,
    pub hasher: &'a CodeHasher<'a>,
    pub delivery: &'a dyn Delivery,
    pub policy: &'a Policy,
    pub limits: &'a Limits,
    /// Who is asking: the station it acts as, and what it may see and do.
    pub caller: &'a Caller,
    /// The checked `[message]` settings every message is composed with.
    pub composer: &'a crate::message::Composer,
    /// `[events]`: the webhook sinks lifecycle events are queued for.
    pub events: &'a crate::config::events::EventsConfig,
}

/// Which verification a command names.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// This station's only pending one (else its only recently approved one).
    Current,
    /// This station's newest for the number.
    Phone(&'a PhoneNumber),
    /// One verification by its `VE…` SID: the caller's own station's, or any station's for an
    /// admin; only while it is its number's newest at its station.
    Sid(&'a str),
}

impl<'a> From<Option<&'a PhoneNumber>> for Which<'a> {
    fn from(phone: Option<&'a PhoneNumber>) -> Self {
        phone.map_or(Which::Current, Which::Phone)
    }
}

impl<'a> Which<'a> {
    /// The number the command named, for its answer and audit row.
    fn phone(self) -> Option<&'a PhoneNumber> {
        match self {
            Which::Phone(p) => Some(p),
            _ => None,
        }
    }
}

/// Which verification a command is about.
enum Target {
    One(Box<Challenge>),
    None,
    Many(usize),
}

impl<'a> Service<'a> {
    /// A service over `store` (any [`Backend`]: `&mut SqliteStore` coerces) with `cx`.
    pub fn new(store: &'a mut dyn Backend, cx: Ctx<'a>) -> Service<'a> {
        Service { store, cx }
    }

    /// `Some(refusal)` unless the caller may do `p`: every use case asks first, so no
    /// front-end has a rule of its own.
    fn refuse_unless(&self, p: Privilege) -> Option<Outcome> {
        self.cx
            .caller
            .require(p)
            .err()
            .map(|privilege| Outcome::Forbidden { privilege })
    }

    /// Audits that there was nothing to act on, and says so.
    fn no_pending(&mut self, now: DateTime<Utc>, which: Which<'_>) -> Result<Outcome> {
        let phone = which.phone();
        let cx = self.cx;
        self.store
            .transaction(|tx| cx.record(tx, now, Event::NoPending, phone, None, ""))?;
        Ok(Outcome::NoPending {
            phone: phone.cloned(),
        })
    }
}

impl Ctx<'_> {
    /// The station the caller acts as.
    pub fn station(&self) -> &str {
        &self.caller.station
    }

    /// Records `event` in the audit chain inside `tx`, so it commits (or rolls back) with the
    /// change it describes. `detail` is data for the log, never a code or a secret.
    fn record(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        event: Event,
        phone: Option<&PhoneNumber>,
        challenge_id: Option<i64>,
        detail: impl Into<String>,
    ) -> std::result::Result<(), StoreError> {
        let mut detail = detail.into();
        // The kiosk page's events name its key as well as its station (issue 22).
        if self.caller.role() == Some(crate::domain::Role::Kiosk)
            && let Some(sid) = self.caller.key_sid()
        {
            detail.push_str(&format!("; kiosk key {sid}"));
        }
        let e = NewEvent {
            at: now,
            station: self.station(),
            event,
            phone,
            challenge_id,
            detail,
        };
        let audit_id = tx.append_event(self.secrets, &e)?;
        self.publish(tx, &e, audit_id)
    }

    /// The verification a command means, as this caller may see it: this station's newest for
    /// the named number; a SID's, if the caller reaches its station and it is still its
    /// number's newest there; or — with neither — this station's only pending one (else its
    /// only recently approved one). Anything else is, to this caller, nothing at all.
    fn resolve(
        &self,
        tx: &mut dyn Tx,
        which: Which<'_>,
        now: DateTime<Utc>,
    ) -> std::result::Result<Target, StoreError> {
        let one = |ch: Option<Challenge>| match ch {
            Some(ch) => Target::One(Box::new(ch)),
            None => Target::None,
        };
        match which {
            Which::Phone(p) => return Ok(one(tx.latest_challenge(p, self.station())?)),
            Which::Sid(sid) => {
                let ch = match tx.challenge_by_sid(sid)? {
                    Some(ch) if self.caller.reaches(&ch.station) => ch,
                    _ => return Ok(Target::None),
                };
                let newest = tx.latest_challenge(&ch.phone, &ch.station)?;
                return Ok(one(newest.filter(|n| n.id == ch.id)));
            }
            Which::Current => {}
        }
        let recent = tx.recent_challenges(self.station(), now)?;
        let (pending, approved): (Vec<_>, Vec<_>) = recent
            .into_iter()
            .partition(|ch| ch.state == State::Pending);
        let pick = |mut v: Vec<Challenge>| match v.len() {
            0 => Target::None,
            1 => Target::One(Box::new(v.remove(0))),
            n => Target::Many(n),
        };
        Ok(match pick(pending) {
            Target::None => pick(approved),
            t => t,
        })
    }
}

/// A use case's failure as the application's error (the service sits above `error`).
impl From<ServiceError> for crate::error::Error {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(s) => crate::error::Error::Store(s),
            ServiceError::Hash(h) => crate::error::Error::Hash(h),
        }
    }
}

#[cfg(test)]
mod tests;
