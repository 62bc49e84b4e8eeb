//! PostgreSQL's SQL for the `challenges` table (the verification half of [`crate::store::Tx`]),
//! statement for statement SQLite's ([`crate::store::sqlite::challenges`]): the conditional
//! updates report whether they changed the row, which is what makes a code single-use.

use chrono::{DateTime, Utc};
use postgres::Row;

use super::conn::{Conn, DbError, PgResult, u32_of};
use crate::clock::{from_ms, to_ms};
use crate::domain::{Challenge, Channel, PhoneNumber, State};
use crate::store::{NewChallenge, Reissue};

const COLUMNS: &str = "id, phone, station, channel, code_hash, code_length, generation, \
     created_at, sent_at, expires_at, attempts, max_attempts, resends, state, used_at, \
     delivery_status, provider_ref, locale, replaced_hash, replaced_expires_at";

/// A row as a [`Challenge`]; a stored value otpd never writes is an error naming the column.
fn from_row(r: &Row) -> PgResult<Challenge> {
    let bad = |what: &str| DbError::Bad(format!("stored {what} is not valid"));
    let phone: String = r.try_get(1)?;
    let channel: String = r.try_get(3)?;
    let state: String = r.try_get(13)?;
    Ok(Challenge {
        id: r.try_get(0)?,
        phone: PhoneNumber::parse(&phone).map_err(|_| bad("phone number"))?,
        station: r.try_get(2)?,
        channel: channel.parse::<Channel>().map_err(|_| bad("channel"))?,
        code_hash: r.try_get(4)?,
        code_length: usize::try_from(r.try_get::<_, i64>(5)?).unwrap_or(0),
        generation: r.try_get(6)?,
        created_at: from_ms(r.try_get(7)?),
        sent_at: from_ms(r.try_get(8)?),
        expires_at: from_ms(r.try_get(9)?),
        attempts: u32_of(r.try_get(10)?),
        max_attempts: u32_of(r.try_get(11)?),
        resends: u32_of(r.try_get(12)?),
        state: State::parse(&state).ok_or_else(|| bad("state"))?,
        used_at: r.try_get::<_, Option<i64>>(14)?.map(from_ms),
        delivery_status: r.try_get(15)?,
        provider_ref: r.try_get(16)?,
        locale: r.try_get(17)?,
        replaced_hash: r.try_get(18)?,
        replaced_expires_at: r.try_get::<_, Option<i64>>(19)?.map(from_ms),
    })
}

fn challenges(rows: &[Row]) -> PgResult<Vec<Challenge>> {
    rows.iter().map(from_row).collect()
}

pub fn get(c: &mut Conn<'_>, id: i64) -> PgResult<Option<Challenge>> {
    let rows = c.query(
        &format!("SELECT {COLUMNS} FROM challenges WHERE id = $1"),
        &[&id],
    )?;
    Ok(challenges(&rows)?.pop())
}

/// The newest verification `station` started for a number.
pub fn latest_for_phone(
    c: &mut Conn<'_>,
    phone: &PhoneNumber,
    station: &str,
) -> PgResult<Option<Challenge>> {
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM challenges WHERE phone = $1 AND station = $2
             ORDER BY id DESC LIMIT 1"
        ),
        &[&phone.e164(), &station],
    )?;
    Ok(challenges(&rows)?.pop())
}

/// This station's verifications whose code has not yet expired and which are pending or were
/// approved (newest first), one per number.
pub fn recent_for_station(
    c: &mut Conn<'_>,
    station: &str,
    now: DateTime<Utc>,
) -> PgResult<Vec<Challenge>> {
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM challenges
             WHERE station = $1 AND state IN ('pending', 'approved') AND expires_at > $2
             ORDER BY id DESC LIMIT 100"
        ),
        &[&station, &to_ms(now)],
    )?;
    let mut seen = std::collections::HashSet::new();
    Ok(challenges(&rows)?
        .into_iter()
        .filter(|ch| seen.insert(ch.phone.e164().to_string()))
        .collect())
}

