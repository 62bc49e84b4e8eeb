//! What a use case ended in. Refusals (wrong code, expired, rate limited…) are values here, not
//! errors: the renderer shows them and maps them to exit statuses. They read back from their
//! JSON too, so a remote terminal renders the server's outcome as its own.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::limits::{Conversion, Limit, Pause, Scope};
use super::{Channel, NumberType, PhoneNumber};

/// A count against its cap (0 = the cap is disabled), as `otpd limits` shows it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Counter {
    pub count: u32,
    pub cap: u32,
}

/// One limit that would refuse a send now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefusalView {
    pub limit: Limit,
    pub reason: String,
    pub retry_after_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_action: Option<String>,
}

/// A locked number, as `otpd limits` lists it (masked).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LockedView {
    pub phone: String,
    pub failures: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    pub needs_unlock: bool,
}

/// A conversion pause, as `otpd limits` and `limits resume` list it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PauseView {
    pub scope: Scope,
    /// The station's name or the masked prefix; empty for the global pause.
    pub name: String,
    pub paused_at: DateTime<Utc>,
    pub reason: String,
}

impl From<Pause> for PauseView {
    fn from(p: Pause) -> Self {
        PauseView {
            scope: p.scope,
            name: p.name,
            paused_at: p.at,
            reason: p.reason,
        }
    }
}

/// One number's counters, when `otpd limits PHONE` names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NumberView<P = PhoneNumber> {
    pub phone: P,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// What kind of number the numbering plan says it is.
    pub number_type: NumberType,
    pub last_hour: Counter,
    pub last_day: Counter,
    pub prefix_last_hour: Counter,
    pub streak: u32,
    /// The gap owed after the last send to this number (the back-off now).
    pub cooldown_seconds: i64,
    pub consecutive_failures: u32,
}

/// What `otpd limits` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LimitsView<P = PhoneNumber> {
    /// The first pause holding sends from this station (to the named number): global, the
    /// station's, the prefix's. `pauses` lists every pause in the installation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
    pub pauses: Vec<PauseView>,
    pub global_last_hour: Counter,
    pub station_last_hour: Counter,
    /// Every station, without the sends of paused stations and prefixes.
    pub conversion: Conversion,
    /// This station, without the sends to paused prefixes.
    pub station_conversion: Conversion,
    /// The named number's prefix, without the sends of paused stations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_conversion: Option<Conversion>,
    pub min_conversion: f64,
    pub min_sends_for_conversion: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<NumberView<P>>,
    pub locked_numbers: Vec<LockedView>,
    /// Every limit that would refuse a send now (for `number`, if named; else any number).
    pub would_refuse: Vec<RefusalView>,
    /// The programmable rate limits of `otpd serve` (issue 26), for operators.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<RateLimitView>,
}

/// One programmable rate limit as `limits` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateLimitView {
    pub unique_name: String,
    pub sid: String,
    pub buckets: Vec<BucketView>,
}

/// One bucket and what it counted in its window: creates, the values they came under, and the
/// most any one value used (`full`: that value is refused now).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketView {
    pub max: u32,
    pub interval_seconds: u32,
    pub creates: u32,
    pub values: u32,
    pub busiest: u32,
}

/// One pending verification as `status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingView<P = PhoneNumber> {
    pub phone: P,
    pub channel: Channel,
    pub station: String,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub expires_in_seconds: i64,
    pub attempts_left: u32,
    pub resends: u32,
    /// What otpd knows of delivery: `pending`, `sent`, `unknown`, `failed`, or the provider's
    /// own status (`queued`, `delivered`, `undelivered`, …) when it can be fetched.
    pub delivery_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_error: Option<String>,
}

