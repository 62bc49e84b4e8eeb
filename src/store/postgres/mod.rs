//! The PostgreSQL store: one connection per process (a one-shot command is one unit of work),
//! migrations applied on open under an advisory lock ([`migrate`]), and the one way to write:
//! a READ COMMITTED transaction that first locks the single `otpd_lock` row, so writers are
//! serialised exactly as SQLite's `BEGIN IMMEDIATE` serialises them — the limits counted in the
//! transaction that issues a code are exact across processes and hosts, and the audit chain
//! cannot fork. It implements the use cases' [`Backend`]/[`Tx`] vocabulary with the SQL in
//! [`challenges`], [`limits`] (with [`pauses`]), [`audit`] and [`keys`], the audit review's
//! [`AuditTx`](crate::store::AuditTx) with [`audit_query`] and [`retention`], and the copier's
//! [`CopyTx`](crate::store::CopyTx) with [`copy`].

mod audit;
mod audit_query;
mod challenges;
mod conn;
mod copy;
mod errors;
mod keys;
mod limits;
mod migrate;
mod pauses;
mod retention;
mod tls;
mod tx;

use std::path::{Path, PathBuf};

use postgres::{Client, IsolationLevel};

use self::conn::{Cache, Conn};
use self::tx::PgTx;
use crate::config::Postgres;
use crate::store::{Backend, StoreError, Tx};

/// An open otpd PostgreSQL database.
pub struct PgStore {
    client: Client,
    cache: Cache,
    /// The URL without a password, as messages name the database.
    path: PathBuf,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.path).finish()
    }
}

impl PgStore {
    /// Connects to the configured server and applies pending migrations.
    pub fn open(pg: &Postgres) -> Result<Self, StoreError> {
        let path = PathBuf::from(&pg.shown);
        let mut client = tls::connect(pg).map_err(|e| match e {
            tls::ConnectError::Tls(detail) => StoreError::Open {
                path: path.clone(),
                detail,
            },
            tls::ConnectError::Postgres(e) => StoreError::from_postgres(&path, &e),
        })?;
        migrate::migrate(&mut client, &path)?;
        Ok(PgStore {
            client,
            cache: Cache::new(),
            path,
        })
    }

    /// The URL (without a password) this store is connected to.
    pub fn url(&self) -> &Path {
        &self.path
    }

    fn begin(&mut self, writes: bool) -> Result<PgTx<'_>, StoreError> {
        let path = &self.path;
        let err = |e: postgres::Error| StoreError::from_postgres(path, &e);
        let tx = if writes {
            self.client
                .build_transaction()
                .isolation_level(IsolationLevel::ReadCommitted)
                .start()
        } else {
            // One snapshot for the whole read, as SQLite's deferred transaction gives.
            self.client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
        }
        .map_err(err)?;
        let mut conn = Conn::new(tx, &mut self.cache);
        if writes {
            // The writers' lock, held to commit: every later statement of this transaction
            // sees all that earlier writers committed, and no other writer interleaves.
            conn.tx
                .batch_execute("SELECT id FROM otpd_lock WHERE id = 1 FOR UPDATE")
                .map_err(err)?;
        }
        Ok(PgTx::new(conn, path, writes))
    }
}

impl Backend for PgStore {
    fn begin_write(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(self.begin(true)?))
    }

    fn begin_read(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(self.begin(false)?))
    }
}
