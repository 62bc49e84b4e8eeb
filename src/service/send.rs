//! `send` and `resend`: issue a code in four phases — refuse cheaply before hashing, hash
//! outside the lock, decide again and persist under the lock (committed before delivery), then
//! deliver with no lock held and record what the provider said.

use chrono::{DateTime, Utc};
use rand::CryptoRng;

use super::rate_limits::KeyCheck;
use super::refusal::Refusal;
use super::{Ctx, Result, Service, Target, Which};
use crate::delivery::{DeliveryError, Message, Receipt};
use crate::domain::rate_limits::RateKey;
use crate::domain::{Challenge, Channel, Code, Outcome, PhoneNumber, Privilege, State};
use crate::message::{AppHash, Locale, Segments};
use crate::store::audit::Event;
use crate::store::{LedgerKeys, NewChallenge, NewSend, Reissue, StoreError, Tx};

type StoreResult<T> = std::result::Result<T, StoreError>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `send`: start a verification, or renew the live one for this number.
    Send,
    /// `resend`: renew the live one; never start a new one.
    Resend,
}

/// How one message is worded, beyond `[message]`: its language and app hash (`None`: the
/// configured ones).
#[derive(Debug, Clone, Copy, Default)]
pub struct Wording<'a> {
    pub locale: Option<&'static Locale>,
    pub app_hash: Option<&'a AppHash>,
}

/// What the lock-free pre-check found.
enum Precheck {
    Go,
    Refused(Refusal),
    /// `resend` with no live verification for this number.
    NotLive,
    /// A create's `RateLimits` names a rate limit there is none of.
    UnknownRateLimit(String),
}

/// The new code's hash and lifetime, made before the write lock is taken.
struct Fresh<'a> {
    channel: Channel,
    /// The message's language tag, kept with the verification for later resends.
    locale: Option<&'static str>,
    code_hash: &'a str,
    code_length: usize,
    expires_at: DateTime<Utc>,
}

/// A code persisted and committed, waiting for delivery.
struct Ready {
    id: i64,
    generation: i64,
    attempts_left: u32,
    resent: bool,
    expires_at: DateTime<Utc>,
    /// The app name set through the API (`FriendlyName`), read with the send; `None`: the
    /// configured one.
    app_name: Option<String>,
}

/// The result of the write phase.
enum Issued {
    Ready(Ready),
    Refused(Refusal),
    NotLive(Outcome),
}

