//! SQLite's SQL for the audit pages' sessions and the audit rollup (migration 0010), the
//! store half of [`crate::store::ReviewTx`].

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::audit_query::BucketCount;
use crate::store::review::StoredSession;

pub fn insert_session(c: &Connection, hash: &str, sid: &str, now: i64) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO audit_sessions (token_hash, key_sid, created_at, last_seen)
         VALUES (?1, ?2, ?3, ?3)",
        params![hash, sid, now],
    )
    .map(|_| ())
}

pub fn session(c: &Connection, hash: &str) -> rusqlite::Result<Option<StoredSession>> {
    c.prepare_cached(
        "SELECT key_sid, created_at, last_seen, ended_at FROM audit_sessions
         WHERE token_hash = ?1",
    )?
    .query_row([hash], |r| {
        Ok(StoredSession {
            key_sid: r.get(0)?,
            created_at: r.get(1)?,
            last_seen: r.get(2)?,
            ended_at: r.get(3)?,
        })
    })
    .optional()
}

pub fn touch_session(c: &Connection, hash: &str, now: i64) -> rusqlite::Result<()> {
    c.prepare_cached(
        "UPDATE audit_sessions SET last_seen = max(last_seen, ?2) WHERE token_hash = ?1",
    )?
    .execute(params![hash, now])
    .map(|_| ())
}

pub fn end_session(c: &Connection, hash: &str, now: i64) -> rusqlite::Result<bool> {
    c.execute(
        "UPDATE audit_sessions SET ended_at = ?2 WHERE token_hash = ?1 AND ended_at IS NULL",
        params![hash, now],
    )
    .map(|n| n == 1)
}

pub fn delete_sessions_before(c: &Connection, cutoff: i64) -> rusqlite::Result<usize> {
    c.execute("DELETE FROM audit_sessions WHERE created_at < ?1", [cutoff])
}

pub fn rollup_mark(c: &Connection) -> rusqlite::Result<i64> {
    // A SQLite write transaction already holds the database's one write lock.
    c.query_row(
        "SELECT through_id FROM audit_rollup_mark WHERE one = 1",
        [],
        |r| r.get(0),
    )
}

pub fn rollup_add(c: &Connection, counts: &[BucketCount], mark: i64) -> rusqlite::Result<()> {
    let mut add = c.prepare_cached(
        "INSERT INTO audit_rollup (bucket, event, n) VALUES (?1, ?2, ?3)
         ON CONFLICT (bucket, event) DO UPDATE SET n = n + excluded.n",
    )?;
    for b in counts.iter().filter(|b| b.count != 0) {
        add.execute(params![b.bucket, b.event, b.count])?;
    }
    c.execute("DELETE FROM audit_rollup WHERE n = 0", [])?;
    c.execute(
        "UPDATE audit_rollup_mark SET through_id = ?1 WHERE one = 1",
        [mark],
    )
    .map(|_| ())
}

pub fn rollup_counts(
    c: &Connection,
    since: Option<i64>,
    until: Option<i64>,
) -> rusqlite::Result<Vec<BucketCount>> {
    let mut stmt = c.prepare_cached(
        "SELECT bucket, event, n FROM audit_rollup
         WHERE bucket >= ?1 AND bucket < ?2 ORDER BY bucket, event",
    )?;
    let rows = stmt.query_map(
        params![since.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX)],
        |r| {
            Ok(BucketCount {
                bucket: r.get(0)?,
                event: r.get(1)?,
                count: r.get(2)?,
            })
        },
    )?;
    rows.collect()
}

pub fn bucket_counts_by_id(
    c: &Connection,
    after: i64,
    through: i64,
    bucket_ms: i64,
) -> rusqlite::Result<Vec<BucketCount>> {
    let mut stmt = c.prepare_cached(
        "SELECT at / ?3, event, count(*) FROM audit_events
         WHERE id > ?1 AND id <= ?2 GROUP BY 1, 2 ORDER BY 1",
    )?;
    let rows = stmt.query_map(params![after, through, bucket_ms.max(1)], |r| {
        Ok(BucketCount {
            bucket: r.get(0)?,
            event: r.get(1)?,
            count: r.get(2)?,
        })
    })?;
    rows.collect()
}
