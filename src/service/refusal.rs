//! Why a send is refused before anything is hashed or sent: the country allow-list, the
//! ledger's limits and the live code's cooldown, checked once without the write lock and again
//! under it; and how a refusal is audited (tripping the conversion guard's pause when it must).

use chrono::{DateTime, Utc};

use super::{Ctx, Result, Service};
use crate::domain::challenge::ceil_seconds;
use crate::domain::limits::{Limit, LimitRefusal, Wait};
use crate::domain::{Challenge, Outcome, PhoneNumber};
use crate::store::audit::Event;
use crate::store::{Counting, LedgerKeys, StoreError, Tx};

/// A send refused by a limit, and the event that records it.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub event: Event,
    pub limit: LimitRefusal,
}

/// Whole seconds to wait; 0 when only an operator or a config change helps.
pub(super) fn wait_seconds(w: Wait) -> i64 {
    match w {
        Wait::For(d) => ceil_seconds(d),
        Wait::Operator | Wait::Config => 0,
    }
}

/// The command (or config key) that lifts an operator-gated refusal: data in the outcome.
pub(super) fn operator_action(l: Limit) -> Option<String> {
    match l {
        Limit::Paused | Limit::Conversion => Some("otpd limits resume".into()),
        Limit::NumberNeedsUnlock => Some("otpd unlock PHONE".into()),
        Limit::Country => Some("add the country to limits.allowed_countries".into()),
        _ => None,
    }
}

impl Refusal {
    pub(super) fn outcome(&self, phone: &PhoneNumber) -> Outcome {
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

    /// The audit row's detail.
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

impl Ctx<'_> {
    /// Send-time limits. Checked once without the write lock (so a refusal costs no hash) and
    /// again inside the transaction that issues the code (so terminals cannot race past them).
    /// The country allow-list comes first; then every counter in the ledger.
    pub(super) fn send_refusal(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        live: Option<&Challenge>,
    ) -> std::result::Result<Option<Refusal>, StoreError> {
        if let Some(limit) = self.limits.country_refusal(phone) {
            return Ok(Some(Refusal {
                event: Event::CountryBlocked,
                limit,
            }));
        }
        let keys = LedgerKeys::new(self.secrets, self.limits, phone);
        let usage = tx.usage(self.limits, &keys, self.station, now, Counting::Decide)?;
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

    fn conversion_trips(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
    ) -> std::result::Result<bool, StoreError> {
        let u = tx.station_usage(self.limits, self.station, now, Counting::Decide)?;
        Ok(u.paused.is_none() && self.limits.conversion_trip(&u.conversion).is_some())
    }

    /// Audits a refusal inside the caller's write transaction; a tripped conversion guard
    /// is persisted (and audited once) here too.
    pub(super) fn record_refusal(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        challenge_id: Option<i64>,
        r: &Refusal,
    ) -> std::result::Result<(), StoreError> {
        // The refusal may come from the lock-free pre-check: pause only if the guard still
        // trips under the lock (an operator may have resumed in between).
        if r.limit.trips_pause
            && self.conversion_trips(tx, now)?
            && tx.pause_sending(now, &r.limit.reason)?
        {
            let reason = r.limit.reason.clone();
            self.record(tx, now, Event::LimitsPaused, None, None, reason)?;
        }
        self.record(tx, now, r.event, Some(phone), challenge_id, r.detail())
    }
}

impl Service<'_> {
    /// Audits a refusal found before the write lock, and returns its outcome.
    pub(super) fn refused(
        &mut self,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        r: Refusal,
    ) -> Result<Outcome> {
        let cx = self.cx;
        self.store
            .transaction(|tx| cx.record_refusal(tx, now, phone, None, &r))?;
        Ok(r.outcome(phone))
    }
}
