//! PostgreSQL's half of the audit chain's write side: reading the chain head and appending the
//! next row inside the caller's write transaction, which holds the writers' lock (the chain
//! head's lock), so writers cannot fork the chain; and only onto a head that is a MAC.

use super::conn::{Conn, DbError, PgResult};
use crate::crypto::Secrets;
use crate::store::audit::{GENESIS_MAC, NewEvent, chain_row, is_mac};

/// Appends one event to the chain; returns its id.
pub fn append(c: &mut Conn<'_>, secrets: &Secrets, e: &NewEvent<'_>) -> PgResult<i64> {
    // An empty table after a retention truncation continues from the anchor.
    let (prev_id, prev_mac) = match head(c)? {
        Some(last) => last,
        None => latest_anchor(c)?.unwrap_or((0, GENESIS_MAC.to_string())),
    };
    if !is_mac(&prev_mac) {
        return Err(DbError::Bad(format!(
            "audit row {prev_id}, the chain's newest, holds a mac that is not 64 lowercase hex \
             digits; run otpd audit verify"
        )));
    }
    let row = chain_row(secrets, prev_id, prev_mac, e);
    c.execute(
        "INSERT INTO audit_events (id, at, station, event, outcome, phone_masked, phone_key,
                                   challenge_id, detail, prev_mac, mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &row.id,
            &row.at,
            &row.station,
            &row.event,
            &row.outcome,
            &row.phone_masked,
            &row.phone_key,
            &row.challenge_id,
            &row.detail,
            &row.prev_mac,
            &row.mac,
        ],
    )?;
    Ok(row.id)
}

/// The newest row's id and MAC: the chain's head.
pub fn head(c: &mut Conn<'_>) -> PgResult<Option<(i64, String)>> {
    match c.query_opt(
        "SELECT id, mac FROM audit_events ORDER BY id DESC LIMIT 1",
        &[],
    )? {
        Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
        None => Ok(None),
    }
}

/// The newest retention anchor's last id and MAC (the anchor's own MAC is `audit verify`'s to
/// check, as on SQLite).
fn latest_anchor(c: &mut Conn<'_>) -> PgResult<Option<(i64, String)>> {
    match c.query_opt(
        "SELECT last_id, last_mac FROM audit_anchor ORDER BY seq DESC LIMIT 1",
        &[],
    )? {
        Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
        None => Ok(None),
    }
}
