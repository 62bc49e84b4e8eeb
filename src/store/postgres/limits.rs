//! PostgreSQL's SQL for the limits (the ledger half of [`crate::store::Tx`]), statement for
//! statement SQLite's ([`crate::store::sqlite::limits`]). Every function runs in the caller's
//! transaction, which holds the writers' lock when it issues a code: counting and recording a
//! send are one serialised unit, exact across processes and hosts.

use chrono::{DateTime, TimeDelta, Utc};

use super::conn::{Conn, PgResult, u32_of};
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
    c: &mut Conn<'_>,
    scope: Scope<'_>,
    since: DateTime<Utc>,
    cap: u32,
    counting: Counting,
) -> PgResult<Window> {
    if cap == 0 && counting == Counting::Decide {
        return Ok(Window::default());
    }
    let (col, value) = match scope {
        Scope::Phone(v) => ("phone_key", v),
        Scope::Prefix(v) => ("prefix_key", v),
        Scope::Station(v) => ("station", v),
        Scope::All => ("'*'", "*"),
    };
    let filter = format!("{col} = $1 AND at > $2");
    // LIMIT NULL counts everything.
    let limit: Option<i64> = match counting {
        Counting::Decide => Some(i64::from(cap)),
        Counting::Exact => None,
    };
    let since = to_ms(since);
    let count: i64 = c
        .query_one(
            &format!(
                "SELECT count(*) FROM (SELECT 1 FROM limit_sends WHERE {filter} LIMIT $3) AS w"
            ),
            &[&value, &since, &limit],
        )?
        .try_get(0)?;
    let count = u32_of(count);
    let nth_newest = if cap > 0 && count >= cap {
        c.query_opt(
            &format!(
                "SELECT at FROM limit_sends WHERE {filter} ORDER BY at DESC LIMIT 1 OFFSET $3"
            ),
            &[&value, &since, &(i64::from(cap) - 1)],
        )?
        .map(|r| r.try_get::<_, i64>(0))
        .transpose()?
        .map(from_ms)
    } else {
        None
    };
    Ok(Window { count, nth_newest })
}

pub fn number_state(c: &mut Conn<'_>, phone_key: &str) -> PgResult<NumberState> {
    let row = c.query_opt(
        "SELECT streak, last_send_at, failures, locked_until, needs_unlock
         FROM limit_numbers WHERE phone_key = $1",
        &[&phone_key],
    )?;
    let Some(r) = row else {
        return Ok(NumberState::default());
    };
    Ok(NumberState {
        streak: u32_of(r.try_get(0)?),
        last_send_at: r.try_get::<_, Option<i64>>(1)?.map(from_ms),
        failures: u32_of(r.try_get(2)?),
        locked_until: r.try_get::<_, Option<i64>>(3)?.map(from_ms),
        needs_unlock: r.try_get::<_, i32>(4)? != 0,
    })
}

