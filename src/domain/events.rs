//! Verify Events, pure: which lifecycle event an audit fact is (pending, approved, canceled,
//! expired, max_attempts_reached, a delivery status), its Twilio event type string, the
//! CloudEvents 1.0 envelope and `data` it is sent as, and the retry schedule of a webhook
//! sink. Nothing here reads the clock or the network: the store writes what [`EventData`]
//! builds in the transaction of the fact, the server's delivery task wraps it in
//! [`cloud_event`] when it sends it.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{Challenge, Channel, PhoneNumber};

/// The lifecycle events otpd reports, by the short name `[[events.sink]] types` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Pending,
    Approved,
    Canceled,
    Expired,
    MaxAttemptsReached,
    /// What the provider reported about delivering the code (the status rides in the data).
    DeliveryStatus,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Pending,
        Kind::Approved,
        Kind::Canceled,
        Kind::Expired,
        Kind::MaxAttemptsReached,
        Kind::DeliveryStatus,
    ];

    /// The name `types` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pending => "pending",
            Kind::Approved => "approved",
            Kind::Canceled => "canceled",
            Kind::Expired => "expired",
            Kind::MaxAttemptsReached => "max_attempts_reached",
            Kind::DeliveryStatus => "delivery_status",
        }
    }

    /// The kind `name` names: its short name or its Twilio type string.
    pub fn from_name(name: &str) -> Option<Kind> {
        let name = name.trim();
        Kind::ALL.into_iter().find(|k| {
            k.as_str() == name
                || name
                    .strip_prefix(VERIFICATION_TYPE_PREFIX)
                    .is_some_and(|rest| rest == k.as_str())
                || (*k == Kind::DeliveryStatus && name.starts_with(DLR_TYPE_PREFIX))
        })
    }
}

/// Twilio's Verification Status stream: `…verification.pending`, `…approved`, ….
pub const VERIFICATION_TYPE_PREFIX: &str = "com.twilio.accountsecurity.verify.verification.";
/// Twilio's (restricted) Verification Attempt DLR stream: `…attempt-dlr.delivered`, ….
pub const DLR_TYPE_PREFIX: &str = "com.twilio.accountsecurity.verify.attempt-dlr.";

/// The CloudEvents `type` of an event: Twilio's string for the kind, and for a delivery status
/// the status itself (`…attempt-dlr.undelivered`).
pub fn type_string(kind: Kind, delivery_status: Option<&str>) -> String {
    match kind {
        Kind::DeliveryStatus => {
            let s = delivery_status.unwrap_or("unknown");
            let s: String = s
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .take(32)
                .collect();
            format!("{DLR_TYPE_PREFIX}{}", s.to_ascii_lowercase())
        }
        k => format!("{VERIFICATION_TYPE_PREFIX}{}", k.as_str()),
    }
}

/// The event's `data`, as stored in the outbox in the transaction of the fact: everything but
/// the SIDs, which the delivery task adds ([`cloud_event`]) — a verification's `VE…` SID is
/// given on first use, possibly after the fact.
#[derive(Debug, Clone)]
pub struct EventData<'a> {
    pub kind: Kind,
    pub challenge: &'a Challenge,
    pub at: DateTime<Utc>,
    /// For [`Kind::DeliveryStatus`]: the provider's word (`sent`, `delivered`, `undelivered`, …).
    pub delivery_status: Option<&'a str>,
    /// The provider's error code with a failed delivery.
    pub error_code: Option<u32>,
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Twilio's channel word in events (`SMS`, `WHATSAPP`, `CALL`).
fn channel_word(c: Channel) -> &'static str {
    match c {
        Channel::Sms => "SMS",
        Channel::Whatsapp => "WHATSAPP",
        Channel::Call => "CALL",
    }
}

/// The verification status an event reports, in Twilio's upper case.
fn status_word(kind: Kind, ch: &Challenge) -> &'static str {
    match kind {
        Kind::Pending => "PENDING",
        Kind::Approved => "APPROVED",
        Kind::Canceled => "CANCELED",
        Kind::Expired => "EXPIRED",
        Kind::MaxAttemptsReached => "MAX_ATTEMPTS_REACHED",
        Kind::DeliveryStatus => match ch.state {
            super::State::Pending => "PENDING",
            super::State::Approved => "APPROVED",
            super::State::Cancelled => "CANCELED",
            super::State::Failed => "FAILED",
        },
    }
}

/// The country of a number, as Twilio's `country` field (ISO 3166 alpha-2), when known.
fn country(p: &PhoneNumber) -> Option<String> {
    p.region().map(|r| r.to_string())
}

