//! SQLite's SQL for retention: deleting finished verifications (and with them the full phone
//! numbers) and removing an old prefix of the audit chain while leaving a sealed anchor, inside
//! `prune`'s write transaction.

use rusqlite::{Connection, OptionalExtension, params};

use crate::crypto::Secrets;
use crate::store::audit::{Anchor, anchor_mac};
use crate::store::retention::Cut;

/// See [`crate::store::AuditTx::delete_finished_challenges`].
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

/// See [`crate::store::AuditTx::audit_plan_cut`].
pub fn plan_cut(c: &Connection, cutoff_ms: i64) -> rusqlite::Result<Option<Cut>> {
    let first_kept: Option<i64> = c
        .query_row(
            "SELECT id FROM audit_events WHERE at >= ?1 ORDER BY id LIMIT 1",
            [cutoff_ms],
            |r| r.get(0),
        )
        .optional()?;
    let last_removed: Option<i64> = match first_kept {
        Some(id) => c
            .query_row(
                "SELECT id FROM audit_events WHERE id < ?1 ORDER BY id DESC LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?,
        None => super::audit::head(c)?.map(|(id, _)| id),
    };
    Ok(last_removed.map(|last_removed| Cut {
        last_removed,
        first_kept,
    }))
}

/// See [`crate::store::AuditTx::audit_truncate`].
pub fn truncate_audit(
    c: &Connection,
    secrets: &Secrets,
    cut: Cut,
    now_ms: i64,
) -> rusqlite::Result<Anchor> {
    let last_id = cut.last_removed;
    let last_mac: String = c.query_row(
        "SELECT mac FROM audit_events WHERE id = ?1",
        [last_id],
        |r| r.get(0),
    )?;
    let removed = c.execute("DELETE FROM audit_events WHERE id <= ?1", [last_id])? as i64;
    let mac = anchor_mac(secrets, last_id, &last_mac, removed, now_ms);
    c.execute(
        "INSERT INTO audit_anchor (last_id, last_mac, removed, at, mac) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![last_id, last_mac, removed, now_ms, mac],
    )?;
    Ok(Anchor {
        seq: c.last_insert_rowid(),
        last_id,
        last_mac,
        removed,
        at: now_ms,
        mac,
    })
}
