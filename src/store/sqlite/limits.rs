//! SQLite's SQL for the limits (the ledger half of [`crate::store::Tx`]): the sends ledger,
//! per-number state (migration 0002); the conversion guard's pauses and figures are in
//! [`super::pauses`] (migration 0004). Every function takes the
//! caller's transaction, so counting and recording a send happen in the one `BEGIN IMMEDIATE`
//! transaction that issues the code.

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::pauses;
use crate::clock::{from_ms, to_ms};
use crate::domain::PhoneNumber;
use crate::domain::limits::{DAY, FailureEffect, HOUR, Limits, NumberState, Usage, Window};
use crate::store::{Counting, LedgerKeys, LockedNumber, NewSend};

/// Which ledger rows a window counts.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Phone(&'a str),
    Prefix(&'a str),
    Station(&'a str),
    All,
}

fn window(
    c: &Connection,
    scope: Scope<'_>,
    since: DateTime<Utc>,
    cap: u32,
    counting: Counting,
) -> rusqlite::Result<Window> {
    if cap == 0 && counting == Counting::Decide {
        return Ok(Window::default());
    }
    let (col, value) = match scope {
        Scope::Phone(v) => ("phone_key", v),
        Scope::Prefix(v) => ("prefix_key", v),
        Scope::Station(v) => ("station", v),
        Scope::All => ("'*'", "*"),
    };
    let filter = format!("{col} = ?1 AND at > ?2");
    let limit = match counting {
        Counting::Decide => i64::from(cap),
        Counting::Exact => -1,
    };
    let count: u32 = c
        .prepare_cached(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM limit_sends WHERE {filter} LIMIT ?3)"
        ))?
        .query_row(params![value, to_ms(since), limit], |r| r.get(0))?;
    let nth_newest = if cap > 0 && count >= cap {
        c.prepare_cached(&format!(
            "SELECT at FROM limit_sends WHERE {filter} ORDER BY at DESC LIMIT 1 OFFSET ?3"
        ))?
        .query_row(params![value, to_ms(since), i64::from(cap) - 1], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
        .map(from_ms)
    } else {
        None
    };
    Ok(Window { count, nth_newest })
}

pub fn number_state(c: &Connection, phone_key: &str) -> rusqlite::Result<NumberState> {
    Ok(c.prepare_cached(
        "SELECT streak, last_send_at, failures, locked_until, needs_unlock
         FROM limit_numbers WHERE phone_key = ?1",
    )?
    .query_row([phone_key], |r| {
        Ok(NumberState {
            streak: r.get(0)?,
            last_send_at: r.get::<_, Option<i64>>(1)?.map(from_ms),
            failures: r.get(2)?,
            locked_until: r.get::<_, Option<i64>>(3)?.map(from_ms),
            needs_unlock: r.get(4)?,
        })
    })
    .optional()?
    .unwrap_or_default())
}

/// Everything the limits decide on for one prospective send to `keys` from `station`.
pub fn usage(
    c: &Connection,
    l: &Limits,
    keys: &LedgerKeys,
    station: &str,
    now: DateTime<Utc>,
    counting: Counting,
) -> rusqlite::Result<Usage> {
    let hour = now - HOUR;
    let mut station_part = station_usage(c, l, station, now, counting)?;
    let held = pauses::holding(c, station, Some(&keys.prefix))?;
    let judge = judges(l, counting, &held);
    station_part.pauses = held;
    let prefix_conversion = if judge {
        let since = pauses::window_start(c, now)?;
        Some(pauses::prefix(c, since, &keys.prefix)?)
    } else {
        None
    };
    Ok(Usage {
        number: number_state(c, &keys.phone)?,
        prefix_conversion,
        number_hour: window(
            c,
            Scope::Phone(&keys.phone),
            hour,
            l.per_number_per_hour,
            counting,
        )?,
        number_day: window(
            c,
            Scope::Phone(&keys.phone),
            now - DAY,
            l.per_number_per_day,
            counting,
        )?,
        prefix_hour: window(
            c,
            Scope::Prefix(&keys.prefix),
            hour,
            l.per_prefix_per_hour,
            counting,
        )?,
        ..station_part
    })
}