impl Service<'_> {
    /// `send PHONE [channel]`: a new code. If this number already has a live verification, the
    /// new code replaces its code and keeps its attempt count (a fresh send must not reset the
    /// budget an attacker has spent).
    pub fn send<R: CryptoRng + ?Sized>(
        &mut self,
        now: DateTime<Utc>,
        rng: &mut R,
        phone: &PhoneNumber,
        channel: Channel,
        wording: Wording<'_>,
    ) -> Result<Outcome> {
        self.send_keyed(now, rng, phone, channel, wording, &[])
    }

    /// `send`, counted under the programmable rate limits `keys` names (a Verify create's
    /// `RateLimits`): refused, audited and not sent when a bucket is full.
    pub fn send_keyed<R: CryptoRng + ?Sized>(
        &mut self,
        now: DateTime<Utc>,
        rng: &mut R,
        phone: &PhoneNumber,
        channel: Channel,
        wording: Wording<'_>,
        keys: &[RateKey],
    ) -> Result<Outcome> {
        if let Some(refused) = self.refuse_unless(Privilege::RunVerifications) {
            return Ok(refused);
        }
        self.issue(now, rng, phone, channel, wording, (Mode::Send, keys))
    }

    /// `resend [PHONE]`: a new code for this station's pending verification; the old code stops working
    /// at once and the attempts already spent stay spent.
    pub fn resend<'p, R: CryptoRng + ?Sized>(
        &mut self,
        now: DateTime<Utc>,
        rng: &mut R,
        which: impl Into<Which<'p>>,
        wording: Wording<'_>,
    ) -> Result<Outcome> {
        if let Some(refused) = self.refuse_unless(Privilege::RunVerifications) {
            return Ok(refused);
        }
        let which = which.into();
        let cx = self.cx;
        let target = self.store.snapshot(|tx| cx.resolve(tx, which, now))?;
        let ch = match target {
            Target::One(ch) if ch.state == State::Pending => ch,
            Target::Many(n) => return Ok(Outcome::PhoneRequired { pending: n }),
            Target::One(_) | Target::None => return self.no_pending(now, which),
        };
        // Unless asked otherwise, the new message speaks the language of the one it replaces,
        // whichever terminal sent that one.
        let wording = Wording {
            locale: wording.locale.or_else(|| {
                let tag = ch.locale.as_deref()?;
                Locale::get(tag).ok()
            }),
            ..wording
        };
        self.issue(
            now,
            rng,
            &ch.phone,
            ch.channel,
            wording,
            (Mode::Resend, &[]),
        )
    }

    fn issue<R: CryptoRng + ?Sized>(
        &mut self,
        now: DateTime<Utc>,
        rng: &mut R,
        phone: &PhoneNumber,
        channel: Channel,
        wording: Wording<'_>,
        (mode, keys): (Mode, &[RateKey]),
    ) -> Result<Outcome> {
        let cx = self.cx;
        let asked = channel;
        let channel = match cx.route(phone, channel) {
            Ok(c) => c,
            Err(r) => return self.refused(now, phone, r),
        };
        match self.precheck(now, phone, mode, keys)? {
            Precheck::Go => {}
            Precheck::UnknownRateLimit(name) => {
                return Ok(Outcome::InvalidInput {
                    error: format!(
                        "RateLimits names {}, which is not a rate limit of this service; create it first (POST …/RateLimits)",
                        crate::sanitize::sanitize(&crate::sanitize::truncate(&name, 64))
                    ),
                });
            }
            Precheck::NotLive => return self.resend_not_live(now, phone),
            Precheck::Refused(r) => return self.refused(now, phone, r),
        }
        let code = Code::generate(cx.policy.code_length, rng);
        let code_hash = cx.hasher.hash(&code)?;
        let fresh = Fresh {
            channel,
            locale: wording.locale.map(|l| l.tag()),
            code_hash: &code_hash,
            code_length: code.len(),
            expires_at: now + cx.policy.ttl,
        };
        let issued = self
            .store
            .transaction(|tx| cx.persist(tx, now, phone, (mode, keys), &fresh))?;
        match issued {
            Issued::Ready(ready) => {
                let instead_of = (asked != channel).then_some(asked);
                self.deliver(now, phone, (channel, instead_of, wording), code, &ready)
            }
            Issued::Refused(r) => Ok(r.outcome(phone)),
            Issued::NotLive(o) => Ok(o),
        }
    }

    /// Phase 1: refuse cheaply, before hashing, in a read transaction.
    fn precheck(
        &mut self,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        mode: Mode,
        keys: &[RateKey],
    ) -> Result<Precheck> {
        let cx = self.cx;
        Ok(self.store.snapshot(|tx| {
            match cx.key_check(tx, now, phone, keys)? {
                KeyCheck::Fits => {}
                KeyCheck::Unknown(name) => return Ok(Precheck::UnknownRateLimit(name)),
                KeyCheck::Over(r) => return Ok(Precheck::Refused(r)),
            }
            let live = tx
                .latest_challenge(phone, cx.station())?
                .filter(|c| c.is_live(now));
            if mode == Mode::Resend && live.is_none() {
                return Ok(Precheck::NotLive);
            }
            Ok(match cx.send_refusal(tx, now, phone, live.as_ref())? {
                Some(r) => Precheck::Refused(r),
                None => Precheck::Go,
            })
        })?)
    }

    /// Phase 4: deliver with no lock held, record what happened, and say how it went.
    fn deliver(
        &mut self,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        (channel, instead_of, wording): (Channel, Option<Channel>, Wording<'_>),
        code: Code,
        ready: &Ready,
    ) -> Result<Outcome> {
        let cx = self.cx;
        // A name set through the API was checked when it was set; one that no longer passes
        // (the checks grew stricter) leaves the configured name in force.
        let renamed = ready
            .app_name
            .as_deref()
            .and_then(|n| cx.composer.with_app_name(n).ok());
        let message = Message {
            to: phone,
            channel,
            code: &code,
            expires_at: ready.expires_at,
            valid_for_seconds: (ready.expires_at - now).num_seconds(),
            station: cx.station(),
            challenge_id: ready.id,
            composer: renamed.as_ref().unwrap_or(cx.composer),
            locale: wording.locale,
            app_hash: wording.app_hash,
        };
        // What the SMS costs, for `audit stats` (WhatsApp and calls are not billed by segment).
        let segments = (channel == Channel::Sms).then(|| message.body().segments());
        let result = cx.delivery.deliver(&message);
        drop(code);
        self.store.transaction(|tx| {
            cx.record_delivery(tx, now, phone, ready, &result, segments.as_ref())
        })?;
        let mut outcome = cx.delivered(now, phone, channel, ready, result);
        if let Outcome::Sent { instead_of: i, .. } = &mut outcome {
            *i = instead_of;
        }
        Ok(outcome)
    }

    /// A `resend` found nothing live: a spent code is refused as locked, anything else is
    /// "nothing pending".
    fn resend_not_live(&mut self, now: DateTime<Utc>, phone: &PhoneNumber) -> Result<Outcome> {
        let cx = self.cx;
        let latest = self
            .store
            .snapshot(|tx| tx.latest_challenge(phone, cx.station()))?;
        match latest {
            Some(ch) if ch.state == State::Pending && !ch.is_expired(now) && ch.is_locked() => {
                self.store.transaction(|tx| {
                    let id = Some(ch.id);
                    cx.record(tx, now, Event::Locked, Some(phone), id, "resend refused")
                })?;
                Ok(Outcome::Locked {
                    phone: phone.clone(),
                })
            }
            _ => self.no_pending(now, Which::Phone(phone)),
        }
    }
}