impl EventData<'_> {
    /// The JSON stored in the outbox row (Twilio's Verification Status fields otpd knows).
    pub fn to_json(&self) -> Value {
        let ch = self.challenge;
        let mut data = json!({
            "created_at": iso(ch.created_at),
            "to": ch.phone.e164(),
            "verification_status": status_word(self.kind, ch),
            "channel": channel_word(ch.channel),
            "code_length": ch.code_length,
            "event_time": iso(self.at),
            "send_code_attempts": {
                "count": ch.resends + 1,
                "last": {
                    "time": iso(ch.sent_at),
                    "channel": channel_word(ch.channel),
                    "delivery_status": ch.delivery_status.to_ascii_uppercase(),
                }
            },
            "check_code_attempts": { "count": ch.attempts },
        });
        if let Some(c) = country(&ch.phone) {
            data["country"] = c.into();
        }
        if let Some(at) = ch.used_at {
            data["verified_at"] = iso(at).into();
        }
        if let Some(s) = self.delivery_status {
            data["delivery_status"] = s.to_ascii_uppercase().into();
            data["send_code_attempts"]["last"]["delivery_status"] = s.to_ascii_uppercase().into();
        }
        if let Some(r) = &ch.provider_ref {
            data["send_code_attempts"]["last"]["provider_sid"] = r.as_str().into();
        }
        if let Some(e) = self.error_code {
            data["error_code"] = e.into();
        }
        data
    }
}

/// The SIDs an event names, known when it is sent.
pub struct Sids<'a> {
    pub account_sid: &'a str,
    pub service_sid: &'a str,
    pub verification_sid: &'a str,
}

/// The CloudEvents 1.0 envelope (structured mode, JSON) of one stored event: `id` is `EV`, the
/// audit row's id and the verification's (16 hex digits each; an expiry has no audit row: 0),
/// the same on every retry so a receiver can drop duplicates; `source` is the service.
pub fn cloud_event(
    type_string: &str,
    (audit_id, challenge_id): (i64, i64),
    at: DateTime<Utc>,
    stored: &Value,
    sids: &Sids<'_>,
) -> Value {
    let mut data = stored.clone();
    data["account_sid"] = sids.account_sid.into();
    data["service_sid"] = sids.service_sid.into();
    data["verification_sid"] = sids.verification_sid.into();
    json!({
        "specversion": "1.0",
        "type": type_string,
        "source": format!("/otpd/Services/{}", sids.service_sid),
        "id": format!("EV{audit_id:016x}{challenge_id:016x}"),
        "time": iso(at),
        "datacontenttype": "application/json",
        "data": data,
    })
}

/// How long to wait before attempt `attempts + 1` after `attempts` failed ones: `base`,
/// doubled each time, at most an hour.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 1i64 << attempts.saturating_sub(1).min(20);
    let wait = base.num_milliseconds().saturating_mul(factor);
    Duration::milliseconds(wait.min(3_600_000))
}

/// Which lifecycle event a delivery status is for a verification: `None` when it reports
/// nothing new.
pub fn is_final_delivery(status: &str) -> bool {
    matches!(
        status,
        "delivered"
            | "undelivered"
            | "failed"
            | "read"
            | "completed"
            | "busy"
            | "no-answer"
            | "canceled"
    )
}

/// Whether a provider status means the code did not reach the phone (the kiosk and the
/// status then offer another channel).
pub fn is_failed_delivery(status: &str) -> bool {
    matches!(
        status,
        "undelivered" | "failed" | "busy" | "no-answer" | "canceled"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_their_short_names_and_twilio_type_strings() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(
            Kind::from_name("com.twilio.accountsecurity.verify.verification.max_attempts_reached"),
            Some(Kind::MaxAttemptsReached)
        );
        assert_eq!(
            Kind::from_name("com.twilio.accountsecurity.verify.attempt-dlr.undelivered"),
            Some(Kind::DeliveryStatus)
        );
        assert_eq!(Kind::from_name("approve"), None);
        assert_eq!(
            type_string(Kind::Approved, None),
            "com.twilio.accountsecurity.verify.verification.approved"
        );
        assert_eq!(
            type_string(Kind::DeliveryStatus, Some("Undelivered\n")),
            "com.twilio.accountsecurity.verify.attempt-dlr.undelivered"
        );
    }

    #[test]
    fn back_off_doubles_from_the_base_and_stops_at_an_hour() {
        let base = Duration::seconds(5);
        assert_eq!(backoff(base, 1), Duration::seconds(5));
        assert_eq!(backoff(base, 2), Duration::seconds(10));
        assert_eq!(backoff(base, 4), Duration::seconds(40));
        assert_eq!(backoff(base, 40), Duration::hours(1));
    }
}
