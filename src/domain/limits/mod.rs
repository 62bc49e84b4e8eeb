//! The abuse and cost limits as pure decisions: given what the store counted (sends in a
//! window, a number's streak and failures, the pauses), which limit refuses a send and for how
//! long, and what a wrong code does to a number's lock-out. No clock, no SQL: `now` is a value.
//! The conversion guard's scopes are in [`conversion`].

mod conversion;

use chrono::{DateTime, TimeDelta, Utc};

use super::number_type::{FixedLineChannel, NumberType};
use super::{Channel, PhoneNumber};
pub use conversion::{Conversion, Pause, Scope, Trip, masked_prefix};

/// Validated `[limits]` values (see `config` for ranges and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// ISO 3166 region codes; empty = every country.
    pub allowed_countries: Vec<String>,
    /// Number types refused before anything is counted or sent (`limits.refuse_types`).
    pub refuse_types: Vec<NumberType>,
    /// What an SMS to a fixed-line number does (`[delivery] fixed_line_channel`): decided
    /// with the number type, before anything is counted or sent.
    pub fixed_line: FixedLineChannel,
    /// The first resend cooldown (`policy.resend_cooldown_seconds`); zero disables back-off.
    pub base_cooldown: TimeDelta,
    pub max_cooldown: TimeDelta,
    /// A number with no send for this long starts its back-off again from the base cooldown.
    pub backoff_reset: TimeDelta,
    /// Caps; 0 disables a cap.
    pub per_number_per_hour: u32,
    pub per_number_per_day: u32,
    pub per_prefix_per_hour: u32,
    pub prefix_digits: usize,
    pub per_station_per_hour: u32,
    pub global_per_hour: u32,
    /// Conversion guard; 0.0 disables it.
    pub min_conversion: f64,
    pub min_sends_for_conversion: u32,
    pub max_failures_per_number: u32,
    pub lockout: TimeDelta,
    /// Consecutive wrong codes after which only an operator can unlock (NIST: at most 100).
    pub failures_before_unlock: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            allowed_countries: Vec::new(),
            refuse_types: NumberType::DEFAULT_REFUSED.to_vec(),
            fixed_line: FixedLineChannel::Call,
            base_cooldown: TimeDelta::seconds(30),
            max_cooldown: TimeDelta::seconds(1920),
            backoff_reset: TimeDelta::seconds(3600),
            per_number_per_hour: 5,
            per_number_per_day: 10,
            per_prefix_per_hour: 10,
            prefix_digits: 6,
            per_station_per_hour: 20,
            global_per_hour: 100,
            min_conversion: 0.2,
            min_sends_for_conversion: 20,
            max_failures_per_number: 10,
            lockout: TimeDelta::seconds(3600),
            failures_before_unlock: 100,
        }
    }
}

impl Limits {
    /// These limits for a delivery that sends nothing (console, which shows the code on this
    /// screen): the conversion guard does not judge. Its pause protects a bill there is none
    /// of, and a newcomer trying otpd out completes few of the codes it shows, so the guard
    /// would pause their own station, for good, after `min_sends_for_conversion` tries. The
    /// caps still count (they only ever ask to wait), and a pause already set still holds.
    pub fn sending_nothing(mut self) -> Self {
        self.min_conversion = 0.0;
        self
    }
}

pub const HOUR: TimeDelta = TimeDelta::hours(1);
pub const DAY: TimeDelta = TimeDelta::days(1);

/// Which limit refused. `key()` is its config key, which JSON shows as `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Limit {
    Country,
    /// The number's type is in `limits.refuse_types`.
    NumberType,
    /// An SMS to a fixed-line number, with `delivery.fixed_line_channel = "refuse"`.
    FixedLine,
    Paused,
    Conversion,
    NumberNeedsUnlock,
    NumberLocked,
    Backoff,
    NumberHour,
    NumberDay,
    PrefixHour,
    StationHour,
    GlobalHour,
    /// A bucket of a programmable rate limit (a create's `RateLimits`, issue 26).
    RateLimit,
}

