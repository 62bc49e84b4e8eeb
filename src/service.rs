//! The use cases — send, resend, verify, status, cancel — each one function that decides with
//! the pure domain, persists in short `BEGIN IMMEDIATE` transactions with its audit event, and
//! returns an [`Outcome`]. Nothing here prints.
//!
//! The argon2 hash is never computed while the write lock is held: every terminal would queue
//! behind every other. Verify therefore counts the attempt in one short transaction, hashes,
//! then consumes in a second; the conditional `UPDATE`s make the second step safe.

use chrono::{DateTime, Utc};
use rand::CryptoRng;
use rusqlite::Connection;

use crate::crypto::{CodeHasher, HashError, Secrets};
use crate::delivery::{Delivery, DeliveryError, Message};
use crate::domain::challenge::ceil_seconds;
use crate::domain::limits::{Limit, LimitRefusal, Wait};
use crate::domain::outcome::{
    Counter, LimitsView, LockedView, NumberView, PendingView, RefusalView,
};
use crate::domain::{Challenge, Channel, Code, Gate, Limits, Outcome, PhoneNumber, Policy, State};
use crate::store::audit::{self, Event, NewEvent};
use crate::store::challenges::{self, NewChallenge};
use crate::store::limits::{self as ledger, Counting};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// Everything a use case needs, borrowed from the application.
pub struct Service<'a> {
    pub store: &'a mut Store,
    pub cx: Ctx<'a>,
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
    pub station: &'a str,
}

/// Which verification a command is about.
enum Target {
    One(Box<Challenge>),
    None,
    Many(usize),
}

/// Why a send is refused before anything is hashed or sent.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub event: Event,
    pub limit: LimitRefusal,
}

/// Whole seconds to wait; 0 when only an operator or a config change helps.
fn wait_seconds(w: Wait) -> i64 {
    match w {
        Wait::For(d) => ceil_seconds(d),
        Wait::Operator | Wait::Config => 0,
    }
}

/// The command that lifts an operator-gated refusal.
fn operator_action(l: Limit) -> Option<String> {
    match l {
        Limit::Paused | Limit::Conversion => Some("otpd limits resume".into()),
        Limit::NumberNeedsUnlock => Some("otpd unlock PHONE".into()),
        Limit::Country => Some("add the country to limits.allowed_countries".into()),
        _ => None,
    }
}

impl Refusal {
    fn outcome(&self, phone: &PhoneNumber) -> Outcome {
        let l = &self.limit;
        if l.limit == Limit::Country {
            return Outcome::CountryBlocked {
                phone: phone.clone(),
                country: phone.region().unwrap_or("none").to_string(),
                reason: l.reason.clone(),
            };
        }
        Outcome::RateLimited {
            phone: Some(phone.clone()),
            retry_after_seconds: wait_seconds(l.wait),
            reason: l.reason.clone(),
            limit: Some(l.limit),
            operator_action: operator_action(l.limit),
        }
    }

    fn detail(&self) -> String {
        let l = &self.limit;
        match l.wait {
            Wait::For(d) => format!(
                "{} ({}); retry after {} s",
                l.reason,
                l.limit.key(),
                ceil_seconds(d)
            ),
            Wait::Operator | Wait::Config => {
                format!("{} ({}); needs an operator", l.reason, l.limit.key())
            }
        }
    }
}

/// The result of persisting a new code, before delivery.
enum Issued {
    Ready {
        id: i64,
        generation: i64,
        attempts_left: u32,
        resent: bool,
        expires_at: DateTime<Utc>,
    },
    Refused(Refusal),
    NotLive(Outcome),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `send`: start a verification, or renew the live one for this number.
    Send,
    /// `resend`: renew the live one; never start a new one.
    Resend,
}

