//! SQLite's SQL for the audit chain: appending the next row inside the caller's `BEGIN
//! IMMEDIATE` transaction (so writers cannot fork the chain, and only onto a head that is a MAC),
//! and the chain reads of [`crate::store::AuditTx`] (head, anchor, single rows, a page of rows
//! in id order). The filtered queries are in [`super::audit_query`].

use rusqlite::{Connection, OptionalExtension, params};

use crate::crypto::Secrets;
use crate::store::audit::{Anchor, AuditBatch, AuditRow, GENESIS_MAC, NewEvent, RowRef};
use crate::store::audit::{chain_row, is_mac};

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

pub(super) const ROW_COLUMNS: &str =
    "id, at, station, event, outcome, phone_masked, phone_key, challenge_id, detail, prev_mac, mac";

pub(super) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
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
}

/// Adds a row selected with [`ROW_COLUMNS`] to `out`, borrowing its fields from the cursor; a
/// row whose fields are not what otpd writes (text that is not UTF-8, a time that is no
/// integer) goes in as unreadable.
pub(super) fn push_row(out: &mut AuditBatch, r: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    fn fields<'r>(r: &'r rusqlite::Row<'_>, id: i64) -> rusqlite::Result<RowRef<'r>> {
        let text = |i: usize| -> rusqlite::Result<&'r str> { Ok(r.get_ref(i)?.as_str()?) };
        let opt_text =
            |i: usize| -> rusqlite::Result<Option<&'r str>> { Ok(r.get_ref(i)?.as_str_or_null()?) };
        Ok(RowRef {
            id,
            at: r.get(1)?,
            station: text(2)?,
            event: text(3)?,
            outcome: text(4)?,
            phone_masked: opt_text(5)?,
            phone_key: opt_text(6)?,
            challenge_id: r.get(7)?,
            detail: text(8)?,
            prev_mac: text(9)?,
            mac: text(10)?,
        })
    }
    let id: i64 = r.get(0)?;
    match fields(r, id) {
        Ok(row) => out.push(&row),
        Err(_) => out.push_unreadable(id),
    }
    Ok(())
}

/// The newest row's id alone (cheap: the end of the rowid b-tree).
pub fn head_id(c: &Connection) -> rusqlite::Result<i64> {
    c.prepare_cached("SELECT coalesce(max(id), 0) FROM audit_events")?
        .query_row([], |r| r.get(0))
}

/// The smallest id in the log, if any.
pub fn min_id(c: &Connection) -> rusqlite::Result<Option<i64>> {
    c.prepare_cached("SELECT min(id) FROM audit_events")?
        .query_row([], |r| r.get(0))
}

/// One row by id.
pub fn row(c: &Connection, id: i64) -> rusqlite::Result<Option<AuditRow>> {
    c.query_row(
        &format!("SELECT {ROW_COLUMNS} FROM audit_events WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// The first row after `id`, if any.
pub fn next_row(c: &Connection, id: i64) -> rusqlite::Result<Option<AuditRow>> {
    c.query_row(
        &format!("SELECT {ROW_COLUMNS} FROM audit_events WHERE id > ?1 ORDER BY id LIMIT 1"),
        [id],
        from_row,
    )
    .optional()
}

/// The id of the row whose MAC is `mac` (a full scan: used only to explain a broken chain).
pub fn id_with_mac(c: &Connection, mac: &str) -> rusqlite::Result<Option<i64>> {
    c.query_row(
        "SELECT id FROM audit_events WHERE mac = ?1 ORDER BY id LIMIT 1",
        [mac],
        |r| r.get(0),
    )
    .optional()
}

/// The newest anchor, if the chain was ever truncated.
pub fn latest_anchor(c: &Connection) -> rusqlite::Result<Option<Anchor>> {
    c.prepare_cached(
        "SELECT seq, last_id, last_mac, removed, at, mac FROM audit_anchor ORDER BY seq DESC LIMIT 1",
    )?
    .query_row([], |r| {
        Ok(Anchor {
            seq: r.get(0)?,
            last_id: r.get(1)?,
            last_mac: r.get(2)?,
            removed: r.get(3)?,
            at: r.get(4)?,
            mac: r.get(5)?,
        })
    })
    .optional()
}

/// Reads rows in id order starting after `after_id`, at most `limit` of them (for tests and
/// tools that inspect a SQLite file directly).
pub fn rows_after(c: &Connection, after_id: i64, limit: i64) -> rusqlite::Result<Vec<AuditRow>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM audit_events WHERE id > ?1 ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after_id, limit], from_row)?;
    rows.collect()
}
