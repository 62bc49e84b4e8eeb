//! The SQLite store: opening with the right pragmas, the migrations runner, and the one way to
//! write (`BEGIN IMMEDIATE`, so every use case's reads and writes are one serialised unit). It
//! implements the use cases' [`Backend`]/[`Tx`] vocabulary with the SQL in [`challenges`],
//! [`limits`] (with [`pauses`]), [`audit`], [`audit_query`], [`retention`] and [`copy`]; the
//! PostgreSQL store beside it is `store::postgres`.

pub mod audit;
pub mod audit_query;
pub mod challenges;
pub mod copy;
pub mod events;
mod files;
pub mod keys;
pub mod limits;
pub mod pauses;
mod rate_limits;
pub mod retention;
pub mod review;
mod tx;

use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use self::files::create_private;
use self::tx::SqliteTx;
use crate::crypto::Secrets;
use crate::store::{BUSY_TIMEOUT_MS, Backend, StoreError, Tx};

/// The numbered migrations, embedded so the binary carries its schema. Append only: a shipped
/// file is never edited.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../../migrations/sqlite/0002_limits.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/sqlite/0003_audit_anchor.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/sqlite/0004_limit_pauses.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/sqlite/0005_api_keys.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/sqlite/0006_challenge_locale.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/sqlite/0007_api_key_seals.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/sqlite/0008_replaced_code.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/sqlite/0009_kiosk_keys.sql"),
    ),
    (
        10,
        include_str!("../../../migrations/sqlite/0010_audit_review.sql"),
    ),
    (
        11,
        include_str!("../../../migrations/sqlite/0011_rate_limits.sql"),
    ),
    (
        12,
        include_str!("../../../migrations/sqlite/0012_event_outbox.sql"),
    ),
];

/// The migration that adds the API key seals (the keys stored before it are sealed then).
const SEALS: i64 = 7;

