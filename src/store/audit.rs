//! The append-only audit log and its MAC chain. Each row's `mac` covers the previous row's MAC
//! and the row's own canonical encoding, keyed by the audit key that never enters the database,
//! so an edit, insertion, deletion or reordering breaks the chain from that row on.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::clock::to_ms;
use crate::crypto::Secrets;
use crate::domain::PhoneNumber;

/// `prev_mac` of the first row.
pub const GENESIS_MAC: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
    /// Wrong codes across codes locked a number (timed, or until `otpd unlock`).
    NumberLocked,
    /// An operator lifted a number's lock (`otpd unlock`).
    Unlocked,
    /// The conversion guard paused sending.
    LimitsPaused,
    /// An operator resumed sending (`otpd limits resume`).
    LimitsResumed,
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
            Event::NumberLocked => "number_locked",
            Event::Unlocked => "unlocked",
            Event::LimitsPaused => "limits_paused",
            Event::LimitsResumed => "limits_resumed",
        }
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
            | Event::LimitsResumed => "ok",
            Event::DeliveryFailed | Event::DeliveryUnknown => "failed",
            Event::Invalid
            | Event::Expired
            | Event::Locked
            | Event::AlreadyUsed
            | Event::NoPending
            | Event::RateLimited
            | Event::CountryBlocked
            | Event::NumberLocked
            | Event::LimitsPaused => "refused",
        }
    }

    pub const ALL: [Event; 18] = [
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
        Event::NumberLocked,
        Event::Unlocked,
        Event::LimitsPaused,
        Event::LimitsResumed,
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

/// The bytes a row's MAC covers: every field but the MACs, length-prefixed so no two rows
/// encode alike, with NULL distinct from the empty string.
pub fn canonical(row: &AuditRow) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, v: Option<&[u8]>) {
        match v {
            None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as u32).to_be_bytes());
                out.extend_from_slice(b);
            }
        }
    }
    let mut out = Vec::with_capacity(128 + row.detail.len());
    out.extend_from_slice(b"otpd-audit-v1");
    field(&mut out, Some(&row.id.to_be_bytes()));
    field(&mut out, Some(&row.at.to_be_bytes()));
    field(&mut out, Some(row.station.as_bytes()));
    field(&mut out, Some(row.event.as_bytes()));
    field(&mut out, Some(row.outcome.as_bytes()));
    field(&mut out, row.phone_masked.as_deref().map(str::as_bytes));
    field(&mut out, row.phone_key.as_deref().map(str::as_bytes));
    let cid = row.challenge_id.map(i64::to_be_bytes);
    field(&mut out, cid.as_ref().map(|b| b.as_slice()));
    field(&mut out, Some(row.detail.as_bytes()));
    out
}

/// The MAC a row must carry given the previous row's MAC.
pub fn row_mac(secrets: &Secrets, prev_mac: &str, row: &AuditRow) -> String {
    hex::encode(secrets.audit_mac(&[prev_mac.as_bytes(), &canonical(row)]))
}

/// Appends one event to the chain. Call inside the write transaction of the change it records:
/// `BEGIN IMMEDIATE` serialises writers, so the chain cannot fork.
pub fn append(c: &Connection, secrets: &Secrets, e: &NewEvent<'_>) -> rusqlite::Result<i64> {
    let last: Option<(i64, String)> = c
        .query_row(
            "SELECT id, mac FROM audit_events ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (prev_id, prev_mac) = last.unwrap_or((0, GENESIS_MAC.to_string()));
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
    c.prepare_cached(
        "INSERT INTO audit_events (id, at, station, event, outcome, phone_masked, phone_key,
                                   challenge_id, detail, prev_mac, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        row.id,
        row.at,
        row.station,
        row.event,
        row.outcome,
        row.phone_masked,
        row.phone_key,
        row.challenge_id,
        row.detail,
        row.prev_mac,
        row.mac
    ])?;
    Ok(row.id)
}

/// Reads rows in id order starting after `after_id`, at most `limit` of them.
pub fn rows_after(c: &Connection, after_id: i64, limit: i64) -> rusqlite::Result<Vec<AuditRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, at, station, event, outcome, phone_masked, phone_key, challenge_id, detail,
                prev_mac, mac
         FROM audit_events WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after_id, limit], |r| {
        Ok(AuditRow {
            id: r.get(0)?,
            at: r.get(1)?,
            station: r.get(2)?,
            event: r.get(3)?,
            outcome: r.get(4)?,
            phone_masked: r.get(5)?,
            phone_key: r.get(6)?,
            challenge_id: r.get(7)?,
            detail: r.get(8)?,
            prev_mac: r.get(9)?,
            mac: r.get(10)?,
        })
    })?;
    rows.collect()
}