/// Everything the limits decide on for one prospective send to `keys` from `station`.
pub fn usage(
    c: &mut Conn<'_>,
    l: &Limits,
    keys: &LedgerKeys,
    station: &str,
    now: DateTime<Utc>,
    counting: Counting,
) -> PgResult<Usage> {
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
    let phone = Scope::Phone(&keys.phone);
    Ok(Usage {
        number: number_state(c, &keys.phone)?,
        prefix_conversion,
        number_hour: window(c, phone, hour, l.per_number_per_hour, counting)?,
        number_day: window(c, phone, now - DAY, l.per_number_per_day, counting)?,
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

/// Whether the conversion figures are needed (as on SQLite).
fn judges(l: &Limits, counting: Counting, held: &[crate::domain::limits::Pause]) -> bool {
    counting == Counting::Exact || (l.min_conversion > 0.0 && held.is_empty())
}

/// The counters that do not depend on a number.
pub fn station_usage(
    c: &mut Conn<'_>,
    l: &Limits,
    station: &str,
    now: DateTime<Utc>,
    counting: Counting,
) -> PgResult<Usage> {
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
pub fn record_send(c: &mut Conn<'_>, l: &Limits, send: &NewSend<'_>) -> PgResult<()> {
    let NewSend {
        keys,
        phone,
        station,
        challenge_id,
        at: now,
    } = *send;
    c.execute(
        "DELETE FROM limit_sends WHERE at <= $1",
        &[&to_ms(now - DAY - TimeDelta::hours(1))],
    )?;
    c.execute(
        "INSERT INTO limit_sends (at, phone_key, prefix_key, station, challenge_id)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &to_ms(now),
            &keys.phone,
            &keys.prefix,
            &station,
            &challenge_id,
        ],
    )?;
    let state = number_state(c, &keys.phone)?;
    let streak = i64::from(l.live_streak(&state, now)) + 1;
    c.execute(
        "INSERT INTO limit_numbers (phone_key, phone_masked, streak, last_send_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (phone_key) DO UPDATE SET
             phone_masked = excluded.phone_masked,
             streak = excluded.streak,
             last_send_at = excluded.last_send_at",
        &[&keys.phone, &phone.masked(), &streak, &to_ms(now)],
    )?;
    Ok(())
}

/// A verification was approved: it converted, and the number's streak and failures reset.
pub fn record_success(c: &mut Conn<'_>, phone_key: &str, challenge_id: i64) -> PgResult<()> {
    c.execute(
        "UPDATE limit_sends SET converted = 1 WHERE challenge_id = $1",
        &[&challenge_id],
    )?;
    c.execute(
        "UPDATE limit_numbers SET streak = 0, failures = 0, locked_until = NULL
         WHERE phone_key = $1 AND needs_unlock = 0",
        &[&phone_key],
    )?;
    Ok(())
}

/// Stores the effect of a wrong code.
pub fn record_failure(
    c: &mut Conn<'_>,
    phone_key: &str,
    phone: &PhoneNumber,
    e: &FailureEffect,
) -> PgResult<()> {
    c.execute(
        "INSERT INTO limit_numbers (phone_key, phone_masked, failures, locked_until, needs_unlock)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (phone_key) DO UPDATE SET
             failures = excluded.failures,
             locked_until = excluded.locked_until,
             needs_unlock = excluded.needs_unlock",
        &[
            &phone_key,
            &phone.masked(),
            &i64::from(e.failures),
            &e.locked_until.map(to_ms),
            &i32::from(e.needs_unlock),
        ],
    )?;
    Ok(())
}

/// Lifts any lock and clears the failure count; `true` if there was anything to clear.
pub fn unlock(c: &mut Conn<'_>, phone_key: &str) -> PgResult<bool> {
    let n = c.execute(
        "UPDATE limit_numbers SET failures = 0, locked_until = NULL, needs_unlock = 0
         WHERE phone_key = $1
           AND (failures > 0 OR locked_until IS NOT NULL OR needs_unlock = 1)",
        &[&phone_key],
    )?;
    Ok(n == 1)
}

pub fn locked_numbers(c: &mut Conn<'_>, now: DateTime<Utc>) -> PgResult<Vec<LockedNumber>> {
    let rows = c.query(
        "SELECT phone_masked, failures, locked_until, needs_unlock FROM limit_numbers
         WHERE needs_unlock = 1 OR locked_until > $1
         ORDER BY needs_unlock DESC, locked_until DESC NULLS LAST, phone_masked LIMIT 100",
        &[&to_ms(now)],
    )?;
    rows.iter()
        .map(|r| {
            Ok(LockedNumber {
                phone_masked: r.try_get(0)?,
                failures: u32_of(r.try_get(1)?),
                locked_until: r.try_get::<_, Option<i64>>(2)?.map(from_ms),
                needs_unlock: r.try_get::<_, i32>(3)? != 0,
            })
        })
        .collect()
}
