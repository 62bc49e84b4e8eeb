//! The append-only audit log and its MAC chain. Each row's `mac` covers the previous row's MAC
//! and the row's own canonical encoding, keyed by the audit key that never enters the database,
//! so an edit, insertion, deletion or reordering breaks the chain from that row on. The chain's
//! format (events, canonical encoding, MACs, anchors) and the row types are the same for every
//! store; each store reads and appends rows with its own SQL (SQLite: [`super::sqlite::audit`]).

use chrono::{DateTime, Utc};

use crate::clock::to_ms;
use crate::crypto::Secrets;
use crate::domain::PhoneNumber;

pub use super::audit_batch::{AuditBatch, RowRef};

/// `prev_mac` of the first row.
pub const GENESIS_MAC: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Whether `s` is a MAC as otpd writes it: 64 lowercase hex digits. Appending refuses to chain
/// onto anything else, and `audit verify` refuses an anchor sealed from anything else.
pub fn is_mac(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Everything otpd records. The stored name is `as_str()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Sent,
    Resent,
    Delivered,
    DeliveryFailed,
    DeliveryUnknown,
    Approved,
    Invalid,
    Expired,
    Locked,
    AlreadyUsed,
    NoPending,
    RateLimited,
    Cancelled,
    /// A send refused because the number's country is not allowed.
    CountryBlocked,
    /// A send refused for the number's type (`limits.refuse_types`, or a fixed-line number
    /// with `delivery.fixed_line_channel = "refuse"`).
    NumberTypeBlocked,
    /// Wrong codes across codes locked a number (timed, or until `otpd unlock`).
    NumberLocked,
    /// An operator lifted a number's lock (`otpd unlock`).
    Unlocked,
    /// The conversion guard paused sending.
    LimitsPaused,
    /// An operator resumed sending (`otpd limits resume`).
    LimitsResumed,
    /// `prune` removed finished verifications (never audit rows).
    Pruned,
    /// Audit retention removed an old prefix of the chain and left an anchor.
    AuditTruncated,
    /// An API key was created (`otpd keys create`).
    KeyCreated,
    /// An API key was revoked (`otpd keys revoke`).
    KeyRevoked,
    /// An admin key approved a verification without its code (`otpd serve`).
    ManuallyApproved,
    /// An admin changed the service's settings or its programmable rate limits (issue 26).
    ServiceChanged,
    /// An auditor or admin key signed in to the audit pages.
    SignedIn,
    /// A sign-in to the audit pages was refused (unknown key, wrong secret, a station key).
    SignInRefused,
    /// An audit-page session was ended by its user.
    SignedOut,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Sent => "sent",
            Event::Resent => "resent",
            Event::Delivered => "delivered",
            Event::DeliveryFailed => "delivery_failed",
            Event::DeliveryUnknown => "delivery_unknown",
            Event::Approved => "approved",
            Event::Invalid => "invalid",
            Event::Expired => "expired",
            Event::Locked => "locked",
            Event::AlreadyUsed => "already_used",
            Event::NoPending => "no_pending",
            Event::RateLimited => "rate_limited",
            Event::Cancelled => "cancelled",
            Event::CountryBlocked => "country_blocked",
            Event::NumberTypeBlocked => "number_type_blocked",
            Event::NumberLocked => "number_locked",
            Event::Unlocked => "unlocked",
            Event::LimitsPaused => "limits_paused",
            Event::LimitsResumed => "limits_resumed",
            Event::Pruned => "pruned",
            Event::AuditTruncated => "audit_truncated",
            Event::KeyCreated => "key_created",
            Event::KeyRevoked => "key_revoked",
            Event::ManuallyApproved => "manually_approved",
            Event::ServiceChanged => "service_changed",
            Event::SignedIn => "signed_in",
            Event::SignInRefused => "sign_in_refused",
            Event::SignedOut => "signed_out",
        }
    }

    /// The event with this stored name.
    pub fn from_name(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The coarse result class stored beside the event: `ok`, `refused` or `failed`.
    pub fn outcome(self) -> &'static str {
        match self {
            Event::Sent
            | Event::Resent
            | Event::Delivered
            | Event::Approved
            | Event::Cancelled
            | Event::Unlocked
            | Event::LimitsResumed
            | Event::Pruned
            | Event::AuditTruncated
            | Event::KeyCreated
            | Event::KeyRevoked
            | Event::ManuallyApproved
            | Event::ServiceChanged
            | Event::SignedIn
            | Event::SignedOut => "ok",
            Event::DeliveryFailed | Event::DeliveryUnknown => "failed",
            Event::Invalid
            | Event::Expired
            | Event::Locked
            | Event::AlreadyUsed
            | Event::NoPending
            | Event::RateLimited
            | Event::CountryBlocked
            | Event::NumberTypeBlocked
            | Event::NumberLocked
            | Event::LimitsPaused
            | Event::SignInRefused => "refused",
        }
    }

    pub const ALL: [Event; 28] = [
        Event::Sent,
        Event::Resent,
        Event::Delivered,
        Event::DeliveryFailed,
        Event::DeliveryUnknown,
        Event::Approved,
        Event::Invalid,
        Event::Expired,
        Event::Locked,
        Event::AlreadyUsed,
        Event::NoPending,
        Event::RateLimited,
        Event::Cancelled,
        Event::CountryBlocked,
        Event::NumberTypeBlocked,
        Event::NumberLocked,
        Event::Unlocked,
        Event::LimitsPaused,
        Event::LimitsResumed,
        Event::Pruned,
        Event::AuditTruncated,
        Event::KeyCreated,
        Event::KeyRevoked,
        Event::ManuallyApproved,
        Event::ServiceChanged,
        Event::SignedIn,
        Event::SignInRefused,
        Event::SignedOut,
    ];
}

/// One event to append. Never put a code, a hash or a secret in `detail`.
pub struct NewEvent<'a> {
    pub at: DateTime<Utc>,
    pub station: &'a str,
    pub event: Event,
    pub phone: Option<&'a PhoneNumber>,
    pub challenge_id: Option<i64>,
    pub detail: String,
}

impl<'a> NewEvent<'a> {
    /// An event about no number and no verification (keys, pauses, retention).
    pub fn about_nothing(
        at: DateTime<Utc>,
        station: &'a str,
        event: Event,
        detail: String,
    ) -> NewEvent<'a> {
        NewEvent {
            at,
            station,
            event,
            phone: None,
            challenge_id: None,
            detail,
        }
    }
}

/// A stored row, as the chain covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub station: String,
    pub event: String,
    pub outcome: String,
    pub phone_masked: Option<String>,
    pub phone_key: Option<String>,
    pub challenge_id: Option<i64>,
    pub detail: String,
    pub prev_mac: String,
    pub mac: String,
}

impl AuditRow {
    pub fn as_ref(&self) -> RowRef<'_> {
        RowRef {
            id: self.id,
            at: self.at,
            station: &self.station,
            event: &self.event,
            outcome: &self.outcome,
            phone_masked: self.phone_masked.as_deref(),
            phone_key: self.phone_key.as_deref(),
            challenge_id: self.challenge_id,
            detail: &self.detail,
            prev_mac: &self.prev_mac,
            mac: &self.mac,
        }
    }
}

/// The bytes a row's MAC covers: every field but the MACs, length-prefixed so no two rows
/// encode alike, with NULL distinct from the empty string.
pub fn canonical(row: &AuditRow) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + row.detail.len());
    canonical_into(&mut out, &row.as_ref());
    out
}

/// One field of a MAC's input: its length (big-endian u32; `u32::MAX` for none) then its bytes,
/// so no two rows' fields can run into each other. The audit chain and the key-row seals use it.
pub(crate) fn field(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        Some(b) => {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
    }
}

/// [`canonical`] into a reused buffer (cleared first).
pub fn canonical_into(out: &mut Vec<u8>, row: &RowRef<'_>) {
    out.clear();
    out.extend_from_slice(b"otpd-audit-v1");
    field(out, Some(&row.id.to_be_bytes()));
    field(out, Some(&row.at.to_be_bytes()));
    field(out, Some(row.station.as_bytes()));
    field(out, Some(row.event.as_bytes()));
    field(out, Some(row.outcome.as_bytes()));
    field(out, row.phone_masked.map(str::as_bytes));
    field(out, row.phone_key.map(str::as_bytes));
    let cid = row.challenge_id.map(i64::to_be_bytes);
    field(out, cid.as_ref().map(|b| b.as_slice()));
    field(out, Some(row.detail.as_bytes()));
}

/// The MAC a row must carry given the previous row's MAC.
pub fn row_mac(secrets: &Secrets, prev_mac: &str, row: &AuditRow) -> String {
    hex::encode(secrets.audit_mac(&[prev_mac.as_bytes(), &canonical(row)]))
}

/// The row that follows `prev_id`/`prev_mac` in the chain: sanitised fields, the keyed phone
/// and the MAC. Each store reads its chain head and inserts this row with its own SQL, under
/// its own lock (SQLite: inside `BEGIN IMMEDIATE`).
pub fn chain_row(secrets: &Secrets, prev_id: i64, prev_mac: String, e: &NewEvent<'_>) -> AuditRow {
    let mut row = AuditRow {
        id: prev_id + 1,
        at: to_ms(e.at),
        station: crate::sanitize::sanitize(e.station),
        event: e.event.as_str().to_string(),
        outcome: e.event.outcome().to_string(),
        phone_masked: e.phone.map(|p| p.masked().to_string()),
        phone_key: e.phone.map(|p| secrets.phone_key(p.e164())),
        challenge_id: e.challenge_id,
        detail: crate::sanitize::sanitize(&e.detail),
        prev_mac,
        mac: String::new(),
    };
    row.mac = row_mac(secrets, &row.prev_mac, &row);
    row
}

/// Where the chain starts after a retention truncation: the last removed row's id and MAC,
/// sealed by `mac` so the database alone cannot move it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub last_id: i64,
    pub last_mac: String,
    pub removed: i64,
    pub at: i64,
    pub mac: String,
}

/// The MAC an anchor must carry.
pub fn anchor_mac(
    secrets: &Secrets,
    last_id: i64,
    last_mac: &str,
    removed: i64,
    at: i64,
) -> String {
    hex::encode(secrets.audit_mac(&[
        b"otpd-audit-anchor-v1",
        &last_id.to_be_bytes(),
        &removed.to_be_bytes(),
        &at.to_be_bytes(),
        last_mac.as_bytes(),
    ]))
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
