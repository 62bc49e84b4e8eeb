//! SQLite's SQL for the Verify Events outbox ([`crate::store::events::EventsTx`]). Writers are
//! serialised by `BEGIN IMMEDIATE`, so a lease taken in a write transaction is never taken
//! twice; `lease_until` keeps a second server off a row while the first is sending it.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use crate::clock::{from_ms, to_ms};
use crate::store::events::{NewOutboxEvent, OutboxRow, SinkBacklog};

pub fn enqueue(c: &Connection, e: &NewOutboxEvent<'_>, max: u64) -> rusqlite::Result<bool> {
    let held: i64 = c.query_row(
        "SELECT count(*) FROM event_outbox WHERE sink = ?1",
        [e.sink],
        |r| r.get(0),
    )?;
    if u64::try_from(held).unwrap_or(0) >= max {
        return Ok(false);
    }
    let at = to_ms(e.at);
    c.execute(
        "INSERT INTO event_outbox (sink, event_type, audit_id, challenge_id, created_at, data, next_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
        params![e.sink, e.event_type, e.audit_id, e.challenge_id, at, e.data],
    )?;
    Ok(true)
}

fn row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        sink: r.get(1)?,
        event_type: r.get(2)?,
        audit_id: r.get(3)?,
        challenge_id: r.get(4)?,
        created_at: from_ms(r.get(5)?),
        data: r.get(6)?,
        attempts: u32::try_from(r.get::<_, i64>(7)?.max(0)).unwrap_or(u32::MAX),
    })
}

pub fn lease(
    c: &Connection,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
) -> rusqlite::Result<Vec<OutboxRow>> {
    let mut stmt = c.prepare(
        "SELECT id, sink, event_type, audit_id, challenge_id, created_at, data, attempts
         FROM event_outbox
         WHERE state = 'pending' AND next_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
         ORDER BY next_at, id LIMIT ?2",
    )?;
    let rows: Vec<OutboxRow> = stmt
        .query_map(params![to_ms(now), limit as i64], row)?
        .collect::<rusqlite::Result<_>>()?;
    for r in &rows {
        c.execute(
            "UPDATE event_outbox SET lease_until = ?2 WHERE id = ?1",
            params![r.id, to_ms(until)],
        )?;
    }
    Ok(rows)
}

pub fn delivered(c: &Connection, id: i64) -> rusqlite::Result<()> {
    c.execute("DELETE FROM event_outbox WHERE id = ?1", [id])?;
    Ok(())
}

pub fn failed(
    c: &Connection,
    id: i64,
    attempts: u32,
    next_at: Option<DateTime<Utc>>,
    error: &str,
) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE event_outbox SET attempts = ?2, lease_until = NULL, last_error = ?3,
             next_at = COALESCE(?4, next_at),
             state = CASE WHEN ?4 IS NULL THEN 'failed' ELSE 'pending' END
         WHERE id = ?1",
        params![id, attempts, error, next_at.map(to_ms)],
    )?;
    Ok(())
}

pub fn backlog(c: &Connection) -> rusqlite::Result<Vec<SinkBacklog>> {
    let mut stmt = c.prepare(
        "SELECT sink,
                sum(state = 'pending'), sum(state = 'failed'),
                sum(CASE WHEN state = 'pending' THEN attempts ELSE 0 END), min(created_at),
                (SELECT last_error FROM event_outbox e2
                 WHERE e2.sink = e.sink AND e2.last_error IS NOT NULL
                 ORDER BY e2.id DESC LIMIT 1)
         FROM event_outbox e GROUP BY sink ORDER BY sink",
    )?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    stmt.query_map([], |r| {
        Ok(SinkBacklog {
            sink: r.get(0)?,
            pending: n(r.get(1)?),
            failed: n(r.get(2)?),
            retries: n(r.get(3)?),
            oldest: r.get::<_, Option<i64>>(4)?.map(from_ms),
            last_error: r.get(5)?,
        })
    })?
    .collect()
}
