//! SQLite's half of the audit chain's write side: reading the chain head and appending the next
//! row, inside the caller's `BEGIN IMMEDIATE` transaction so writers cannot fork the chain, and
//! only onto a head that is a MAC.

use rusqlite::{Connection, OptionalExtension, params};

use crate::crypto::Secrets;
use crate::store::audit::{GENESIS_MAC, NewEvent, chain_row, is_mac, latest_anchor};

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
    // Chaining onto stored bytes that are no MAC would let whoever wrote them choose part of
    // what otpd MACs with its key next; refuse, write nothing, and name the row.
    if !is_mac(&prev_mac) {
        let msg = format!(
            "audit row {prev_id}, the chain's newest, holds a mac that is not 64 lowercase hex \
             digits; run otpd audit verify"
        );
        let corrupt = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT);
        return Err(rusqlite::Error::SqliteFailure(corrupt, Some(msg)));
    }
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
