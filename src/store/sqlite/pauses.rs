//! SQLite's SQL for the conversion guard (migration 0004): the pauses by scope, and the
//! conversion figures per station, per prefix and for the installation, each without the sends
//! another scope's pause already answers for. Runs in the caller's transaction.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::clock::{from_ms, to_ms};
use crate::domain::limits::{Conversion, HOUR, Pause, Scope};
use crate::store::NewPause;

/// Sends whose station is paused on its own.
const STATION_PAUSED: &str = "s.station IN (SELECT key FROM limit_pauses WHERE scope = 'station')";
/// Sends whose prefix is paused on its own.
const PREFIX_PAUSED: &str = "s.prefix_key IN (SELECT key FROM limit_pauses WHERE scope = 'prefix')";

const FIGURES: &str = "count(*), count(DISTINCT s.challenge_id),
     count(DISTINCT CASE WHEN s.converted = 1 THEN s.challenge_id END)";

fn figures(r: &rusqlite::Row<'_>, from: usize) -> rusqlite::Result<Conversion> {
    Ok(Conversion {
        sends: r.get(from)?,
        verifications: r.get(from + 1)?,
        converted: r.get(from + 2)?,
    })
}

/// Where the guard's window starts: an hour ago, or the last `otpd limits resume` if later.
pub fn window_start(c: &Connection, now: DateTime<Utc>) -> rusqlite::Result<DateTime<Utc>> {
    let resumed: Option<i64> = c
        .query_row("SELECT resumed_at FROM limit_pause WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    let hour = now - HOUR;
    Ok(resumed.map_or(hour, |r| from_ms(r).max(hour)))
}

/// This station's sends since `since`, without those to paused prefixes.
pub fn station(
    c: &Connection,
    since: DateTime<Utc>,
    station: &str,
) -> rusqlite::Result<Conversion> {
    c.prepare_cached(&format!(
        "SELECT {FIGURES} FROM limit_sends s
         WHERE s.at > ?1 AND s.station = ?2 AND NOT {PREFIX_PAUSED}"
    ))?
    .query_row(params![to_ms(since), station], |r| figures(r, 0))
}

/// Sends to one prefix since `since`, without those from paused stations.
pub fn prefix(
    c: &Connection,
    since: DateTime<Utc>,
    prefix_key: &str,
) -> rusqlite::Result<Conversion> {
    c.prepare_cached(&format!(
        "SELECT {FIGURES} FROM limit_sends s
         WHERE s.at > ?1 AND s.prefix_key = ?2 AND NOT {STATION_PAUSED}"
    ))?
    .query_row(params![to_ms(since), prefix_key], |r| figures(r, 0))
}

/// Every send since `since` but those of paused stations and prefixes; and the same sends
/// split by station, then by prefix.
pub fn global(
    c: &Connection,
    since: DateTime<Utc>,
) -> rusqlite::Result<(Conversion, Vec<Conversion>)> {
    let filter = format!("s.at > ?1 AND NOT {STATION_PAUSED} AND NOT {PREFIX_PAUSED}");
    let total = c
        .prepare_cached(&format!(
            "SELECT {FIGURES} FROM limit_sends s WHERE {filter}"
        ))?
        .query_row([to_ms(since)], |r| figures(r, 0))?;
    let mut parts = Vec::new();
    for column in ["station", "prefix_key"] {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {FIGURES} FROM limit_sends s WHERE {filter} GROUP BY s.{column}"
        ))?;
        let rows = stmt.query_map([to_ms(since)], |r| figures(r, 0))?;
        for row in rows {
            parts.push(row?);
        }
    }
    Ok((total, parts))
}

fn pause_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Pause> {
    let scope: String = r.get(0)?;
    Ok(Pause {
        // The CHECK constraint admits only the three names.
        scope: Scope::parse(&scope).unwrap_or(Scope::Global),
        name: r.get(1)?,
        at: from_ms(r.get(2)?),
        reason: r.get(3)?,
    })
}

const ORDER: &str = "ORDER BY CASE scope WHEN 'global' THEN 0 WHEN 'station' THEN 1 ELSE 2 END,
                              paused_at, name";

/// The pauses that hold a send from `station` (to a number in `prefix_key`, if given): global
/// first, then the station's, then the prefix's.
pub fn holding(
    c: &Connection,
    station: &str,
    prefix_key: Option<&str>,
) -> rusqlite::Result<Vec<Pause>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT scope, name, paused_at, reason FROM limit_pauses
         WHERE scope = 'global'
            OR (scope = 'station' AND key = ?1)
            OR (scope = 'prefix' AND key = ?2)
         {ORDER}"
    ))?;
    let rows = stmt.query_map(params![station, prefix_key], pause_from_row)?;
    rows.collect()
}