/// The result of one command. Serialises as `{"outcome": "<name>", …fields}`.
///
/// `P` is how a number is carried: a [`PhoneNumber`] in the core (serialised masked, and never
/// read back), or the wire's full number between `otpd serve` and a remote terminal
/// (`request::wire::FullNumber`), switched by [`Outcome::map_numbers`], not by hidden state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome<P = PhoneNumber> {
    Sent {
        phone: P,
        channel: Channel,
        code_length: usize,
        expires_at: DateTime<Utc>,
        expires_in_seconds: i64,
        attempts_left: u32,
        resent: bool,
        /// The channel asked for, when the number's type changed it (an SMS to a fixed-line
        /// number goes out as a call: `delivery.fixed_line_channel`).
        #[serde(skip_serializing_if = "Option::is_none")]
        instead_of: Option<Channel>,
        delivery: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        provider_ref: Option<String>,
    },
    /// The provider may or may not have sent it (e.g. a timeout after the request went out).
    DeliveryUnknown {
        phone: P,
        channel: Channel,
        expires_at: DateTime<Utc>,
        reason: String,
    },
    DeliveryFailed {
        phone: P,
        channel: Channel,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        provider_code: Option<u32>,
    },
    /// A send refused by a limit. `retry_after_seconds` is 0 when waiting will not help and
    /// `operator_action` names the command an operator must run.
    RateLimited {
        #[serde(skip_serializing_if = "Option::is_none")]
        phone: Option<P>,
        retry_after_seconds: i64,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        limit: Option<Limit>,
        #[serde(skip_serializing_if = "Option::is_none")]
        operator_action: Option<String>,
        /// For the conversion guard: which sends its pause covers (`global`, `station`,
        /// `prefix`).
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<Scope>,
    },
    /// The number's country is not in `limits.allowed_countries`; nothing was sent.
    CountryBlocked {
        phone: P,
        country: String,
        reason: String,
    },
    /// The number's type is refused (`limits.refuse_types`, or a fixed-line number with
    /// `delivery.fixed_line_channel = "refuse"`); nothing was sent.
    NumberTypeBlocked {
        phone: P,
        number_type: NumberType,
        reason: String,
        limit: Limit,
    },
    /// Too many wrong codes for this number across codes: refused without checking the code.
    NumberLocked {
        phone: P,
        consecutive_failures: u32,
        retry_after_seconds: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        operator_action: Option<String>,
    },
    Unlocked {
        phone: P,
        was_locked: bool,
    },
    Limits {
        #[serde(flatten)]
        view: Box<LimitsView<P>>,
    },
    Resumed {
        was_paused: bool,
        /// The first lifted pause's reason.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Every pause lifted.
        lifted: Vec<PauseView>,
    },
    InvalidPhone {
        error: String,
    },
    InvalidInput {
        error: String,
    },
    Approved {
        phone: P,
    },
    Invalid {
        phone: P,
        attempts_left: u32,
    },
    Expired {
        phone: P,
    },
    Locked {
        phone: P,
    },
    AlreadyUsed {
        phone: P,
    },
    NoPending {
        #[serde(skip_serializing_if = "Option::is_none")]
        phone: Option<P>,
    },
    /// Several verifications are pending on this station; the command must name the phone.
    PhoneRequired {
        pending: usize,
    },
    Status {
        pending: Vec<PendingView<P>>,
    },
    Cancelled {
        phone: P,
    },
    /// The caller may not do this (a station key asking for an operator's control, an
    /// auditor key running a verification); nothing was done.
    Forbidden {
        privilege: super::Privilege,
    },
}

/// Exit statuses, documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const REFUSED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const STORAGE: u8 = 3;
    pub const DELIVERY: u8 = 4;
    pub const INTERNAL: u8 = 5;
}