pub fn insert(c: &mut Conn<'_>, n: &NewChallenge<'_>) -> PgResult<i64> {
    let row = c.query_one(
        "INSERT INTO challenges (phone, station, channel, code_hash, code_length, created_at,
                                 sent_at, expires_at, max_attempts, locale)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9)
         RETURNING id",
        &[
            &n.phone.e164(),
            &n.station,
            &n.channel.as_str(),
            &n.code_hash,
            &(n.code_length as i64),
            &to_ms(n.now),
            &to_ms(n.expires_at),
            &i64::from(n.max_attempts),
            &n.locale,
        ],
    )?;
    Ok(row.try_get(0)?)
}

/// Replaces the code of a pending verification (resend), keeping the replaced code's hash and
/// expiry aside when `keep_replaced`; the attempt count is kept.
pub fn reissue(c: &mut Conn<'_>, r: &Reissue<'_>) -> PgResult<bool> {
    let n = c.execute(
        "UPDATE challenges
         SET code_hash = $2, channel = $3, generation = generation + 1, sent_at = $4,
             expires_at = $5, resends = resends + 1, delivery_status = 'pending',
             provider_ref = NULL, locale = $6,
             replaced_hash = CASE WHEN $7 THEN code_hash END,
             replaced_expires_at = CASE WHEN $7 THEN expires_at END
         WHERE id = $1 AND state = 'pending'",
        &[
            &r.id,
            &r.code_hash,
            &r.channel.as_str(),
            &to_ms(r.now),
            &to_ms(r.expires_at),
            &r.locale,
            &r.keep_replaced,
        ],
    )?;
    Ok(n == 1)
}

/// Counts one attempt if the budget allows and the code is still the one the caller read.
pub fn count_attempt(c: &mut Conn<'_>, id: i64, generation: i64) -> PgResult<bool> {
    let n = c.execute(
        "UPDATE challenges SET attempts = attempts + 1
         WHERE id = $1 AND generation = $2 AND state = 'pending' AND attempts < max_attempts",
        &[&id, &generation],
    )?;
    Ok(n == 1)
}

/// Marks the code used: exactly one caller ever changes the row.
pub fn consume(c: &mut Conn<'_>, id: i64, generation: i64, now: DateTime<Utc>) -> PgResult<bool> {
    let n = c.execute(
        "UPDATE challenges SET state = 'approved', used_at = $3
         WHERE id = $1 AND generation = $2 AND state = 'pending' AND used_at IS NULL
           AND expires_at > $3",
        &[&id, &generation, &to_ms(now)],
    )?;
    Ok(n == 1)
}

/// Records what delivery reported for the current code.
pub fn set_delivery(
    c: &mut Conn<'_>,
    id: i64,
    generation: i64,
    status: &str,
    provider_ref: Option<&str>,
) -> PgResult<()> {
    c.execute(
        "UPDATE challenges SET delivery_status = $3, provider_ref = COALESCE($4, provider_ref)
         WHERE id = $1 AND generation = $2",
        &[&id, &generation, &status, &provider_ref],
    )?;
    Ok(())
}

/// Ends a pending verification (`failed` or `cancelled`).
pub fn close(c: &mut Conn<'_>, id: i64, generation: i64, state: State) -> PgResult<bool> {
    let n = c.execute(
        "UPDATE challenges SET state = $3 WHERE id = $1 AND generation = $2 AND state = 'pending'",
        &[&id, &generation, &state.as_str()],
    )?;
    Ok(n == 1)
}

/// The newest verification whose message or call the provider knows as `provider_ref`.
pub fn by_provider_ref(c: &mut Conn<'_>, provider_ref: &str) -> PgResult<Option<Challenge>> {
    c.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM challenges WHERE provider_ref = $1 ORDER BY id DESC LIMIT 1"
        ),
        &[&provider_ref],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Pending verifications whose code expired in (`after`, `until`], oldest expiry first.
pub fn expired_between(
    c: &mut Conn<'_>,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> PgResult<Vec<Challenge>> {
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM challenges
             WHERE state = 'pending' AND expires_at > $1 AND expires_at <= $2
             ORDER BY expires_at, id"
        ),
        &[&to_ms(after), &to_ms(until)],
    )?;
    challenges(&rows)
}
