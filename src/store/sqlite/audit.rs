//! SQLite's half of the audit chain's write side: reading the chain head and appending the next
//! row, inside the caller's `BEGIN IMMEDIATE` transaction so writers cannot fork the chain.

use rusqlite::{Connection, OptionalExtension, params};

use crate::crypto::Secrets;
use crate::store::audit::{GENESIS_MAC, NewEvent, chain_row, latest_anchor};

/// Appends one event to the chain. Call inside the write transaction of the change it records:
/// `BEGIN IMMEDIATE` serialises writers, so the chain cannot fork.
pub fn append(c: &Connection, secrets: &Secrets, e: &NewEvent<'_>) -> rusqlite::Result<i64> {
    // An empty table after a retention truncation continues from the anchor.
    let (prev_id, prev_mac) = match head(c)? {
        Some(last) => last,
        None => latest_anchor(c)?
            .map(|a| (a.last_id, a.last_mac))
            .unwrap_or((0, GENESIS_MAC.to_string())),
    };
    let row = chain_row(secrets, prev_id, prev_mac, e);
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

/// The newest row's id and MAC: the chain's head.
pub fn head(c: &Connection) -> rusqlite::Result<Option<(i64, String)>> {
    c.prepare_cached("SELECT id, mac FROM audit_events ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}