/// An open otpd SQLite database.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, sets the connection pragmas and
    /// applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        SqliteStore::open_sealing(path, None)
    }

    /// [`SqliteStore::open`], sealing the API keys already stored with `seal` when the
    /// migrations add the seals (schema 7); without it those keys stay unsealed (refused).
    pub fn open_sealing(path: &Path, seal: Option<&Secrets>) -> Result<Self, StoreError> {
        create_private(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::from_sqlite(path, &e))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
        };
        store.configure()?;
        store.migrate(seal)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: &rusqlite::Error) -> StoreError {
        StoreError::from_sqlite(&self.path, e)
    }

    fn configure(&mut self) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))
            .map_err(|e| self.err(&e))?;
        // Reading the header first turns "not a database" into a clear error before any write.
        let mode: String =
            self.retry_busy(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0)))?;
        if !mode.eq_ignore_ascii_case("wal") {
            self.retry_busy(|c| {
                c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            })?;
        }
        // A one-shot command is the database's only connection, and closing the last
        // connection checkpoints the WAL into the database and deletes it (four fsyncs), after
        // which the next command recreates it (two more): most of a command's time on a disk
        // with a slow fsync. Keep the WAL between commands; the automatic checkpoint (every
        // 1000 pages, during a commit) still folds it into the database.
        self.conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(|e| self.err(&e))?;
        self.conn
            .execute_batch(
                "PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| self.err(&e))
    }

    /// Runs `f`, retrying while SQLite answers "busy" without having waited: switching a new
    /// database to WAL needs an exclusive lock that SQLite tries once, not through the busy
    /// handler, so terminals creating the database at the same moment got "busy" at once.
    /// Gives up after the same [`BUSY_TIMEOUT_MS`] the busy handler allows.
    fn retry_busy<T>(
        &self,
        mut f: impl FnMut(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let deadline =
            std::time::Instant::now() + std::time::Duration::from_millis(BUSY_TIMEOUT_MS);
        let mut pause = std::time::Duration::from_millis(1);
        loop {
            match f(&self.conn) {
                Err(e)
                    if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(20));
                }
                r => return r.map_err(|e| self.err(&e)),
            }
        }
    }

    /// Applies the embedded migrations above the database's `user_version`, each in its own
    /// IMMEDIATE transaction (so two processes opening a new database at once do not race), and
    /// refuses a database whose version is newer than this binary knows.
    fn migrate(&mut self, seal: Option<&Secrets>) -> Result<(), StoreError> {
        let supported = MIGRATIONS.last().map_or(0, |m| m.0);
        let path = self.path.clone();
        // The common case — already up to date — needs no write lock, so many terminals can
        // start at once without queueing behind each other.
        let current: i64 =
            self.retry_busy(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))?;
        if current == supported {
            return Ok(());
        }
        for &(version, sql) in MIGRATIONS {
            self.write_raw(|tx| {
                let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                if current > supported {
                    return Ok(Err(StoreError::TooNew {
                        path: path.clone(),
                        found: current,
                        supported,
                    }));
                }
                if current < version {
                    tx.execute_batch(sql)?;
                    if let (SEALS, Some(secrets)) = (version, seal) {
                        keys::seal_unsealed(tx, secrets)?;
                    }
                    tx.execute_batch(&format!("PRAGMA user_version = {version}"))?;
                }
                Ok(Ok(()))
            })??;
        }
        Ok(())
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the raw connection (the migrations):
    /// commit on `Ok`, roll back on `Err`.
    fn write_raw<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::from_sqlite(&path, &e))?;
        let value = f(&tx).map_err(|e| StoreError::from_sqlite(&path, &e))?;
        tx.commit()
            .map_err(|e| StoreError::from_sqlite(&path, &e))?;
        Ok(value)
    }

    /// The raw connection, for tests and tools that inspect (or, in tests, tamper with) the file
    /// directly; otpd itself goes through [`Backend`].
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// A transaction in the use cases' vocabulary: `BEGIN IMMEDIATE` when `writes`.
    fn begin(&mut self, writes: bool) -> Result<SqliteTx<'_>, StoreError> {
        let behavior = if writes {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let path = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(behavior)
            .map_err(|e| StoreError::from_sqlite(path, &e))?;
        Ok(SqliteTx::new(tx, path, writes))
    }
}

impl Backend for SqliteStore {
    /// `BEGIN IMMEDIATE`: the write lock is taken before the first read, so a use case's checks
    /// and writes are one serialised unit.
    fn begin_write(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(self.begin(true)?))
    }

    fn begin_read(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(self.begin(false)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_migrates_sets_pragmas_and_refuses_newer_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/otpd.db");
        let store = SqliteStore::open(&path).unwrap();
        let c = store.connection();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.last().unwrap().0);
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "FULL");
        let fk: i64 = c
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let busy: i64 = c
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap();
        assert!(busy >= 5000);
        drop(store);
        // Reopening an up-to-date database is a no-op.
        SqliteStore::open(&path).unwrap();
        // Phone numbers live here: owner only, database and WAL alike.
        use std::os::unix::fs::PermissionsExt;
        for p in [path.clone(), path.with_extension("db-wal")] {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn closing_keeps_the_wal_so_the_next_command_pays_no_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otpd.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .connection()
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        drop(store);
        let wal = dir.path().join("otpd.db-wal");
        assert!(
            wal.exists(),
            "the WAL was checkpointed and deleted on close"
        );
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        // The data is there for the next connection, through the WAL.
        let store = SqliteStore::open(&path).unwrap();
        let x: i64 = store
            .connection()
            .query_row("SELECT x FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(x, 1);
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otpd.db");
        drop(SqliteStore::open(&path).unwrap());
        let c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(c);
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("newer otpd"), "{err}");
        assert!(err.contains("schema 99"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otpd.db");
        let junk = vec![0x5au8; 8192];
        std::fs::write(&path, &junk).unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), junk);
    }
}