impl<P> Outcome<P> {
    /// The `outcome` field's value.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Sent { .. } => "sent",
            Outcome::DeliveryUnknown { .. } => "delivery_unknown",
            Outcome::DeliveryFailed { .. } => "delivery_failed",
            Outcome::RateLimited { .. } => "rate_limited",
            Outcome::CountryBlocked { .. } => "country_blocked",
            Outcome::NumberTypeBlocked { .. } => "number_type_blocked",
            Outcome::NumberLocked { .. } => "number_locked",
            Outcome::Unlocked { .. } => "unlocked",
            Outcome::Limits { .. } => "limits",
            Outcome::Resumed { .. } => "resumed",
            Outcome::InvalidPhone { .. } => "invalid_phone",
            Outcome::InvalidInput { .. } => "invalid_input",
            Outcome::Approved { .. } => "approved",
            Outcome::Invalid { .. } => "invalid",
            Outcome::Expired { .. } => "expired",
            Outcome::Locked { .. } => "locked",
            Outcome::AlreadyUsed { .. } => "already_used",
            Outcome::NoPending { .. } => "no_pending",
            Outcome::PhoneRequired { .. } => "phone_required",
            Outcome::Status { .. } => "status",
            Outcome::Cancelled { .. } => "cancelled",
            Outcome::Forbidden { .. } => "forbidden",
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Sent { .. }
            | Outcome::Approved { .. }
            | Outcome::Status { .. }
            | Outcome::Cancelled { .. }
            | Outcome::Unlocked { .. }
            | Outcome::Limits { .. }
            | Outcome::Resumed { .. } => exit::OK,
            Outcome::RateLimited { .. }
            | Outcome::CountryBlocked { .. }
            | Outcome::NumberTypeBlocked { .. }
            | Outcome::NumberLocked { .. }
            | Outcome::Invalid { .. }
            | Outcome::Expired { .. }
            | Outcome::Locked { .. }
            | Outcome::AlreadyUsed { .. }
            | Outcome::NoPending { .. }
            | Outcome::Forbidden { .. } => exit::REFUSED,
            Outcome::InvalidPhone { .. }
            | Outcome::InvalidInput { .. }
            | Outcome::PhoneRequired { .. } => exit::USAGE,
            Outcome::DeliveryFailed { .. } | Outcome::DeliveryUnknown { .. } => exit::DELIVERY,
        }
    }

    /// The phone this outcome is about, for the prompt to remember.
    pub fn phone(&self) -> Option<&P> {
        match self {
            Outcome::Sent { phone, .. }
            | Outcome::DeliveryUnknown { phone, .. }
            | Outcome::DeliveryFailed { phone, .. }
            | Outcome::Approved { phone }
            | Outcome::Invalid { phone, .. }
            | Outcome::Expired { phone }
            | Outcome::Locked { phone }
            | Outcome::AlreadyUsed { phone }
            | Outcome::Cancelled { phone }
            | Outcome::CountryBlocked { phone, .. }
            | Outcome::NumberTypeBlocked { phone, .. }
            | Outcome::NumberLocked { phone, .. }
            | Outcome::Unlocked { phone, .. } => Some(phone),
            Outcome::RateLimited { phone, .. } | Outcome::NoPending { phone } => phone.as_ref(),
            _ => None,
        }
    }

    /// The same outcome with each number carried as `f` makes it (the wire's full number and
    /// back); `Err` from `f` stops at the first number it refuses.
    pub fn map_numbers<Q, E>(self, mut f: impl FnMut(P) -> Result<Q, E>) -> Result<Outcome<Q>, E> {
        use Outcome as O;
        Ok(match self {
            O::Sent {
                phone,
                channel,
                code_length,
                expires_at,
                expires_in_seconds,
                attempts_left,
                resent,
                instead_of,
                delivery,
                provider_ref,
            } => O::Sent {
                phone: f(phone)?,
                channel,
                code_length,
                expires_at,
                expires_in_seconds,
                attempts_left,
                resent,
                instead_of,
                delivery,
                provider_ref,
            },
            O::DeliveryUnknown {
                phone,
                channel,
                expires_at,
                reason,
            } => O::DeliveryUnknown {
                phone: f(phone)?,
                channel,
                expires_at,
                reason,
            },
            O::DeliveryFailed {
                phone,
                channel,
                reason,
                provider_code,
            } => O::DeliveryFailed {
                phone: f(phone)?,
                channel,
                reason,
                provider_code,
            },
            O::RateLimited {
                phone,
                retry_after_seconds,
                reason,
                limit,
                operator_action,
                scope,
            } => O::RateLimited {
                phone: phone.map(&mut f).transpose()?,
                retry_after_seconds,
                reason,
                limit,
                operator_action,
                scope,
            },
            O::CountryBlocked {
                phone,
                country,
                reason,
            } => O::CountryBlocked {
                phone: f(phone)?,
                country,
                reason,
            },
            O::NumberTypeBlocked {
                phone,
                number_type,
                reason,
                limit,
            } => O::NumberTypeBlocked {
                phone: f(phone)?,
                number_type,
                reason,
                limit,
            },
            O::NumberLocked {
                phone,
                consecutive_failures,
                retry_after_seconds,
                operator_action,
            } => O::NumberLocked {
                phone: f(phone)?,
                consecutive_failures,
                retry_after_seconds,
                operator_action,
            },
            O::Unlocked { phone, was_locked } => O::Unlocked {
                phone: f(phone)?,
                was_locked,
            },
            O::Limits { view } => O::Limits {
                view: Box::new(view.map_numbers(f)?),
            },
            O::Resumed {
                was_paused,
                reason,
                lifted,
            } => O::Resumed {
                was_paused,
                reason,
                lifted,
            },
            O::InvalidPhone { error } => O::InvalidPhone { error },
            O::InvalidInput { error } => O::InvalidInput { error },
            O::Approved { phone } => O::Approved { phone: f(phone)? },
            O::Invalid {
                phone,
                attempts_left,
            } => O::Invalid {
                phone: f(phone)?,
                attempts_left,
            },
            O::Expired { phone } => O::Expired { phone: f(phone)? },
            O::Locked { phone } => O::Locked { phone: f(phone)? },
            O::AlreadyUsed { phone } => O::AlreadyUsed { phone: f(phone)? },
            O::NoPending { phone } => O::NoPending {
                phone: phone.map(&mut f).transpose()?,
            },
            O::PhoneRequired { pending } => O::PhoneRequired { pending },
            O::Status { pending } => O::Status {
                pending: pending
                    .into_iter()
                    .map(|p| p.map_numbers(&mut f))
                    .collect::<Result<_, E>>()?,
            },
            O::Cancelled { phone } => O::Cancelled { phone: f(phone)? },
            O::Forbidden { privilege } => O::Forbidden { privilege },
        })
    }
}

