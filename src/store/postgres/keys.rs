//! PostgreSQL's SQL for what `otpd serve` stores (migrations 0005, 0007), statement for statement
//! SQLite's ([`crate::store::sqlite::keys`]): API keys, the random `VE…` SID of each
//! verification, and the server's settings. The server half of [`crate::store::Tx`].

use chrono::{DateTime, Utc};
use postgres::Row;

use super::conn::{Conn, DbError, PgResult};
use crate::clock::{from_ms, to_ms};
use crate::crypto::Secrets;
use crate::store::{ApiKey, NewApiKey, Role};

const COLUMNS: &str = "sid, secret_hash, station, role, created_at, revoked_at, mac";

fn from_row(r: &Row) -> PgResult<ApiKey> {
    let role: String = r.try_get(3)?;
    Ok(ApiKey {
        sid: r.try_get(0)?,
        secret_hash: r.try_get(1)?,
        station: r.try_get(2)?,
        role: Role::parse(&role).ok_or_else(|| DbError::Bad("stored role is not valid".into()))?,
        created_at: from_ms(r.try_get(4)?),
        revoked_at: r.try_get::<_, Option<i64>>(5)?.map(from_ms),
        mac: r.try_get(6)?,
        tampered: false,
    })
}

pub fn insert(c: &mut Conn<'_>, k: &NewApiKey<'_>) -> PgResult<()> {
    c.execute(
        "INSERT INTO api_keys (sid, secret_hash, station, role, created_at, mac)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &k.sid,
            &k.secret_hash,
            &k.station,
            &k.role.as_str(),
            &to_ms(k.now),
            &k.mac,
        ],
    )?;
    Ok(())
}

/// Seals every key row without a seal (the migration to schema 7, run by a process holding the
/// master secret): the keys made before seals keep working.
pub fn seal_unsealed(c: &mut impl postgres::GenericClient, secrets: &Secrets) -> PgResult<()> {
    let rows = c.query(
        &format!("SELECT {COLUMNS} FROM api_keys WHERE mac IS NULL"),
        &[],
    )?;
    for row in &rows {
        let key = from_row(row)?;
        c.execute(
            "UPDATE api_keys SET mac = $2 WHERE sid = $1",
            &[&key.sid, &key.seal(secrets)],
        )?;
    }
    Ok(())
}

pub fn get(c: &mut Conn<'_>, sid: &str) -> PgResult<Option<ApiKey>> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM api_keys WHERE sid = $1"),
        &[&sid],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub fn all(c: &mut Conn<'_>) -> PgResult<Vec<ApiKey>> {
    // `COLLATE "C"`: the same byte order as SQLite, whatever the database's collation.
    c.query(
        &format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at, sid COLLATE \"C\""),
        &[],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn revoke(
    c: &mut Conn<'_>,
    sid: &str,
    now: DateTime<Utc>,
    mac: Option<&str>,
) -> PgResult<bool> {
    let n = c.execute(
        "UPDATE api_keys SET revoked_at = $2, mac = coalesce($3, mac)
         WHERE sid = $1 AND revoked_at IS NULL",
        &[&sid, &to_ms(now), &mac],
    )?;
    Ok(n == 1)
}

/// The first `key_revoked` event for `sid` (the partial index `audit_key_revoked`, 0007).
pub fn revoked_at(c: &mut Conn<'_>, sid: &str) -> PgResult<Option<DateTime<Utc>>> {
    match c.query_opt(
        "SELECT at FROM audit_events WHERE event = 'key_revoked' AND detail = $1
         ORDER BY id LIMIT 1",
        &[&sid],
    )? {
        Some(r) => Ok(Some(from_ms(r.try_get(0)?))),
        None => Ok(None),
    }
}

pub fn verification_sid(c: &mut Conn<'_>, challenge_id: i64) -> PgResult<Option<String>> {
    match c.query_opt(
        "SELECT sid FROM verification_sids WHERE challenge_id = $1",
        &[&challenge_id],
    )? {
        Some(r) => Ok(Some(r.try_get(0)?)),
        None => Ok(None),
    }
}

/// Gives a verification `sid` unless it already has one; returns the one it has.
pub fn assign_verification_sid(c: &mut Conn<'_>, challenge_id: i64, sid: &str) -> PgResult<String> {
    c.execute(
        "INSERT INTO verification_sids (sid, challenge_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
        &[&sid, &challenge_id],
    )?;
    let r = c.query_one(
        "SELECT sid FROM verification_sids WHERE challenge_id = $1",
        &[&challenge_id],
    )?;
    Ok(r.try_get(0)?)
}

pub fn challenge_id(c: &mut Conn<'_>, sid: &str) -> PgResult<Option<i64>> {
    match c.query_opt(
        "SELECT challenge_id FROM verification_sids WHERE sid = $1",
        &[&sid],
    )? {
        Some(r) => Ok(Some(r.try_get(0)?)),
        None => Ok(None),
    }
}

pub fn setting(c: &mut Conn<'_>, name: &str) -> PgResult<Option<String>> {
    match c.query_opt(
        "SELECT value FROM server_settings WHERE name = $1",
        &[&name],
    )? {
        Some(r) => Ok(Some(r.try_get(0)?)),
        None => Ok(None),
    }
}

/// Adds one to the counter stored under `name` (from 1).
pub fn bump_counter(c: &mut Conn<'_>, name: &str) -> PgResult<()> {
    c.execute(
        "INSERT INTO server_settings (name, value) VALUES ($1, '1')
         ON CONFLICT (name) DO UPDATE SET value = (server_settings.value::bigint + 1)::text",
        &[&name],
    )?;
    Ok(())
}

/// Stores `value` under `name` (replacing any), or removes `name`.
pub fn put_setting(c: &mut Conn<'_>, name: &str, value: Option<&str>) -> PgResult<()> {
    match value {
        Some(v) => c.execute(
            "INSERT INTO server_settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[&name, &v],
        )?,
        None => c.execute("DELETE FROM server_settings WHERE name = $1", &[&name])?,
    };
    Ok(())
}

/// Stores `value` under `name` unless a value is there; returns the stored one.
pub fn init_setting(c: &mut Conn<'_>, name: &str, value: &str) -> PgResult<String> {
    c.execute(
        "INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&name, &value],
    )?;
    let r = c.query_one(
        "SELECT value FROM server_settings WHERE name = $1",
        &[&name],
    )?;
    Ok(r.try_get(0)?)
}