/// Every pause in force, for `otpd limits`.
pub fn all(c: &Connection) -> rusqlite::Result<Vec<Pause>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT scope, name, paused_at, reason FROM limit_pauses {ORDER}"
    ))?;
    let rows = stmt.query_map([], pause_from_row)?;
    rows.collect()
}

/// Persists a pause; `true` if this call paused (that scope was not yet paused).
pub fn pause(c: &Connection, p: &NewPause<'_>) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "INSERT INTO limit_pauses (scope, key, name, paused_at, reason)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope, key) DO NOTHING",
        )?
        .execute(params![
            p.scope.as_str(),
            p.key,
            p.name,
            to_ms(p.at),
            p.reason
        ])?;
    Ok(n == 1)
}

/// Lifts every pause; every scope's window restarts now. Returns the pauses lifted.
pub fn resume(c: &Connection, now: DateTime<Utc>) -> rusqlite::Result<Vec<Pause>> {
    let lifted = all(c)?;
    c.prepare_cached("DELETE FROM limit_pauses")?.execute([])?;
    c.prepare_cached("UPDATE limit_pause SET resumed_at = ?1 WHERE id = 1")?
        .execute([to_ms(now)])?;
    Ok(lifted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn send(c: &Connection, at: DateTime<Utc>, station: &str, prefix: &str, id: i64, ok: bool) {
        c.execute(
            "INSERT INTO limit_sends (at, phone_key, prefix_key, station, challenge_id, converted)
             VALUES (?1, 'p', ?2, ?3, ?4, ?5)",
            params![to_ms(at), prefix, station, id, ok],
        )
        .unwrap();
    }

    #[test]
    fn each_figure_leaves_out_the_sends_another_pause_answers_for() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("otpd.db")).unwrap();
        let now = t0();
        let c = store.connection();
        send(c, now, "desk", "a", 1, true);
        send(c, now, "desk", "b", 2, false);
        send(c, now, "kiosk", "a", 3, false);
        send(c, now, "kiosk", "c", 4, false);
        let since = now - HOUR;
        assert_eq!(station(c, since, "kiosk").unwrap().sends, 2);
        assert_eq!(prefix(c, since, "a").unwrap().sends, 2);
        let (total, parts) = global(c, since).unwrap();
        assert_eq!((total.sends, total.converted), (4, 1));
        assert_eq!(parts.len(), 2 + 3, "two stations, three prefixes");
        let p = |scope, key: &'static str| NewPause {
            scope,
            key,
            name: key,
            at: now,
            reason: "r",
        };
        assert!(pause(c, &p(Scope::Station, "kiosk")).unwrap());
        assert!(!pause(c, &p(Scope::Station, "kiosk")).unwrap(), "once");
        assert!(pause(c, &p(Scope::Prefix, "b")).unwrap());
        // The kiosk's own figure keeps its sends; the prefix and the whole leave them out.
        assert_eq!(station(c, since, "kiosk").unwrap().sends, 2);
        assert_eq!(prefix(c, since, "a").unwrap().sends, 1);
        assert_eq!(station(c, since, "desk").unwrap().sends, 1, "b is paused");
        let (total, parts) = global(c, since).unwrap();
        assert_eq!((total.sends, total.converted, parts.len()), (1, 1, 2));
        let held = holding(c, "kiosk", Some("b")).unwrap();
        assert_eq!(
            held.iter().map(Pause::describe).collect::<Vec<_>>(),
            ["station kiosk", "prefix b"]
        );
        assert!(holding(c, "desk", Some("a")).unwrap().is_empty());
        assert!(pause(c, &p(Scope::Global, "")).unwrap());
        assert_eq!(holding(c, "desk", None).unwrap()[0].scope, Scope::Global);
        let lifted = resume(c, now).unwrap();
        assert_eq!(lifted.len(), 3);
        assert!(all(c).unwrap().is_empty());
        assert_eq!(window_start(c, now + HOUR).unwrap(), now);
    }

    #[test]
    fn a_pause_set_by_schema_3_becomes_the_global_pause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otpd.db");
        let c = Connection::open(&path).unwrap();
        for sql in [
            include_str!("../../../migrations/sqlite/0001_init.sql"),
            include_str!("../../../migrations/sqlite/0002_limits.sql"),
            include_str!("../../../migrations/sqlite/0003_audit_anchor.sql"),
        ] {
            c.execute_batch(sql).unwrap();
        }
        c.execute(
            "UPDATE limit_pause SET paused_at = ?1, reason = 'old' WHERE id = 1",
            [to_ms(t0())],
        )
        .unwrap();
        c.execute_batch("PRAGMA user_version = 3").unwrap();
        drop(c);
        let store = SqliteStore::open(&path).unwrap();
        let paused = all(store.connection()).unwrap();
        assert_eq!(
            paused,
            [Pause {
                scope: Scope::Global,
                name: String::new(),
                at: t0(),
                reason: "old".into()
            }]
        );
    }
}
