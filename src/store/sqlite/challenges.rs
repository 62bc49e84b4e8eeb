//! SQLite's SQL for the `challenges` table (the verification half of [`crate::store::Tx`]).
//! Every function takes the caller's transaction, so a use case composes several of them into
//! one atomic unit.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::clock::{from_ms, to_ms};
use crate::domain::{Challenge, Channel, PhoneNumber, State};
use crate::store::{NewChallenge, Reissue};

const COLUMNS: &str = "id, phone, station, channel, code_hash, code_length, generation, \
     created_at, sent_at, expires_at, attempts, max_attempts, resends, state, used_at, \
     delivery_status, provider_ref, locale, replaced_hash, replaced_expires_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Challenge> {
    let bad = |i: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("stored {what} is not valid").into(),
        )
    };
    let phone: String = r.get(1)?;
    let channel: String = r.get(3)?;
    let state: String = r.get(13)?;
    Ok(Challenge {
        id: r.get(0)?,
        phone: PhoneNumber::parse(&phone).map_err(|_| bad(1, "phone number"))?,
        station: r.get(2)?,
        channel: channel.parse::<Channel>().map_err(|_| bad(3, "channel"))?,
        code_hash: r.get(4)?,
        code_length: r.get::<_, i64>(5)? as usize,
        generation: r.get(6)?,
        created_at: from_ms(r.get(7)?),
        sent_at: from_ms(r.get(8)?),
        expires_at: from_ms(r.get(9)?),
        attempts: r.get(10)?,
        max_attempts: r.get(11)?,
        resends: r.get(12)?,
        state: State::parse(&state).ok_or_else(|| bad(13, "state"))?,
        used_at: r.get::<_, Option<i64>>(14)?.map(from_ms),
        delivery_status: r.get(15)?,
        provider_ref: r.get(16)?,
        locale: r.get(17)?,
        replaced_hash: r.get(18)?,
        replaced_expires_at: r.get::<_, Option<i64>>(19)?.map(from_ms),
    })
}

pub fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<Challenge>> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM challenges WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// The newest verification `station` started for a number.
pub fn latest_for_phone(
    c: &Connection,
    phone: &PhoneNumber,
    station: &str,
) -> rusqlite::Result<Option<Challenge>> {
    c.query_row(
        &format!(
            "SELECT {COLUMNS} FROM challenges WHERE phone = ?1 AND station = ?2
             ORDER BY id DESC LIMIT 1"
        ),
        [phone.e164(), station],
        from_row,
    )
    .optional()
}

/// This station's verifications whose code has not yet expired and which are pending or were
/// approved (newest first): the candidates when a command does not name the phone.
pub fn recent_for_station(
    c: &Connection,
    station: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Vec<Challenge>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM challenges
         WHERE station = ?1 AND state IN ('pending', 'approved') AND expires_at > ?2
         ORDER BY id DESC LIMIT 100"
    ))?;
    let rows = stmt.query_map(params![station, to_ms(now)], from_row)?;
    let all: Vec<Challenge> = rows.collect::<rusqlite::Result<_>>()?;
    // Only the newest row per number counts: an older one was replaced.
    let mut seen = std::collections::HashSet::new();
    Ok(all
        .into_iter()
        .filter(|ch| seen.insert(ch.phone.e164().to_string()))
        .collect())
}

pub fn insert(c: &Connection, n: &NewChallenge<'_>) -> rusqlite::Result<i64> {
    c.execute(
        "INSERT INTO challenges (phone, station, channel, code_hash, code_length, created_at,
                                 sent_at, expires_at, max_attempts, locale)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9)",
        params![
            n.phone.e164(),
            n.station,
            n.channel.as_str(),
            n.code_hash,
            n.code_length as i64,
            to_ms(n.now),
            to_ms(n.expires_at),
            n.max_attempts,
            n.locale,
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// Replaces the code of a pending verification (resend): the old code stops working because
/// its hash and generation are gone, unless `keep_replaced` keeps its hash and expiry aside
/// (the right-hand sides read the row as it was); the attempt count is kept.
pub fn reissue(c: &Connection, r: &Reissue<'_>) -> rusqlite::Result<bool> {
    let n = c.execute(
        "UPDATE challenges
         SET code_hash = ?2, channel = ?3, generation = generation + 1, sent_at = ?4,
             expires_at = ?5, resends = resends + 1, delivery_status = 'pending',
             provider_ref = NULL, locale = ?6,
             replaced_hash = CASE WHEN ?7 THEN code_hash END,
             replaced_expires_at = CASE WHEN ?7 THEN expires_at END
         WHERE id = ?1 AND state = 'pending'",
        params![
            r.id,
            r.code_hash,
            r.channel.as_str(),
            to_ms(r.now),
            to_ms(r.expires_at),
            r.locale,
            r.keep_replaced,
        ],
    )?;
    Ok(n == 1)
}

/// Counts one attempt if the budget allows and the code is still the one the caller read.
/// Returns false when the budget was spent (or the code replaced) in the meantime.
pub fn count_attempt(c: &Connection, id: i64, generation: i64) -> rusqlite::Result<bool> {
    let n = c.execute(
        "UPDATE challenges SET attempts = attempts + 1
         WHERE id = ?1 AND generation = ?2 AND state = 'pending' AND attempts < max_attempts",
        params![id, generation],
    )?;
    Ok(n == 1)
}

/// Marks the code used. The conditions make this the single point where a code can be
/// accepted: exactly one caller ever changes the row.
pub fn consume(
    c: &Connection,
    id: i64,
    generation: i64,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let n = c.execute(
        "UPDATE challenges SET state = 'approved', used_at = ?3
         WHERE id = ?1 AND generation = ?2 AND state = 'pending' AND used_at IS NULL
           AND expires_at > ?3",
        params![id, generation, to_ms(now)],
    )?;
    Ok(n == 1)
}

/// Records what delivery reported for the current code.
pub fn set_delivery(
    c: &Connection,
    id: i64,
    generation: i64,
    status: &str,
    provider_ref: Option<&str>,
) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE challenges SET delivery_status = ?3, provider_ref = COALESCE(?4, provider_ref)
         WHERE id = ?1 AND generation = ?2",
        params![id, generation, status, provider_ref],
    )?;
    Ok(())
}

/// Ends a pending verification (`failed` after a definite delivery failure, or `cancelled`).
pub fn close(c: &Connection, id: i64, generation: i64, state: State) -> rusqlite::Result<bool> {
    let n = c.execute(
        "UPDATE challenges SET state = ?3 WHERE id = ?1 AND generation = ?2 AND state = 'pending'",
        params![id, generation, state.as_str()],
    )?;
    Ok(n == 1)
}

/// The newest verification whose message or call the provider knows as `provider_ref`.
pub fn by_provider_ref(c: &Connection, provider_ref: &str) -> rusqlite::Result<Option<Challenge>> {
    c.query_row(
        &format!(
            "SELECT {COLUMNS} FROM challenges WHERE provider_ref = ?1 ORDER BY id DESC LIMIT 1"
        ),
        [provider_ref],
        from_row,
    )
    .optional()
}

/// Pending verifications whose code expired in (`after`, `until`], oldest expiry first.
pub fn expired_between(
    c: &Connection,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> rusqlite::Result<Vec<Challenge>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM challenges
         WHERE state = 'pending' AND expires_at > ?1 AND expires_at <= ?2
         ORDER BY expires_at, id"
    ))?;
    let rows = stmt.query_map([to_ms(after), to_ms(until)], from_row)?;
    rows.collect()
}
