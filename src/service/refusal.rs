//! Why a send is refused before anything is hashed or sent: the country allow-list, the
//! number's type, the ledger's limits and the live code's cooldown, checked once without the write lock and again
//! under it; and how a refusal is audited (pausing the scope — station, prefix or the whole
//! installation — whose conversion collapsed, when it must).

use chrono::{DateTime, Utc};

use super::{Ctx, Result, Service};
use crate::domain::challenge::ceil_seconds;
use crate::domain::limits::{Limit, LimitRefusal, Scope, Wait};
use crate::domain::{Challenge, Channel, Outcome, PhoneNumber};
use crate::store::audit::Event;
use crate::store::{Counting, LedgerKeys, NewPause, StoreError, Tx};

/// A send refused by a limit, and the event that records it.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub event: Event,
    pub limit: LimitRefusal,
    /// The masked prefix of the number, for naming a prefix pause.
    pub prefix_masked: String,
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
        Limit::NumberType => Some("remove the type from limits.refuse_types".into()),
        Limit::FixedLine => Some("set delivery.fixed_line_channel to \"call\"".into()),
        _ => None,
    }
}

impl Refusal {
    pub(super) fn outcome(&self, phone: &PhoneNumber) -> Outcome {
        let l = &self.limit;
        if matches!(l.limit, Limit::NumberType | Limit::FixedLine) {
            return Outcome::NumberTypeBlocked {
                phone: phone.clone(),
                number_type: phone.number_type(),
                reason: l.reason.clone(),
                limit: l.limit,
            };
        }
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
            scope: l.scope,
        }
    }

    /// The audit row's detail: the reason, the limit's key, the scope of a pause.
    fn detail(&self, station: &str) -> String {
        let l = &self.limit;
        let scope = l
            .scope
            .map(|s| format!("; {}", s.describe(self.scope_name(s, station))))
            .unwrap_or_default();
        match l.wait {
            Wait::For(d) => format!(
                "{} ({}{scope}); retry after {} s",
                l.reason,
                l.limit.key(),
                ceil_seconds(d)
            ),
            Wait::Operator | Wait::Config => {
                format!("{} ({}{scope}); needs an operator", l.reason, l.limit.key())
            }
        }
    }

    /// How the audit log names `scope` for this send: the station, or the masked prefix.
    fn scope_name<'a>(&'a self, scope: Scope, station: &'a str) -> &'a str {
        match scope {
            Scope::Global => "",
            Scope::Station => station,
            Scope::Prefix => &self.prefix_masked,
        }
    }
}

impl Ctx<'_> {
    /// Send-time limits. Checked once without the write lock (so a refusal costs no hash) and
    /// again inside the transaction that issues the code (so terminals cannot race past them).
    /// The country allow-list comes first, then the number's type; then every counter in the
    /// ledger.
    pub(super) fn send_refusal(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        live: Option<&Challenge>,
    ) -> std::result::Result<Option<Refusal>, StoreError> {
        let keys = LedgerKeys::new(self.secrets, self.limits, phone);
        let refusal = |event, limit| Refusal {
            event,
            limit,
            prefix_masked: keys.prefix_masked.clone(),
        };
        if let Some(limit) = self.limits.country_refusal(phone) {
            return Ok(Some(refusal(Event::CountryBlocked, limit)));
        }
        if let Some(limit) = self.limits.number_type_refusal(phone) {
            return Ok(Some(refusal(Event::NumberTypeBlocked, limit)));
        }
        let usage = tx.usage(self.limits, &keys, self.station(), now, Counting::Decide)?;
        if let Some(limit) = self.limits.decide(&usage, now) {
            return Ok(Some(refusal(Event::RateLimited, limit)));
        }
        // The live code's own cooldown (also covers codes issued before the ledger existed).
        if let Some(ch) = live
            && let Err(wait) = ch.resend_gate(now, self.policy.resend_cooldown)
        {
            let limit = LimitRefusal {
                limit: Limit::Backoff,
                wait: Wait::For(wait),
                reason: "resend cooldown".into(),
                trips_pause: false,
                scope: None,
            };
            return Ok(Some(refusal(Event::RateLimited, limit)));
        }
        Ok(None)
    }

    /// Persists (and audits, once) the pause of the scope whose conversion collapsed. The
    /// refusal may come from the lock-free pre-check: pause only if the guard still trips the
    /// same scope under the lock (an operator may have resumed in between).
    fn trip_pause(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        r: &Refusal,
    ) -> std::result::Result<(), StoreError> {
        let keys = LedgerKeys::new(self.secrets, self.limits, phone);
        let usage = tx.usage(self.limits, &keys, self.station(), now, Counting::Decide)?;
        let trip = match self.limits.conversion_trip(&usage) {
            Some(t) if usage.pauses.is_empty() && Some(t.scope) == r.limit.scope => t,
            _ => return Ok(()),
        };
        let (key, name) = match trip.scope {
            Scope::Global => ("", ""),
            Scope::Station => (self.station(), self.station()),
            Scope::Prefix => (keys.prefix.as_str(), keys.prefix_masked.as_str()),
        };
        let pause = NewPause {
            scope: trip.scope,
            key,
            name,
            at: now,
            reason: &trip.reason,
        };
        if tx.pause_scope(&pause)? {
            let detail = format!("{}: {}", trip.scope.describe(name), trip.reason);
            self.record(tx, now, Event::LimitsPaused, None, None, detail)?;
        }
        Ok(())
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
        if r.limit.trips_pause {
            self.trip_pause(tx, now, phone, r)?;
        }
        let detail = r.detail(self.station());
        self.record(tx, now, r.event, Some(phone), challenge_id, detail)
    }
}

impl Ctx<'_> {
    /// The channel a send to `phone` goes out on (`delivery.fixed_line_channel`), or the
    /// refusal of an SMS to a fixed-line number.
    pub(super) fn route(
        &self,
        phone: &PhoneNumber,
        channel: Channel,
    ) -> std::result::Result<Channel, Refusal> {
        self.limits.route(phone, channel).map_err(|limit| Refusal {
            event: Event::NumberTypeBlocked,
            limit,
            prefix_masked: crate::domain::limits::masked_prefix(phone, self.limits.prefix_digits),
        })
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