impl Limit {
    pub fn key(self) -> &'static str {
        match self {
            Limit::Country => "limits.allowed_countries",
            Limit::NumberType => "limits.refuse_types",
            Limit::FixedLine => "delivery.fixed_line_channel",
            Limit::Paused | Limit::Conversion => "limits.min_conversion",
            Limit::NumberNeedsUnlock => "limits.failures_before_unlock",
            Limit::NumberLocked => "limits.max_failures_per_number",
            Limit::Backoff => "policy.resend_cooldown_seconds",
            Limit::NumberHour => "limits.per_number_per_hour",
            Limit::NumberDay => "limits.per_number_per_day",
            Limit::PrefixHour => "limits.per_prefix_per_hour",
            Limit::StationHour => "limits.per_station_per_hour",
            Limit::GlobalHour => "limits.global_per_hour",
            Limit::RateLimit => "RateLimits",
        }
    }
}

impl serde::Serialize for Limit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

/// From its key (for a remote terminal reading the server's outcome). `Paused` and
/// `Conversion` share a key and are worded alike, so the key reads back as `Paused`.
impl<'de> serde::Deserialize<'de> for Limit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const ALL: [Limit; 14] = [
            Limit::Country,
            Limit::NumberType,
            Limit::FixedLine,
            Limit::Paused,
            Limit::Conversion,
            Limit::NumberNeedsUnlock,
            Limit::NumberLocked,
            Limit::Backoff,
            Limit::NumberHour,
            Limit::NumberDay,
            Limit::PrefixHour,
            Limit::StationHour,
            Limit::GlobalHour,
            Limit::RateLimit,
        ];
        let key = String::deserialize(d)?;
        ALL.into_iter()
            .find(|l| l.key() == key)
            .ok_or_else(|| serde::de::Error::custom("unknown limit"))
    }
}

/// How long a refusal lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    For(TimeDelta),
    /// Until an operator acts (`otpd limits resume`, `otpd unlock PHONE`).
    Operator,
    /// Until the configuration changes (country allow-list).
    Config,
}

/// Why a send is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRefusal {
    pub limit: Limit,
    pub wait: Wait,
    pub reason: String,
    /// The conversion guard tripped: persist the pause of `scope` (and audit it) with this
    /// refusal.
    pub trips_pause: bool,
    /// For a pause or a tripped guard: which sends it covers.
    pub scope: Option<Scope>,
}

/// Sends counted in one sliding window: how many, and when the `cap`-th newest was sent (the
/// one whose ageing-out lets the next send through), if there are at least `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Window {
    pub count: u32,
    #[serde(skip)]
    pub nth_newest: Option<DateTime<Utc>>,
}

/// A number's state across verifications.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NumberState {
    pub streak: u32,
    pub last_send_at: Option<DateTime<Utc>>,
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub needs_unlock: bool,
}

/// Everything the store counts for one prospective send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    pub number: NumberState,
    pub number_hour: Window,
    pub number_day: Window,
    pub prefix_hour: Window,
    pub station_hour: Window,
    pub global_hour: Window,
    /// Every station's sends in the guard's window, without those of paused stations and
    /// paused prefixes.
    pub conversion: Conversion,
    /// The same sends split by station, then by prefix (the global guard leaves each out).
    pub conversion_parts: Vec<Conversion>,
    /// This station's sends, without those to paused prefixes.
    pub station_conversion: Conversion,
    /// Sends to this number's prefix, without those from paused stations; `None` when no
    /// number is named.
    pub prefix_conversion: Option<Conversion>,
    /// The pauses that hold this send: global, this station's, this prefix's (in that order).
    pub pauses: Vec<Pause>,
}

/// `+` country code and the first `digits` digits of the national number: the block that
/// sequential-number pumping walks through (`+1415555` for +1 415 555 2671 with 6 digits).
pub fn prefix(phone: &PhoneNumber, digits: usize) -> String {
    let cc = format!("+{}", phone.country_code());
    let national = phone.e164().strip_prefix(&cc).unwrap_or(phone.e164());
    let keep: String = national.chars().take(digits).collect();
    format!("{cc}{keep}")
}

