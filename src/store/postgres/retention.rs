//! PostgreSQL's SQL for retention, statement for statement SQLite's
//! ([`crate::store::sqlite::retention`]): deleting finished verifications (their `VE…` SIDs go
//! with them) and removing an old prefix of the audit chain while leaving a sealed anchor,
//! inside `prune`'s write transaction (which holds the writers' lock).

use super::audit::head;
use super::conn::{Conn, PgResult};
use crate::crypto::Secrets;
use crate::store::audit::{Anchor, anchor_mac};
use crate::store::retention::Cut;

/// See [`crate::store::AuditTx::delete_finished_challenges`].
pub fn delete_finished_challenges(
    c: &mut Conn<'_>,
    cutoff_ms: i64,
    now_ms: i64,
) -> PgResult<usize> {
    let n = c.execute(
        "DELETE FROM challenges
         WHERE expires_at < $1
           AND (state IN ('approved', 'failed', 'cancelled') OR expires_at <= $2)",
        &[&cutoff_ms, &now_ms],
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

fn first_id(c: &mut Conn<'_>, sql: &str, arg: i64) -> PgResult<Option<i64>> {
    match c.query_opt(sql, &[&arg])? {
        Some(r) => Ok(Some(r.try_get(0)?)),
        None => Ok(None),
    }
}

/// See [`crate::store::AuditTx::audit_plan_cut`].
pub fn plan_cut(c: &mut Conn<'_>, cutoff_ms: i64) -> PgResult<Option<Cut>> {
    let first_kept = first_id(
        c,
        "SELECT id FROM audit_events WHERE at >= $1 ORDER BY id LIMIT 1",
        cutoff_ms,
    )?;
    let last_removed = match first_kept {
        Some(id) => first_id(
            c,
            "SELECT id FROM audit_events WHERE id < $1 ORDER BY id DESC LIMIT 1",
            id,
        )?,
        None => head(c)?.map(|(id, _)| id),
    };
    Ok(last_removed.map(|last_removed| Cut {
        last_removed,
        first_kept,
    }))
}

/// See [`crate::store::AuditTx::audit_truncate`]. The anchor's `seq` is the next after the
/// newest (the writers' lock makes that safe), as SQLite's rowid would be.
pub fn truncate_audit(
    c: &mut Conn<'_>,
    secrets: &Secrets,
    cut: Cut,
    now_ms: i64,
) -> PgResult<Anchor> {
    let last_id = cut.last_removed;
    let last_mac: String = c
        .query_one("SELECT mac FROM audit_events WHERE id = $1", &[&last_id])?
        .try_get(0)?;
    let removed = c.execute("DELETE FROM audit_events WHERE id <= $1", &[&last_id])?;
    let removed = i64::try_from(removed).unwrap_or(i64::MAX);
    let mac = anchor_mac(secrets, last_id, &last_mac, removed, now_ms);
    let seq: i64 = c
        .query_one(
            "INSERT INTO audit_anchor (seq, last_id, last_mac, removed, at, mac)
             SELECT coalesce(max(seq), 0) + 1, $1, $2, $3, $4, $5 FROM audit_anchor
             RETURNING seq",
            &[&last_id, &last_mac, &removed, &now_ms, &mac],
        )?
        .try_get(0)?;
    Ok(Anchor {
        seq,
        last_id,
        last_mac,
        removed,
        at: now_ms,
        mac,
    })
}
