//! PostgreSQL's migrations runner: the numbered files of `migrations/postgres/`, embedded,
//! applied on open inside one transaction holding an advisory lock, so many hosts starting
//! together migrate once (the others wait, then find the schema current). The version lives
//! in `otpd_schema`; a database newer than this binary is refused as on SQLite.

use postgres::Client;
use postgres::error::SqlState;

use crate::crypto::Secrets;
use crate::store::StoreError;

/// The numbered migrations, embedded. Append only: a shipped file is never edited. The numbers
/// match SQLite's: schema N is the same tables on both stores.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_limits.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_audit_anchor.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_limit_pauses.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/postgres/0005_api_keys.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/postgres/0006_challenge_locale.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/postgres/0007_api_key_seals.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/postgres/0008_replaced_code.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/postgres/0009_kiosk_keys.sql"),
    ),
    (
        10,
        include_str!("../../../migrations/postgres/0010_audit_review.sql"),
    ),
    (
        11,
        include_str!("../../../migrations/postgres/0011_rate_limits.sql"),
    ),
    (
        12,
        include_str!("../../../migrations/postgres/0012_event_outbox.sql"),
    ),
];

/// The migration that adds the API key seals (the keys stored before it are sealed then).
const SEALS: i64 = 7;

/// The advisory lock key every otpd migrating a database takes ("otpd" in ASCII).
const LOCK_KEY: i64 = 0x6f74_7064;

pub(super) fn supported() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The schema version, or `None` when otpd never migrated this database.
fn version(c: &mut impl postgres::GenericClient) -> Result<Option<i64>, postgres::Error> {
    match c.query_opt("SELECT version FROM otpd_schema", &[]) {
        Ok(row) => Ok(Some(row.map_or(0, |r| r.get(0)))),
        Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Applies the pending migrations; refuses a newer schema.
pub(super) fn migrate(
    client: &mut Client,
    path: &std::path::Path,
    seal: Option<&Secrets>,
) -> Result<(), StoreError> {
    let err = |e: postgres::Error| StoreError::from_postgres(path, &e);
    let supported = supported();
    let too_new = |found| StoreError::TooNew {
        path: path.to_path_buf(),
        found,
        supported,
    };
    // The common case — up to date — takes no lock, so many terminals start at once.
    match version(client).map_err(err)? {
        Some(v) if v == supported => return Ok(()),
        Some(v) if v > supported => return Err(too_new(v)),
        _ => {}
    }
    let mut tx = client.transaction().map_err(err)?;
    // Rare and run once per schema: another host's migration may hold the advisory lock for
    // longer than a use case waits, and a migration may rewrite a large table; still bounded.
    tx.batch_execute("SET LOCAL lock_timeout = '60s'; SET LOCAL statement_timeout = 0")
        .map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .map_err(err)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS otpd_schema (version BIGINT NOT NULL)")
        .map_err(err)?;
    let current = version(&mut tx).map_err(err)?.unwrap_or(0);
    if current > supported {
        return Err(too_new(current));
    }
    if current == 0 {
        let none = tx
            .query_opt("SELECT version FROM otpd_schema", &[])
            .map_err(err)?
            .is_none();
        if none {
            tx.execute("INSERT INTO otpd_schema (version) VALUES (0)", &[])
                .map_err(err)?;
        }
    }
    for &(number, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql).map_err(err)?;
        if let (SEALS, Some(secrets)) = (number, seal) {
            super::keys::seal_unsealed(&mut tx, secrets).map_err(|e| e.into_store(path))?;
        }
        tx.execute("UPDATE otpd_schema SET version = $1", &[&number])
            .map_err(err)?;
    }
    tx.commit().map_err(err)
}