/// Whether the conversion figures are needed: not to decide while a pause already holds the
/// send or the guard is off (`otpd limits` always shows them).
fn judges(l: &Limits, counting: Counting, held: &[crate::domain::limits::Pause]) -> bool {
    counting == Counting::Exact || (l.min_conversion > 0.0 && held.is_empty())
}

/// The counters that do not depend on a number: the pause, this station, every station, and
/// the conversion guard's figures.
pub fn station_usage(
    c: &Connection,
    l: &Limits,
    station: &str,
    now: DateTime<Utc>,
    counting: Counting,
) -> rusqlite::Result<Usage> {
    let hour = now - HOUR;
    let held = pauses::holding(c, station, None)?;
    let mut usage = Usage::default();
    if judges(l, counting, &held) {
        let since = pauses::window_start(c, now)?;
        usage.station_conversion = pauses::station(c, since, station)?;
        (usage.conversion, usage.conversion_parts) = pauses::global(c, since)?;
    }
    Ok(Usage {
        station_hour: window(
            c,
            Scope::Station(station),
            hour,
            l.per_station_per_hour,
            counting,
        )?,
        global_hour: window(c, Scope::All, hour, l.global_per_hour, counting)?,
        pauses: held,
        ..usage
    })
}

/// Records one send: a ledger row, the number's back-off streak, and the ledger's pruning.
pub fn record_send(c: &Connection, l: &Limits, send: &NewSend<'_>) -> rusqlite::Result<()> {
    let NewSend {
        keys,
        phone,
        station,
        challenge_id,
        at: now,
    } = *send;
    c.prepare_cached("DELETE FROM limit_sends WHERE at <= ?1")?
        .execute([to_ms(now - DAY - TimeDelta::hours(1))])?;
    c.prepare_cached(
        "INSERT INTO limit_sends (at, phone_key, prefix_key, station, challenge_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        to_ms(now),
        keys.phone,
        keys.prefix,
        station,
        challenge_id
    ])?;
    let state = number_state(c, &keys.phone)?;
    let streak = l.live_streak(&state, now) + 1;
    c.prepare_cached(
        "INSERT INTO limit_numbers (phone_key, phone_masked, streak, last_send_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (phone_key) DO UPDATE SET
             phone_masked = excluded.phone_masked,
             streak = excluded.streak,
             last_send_at = excluded.last_send_at",
    )?
    .execute(params![keys.phone, phone.masked(), streak, to_ms(now)])?;
    Ok(())
}

/// A verification was approved: it converted, and the number's streak and failures reset.
pub fn record_success(c: &Connection, phone_key: &str, challenge_id: i64) -> rusqlite::Result<()> {
    c.prepare_cached("UPDATE limit_sends SET converted = 1 WHERE challenge_id = ?1")?
        .execute([challenge_id])?;
    c.prepare_cached(
        "UPDATE limit_numbers SET streak = 0, failures = 0, locked_until = NULL
         WHERE phone_key = ?1 AND needs_unlock = 0",
    )?
    .execute([phone_key])?;
    Ok(())
}

/// Stores the effect of a wrong code.
pub fn record_failure(
    c: &Connection,
    phone_key: &str,
    phone: &PhoneNumber,
    e: &FailureEffect,
) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO limit_numbers (phone_key, phone_masked, failures, locked_until, needs_unlock)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (phone_key) DO UPDATE SET
             failures = excluded.failures,
             locked_until = excluded.locked_until,
             needs_unlock = excluded.needs_unlock",
    )?
    .execute(params![
        phone_key,
        phone.masked(),
        e.failures,
        e.locked_until.map(to_ms),
        e.needs_unlock
    ])?;
    Ok(())
}

