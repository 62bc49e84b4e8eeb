//! SQLite's SQL for what `otpd serve` stores (migrations 0005, 0007): API keys and their seals,
//! their revocations in the audit log, the random `VE…` SID of each verification, and the
//! server's settings. The server half of [`crate::store::Tx`].

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::clock::{from_ms, to_ms};
use crate::crypto::Secrets;
use crate::store::{ApiKey, NewApiKey, Role};

const COLUMNS: &str = "sid, secret_hash, station, role, created_at, revoked_at, mac";

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
        mac: r.get(6)?,
        tampered: false,
    })
}

pub fn insert(c: &Connection, k: &NewApiKey<'_>) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO api_keys (sid, secret_hash, station, role, created_at, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            k.sid,
            k.secret_hash,
            k.station,
            k.role.as_str(),
            to_ms(k.now),
            k.mac
        ],
    )
    .map(|_| ())
}

/// Seals every key row without a seal (the migration to schema 7, run by a process holding the
/// master secret): the keys made before seals keep working.
pub fn seal_unsealed(c: &Connection, secrets: &Secrets) -> rusqlite::Result<()> {
    for key in all(c)?.iter().filter(|k| k.mac.is_none()) {
        c.execute(
            "UPDATE api_keys SET mac = ?2 WHERE sid = ?1",
            params![key.sid, key.seal(secrets)],
        )?;
    }
    Ok(())
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

pub fn revoke(
    c: &Connection,
    sid: &str,
    now: DateTime<Utc>,
    mac: Option<&str>,
) -> rusqlite::Result<bool> {
    c.execute(
        "UPDATE api_keys SET revoked_at = ?2, mac = coalesce(?3, mac)
         WHERE sid = ?1 AND revoked_at IS NULL",
        params![sid, to_ms(now), mac],
    )
    .map(|n| n == 1)
}

/// The first `key_revoked` event for `sid`.
const REVOKED_AT: &str = "SELECT at FROM audit_events WHERE event = 'key_revoked' AND detail = ?1
     ORDER BY id LIMIT 1";

/// The first `key_revoked` event for `sid` (the partial index `audit_key_revoked`, migration
/// 0007: the literal `event = 'key_revoked'` is what lets SQLite use it).
pub fn revoked_at(c: &Connection, sid: &str) -> rusqlite::Result<Option<DateTime<Utc>>> {
    c.query_row(REVOKED_AT, [sid], |r| r.get::<_, i64>(0))
        .optional()
        .map(|at| at.map(from_ms))
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

/// Stores `value` under `name` (replacing any), or removes `name`.
pub fn put_setting(c: &Connection, name: &str, value: Option<&str>) -> rusqlite::Result<()> {
    match value {
        Some(v) => c.execute(
            "INSERT INTO server_settings (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, v],
        )?,
        None => c.execute("DELETE FROM server_settings WHERE name = ?1", [name])?,
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_revocation_is_one_probe_of_its_partial_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("otpd.db")).unwrap();
        let plan: Vec<String> = store
            .connection()
            .prepare(&format!("EXPLAIN QUERY PLAN {REVOKED_AT}"))
            .unwrap()
            .query_map(["SK"], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            plan,
            ["SEARCH audit_events USING INDEX audit_key_revoked (detail=?)"],
            "not a scan of the whole log"
        );
    }
}
