//! PostgreSQL's SQL for the conversion guard (schema 4), statement for statement SQLite's
//! ([`crate::store::sqlite::pauses`]): the pauses by scope and the conversion figures, each
//! without the sends another scope's pause already answers for. Runs in the caller's
//! transaction.

use chrono::{DateTime, Utc};
use postgres::Row;

use super::conn::{Conn, PgResult, u32_of};
use crate::clock::{from_ms, to_ms};
use crate::domain::limits::{Conversion, HOUR, Pause, Scope};
use crate::store::NewPause;

const STATION_PAUSED: &str = "s.station IN (SELECT key FROM limit_pauses WHERE scope = 'station')";
const PREFIX_PAUSED: &str = "s.prefix_key IN (SELECT key FROM limit_pauses WHERE scope = 'prefix')";

const FIGURES: &str = "count(*), count(DISTINCT s.challenge_id),
     count(DISTINCT CASE WHEN s.converted = 1 THEN s.challenge_id END)";

fn figures(r: &Row) -> PgResult<Conversion> {
    Ok(Conversion {
        sends: u32_of(r.try_get(0)?),
        verifications: u32_of(r.try_get(1)?),
        converted: u32_of(r.try_get(2)?),
    })
}

/// Where the guard's window starts: an hour ago, or the last `otpd limits resume` if later.
pub fn window_start(c: &mut Conn<'_>, now: DateTime<Utc>) -> PgResult<DateTime<Utc>> {
    let resumed: Option<i64> =
        match c.query_opt("SELECT resumed_at FROM limit_pause WHERE id = 1", &[])? {
            Some(r) => r.try_get(0)?,
            None => None,
        };
    let hour = now - HOUR;
    Ok(resumed.map_or(hour, |r| from_ms(r).max(hour)))
}

/// This station's sends since `since`, without those to paused prefixes.
pub fn station(c: &mut Conn<'_>, since: DateTime<Utc>, station: &str) -> PgResult<Conversion> {
    let r = c.query_one(
        &format!(
            "SELECT {FIGURES} FROM limit_sends s
             WHERE s.at > $1 AND s.station = $2 AND NOT {PREFIX_PAUSED}"
        ),
        &[&to_ms(since), &station],
    )?;
    figures(&r)
}

/// Sends to one prefix since `since`, without those from paused stations.
pub fn prefix(c: &mut Conn<'_>, since: DateTime<Utc>, prefix_key: &str) -> PgResult<Conversion> {
    let r = c.query_one(
        &format!(
            "SELECT {FIGURES} FROM limit_sends s
             WHERE s.at > $1 AND s.prefix_key = $2 AND NOT {STATION_PAUSED}"
        ),
        &[&to_ms(since), &prefix_key],
    )?;
    figures(&r)
}

/// Every send since `since` but those of paused stations and prefixes; and the same sends
/// split by station, then by prefix.
pub fn global(c: &mut Conn<'_>, since: DateTime<Utc>) -> PgResult<(Conversion, Vec<Conversion>)> {
    let filter = format!("s.at > $1 AND NOT {STATION_PAUSED} AND NOT {PREFIX_PAUSED}");
    let since = to_ms(since);
    let total = figures(&c.query_one(
        &format!("SELECT {FIGURES} FROM limit_sends s WHERE {filter}"),
        &[&since],
    )?)?;
    let mut parts = Vec::new();
    for column in ["station", "prefix_key"] {
        let rows = c.query(
            &format!("SELECT {FIGURES} FROM limit_sends s WHERE {filter} GROUP BY s.{column}"),
            &[&since],
        )?;
        for row in &rows {
            parts.push(figures(row)?);
        }
    }
    Ok((total, parts))
}

fn pause_from_row(r: &Row) -> PgResult<Pause> {
    let scope: String = r.try_get(0)?;
    Ok(Pause {
        // The CHECK constraint admits only the three names.
        scope: Scope::parse(&scope).unwrap_or(Scope::Global),
        name: r.try_get(1)?,
        at: from_ms(r.try_get(2)?),
        reason: r.try_get(3)?,
    })
}

const ORDER: &str = "ORDER BY CASE scope WHEN 'global' THEN 0 WHEN 'station' THEN 1 ELSE 2 END,
                              paused_at, name";

/// The pauses that hold a send from `station` (to a number in `prefix_key`, if given).
pub fn holding(c: &mut Conn<'_>, station: &str, prefix_key: Option<&str>) -> PgResult<Vec<Pause>> {
    let rows = c.query(
        &format!(
            "SELECT scope, name, paused_at, reason FROM limit_pauses
             WHERE scope = 'global'
                OR (scope = 'station' AND key = $1)
                OR (scope = 'prefix' AND key = $2)
             {ORDER}"
        ),
        &[&station, &prefix_key],
    )?;
    rows.iter().map(pause_from_row).collect()
}

/// Every pause in force, for `otpd limits`.
pub fn all(c: &mut Conn<'_>) -> PgResult<Vec<Pause>> {
    let rows = c.query(
        &format!("SELECT scope, name, paused_at, reason FROM limit_pauses {ORDER}"),
        &[],
    )?;
    rows.iter().map(pause_from_row).collect()
}

/// Persists a pause; `true` if this call paused (that scope was not yet paused).
pub fn pause(c: &mut Conn<'_>, p: &NewPause<'_>) -> PgResult<bool> {
    let n = c.execute(
        "INSERT INTO limit_pauses (scope, key, name, paused_at, reason)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING",
        &[&p.scope.as_str(), &p.key, &p.name, &to_ms(p.at), &p.reason],
    )?;
    Ok(n == 1)
}

/// Lifts every pause; every scope's window restarts now. Returns the pauses lifted.
pub fn resume(c: &mut Conn<'_>, now: DateTime<Utc>) -> PgResult<Vec<Pause>> {
    let lifted = all(c)?;
    c.execute("DELETE FROM limit_pauses", &[])?;
    c.execute(
        "UPDATE limit_pause SET resumed_at = $1 WHERE id = 1",
        &[&to_ms(now)],
    )?;
    Ok(lifted)
}