impl<P> LimitsView<P> {
    fn map_numbers<Q, E>(self, f: impl FnMut(P) -> Result<Q, E>) -> Result<LimitsView<Q>, E> {
        Ok(LimitsView {
            number: self.number.map(|n| n.map_numbers(f)).transpose()?,
            paused_at: self.paused_at,
            paused_reason: self.paused_reason,
            pauses: self.pauses,
            global_last_hour: self.global_last_hour,
            station_last_hour: self.station_last_hour,
            conversion: self.conversion,
            station_conversion: self.station_conversion,
            prefix_conversion: self.prefix_conversion,
            min_conversion: self.min_conversion,
            min_sends_for_conversion: self.min_sends_for_conversion,
            locked_numbers: self.locked_numbers,
            would_refuse: self.would_refuse,
            rate_limits: self.rate_limits,
        })
    }
}

impl<P> NumberView<P> {
    fn map_numbers<Q, E>(self, mut f: impl FnMut(P) -> Result<Q, E>) -> Result<NumberView<Q>, E> {
        Ok(NumberView {
            phone: f(self.phone)?,
            country: self.country,
            number_type: self.number_type,
            last_hour: self.last_hour,
            last_day: self.last_day,
            prefix_last_hour: self.prefix_last_hour,
            streak: self.streak,
            cooldown_seconds: self.cooldown_seconds,
            consecutive_failures: self.consecutive_failures,
        })
    }
}

impl<P> PendingView<P> {
    fn map_numbers<Q, E>(self, mut f: impl FnMut(P) -> Result<Q, E>) -> Result<PendingView<Q>, E> {
        Ok(PendingView {
            phone: f(self.phone)?,
            channel: self.channel,
            station: self.station,
            sent_at: self.sent_at,
            expires_at: self.expires_at,
            expires_in_seconds: self.expires_in_seconds,
            attempts_left: self.attempts_left,
            resends: self.resends,
            delivery_status: self.delivery_status,
            delivery_error: self.delivery_error,
        })
    }
}