impl<'a> Ctx<'a> {
    fn event<'e>(
        &'e self,
        now: DateTime<Utc>,
        event: Event,
        phone: Option<&'e PhoneNumber>,
        challenge_id: Option<i64>,
        detail: impl Into<String>,
    ) -> NewEvent<'e> {
        NewEvent {
            at: now,
            station: self.station,
            event,
            phone,
            challenge_id,
            detail: detail.into(),
        }
    }

    fn audit(&self, c: &Connection, e: &NewEvent<'_>) -> rusqlite::Result<i64> {
        audit::append(c, self.secrets, e)
    }

    fn resolve(
        &self,
        c: &Connection,
        phone: Option<&PhoneNumber>,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<Target> {
        if let Some(p) = phone {
            return Ok(match challenges::latest_for_phone(c, p)? {
                Some(ch) => Target::One(Box::new(ch)),
                None => Target::None,
            });
        }
        let recent = challenges::recent_for_station(c, self.station, now)?;
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

    /// Send-time limits. Checked once without the write lock (so a refusal costs no hash) and
    /// again inside the transaction that issues the code (so terminals cannot race past them).
    /// The country allow-list comes first; then every counter in `store::limits`.
    fn send_refusal(
        &self,
        c: &Connection,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        live: Option<&Challenge>,
    ) -> rusqlite::Result<Option<Refusal>> {
        if let Some(limit) = self.limits.country_refusal(phone) {
            return Ok(Some(Refusal {
                event: Event::CountryBlocked,
                limit,
            }));
        }
        let keys = ledger::Keys::new(self.secrets, self.limits, phone);
        let usage = ledger::usage(c, self.limits, &keys, self.station, now, Counting::Decide)?;
        if let Some(limit) = self.limits.decide(&usage, now) {
            return Ok(Some(Refusal {
                event: Event::RateLimited,
                limit,
            }));
        }
        // The live code's own cooldown (also covers codes issued before the ledger existed).
        if let Some(ch) = live
            && let Err(wait) = ch.resend_gate(now, self.policy.resend_cooldown)
        {
            return Ok(Some(Refusal {
                event: Event::RateLimited,
                limit: LimitRefusal {
                    limit: Limit::Backoff,
                    wait: Wait::For(wait),
                    reason: "resend cooldown".into(),
                    trips_pause: false,
                },
            }));
        }
        Ok(None)
    }

    /// Verify's failure accounting across codes: a wrong code counts towards the number's
    /// lock-out (audited when it locks); an approval converts the send and resets the number.
    fn count_result(
        &self,
        tx: &Connection,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        challenge_id: i64,
        event: Event,
    ) -> rusqlite::Result<()> {
        let key = self.secrets.phone_key(phone.e164());
        match event {
            Event::Approved => ledger::record_success(tx, &key, challenge_id),
            Event::Invalid => {
                let before = ledger::number_state(tx, &key)?;
                let effect = self.limits.after_failure(&before, now);
                ledger::record_failure(tx, &key, phone, &effect)?;
                if effect.newly_locked {
                    let how = match effect.locked_until {
                        _ if effect.needs_unlock => {
                            "until an operator runs otpd unlock (limits.failures_before_unlock)"
                                .to_string()
                        }
                        Some(until) => format!(
                            "for {} s (limits.max_failures_per_number)",
                            ceil_seconds(until - now)
                        ),
                        None => String::new(),
                    };
                    self.audit(
                        tx,
                        &self.event(
                            now,
                            Event::NumberLocked,
                            Some(phone),
                            Some(challenge_id),
                            format!("{} wrong codes in a row; locked {how}", effect.failures),
                        ),
                    )?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn conversion_trips(&self, tx: &Connection, now: DateTime<Utc>) -> rusqlite::Result<bool> {
        let u = ledger::station_usage(tx, self.limits, self.station, now, Counting::Decide)?;
        Ok(u.paused.is_none() && self.limits.conversion_trip(&u.conversion).is_some())
    }

    /// Audits a refusal inside the caller's write transaction; a tripped conversion guard
    /// is persisted (and audited once) here too.
    fn record_refusal(
        &self,
        tx: &Connection,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        challenge_id: Option<i64>,
        r: &Refusal,
    ) -> rusqlite::Result<()> {
        // The refusal may come from the lock-free pre-check: pause only if the guard still
        // trips under the lock (an operator may have resumed in between).
        if r.limit.trips_pause
            && self.conversion_trips(tx, now)?
            && ledger::pause(tx, now, &r.limit.reason)?
        {
            self.audit(
                tx,
                &self.event(now, Event::LimitsPaused, None, None, r.limit.reason.clone()),
            )?;
        }
        self.audit(
            tx,
            &self.event(now, r.event, Some(phone), challenge_id, r.detail()),
        )?;
        Ok(())
    }
}

impl Service<'_> {
    fn refused(&mut self, now: DateTime<Utc>, phone: &PhoneNumber, r: Refusal) -> Result<Outcome> {
        let cx = self.cx;
        self.store
            .write(|tx| cx.record_refusal(tx, now, phone, None, &r))?;
        Ok(r.outcome(phone))
    }

    /// `send PHONE [channel]`: a new code. If this number already has a live verification, the
    /// new code replaces its code and keeps its attempt count (a fresh send must not reset the
    /// budget an attacker has spent).
    pub fn send<R: CryptoRng + ?Sized>(
        &mut self,
        now: DateTime<Utc>,
        rng: &mut R,
        phone: &PhoneNumber,
        channel: Channel,
    ) -> Result<Outcome> {
        self.issue(now, rng, phone, channel, Mode::Send)
    }

    /// `resend [PHONE]`: a new code for the pending verification; the old code stops working
    /// at once and the attempts already spent stay spent.
    pub fn resend<R: CryptoRng + ?Sized>(
        &mut self,
        now: DateTime<Utc>,
        rng: &mut R,
        phone: Option<&PhoneNumber>,
    ) -> Result<Outcome> {
        let cx = self.cx;
        let target = self.store.read(|tx| cx.resolve(tx, phone, now))?;
        let ch = match target {
            Target::One(ch) if ch.state == State::Pending => ch,
            Target::Many(n) => return Ok(Outcome::PhoneRequired { pending: n }),
            Target::One(_) | Target::None => return self.no_pending(now, phone),
        };
        self.issue(now, rng, &ch.phone, ch.channel, Mode::Resend)
    }

    fn issue<R: CryptoRng + ?Sized>(
        &mut self,
        now: DateTime<Utc>,
        rng: &mut R,
        phone: &PhoneNumber,
        channel: Channel,
        mode: Mode,
    ) -> Result<Outcome> {
        let cx = self.cx;
        // 1. Refuse cheaply, before hashing.
        let pre = self.store.read(|tx| {
            let latest = challenges::latest_for_phone(tx, phone)?;
            let live = latest.filter(|c| c.is_live(now));
            if mode == Mode::Resend && live.is_none() {
                return Ok(Err(()));
            }
            Ok(Ok(cx.send_refusal(tx, now, phone, live.as_ref())?))
        })?;
        match pre {
            Err(()) => return self.resend_not_live(now, phone),
            Ok(Some(refusal)) => return self.refused(now, phone, refusal),
            Ok(None) => {}
        }

        // 2. The new code and its hash, outside the lock.
        let code = Code::generate(cx.policy.code_length, rng);
        let code_hash = cx.hasher.hash(&code)?;
        let expires_at = now + cx.policy.ttl;

        // 3. Decide again under the lock, persist, audit — then commit before delivering.
        let issued = self.store.write(|tx| {
            let latest = challenges::latest_for_phone(tx, phone)?;
            let live = latest.as_ref().filter(|c| c.is_live(now));
            if let Some(r) = cx.send_refusal(tx, now, phone, live)? {
                cx.record_refusal(tx, now, phone, live.map(|c| c.id), &r)?;
                return Ok(Issued::Refused(r));
            }
            let keys = ledger::Keys::new(cx.secrets, cx.limits, phone);
            match live {
                Some(ch) => {
                    challenges::reissue(tx, ch.id, channel, &code_hash, now, expires_at)?;
                    ledger::record_send(tx, cx.limits, &keys, phone, cx.station, ch.id, now)?;
                    cx.audit(
                        tx,
                        &cx.event(
                            now,
                            Event::Resent,
                            Some(phone),
                            Some(ch.id),
                            format!("{channel}; resend {}", ch.resends + 1),
                        ),
                    )?;
                    Ok(Issued::Ready {
                        id: ch.id,
                        generation: ch.generation + 1,
                        attempts_left: ch.attempts_left(),
                        resent: true,
                        expires_at,
                    })
                }
                None if mode == Mode::Resend => Ok(Issued::NotLive(Outcome::NoPending {
                    phone: Some(phone.clone()),
                })),
                None => {
                    let id = challenges::insert(
                        tx,
                        &NewChallenge {
                            phone,
                            station: cx.station,
                            channel,
                            code_hash: &code_hash,
                            code_length: code.len(),
                            now,
                            expires_at,
                            max_attempts: cx.policy.max_attempts,
                        },
                    )?;
                    ledger::record_send(tx, cx.limits, &keys, phone, cx.station, id, now)?;
                    cx.audit(
                        tx,
                        &cx.event(now, Event::Sent, Some(phone), Some(id), channel.as_str()),
                    )?;
                    Ok(Issued::Ready {
                        id,
                        generation: 1,
                        attempts_left: cx.policy.max_attempts,
                        resent: false,
                        expires_at,
                    })
                }
            }
        })?;

        let (id, generation, attempts_left, resent, expires_at) = match issued {
            Issued::Ready {
                id,
                generation,
                attempts_left,
                resent,
                expires_at,
            } => (id, generation, attempts_left, resent, expires_at),
            Issued::Refused(r) => return Ok(r.outcome(phone)),
            Issued::NotLive(o) => return Ok(o),
        };

        // 4. Deliver (no lock held), then record what happened.
        let message = Message {
            to: phone,
            channel,
            code: &code,
            expires_at,
            valid_for_seconds: (expires_at - now).num_seconds(),
            station: cx.station,
            challenge_id: id,
        };
        let result = cx.delivery.deliver(&message);
        drop(code);
        let name = cx.delivery.name();
        // Every request the provider saw (SID, error code, HTTP status) goes into the event.
        let attempts = crate::delivery::describe_attempts(match &result {
            Ok(receipt) => &receipt.attempts,
            Err(e) => e.attempts(),
        });
        let with_attempts = |mut detail: String| {
            if !attempts.is_empty() {
                detail.push_str(&format!(" [{attempts}]"));
            }
            detail
        };
        self.store.write(|tx| match &result {
            Ok(receipt) => {
                challenges::set_delivery(
                    tx,
                    id,
                    generation,
                    receipt.status.as_deref().unwrap_or("sent"),
                    receipt.provider_ref.as_deref(),
                )?;
                let mut detail = format!("{name}: {}", receipt.detail);
                if let Some(r) = &receipt.provider_ref {
                    detail.push_str(&format!("; ref {r}"));
                }
                cx.audit(
                    tx,
                    &cx.event(
                        now,
                        Event::Delivered,
                        Some(phone),
                        Some(id),
                        with_attempts(detail),
                    ),
                )
                .map(|_| ())
            }
            Err(DeliveryError::Unknown { message, .. }) => {
                challenges::set_delivery(tx, id, generation, "unknown", None)?;
                cx.audit(
                    tx,
                    &cx.event(
                        now,
                        Event::DeliveryUnknown,
                        Some(phone),
                        Some(id),
                        with_attempts(format!("{name}: {message}")),
                    ),
                )
                .map(|_| ())
            }
            Err(e @ DeliveryError::Failed { .. }) => {
                challenges::set_delivery(tx, id, generation, "failed", None)?;
                challenges::close(tx, id, generation, State::Failed)?;
                cx.audit(
                    tx,
                    &cx.event(
                        now,
                        Event::DeliveryFailed,
                        Some(phone),
                        Some(id),
                        with_attempts(format!("{name}: {e}")),
                    ),
                )
                .map(|_| ())
            }
        })?;

        Ok(match result {
            Ok(receipt) => Outcome::Sent {
                phone: phone.clone(),
                channel,
                code_length: cx.policy.code_length,
                expires_at,
                expires_in_seconds: (expires_at - now).num_seconds(),
                attempts_left,
                resent,
                delivery: name.to_string(),
                provider_ref: receipt.provider_ref,
            },
            Err(DeliveryError::Unknown { message, .. }) => Outcome::DeliveryUnknown {
                phone: phone.clone(),
                channel,
                expires_at,
                reason: crate::sanitize::sanitize(&message),
            },
            Err(e) => Outcome::DeliveryFailed {
                phone: phone.clone(),
                channel,
                provider_code: e.provider_code(),
                reason: crate::sanitize::sanitize(&e.to_string()),
            },
        })
    }

    fn resend_not_live(&mut self, now: DateTime<Utc>, phone: &PhoneNumber) -> Result<Outcome> {
        let cx = self.cx;
        let latest = self
            .store
            .read(|tx| challenges::latest_for_phone(tx, phone))?;
        match latest {
            Some(ch) if ch.state == State::Pending && !ch.is_expired(now) && ch.is_locked() => {
                self.store.write(|tx| {
                    cx.audit(
                        tx,
                        &cx.event(
                            now,
                            Event::Locked,
                            Some(phone),
                            Some(ch.id),
                            "resend refused",
                        ),
                    )
                })?;
                Ok(Outcome::Locked {
                    phone: phone.clone(),
                })
            }
            _ => self.no_pending(now, Some(phone)),
        }
    }

    fn no_pending(&mut self, now: DateTime<Utc>, phone: Option<&PhoneNumber>) -> Result<Outcome> {
        let cx = self.cx;
        self.store
            .write(|tx| cx.audit(tx, &cx.event(now, Event::NoPending, phone, None, "")))?;
        Ok(Outcome::NoPending {
            phone: phone.cloned(),
        })
    }

    /// `verify CODE [PHONE]`.
    pub fn verify(
        &mut self,
        now: DateTime<Utc>,
        phone: Option<&PhoneNumber>,
        code: &Code,
    ) -> Result<Outcome> {
        let cx = self.cx;
        enum Step {
            Done(Outcome),
            Check(Box<Challenge>, Gate),
            Decoy,
        }
        // 1. Find the verification, apply the gate, count the attempt — one short transaction.
        let step = self.store.write(|tx| {
            let ch = match cx.resolve(tx, phone, now)? {
                Target::One(ch) => ch,
                Target::Many(n) => return Ok(Step::Done(Outcome::PhoneRequired { pending: n })),
                Target::None => return Ok(Step::Decoy),
            };
            // A number locked by wrong codes across codes: refused without a hash.
            let number = ledger::number_state(tx, &cx.secrets.phone_key(ch.phone.e164()))?;
            if let Some(wait) = cx.limits.number_lock(&number, now) {
                let (limit, how) = match wait {
                    Wait::For(d) => (
                        Limit::NumberLocked,
                        format!("retry after {} s", ceil_seconds(d)),
                    ),
                    _ => (Limit::NumberNeedsUnlock, "needs an operator".to_string()),
                };
                cx.audit(
                    tx,
                    &cx.event(
                        now,
                        Event::Locked,
                        Some(&ch.phone),
                        Some(ch.id),
                        format!(
                            "number locked after {} wrong codes in a row ({}); {how}",
                            number.failures,
                            limit.key()
                        ),
                    ),
                )?;
                return Ok(Step::Done(Outcome::NumberLocked {
                    phone: ch.phone,
                    consecutive_failures: number.failures,
                    retry_after_seconds: wait_seconds(wait),
                    operator_action: operator_action(limit),
                }));
            }
            match ch.verify_gate(now) {
                Gate::Attempt => {
                    if challenges::count_attempt(tx, ch.id, ch.generation)? {
                        Ok(Step::Check(ch, Gate::Attempt))
                    } else {
                        // Spent or replaced since it was read (not possible inside IMMEDIATE,
                        // but the conditional update is the guarantee, not the read).
                        cx.audit(
                            tx,
                            &cx.event(now, Event::Locked, Some(&ch.phone), Some(ch.id), ""),
                        )?;
                        Ok(Step::Done(Outcome::Locked { phone: ch.phone }))
                    }
                }
                Gate::Locked => {
                    cx.audit(
                        tx,
                        &cx.event(
                            now,
                            Event::Locked,
                            Some(&ch.phone),
                            Some(ch.id),
                            "attempt budget spent",
                        ),
                    )?;
                    Ok(Step::Done(Outcome::Locked { phone: ch.phone }))
                }
                Gate::Expired => {
                    // Counted like any attempt, so an expired code makes the same two durable
                    // commits as a right or wrong one and its timing does not stand out.
                    challenges::count_attempt(tx, ch.id, ch.generation)?;
                    Ok(Step::Check(ch, Gate::Expired))
                }
                Gate::AlreadyApproved => Ok(Step::Check(ch, Gate::AlreadyApproved)),
                Gate::Closed => Ok(Step::Decoy),
            }
        })?;

        // 2. The hash, outside the lock. Expired and unknown codes are hashed too (against a
        //    decoy when there is nothing to compare), so timing does not tell them apart.
        let (ch, gate, matches) = match step {
            Step::Done(o) => return Ok(o),
            Step::Decoy => {
                let decoy = cx.hasher.decoy();
                let _ = cx.hasher.verify(code, &decoy);
                return self.no_pending(now, phone);
            }
            Step::Check(ch, gate) => {
                let ok = cx.hasher.verify(code, &ch.code_hash);
                (ch, gate, ok)
            }
        };

        // 3. Record the result; accepting is a conditional update that exactly one caller wins.
        let phone = ch.phone.clone();
        let outcome = self.store.write(|tx| {
            let (event, outcome, detail) = match gate {
                Gate::Expired => (
                    Event::Expired,
                    Outcome::Expired {
                        phone: phone.clone(),
                    },
                    String::new(),
                ),
                Gate::AlreadyApproved if matches => (
                    Event::AlreadyUsed,
                    Outcome::AlreadyUsed {
                        phone: phone.clone(),
                    },
                    String::new(),
                ),
                Gate::AlreadyApproved => (
                    Event::NoPending,
                    Outcome::NoPending {
                        phone: Some(phone.clone()),
                    },
                    "already verified; wrong code".into(),
                ),
                _ if matches && challenges::consume(tx, ch.id, ch.generation, now)? => (
                    Event::Approved,
                    Outcome::Approved {
                        phone: phone.clone(),
                    },
                    format!("attempt {}", ch.attempts + 1),
                ),
                _ => {
                    let now_row = challenges::get(tx, ch.id)?;
                    match now_row {
                        // Someone else accepted this very code first.
                        Some(r) if matches && r.state == State::Approved => (
                            Event::AlreadyUsed,
                            Outcome::AlreadyUsed {
                                phone: phone.clone(),
                            },
                            "lost the race to another terminal".into(),
                        ),
                        Some(r) if matches && r.generation != ch.generation => (
                            Event::Invalid,
                            Outcome::Invalid {
                                phone: phone.clone(),
                                attempts_left: r.attempts_left(),
                            },
                            "code replaced by a resend".into(),
                        ),
                        Some(r) if matches && r.is_expired(now) => (
                            Event::Expired,
                            Outcome::Expired {
                                phone: phone.clone(),
                            },
                            String::new(),
                        ),
                        Some(r) => (
                            Event::Invalid,
                            Outcome::Invalid {
                                phone: phone.clone(),
                                attempts_left: r.attempts_left(),
                            },
                            format!("attempt {} of {}", r.attempts, r.max_attempts),
                        ),
                        None => (
                            Event::NoPending,
                            Outcome::NoPending {
                                phone: Some(phone.clone()),
                            },
                            String::new(),
                        ),
                    }
                }
            };
            cx.audit(tx, &cx.event(now, event, Some(&phone), Some(ch.id), detail))?;
            cx.count_result(tx, now, &phone, ch.id, event)?;
            Ok(outcome)
        })?;
        Ok(outcome)
    }

    /// `status [PHONE]`: the pending verifications of this station, or of one number.
    pub fn status(&mut self, now: DateTime<Utc>, phone: Option<&PhoneNumber>) -> Result<Outcome> {
        let cx = self.cx;
        let pending: Vec<Challenge> = self.store.read(|tx| {
            Ok(match phone {
                Some(p) => challenges::latest_for_phone(tx, p)?
                    .into_iter()
                    .filter(|c| c.state == State::Pending && !c.is_expired(now))
                    .collect(),
                None => challenges::recent_for_station(tx, cx.station, now)?
                    .into_iter()
                    .filter(|c| c.state == State::Pending)
                    .collect(),
            })
        })?;
        let views = pending
            .into_iter()
            .map(|c| {
                let (delivery_status, delivery_error) = match c.provider_ref.as_deref() {
                    Some(r) => match cx.delivery.fetch_status(r) {
                        Ok(Some(s)) => (
                            s.status,
                            s.error_code.map(|e| format!("provider error {e}")),
                        ),
                        Ok(None) => (c.delivery_status.clone(), None),
                        Err(e) => (
                            c.delivery_status.clone(),
                            Some(crate::sanitize::sanitize(&format!(
                                "status unavailable: {e}"
                            ))),
                        ),
                    },
                    None => (c.delivery_status.clone(), None),
                };
                PendingView {
                    expires_in_seconds: ceil_seconds(c.expires_at - now),
                    attempts_left: c.attempts_left(),
                    phone: c.phone,
                    channel: c.channel,
                    station: c.station,
                    sent_at: c.sent_at,
                    expires_at: c.expires_at,
                    resends: c.resends,
                    delivery_status,
                    delivery_error,
                }
            })
            .collect();
        Ok(Outcome::Status { pending: views })
    }

    /// `cancel [PHONE]`: abandon the pending code (audited).
    pub fn cancel(&mut self, now: DateTime<Utc>, phone: Option<&PhoneNumber>) -> Result<Outcome> {
        let cx = self.cx;
        let outcome = self.store.write(|tx| {
            let ch = match cx.resolve(tx, phone, now)? {
                Target::One(ch) if ch.state == State::Pending => ch,
                Target::Many(n) => return Ok(Some(Outcome::PhoneRequired { pending: n })),
                _ => return Ok(None),
            };
            challenges::close(tx, ch.id, ch.generation, State::Cancelled)?;
            cx.audit(
                tx,
                &cx.event(now, Event::Cancelled, Some(&ch.phone), Some(ch.id), ""),
            )?;
            Ok(Some(Outcome::Cancelled { phone: ch.phone }))
        })?;
        match outcome {
            Some(o) => Ok(o),
            None => self.no_pending(now, phone),
        }
    }

    /// `unlock PHONE`: an operator lifts a number's lock-out and clears its failure count.
    pub fn unlock(&mut self, now: DateTime<Utc>, phone: &PhoneNumber) -> Result<Outcome> {
        let cx = self.cx;
        let was_locked = self.store.write(|tx| {
            let key = cx.secrets.phone_key(phone.e164());
            let before = ledger::number_state(tx, &key)?;
            let was_locked = cx.limits.number_lock(&before, now).is_some();
            let changed = ledger::unlock(tx, &key)?;
            let detail = match (was_locked, changed) {
                (true, _) => format!("lock lifted after {} wrong codes", before.failures),
                (false, true) => format!("{} wrong codes forgiven", before.failures),
                (false, false) => "was not locked".to_string(),
            };
            cx.audit(
                tx,
                &cx.event(now, Event::Unlocked, Some(phone), None, detail),
            )?;
            Ok(was_locked)
        })?;
        Ok(Outcome::Unlocked {
            phone: phone.clone(),
            was_locked,
        })
    }

    /// `limits resume`: an operator lifts the conversion guard's pause.
    pub fn resume(&mut self, now: DateTime<Utc>) -> Result<Outcome> {
        let cx = self.cx;
        let lifted = self.store.write(|tx| {
            let lifted = ledger::resume(tx, now)?;
            let detail = match &lifted {
                Some(p) => format!("sending resumed; paused since {}", p.at.to_rfc3339()),
                None => "was not paused".to_string(),
            };
            cx.audit(tx, &cx.event(now, Event::LimitsResumed, None, None, detail))?;
            Ok(lifted)
        })?;
        Ok(Outcome::Resumed {
            was_paused: lifted.is_some(),
            reason: lifted.map(|p| p.reason),
        })
    }

    /// `limits [PHONE]`: the counters, and every limit that would refuse a send now.
    pub fn limits(&mut self, now: DateTime<Utc>, phone: Option<&PhoneNumber>) -> Result<Outcome> {
        let cx = self.cx;
        let l = cx.limits;
        let (usage, locked) = self.store.read(|tx| {
            let usage = match phone {
                Some(p) => {
                    let keys = ledger::Keys::new(cx.secrets, l, p);
                    ledger::usage(tx, l, &keys, cx.station, now, Counting::Exact)?
                }
                None => ledger::station_usage(tx, l, cx.station, now, Counting::Exact)?,
            };
            Ok((usage, ledger::locked_numbers(tx, now)?))
        })?;
        let mut refusals: Vec<LimitRefusal> = phone
            .and_then(|p| l.country_refusal(p))
            .into_iter()
            .collect();
        refusals.extend(l.refusals(&usage, now));
        let streak = l.live_streak(&usage.number, now);
        let view = LimitsView {
            paused_at: usage.paused.as_ref().map(|p| p.at),
            paused_reason: usage.paused.as_ref().map(|p| p.reason.clone()),
            global_last_hour: Counter {
                count: usage.global_hour.count,
                cap: l.global_per_hour,
            },
            station_last_hour: Counter {
                count: usage.station_hour.count,
                cap: l.per_station_per_hour,
            },
            conversion: usage.conversion,
            min_conversion: l.min_conversion,
            min_sends_for_conversion: l.min_sends_for_conversion,
            number: phone.map(|p| NumberView {
                phone: p.clone(),
                country: p.region().map(str::to_string),
                last_hour: Counter {
                    count: usage.number_hour.count,
                    cap: l.per_number_per_hour,
                },
                last_day: Counter {
                    count: usage.number_day.count,
                    cap: l.per_number_per_day,
                },
                prefix_last_hour: Counter {
                    count: usage.prefix_hour.count,
                    cap: l.per_prefix_per_hour,
                },
                streak,
                cooldown_seconds: l.cooldown_after(streak).num_seconds(),
                consecutive_failures: usage.number.failures,
            }),
            locked_numbers: locked
                .into_iter()
                .map(|n| LockedView {
                    phone: n.phone_masked,
                    failures: n.failures,
                    locked_until: n.locked_until.filter(|_| !n.needs_unlock),
                    needs_unlock: n.needs_unlock,
                })
                .collect(),
            would_refuse: refusals
                .into_iter()
                .map(|r| RefusalView {
                    limit: r.limit,
                    retry_after_seconds: wait_seconds(r.wait),
                    operator_action: operator_action(r.limit),
                    reason: r.reason,
                })
                .collect(),
        };
        Ok(Outcome::Limits {
            view: Box::new(view),
        })
    }
}

#[cfg(test)]
#[path = "service_limits_tests.rs"]
mod limits_tests;
