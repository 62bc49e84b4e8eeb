//! SQL for retention: deleting finished verifications (and with them the full phone numbers)
//! and, when audit retention is configured, removing an old prefix of the audit chain while
//! leaving a sealed anchor so the rest still verifies. Callers run these inside `Store::write`.

use rusqlite::{Connection, OptionalExtension, params};

use super::audit::{Anchor, anchor_mac};
use crate::crypto::Secrets;

/// Deletes verifications that are finished (approved, failed, cancelled, or pending but
/// expired) and whose code expired before `cutoff_ms`. Never touches audit rows. `cutoff_ms`
/// must not be after `now_ms`.
pub fn delete_finished_challenges(
    c: &Connection,
    cutoff_ms: i64,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    c.execute(
        "DELETE FROM challenges
         WHERE expires_at < ?1
           AND (state IN ('approved', 'failed', 'cancelled') OR expires_at <= ?2)",
        params![cutoff_ms, now_ms],
    )
}

/// Removes the longest prefix of the audit chain whose rows are all older than `cutoff_ms`
/// and records an anchor (the last removed row's id and MAC, sealed with the audit key).
/// Returns the new anchor, or `None` when no row qualifies.
pub fn truncate_audit(
    c: &Connection,
    secrets: &Secrets,
    cutoff_ms: i64,
    now_ms: i64,
) -> rusqlite::Result<Option<Anchor>> {
    let first_kept: Option<i64> = c
        .query_row(
            "SELECT id FROM audit_events WHERE at >= ?1 ORDER BY id LIMIT 1",
            [cutoff_ms],
            |r| r.get(0),
        )
        .optional()?;
    let last_removed: Option<(i64, String)> = match first_kept {
        Some(id) => c
            .query_row(
                "SELECT id, mac FROM audit_events WHERE id < ?1 ORDER BY id DESC LIMIT 1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
        None => super::audit::head(c)?,
    };
    let Some((last_id, last_mac)) = last_removed else {
        return Ok(None);
    };
    let removed = c.execute("DELETE FROM audit_events WHERE id <= ?1", [last_id])? as i64;
    let mac = anchor_mac(secrets, last_id, &last_mac, removed, now_ms);
    c.execute(
        "INSERT INTO audit_anchor (last_id, last_mac, removed, at, mac) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![last_id, last_mac, removed, now_ms, mac],
    )?;
    Ok(Some(Anchor {
        seq: c.last_insert_rowid(),
        last_id,
        last_mac,
        removed,
        at: now_ms,
        mac,
    }))
}
