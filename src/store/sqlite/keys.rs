//! SQLite's SQL for what `otpd serve` stores (migration 0005): API keys, the random `VE…` SID of
//! each verification, and the server's settings. The server half of [`crate::store::Tx`].

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::clock::{from_ms, to_ms};
use crate::store::{ApiKey, NewApiKey, Role};

const COLUMNS: &str = "sid, secret_hash, station, role, created_at, revoked_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let role: String = r.get(3)?;
    Ok(ApiKey {
        sid: r.get(0)?,
        secret_hash: r.get(1)?,
        station: r.get(2)?,
        role: Role::parse(&role).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                "stored role is not valid".into(),
            )
        })?,
        created_at: from_ms(r.get(4)?),
        revoked_at: r.get::<_, Option<i64>>(5)?.map(from_ms),
    })
}

pub fn insert(c: &Connection, k: &NewApiKey<'_>) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO api_keys (sid, secret_hash, station, role, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            k.sid,
            k.secret_hash,
            k.station,
            k.role.as_str(),
            to_ms(k.now)
        ],
    )
    .map(|_| ())
}

pub fn get(c: &Connection, sid: &str) -> rusqlite::Result<Option<ApiKey>> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM api_keys WHERE sid = ?1"),
        [sid],
        from_row,
    )
    .optional()
}

pub fn all(c: &Connection) -> rusqlite::Result<Vec<ApiKey>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM api_keys ORDER BY created_at, sid"
    ))?;
    stmt.query_map([], from_row)?.collect()
}

pub fn revoke(c: &Connection, sid: &str, now: DateTime<Utc>) -> rusqlite::Result<bool> {
    c.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE sid = ?1 AND revoked_at IS NULL",
        params![sid, to_ms(now)],
    )
    .map(|n| n == 1)
}

pub fn verification_sid(c: &Connection, challenge_id: i64) -> rusqlite::Result<Option<String>> {
    c.query_row(
        "SELECT sid FROM verification_sids WHERE challenge_id = ?1",
        [challenge_id],
        |r| r.get(0),
    )
    .optional()
}

pub fn assign_verification_sid(
    c: &Connection,
    challenge_id: i64,
    sid: &str,
) -> rusqlite::Result<String> {
    c.execute(
        "INSERT OR IGNORE INTO verification_sids (sid, challenge_id) VALUES (?1, ?2)",
        params![sid, challenge_id],
    )?;
    c.query_row(
        "SELECT sid FROM verification_sids WHERE challenge_id = ?1",
        [challenge_id],
        |r| r.get(0),
    )
}

pub fn challenge_id(c: &Connection, sid: &str) -> rusqlite::Result<Option<i64>> {
    c.query_row(
        "SELECT challenge_id FROM verification_sids WHERE sid = ?1",
        [sid],
        |r| r.get(0),
    )
    .optional()
}

pub fn setting(c: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    c.query_row(
        "SELECT value FROM server_settings WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .optional()
}

/// Adds one to the counter stored under `name` (from 1).
pub fn bump_counter(c: &Connection, name: &str) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO server_settings (name, value) VALUES (?1, '1')
         ON CONFLICT (name) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
        [name],
    )?;
    Ok(())
}

/// Stores `value` under `name` unless a value is there; returns the stored one.
pub fn init_setting(c: &Connection, name: &str, value: &str) -> rusqlite::Result<String> {
    c.execute(
        "INSERT OR IGNORE INTO server_settings (name, value) VALUES (?1, ?2)",
        params![name, value],
    )?;
    c.query_row(
        "SELECT value FROM server_settings WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
}
