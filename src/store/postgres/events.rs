//! PostgreSQL's SQL for the Verify Events outbox, statement for statement SQLite's
//! ([`crate::store::sqlite::events`]). Several servers on one database lease due rows with
//! `FOR UPDATE SKIP LOCKED`: a row another server's transaction is leasing is skipped, not
//! waited for, and once leased (`lease_until`) no other server takes it until the lease ends.

use chrono::{DateTime, Utc};
use postgres::Row;

use super::conn::{Conn, PgResult, u32_of};
use crate::clock::{from_ms, to_ms};
use crate::store::events::{NewOutboxEvent, OutboxRow, SinkBacklog};

pub fn enqueue(c: &mut Conn<'_>, e: &NewOutboxEvent<'_>, max: u64) -> PgResult<bool> {
    let held: i64 = c
        .query_one(
            "SELECT count(*) FROM event_outbox WHERE sink = $1",
            &[&e.sink],
        )?
        .try_get(0)?;
    if u64::try_from(held).unwrap_or(0) >= max {
        return Ok(false);
    }
    let at = to_ms(e.at);
    c.execute(
        "INSERT INTO event_outbox (sink, event_type, audit_id, challenge_id, created_at, data, next_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5)",
        &[
            &e.sink,
            &e.event_type,
            &e.audit_id,
            &e.challenge_id,
            &at,
            &e.data,
        ],
    )?;
    Ok(true)
}

fn row(r: &Row) -> PgResult<OutboxRow> {
    Ok(OutboxRow {
        id: r.try_get(0)?,
        sink: r.try_get(1)?,
        event_type: r.try_get(2)?,
        audit_id: r.try_get(3)?,
        challenge_id: r.try_get(4)?,
        created_at: from_ms(r.try_get(5)?),
        data: r.try_get(6)?,
        attempts: u32_of(r.try_get(7)?),
    })
}

pub fn lease(
    c: &mut Conn<'_>,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
) -> PgResult<Vec<OutboxRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c.query(
        "UPDATE event_outbox SET lease_until = $2
         WHERE id IN (
             SELECT id FROM event_outbox
             WHERE state = 'pending' AND next_at <= $1
               AND (lease_until IS NULL OR lease_until <= $1)
             ORDER BY next_at, id LIMIT $3
             FOR UPDATE SKIP LOCKED)
         RETURNING id, sink, event_type, audit_id, challenge_id, created_at, data, attempts",
        &[&to_ms(now), &to_ms(until), &limit],
    )?;
    let mut out: Vec<OutboxRow> = rows.iter().map(row).collect::<PgResult<_>>()?;
    out.sort_by_key(|r| r.id);
    Ok(out)
}

pub fn delivered(c: &mut Conn<'_>, id: i64) -> PgResult<()> {
    c.execute("DELETE FROM event_outbox WHERE id = $1", &[&id])?;
    Ok(())
}

pub fn failed(
    c: &mut Conn<'_>,
    id: i64,
    attempts: u32,
    next_at: Option<DateTime<Utc>>,
    error: &str,
) -> PgResult<()> {
    let attempts = i64::from(attempts);
    let next_at = next_at.map(to_ms);
    c.execute(
        "UPDATE event_outbox SET attempts = $2, lease_until = NULL, last_error = $3,
             next_at = COALESCE($4, next_at),
             state = CASE WHEN $4::BIGINT IS NULL THEN 'failed' ELSE 'pending' END
         WHERE id = $1",
        &[&id, &attempts, &error, &next_at],
    )?;
    Ok(())
}

pub fn backlog(c: &mut Conn<'_>) -> PgResult<Vec<SinkBacklog>> {
    let rows = c.query(
        "SELECT sink,
                count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'failed'),
                COALESCE(sum(attempts) FILTER (WHERE state = 'pending'), 0)::BIGINT,
                min(created_at),
                (SELECT last_error FROM event_outbox e2
                 WHERE e2.sink = e.sink AND e2.last_error IS NOT NULL
                 ORDER BY e2.id DESC LIMIT 1)
         FROM event_outbox e GROUP BY sink ORDER BY sink",
        &[],
    )?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    rows.iter()
        .map(|r| {
            Ok(SinkBacklog {
                sink: r.try_get(0)?,
                pending: n(r.try_get(1)?),
                failed: n(r.try_get(2)?),
                retries: n(r.try_get(3)?),
                oldest: r.try_get::<_, Option<i64>>(4)?.map(from_ms),
                last_error: r.try_get(5)?,
            })
        })
        .collect()
}