impl Ctx<'_> {
    /// Phase 3: decide again under the lock, then renew the live verification or start one,
    /// with its ledger row and audit event.
    fn persist(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        (mode, keys): (Mode, &[RateKey]),
        fresh: &Fresh<'_>,
    ) -> StoreResult<Issued> {
        let live = tx
            .latest_challenge(phone, self.station())?
            .filter(|c| c.is_live(now));
        // Counted here, under the writers' lock, with the send's own limits: a rate limit
        // deleted since the pre-check no longer counts.
        let over = match self.key_check(tx, now, phone, keys)? {
            KeyCheck::Over(r) => Some(r),
            KeyCheck::Fits | KeyCheck::Unknown(_) => None,
        };
        if let Some(r) = over.map_or_else(
            || self.send_refusal(tx, now, phone, live.as_ref()),
            |r| Ok(Some(r)),
        )? {
            self.record_refusal(tx, now, phone, live.as_ref().map(|c| c.id), &r)?;
            return Ok(Issued::Refused(r));
        }
        let mut ready = match live {
            Some(ch) => self.renew(tx, now, phone, &ch, fresh)?,
            None if mode == Mode::Resend => {
                return Ok(Issued::NotLive(Outcome::NoPending {
                    phone: Some(phone.clone()),
                }));
            }
            None => self.start(tx, now, phone, fresh)?,
        };
        self.record_keys(tx, now, keys)?;
        ready.app_name = tx.server_setting(super::settings::FRIENDLY_NAME)?;
        Ok(Issued::Ready(ready))
    }

    /// A new code for `phone`'s live verification `ch`; its attempt count is kept.
    fn renew(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        ch: &Challenge,
        fresh: &Fresh<'_>,
    ) -> StoreResult<Ready> {
        tx.reissue(&Reissue {
            id: ch.id,
            channel: fresh.channel,
            code_hash: fresh.code_hash,
            now,
            expires_at: fresh.expires_at,
            locale: fresh.locale,
            keep_replaced: self.policy.accept_replaced_code,
        })?;
        self.record_send(tx, now, phone, ch.id)?;
        let detail = format!("{}; resend {}", fresh.channel, ch.resends + 1);
        self.record(tx, now, Event::Resent, Some(phone), Some(ch.id), detail)?;
        Ok(Ready {
            id: ch.id,
            generation: ch.generation + 1,
            attempts_left: ch.attempts_left(),
            resent: true,
            expires_at: fresh.expires_at,
            app_name: None,
        })
    }

    /// A new verification for `phone`.
    fn start(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        fresh: &Fresh<'_>,
    ) -> StoreResult<Ready> {
        let id = tx.insert_challenge(&NewChallenge {
            phone,
            station: self.station(),
            channel: fresh.channel,
            code_hash: fresh.code_hash,
            code_length: fresh.code_length,
            now,
            expires_at: fresh.expires_at,
            max_attempts: self.policy.max_attempts,
            locale: fresh.locale,
        })?;
        self.record_send(tx, now, phone, id)?;
        let channel = fresh.channel.as_str();
        self.record(tx, now, Event::Sent, Some(phone), Some(id), channel)?;
        Ok(Ready {
            id,
            generation: 1,
            attempts_left: self.policy.max_attempts,
            resent: false,
            expires_at: fresh.expires_at,
            app_name: None,
        })
    }

    /// Counts the send in the limits' ledger.
    fn record_send(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        challenge_id: i64,
    ) -> StoreResult<()> {
        let keys = LedgerKeys::new(self.secrets, self.limits, phone);
        let send = NewSend {
            keys: &keys,
            phone,
            station: self.station(),
            challenge_id,
            at: now,
        };
        tx.record_send(self.limits, &send)
    }

    /// Stores what delivery reported (a definite failure closes the verification) and audits
    /// it with every request the provider saw (SID, error code, HTTP status).
    fn record_delivery(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        ready: &Ready,
        result: &std::result::Result<Receipt, DeliveryError>,
        segments: Option<&Segments>,
    ) -> StoreResult<()> {
        let (id, generation) = (ready.id, ready.generation);
        let name = self.delivery.name();
        let (event, mut detail) = match result {
            Ok(receipt) => {
                let status = receipt.status.as_deref().unwrap_or("sent");
                tx.set_delivery(id, generation, status, receipt.provider_ref.as_deref())?;
                let mut detail = format!("{name}: {}", receipt.detail);
                if let Some(r) = &receipt.provider_ref {
                    detail.push_str(&format!("; ref {r}"));
                }
                if let Some(s) = segments {
                    detail.push_str(&s.audit_phrase());
                }
                (Event::Delivered, detail)
            }
            Err(DeliveryError::Unknown { message, .. }) => {
                tx.set_delivery(id, generation, "unknown", None)?;
                (Event::DeliveryUnknown, format!("{name}: {message}"))
            }
            Err(e @ DeliveryError::Failed { .. }) => {
                tx.set_delivery(id, generation, "failed", None)?;
                tx.close(id, generation, State::Failed)?;
                (Event::DeliveryFailed, format!("{name}: {e}"))
            }
        };
        let attempts = crate::delivery::describe_attempts(match result {
            Ok(receipt) => &receipt.attempts,
            Err(e) => e.attempts(),
        });
        if !attempts.is_empty() {
            detail.push_str(&format!(" [{attempts}]"));
        }
        self.record(tx, now, event, Some(phone), Some(id), detail)
    }

    /// The outcome of a send, by what delivery reported.
    fn delivered(
        &self,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        channel: Channel,
        ready: &Ready,
        result: std::result::Result<Receipt, DeliveryError>,
    ) -> Outcome {
        match result {
            Ok(receipt) => Outcome::Sent {
                phone: phone.clone(),
                channel,
                code_length: self.policy.code_length,
                expires_at: ready.expires_at,
                expires_in_seconds: (ready.expires_at - now).num_seconds(),
                attempts_left: ready.attempts_left,
                resent: ready.resent,
                instead_of: None,
                delivery: self.delivery.name().to_string(),
                provider_ref: receipt.provider_ref,
            },
            Err(DeliveryError::Unknown { message, .. }) => Outcome::DeliveryUnknown {
                phone: phone.clone(),
                channel,
                expires_at: ready.expires_at,
                reason: crate::sanitize::sanitize(&message),
            },
            Err(e) => Outcome::DeliveryFailed {
                phone: phone.clone(),
                channel,
                provider_code: e.provider_code(),
                reason: crate::sanitize::sanitize(&e.to_string()),
            },
        }
    }
}
