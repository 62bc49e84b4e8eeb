//! PostgreSQL's SQL for the audit pages' sessions and the audit rollup (migration 0010),
//! statement for statement SQLite's ([`crate::store::sqlite::review`]).

use postgres::Row;

use super::conn::{Conn, PgResult};
use crate::store::audit_query::BucketCount;
use crate::store::review::StoredSession;

fn bucket(r: &Row) -> PgResult<BucketCount> {
    Ok(BucketCount {
        bucket: r.try_get(0)?,
        event: r.try_get(1)?,
        count: r.try_get(2)?,
    })
}

pub fn insert_session(c: &mut Conn<'_>, hash: &str, sid: &str, now: i64) -> PgResult<()> {
    c.execute(
        "INSERT INTO audit_sessions (token_hash, key_sid, created_at, last_seen)
         VALUES ($1, $2, $3, $3)",
        &[&hash, &sid, &now],
    )
    .map(|_| ())
}

pub fn session(c: &mut Conn<'_>, hash: &str) -> PgResult<Option<StoredSession>> {
    let Some(r) = c.query_opt(
        "SELECT key_sid, created_at, last_seen, ended_at FROM audit_sessions
         WHERE token_hash = $1",
        &[&hash],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(StoredSession {
        key_sid: r.try_get(0)?,
        created_at: r.try_get(1)?,
        last_seen: r.try_get(2)?,
        ended_at: r.try_get(3)?,
    }))
}

pub fn touch_session(c: &mut Conn<'_>, hash: &str, now: i64) -> PgResult<()> {
    c.execute(
        "UPDATE audit_sessions SET last_seen = greatest(last_seen, $2) WHERE token_hash = $1",
        &[&hash, &now],
    )
    .map(|_| ())
}

pub fn end_session(c: &mut Conn<'_>, hash: &str, now: i64) -> PgResult<bool> {
    c.execute(
        "UPDATE audit_sessions SET ended_at = $2 WHERE token_hash = $1 AND ended_at IS NULL",
        &[&hash, &now],
    )
    .map(|n| n == 1)
}

pub fn delete_sessions_before(c: &mut Conn<'_>, cutoff: i64) -> PgResult<usize> {
    let n = c.execute(
        "DELETE FROM audit_sessions WHERE created_at < $1",
        &[&cutoff],
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

pub fn rollup_mark(c: &mut Conn<'_>) -> PgResult<i64> {
    // The row lock serialises folds: a second one waits, then reads the mark the first left.
    Ok(c.query_one(
        "SELECT through_id FROM audit_rollup_mark WHERE one = 1 FOR UPDATE",
        &[],
    )?
    .try_get(0)?)
}

pub fn rollup_add(c: &mut Conn<'_>, counts: &[BucketCount], mark: i64) -> PgResult<()> {
    for b in counts.iter().filter(|b| b.count != 0) {
        c.execute(
            "INSERT INTO audit_rollup (bucket, event, n) VALUES ($1, $2, $3)
             ON CONFLICT (bucket, event) DO UPDATE SET n = audit_rollup.n + excluded.n",
            &[&b.bucket, &b.event, &b.count],
        )?;
    }
    c.execute("DELETE FROM audit_rollup WHERE n = 0", &[])?;
    c.execute(
        "UPDATE audit_rollup_mark SET through_id = $1 WHERE one = 1",
        &[&mark],
    )
    .map(|_| ())
}

pub fn rollup_counts(
    c: &mut Conn<'_>,
    since: Option<i64>,
    until: Option<i64>,
) -> PgResult<Vec<BucketCount>> {
    c.query(
        "SELECT bucket, event, n FROM audit_rollup
         WHERE bucket >= $1 AND bucket < $2 ORDER BY bucket, event",
        &[&since.unwrap_or(i64::MIN), &until.unwrap_or(i64::MAX)],
    )?
    .iter()
    .map(bucket)
    .collect()
}

pub fn bucket_counts_by_id(
    c: &mut Conn<'_>,
    after: i64,
    through: i64,
    bucket_ms: i64,
) -> PgResult<Vec<BucketCount>> {
    c.query(
        "SELECT at / $3, event, count(*) FROM audit_events
         WHERE id > $1 AND id <= $2 GROUP BY 1, 2 ORDER BY 1",
        &[&after, &through, &bucket_ms.max(1)],
    )?
    .iter()
    .map(bucket)
    .collect()
}