impl Limits {
    /// The country allow-list: refused before anything is counted or sent.
    pub fn country_refusal(&self, phone: &PhoneNumber) -> Option<LimitRefusal> {
        if self.allowed_countries.is_empty() {
            return None;
        }
        let region = phone.region().unwrap_or("none");
        if self.allowed_countries.iter().any(|c| c == region) {
            return None;
        }
        Some(LimitRefusal {
            limit: Limit::Country,
            wait: Wait::Config,
            reason: format!(
                "numbers from {region} are not in the allowed countries ({})",
                self.allowed_countries.join(", ")
            ),
            trips_pause: false,
            scope: None,
        })
    }

    /// The number-type list (`refuse_types`): refused before anything is counted or sent.
    pub fn number_type_refusal(&self, phone: &PhoneNumber) -> Option<LimitRefusal> {
        let t = phone.number_type();
        self.refuse_types.contains(&t).then(|| LimitRefusal {
            limit: Limit::NumberType,
            wait: Wait::Config,
            reason: format!(
                "{} numbers are refused ({})",
                t.describe(),
                self.refuse_types
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            trips_pause: false,
            scope: None,
        })
    }

    /// The channel a send by `channel` to `phone` goes out on: an SMS to a number the plan
    /// knows to be fixed-line becomes a voice call (`fixed_line_channel = "call"`), stays an
    /// SMS (`"sms"`), or is refused (`"refuse"`). Other channels and numbers are kept.
    pub fn route(&self, phone: &PhoneNumber, channel: Channel) -> Result<Channel, LimitRefusal> {
        if channel != Channel::Sms || !phone.number_type().is_fixed_line() {
            return Ok(channel);
        }
        match self.fixed_line {
            FixedLineChannel::Call => Ok(Channel::Call),
            FixedLineChannel::Sms => Ok(Channel::Sms),
            FixedLineChannel::Refuse => Err(LimitRefusal {
                limit: Limit::FixedLine,
                wait: Wait::Config,
                reason: "a fixed-line number cannot receive SMS".into(),
                trips_pause: false,
                scope: None,
            }),
        }
    }

    /// The cooldown owed after `streak` sends in a row: base, 2×base, 4×base … capped.
    pub fn cooldown_after(&self, streak: u32) -> TimeDelta {
        if streak == 0 || self.base_cooldown <= TimeDelta::zero() {
            return TimeDelta::zero();
        }
        let doublings = (streak - 1).min(30);
        let ms = self
            .base_cooldown
            .num_milliseconds()
            .saturating_mul(1i64 << doublings);
        TimeDelta::milliseconds(ms).min(self.max_cooldown.max(self.base_cooldown))
    }

    /// The streak as it stands at `now`: zero once the number has been quiet long enough.
    pub fn live_streak(&self, n: &NumberState, now: DateTime<Utc>) -> u32 {
        match n.last_send_at {
            Some(last) if now - last < self.backoff_reset => n.streak,
            _ => 0,
        }
    }

    /// Every limit that refuses a send now, in a fixed order.
    pub fn refusals(&self, u: &Usage, now: DateTime<Utc>) -> Vec<LimitRefusal> {
        let mut out = Vec::new();
        out.extend(self.conversion_refusals(u));
        let mut push = |limit, wait, reason: String, trips_pause| {
            out.push(LimitRefusal {
                limit,
                wait,
                reason,
                trips_pause,
                scope: None,
            })
        };
        let n = &u.number;
        if n.needs_unlock {
            push(
                Limit::NumberNeedsUnlock,
                Wait::Operator,
                format!(
                    "{} wrong codes in a row: this number is locked until an operator unlocks it",
                    n.failures
                ),
                false,
            );
        } else if let Some(until) = n.locked_until.filter(|u| *u > now) {
            push(
                Limit::NumberLocked,
                Wait::For(until - now),
                format!("{} wrong codes in a row: this number is locked", n.failures),
                false,
            );
        }
        let streak = self.live_streak(n, now);
        if let (Some(last), true) = (n.last_send_at, streak > 0) {
            let ready = last + self.cooldown_after(streak);
            // The quiet period also ends a back-off, whichever comes first.
            let ready = ready.min(last + self.backoff_reset);
            if now < ready {
                push(
                    Limit::Backoff,
                    Wait::For(ready - now),
                    format!(
                        "resend cooldown: {} s after send {streak} to this number (it doubles with each resend)",
                        self.cooldown_after(streak).num_seconds()
                    ),
                    false,
                );
            }
        }
        let caps = [
            (
                Limit::NumberHour,
                self.per_number_per_hour,
                &u.number_hour,
                HOUR,
                "sends to this number in the last hour",
            ),
            (
                Limit::NumberDay,
                self.per_number_per_day,
                &u.number_day,
                DAY,
                "sends to this number in the last 24 hours",
            ),
            (
                Limit::PrefixHour,
                self.per_prefix_per_hour,
                &u.prefix_hour,
                HOUR,
                "sends to numbers sharing this prefix in the last hour",
            ),
            (
                Limit::StationHour,
                self.per_station_per_hour,
                &u.station_hour,
                HOUR,
                "sends from this station in the last hour",
            ),
            (
                Limit::GlobalHour,
                self.global_per_hour,
                &u.global_hour,
                HOUR,
                "sends in the last hour",
            ),
        ];
        for (limit, cap, w, window, what) in caps {
            if let Some(wait) = cap_wait(cap, w, window, now) {
                push(
                    limit,
                    Wait::For(wait),
                    format!("{} of {cap} {what}", w.count),
                    false,
                );
            }
        }
        out
    }

    /// The refusal to report: one an operator must lift if any (waiting will not help),
    /// otherwise the longest wait, since the send is refused until every limit clears.
    pub fn decide(&self, u: &Usage, now: DateTime<Utc>) -> Option<LimitRefusal> {
        let all = self.refusals(u, now);
        let mut best: Option<LimitRefusal> = None;
        for r in all {
            best = match best {
                None => Some(r),
                Some(b) => Some(match (b.wait, r.wait) {
                    (Wait::For(a), Wait::For(c)) if c > a => r,
                    (Wait::For(_), Wait::Operator | Wait::Config) => r,
                    _ => b,
                }),
            };
        }
        best
    }

    /// A wrong code for this number: the new consecutive count and any lock it earns.
    pub fn after_failure(&self, n: &NumberState, now: DateTime<Utc>) -> FailureEffect {
        let failures = n.failures.saturating_add(1);
        if failures >= self.failures_before_unlock {
            FailureEffect {
                failures,
                locked_until: n.locked_until,
                needs_unlock: true,
                newly_locked: !n.needs_unlock,
            }
        } else if self.max_failures_per_number > 0
            && failures.is_multiple_of(self.max_failures_per_number)
        {
            FailureEffect {
                failures,
                locked_until: Some(now + self.lockout),
                needs_unlock: n.needs_unlock,
                newly_locked: true,
            }
        } else {
            FailureEffect {
                failures,
                locked_until: n.locked_until,
                needs_unlock: n.needs_unlock,
                newly_locked: false,
            }
        }
    }

    /// Whether a number is locked at `now`: `Some(Wait)` if so.
    pub fn number_lock(&self, n: &NumberState, now: DateTime<Utc>) -> Option<Wait> {
        if n.needs_unlock {
            Some(Wait::Operator)
        } else {
            n.locked_until
                .filter(|u| *u > now)
                .map(|u| Wait::For(u - now))
        }
    }
}

/// What one wrong code does to a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureEffect {
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub needs_unlock: bool,
    /// This failure imposed a lock (audit it).
    pub newly_locked: bool,
}

/// `Some(wait)` when a cap of `cap` sends per `window` is reached: the wait lasts until the
/// `cap`-th newest send leaves the window. A cap of 0 is disabled.
pub fn cap_wait(cap: u32, w: &Window, window: TimeDelta, now: DateTime<Utc>) -> Option<TimeDelta> {
    if cap == 0 || w.count < cap {
        return None;
    }
    let nth = w.nth_newest?;
    let free_at = nth + window;
    (free_at > now).then(|| free_at - now)
}

#[cfg(test)]
mod tests;
