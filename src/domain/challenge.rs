//! One verification and the pure decisions about it: may a code be tried, may it be resent.
//! Expired and locked are derived from time and the attempt count, never stored.

use chrono::{DateTime, TimeDelta, Utc};

use super::{Channel, PhoneNumber};

/// The stored lifecycle state; `expired` and `locked` are derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Approved,
    /// Delivery definitely failed: the code never reached anyone and cannot be used.
    Failed,
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "pending" => State::Pending,
            "approved" => State::Approved,
            "failed" => State::Failed,
            "cancelled" => State::Cancelled,
            _ => return None,
        })
    }
}

/// A verification as stored (the code only as its hash).
#[derive(Debug, Clone)]
pub struct Challenge {
    pub id: i64,
    pub phone: PhoneNumber,
    pub station: String,
    pub channel: Channel,
    pub code_hash: String,
    pub code_length: usize,
    pub generation: i64,
    pub created_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub resends: u32,
    pub state: State,
    pub used_at: Option<DateTime<Utc>>,
    pub delivery_status: String,
    pub provider_ref: Option<String>,
    /// The language tag its messages were written in (e.g. `es`); `None`: the configured one.
    pub locale: Option<String>,
    /// The code the last resend replaced (its hash), kept while `[policy]
    /// accept_replaced_code` is on so a text that arrives late still works until…
    pub replaced_hash: Option<String>,
    /// …its own expiry.
    pub replaced_expires_at: Option<DateTime<Utc>>,
}

/// What may happen when someone types a code for this verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Count one attempt, then check the hash.
    Attempt,
    /// The code's lifetime is over.
    Expired,
    /// The attempt budget is spent: refuse without hashing.
    Locked,
    /// Already approved: check the hash only to tell "already used" from "wrong".
    AlreadyApproved,
    /// Nothing to verify (cancelled, or delivery failed).
    Closed,
}

impl Challenge {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// The hash of the code the last resend replaced, while that code has not expired.
    pub fn live_replaced_hash(&self, now: DateTime<Utc>) -> Option<&str> {
        match (&self.replaced_hash, self.replaced_expires_at) {
            (Some(hash), Some(until)) if now < until => Some(hash),
            _ => None,
        }
    }

    pub fn is_locked(&self) -> bool {
        self.attempts >= self.max_attempts
    }

    pub fn attempts_left(&self) -> u32 {
        self.max_attempts.saturating_sub(self.attempts)
    }

    /// Pending, in time and with attempts left: the one a station can still act on.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.state == State::Pending && !self.is_expired(now) && !self.is_locked()
    }

    pub fn verify_gate(&self, now: DateTime<Utc>) -> Gate {
        match self.state {
            State::Approved if !self.is_expired(now) => Gate::AlreadyApproved,
            State::Approved | State::Failed | State::Cancelled => Gate::Closed,
            State::Pending if self.is_expired(now) => Gate::Expired,
            State::Pending if self.is_locked() => Gate::Locked,
            State::Pending => Gate::Attempt,
        }
    }

    /// `Err(wait)` while the resend cooldown since the last send is still running.
    pub fn resend_gate(&self, now: DateTime<Utc>, cooldown: TimeDelta) -> Result<(), TimeDelta> {
        let ready_at = self.sent_at + cooldown;
        if now < ready_at {
            Err(ready_at - now)
        } else {
            Ok(())
        }
    }
}

/// Whole seconds to wait, rounded up so "0 seconds" is never shown while still refused.
pub fn ceil_seconds(d: TimeDelta) -> i64 {
    let ms = d.num_milliseconds().max(0);
    (ms + 999) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn challenge() -> Challenge {
        Challenge {
            id: 1,
            phone: PhoneNumber::parse("+1 415 555 2671").unwrap(),
            station: "desk".into(),
            channel: Channel::Sms,
            code_hash: String::new(),
            code_length: 6,
            generation: 1,
            created_at: at(0),
            sent_at: at(0),
            expires_at: at(300),
            attempts: 0,
            max_attempts: 5,
            resends: 0,
            state: State::Pending,
            used_at: None,
            delivery_status: "sent".into(),
            provider_ref: None,
            locale: None,
            replaced_hash: None,
            replaced_expires_at: None,
        }
    }

    #[test]
    fn verify_gate_table() {
        let base = challenge();
        let locked = Challenge {
            attempts: 5,
            ..challenge()
        };
        let approved = Challenge {
            state: State::Approved,
            used_at: Some(at(10)),
            ..challenge()
        };
        let failed = Challenge {
            state: State::Failed,
            ..challenge()
        };
        let cases = [
            (&base, 0, Gate::Attempt),
            (&base, 299, Gate::Attempt),
            (&base, 300, Gate::Expired),
            (&locked, 10, Gate::Locked),
            (&locked, 400, Gate::Expired),
            (&approved, 20, Gate::AlreadyApproved),
            (&approved, 301, Gate::Closed),
            (&failed, 1, Gate::Closed),
        ];
        for (c, t, want) in cases {
            assert_eq!(c.verify_gate(at(t)), want, "t={t} state={:?}", c.state);
        }
    }

    #[test]
    fn resend_cooldown_boundary() {
        let c = challenge();
        let cd = TimeDelta::seconds(30);
        assert_eq!(c.resend_gate(at(0), cd), Err(TimeDelta::seconds(30)));
        assert_eq!(c.resend_gate(at(29), cd), Err(TimeDelta::seconds(1)));
        assert_eq!(c.resend_gate(at(30), cd), Ok(()));
        assert_eq!(c.resend_gate(at(0), TimeDelta::zero()), Ok(()));
    }

    #[test]
    fn ceil_seconds_never_rounds_a_wait_to_zero() {
        assert_eq!(ceil_seconds(TimeDelta::milliseconds(1)), 1);
        assert_eq!(ceil_seconds(TimeDelta::seconds(30)), 30);
        assert_eq!(ceil_seconds(TimeDelta::seconds(-3)), 0);
    }
}