/// Lifts any lock and clears the failure count; `true` if the number was locked or had
/// failures.
pub fn unlock(c: &Connection, phone_key: &str) -> rusqlite::Result<bool> {
    let n = c
        .prepare_cached(
            "UPDATE limit_numbers SET failures = 0, locked_until = NULL, needs_unlock = 0
             WHERE phone_key = ?1
               AND (failures > 0 OR locked_until IS NOT NULL OR needs_unlock = 1)",
        )?
        .execute([phone_key])?;
    Ok(n == 1)
}

pub fn locked_numbers(c: &Connection, now: DateTime<Utc>) -> rusqlite::Result<Vec<LockedNumber>> {
    let mut stmt = c.prepare_cached(
        "SELECT phone_masked, failures, locked_until, needs_unlock FROM limit_numbers
         WHERE needs_unlock = 1 OR locked_until > ?1
         ORDER BY needs_unlock DESC, locked_until DESC, phone_masked LIMIT 100",
    )?;
    let rows = stmt.query_map([to_ms(now)], |r| {
        Ok(LockedNumber {
            phone_masked: r.get(0)?,
            failures: r.get(1)?,
            locked_until: r.get::<_, Option<i64>>(2)?.map(from_ms),
            needs_unlock: r.get(3)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Secrets;
    use crate::store::sqlite::SqliteStore;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn windows_count_to_the_cap_when_deciding_and_fully_when_shown() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("otpd.db")).unwrap();
        let secrets = Secrets::from_master(b"0123456789abcdef0123456789abcdef");
        let l = Limits::default();
        let phone = PhoneNumber::parse("+1 415 555 2671").unwrap();
        let keys = LedgerKeys::new(&secrets, &l, &phone);
        let now = t0();
        let c = store.connection();
        // One send two days ago, then seven, one a minute.
        let send = |challenge_id, at| NewSend {
            keys: &keys,
            phone: &phone,
            station: "desk-1",
            challenge_id,
            at,
        };
        record_send(c, &l, &send(1, now - DAY - DAY)).unwrap();
        for i in 0..7 {
            let at = now - TimeDelta::minutes(7 - i);
            record_send(c, &l, &send(2, at)).unwrap();
        }
        let rows: i64 = c
            .query_row("SELECT count(*) FROM limit_sends", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            rows, 7,
            "rows older than a day are pruned as sends are recorded"
        );
        let decide = usage(c, &l, &keys, "desk-1", now, Counting::Decide).unwrap();
        assert_eq!(decide.number_hour.count, 5, "stops at the cap");
        // The 5th newest was sent 5 minutes ago.
        assert_eq!(
            decide.number_hour.nth_newest,
            Some(now - TimeDelta::minutes(5))
        );
        assert_eq!(decide.number_day.count, 7);
        let exact = usage(c, &l, &keys, "desk-1", now, Counting::Exact).unwrap();
        assert_eq!(exact.number_hour.count, 7);
        assert_eq!(exact.conversion.sends, 7);
        assert_eq!(exact.number.streak, 7);
        let other = usage(c, &l, &keys, "desk-2", now, Counting::Exact).unwrap();
        assert_eq!(other.station_hour.count, 0);
        assert_eq!(other.global_hour.count, 7);
    }

    #[test]
    fn a_version_1_database_gains_the_limits_tables_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otpd.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../../../migrations/sqlite/0001_init.sql"))
            .unwrap();
        c.execute_batch("PRAGMA user_version = 1").unwrap();
        drop(c);
        let store = SqliteStore::open(&path).unwrap();
        let c = store.connection();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert!(v >= 2, "migrated to {v}");
        assert!(pauses::all(c).unwrap().is_empty());
        assert!(locked_numbers(c, t0()).unwrap().is_empty());
    }
}
