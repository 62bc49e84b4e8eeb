//! The store a process opens, chosen by the configuration: the SQLite file or the PostgreSQL
//! server. The use cases, the audit review and the copier see either through [`Backend`];
//! A server opens one per worker ([`AnyStore::open_many`]); on PostgreSQL they share a pool.

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::{Backend, Result};
use crate::config::Database;
use crate::crypto::Secrets;

/// An open store of either kind.
#[derive(Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(Box<PgStore>),
}

impl AnyStore {
    /// Opens (and migrates) the configured database.
    pub fn open(db: &Database) -> Result<AnyStore> {
        AnyStore::open_sealing(db, None)
    }

    /// [`AnyStore::open`]; when the migrations add the API key seals (schema 7), the keys
    /// already stored are sealed with `seal` (without it they stay unsealed and are refused).
    pub fn open_sealing(db: &Database, seal: Option<&Secrets>) -> Result<AnyStore> {
        Ok(match db {
            Database::Sqlite(path) => AnyStore::Sqlite(SqliteStore::open_sealing(path, seal)?),
            Database::Postgres(pg) => {
                AnyStore::Postgres(Box::new(PgStore::open_sealing(pg, seal)?))
            }
        })
    }

    /// `n` stores for a server's `n` worker threads: on SQLite a connection each (SQLite
    /// serialises writers itself); on PostgreSQL handles on one bounded pool
    /// (`[database] pool_size`, else one connection per worker) that replaces lost
    /// connections. The first connection opens (and migrates) now.
    pub fn open_many(db: &Database, n: usize, seal: Option<&Secrets>) -> Result<Vec<AnyStore>> {
        match db {
            Database::Sqlite(path) => (0..n.max(1))
                .map(|_| SqliteStore::open_sealing(path, seal).map(AnyStore::Sqlite))
                .collect(),
            Database::Postgres(pg) => Ok(PgStore::open_pooled(pg, n, seal)?
                .into_iter()
                .map(|s| AnyStore::Postgres(Box::new(s)))
                .collect()),
        }
    }

    /// The store in the use cases' vocabulary.
    pub fn backend(&mut self) -> &mut dyn Backend {
        match self {
            AnyStore::Sqlite(s) => s,
            AnyStore::Postgres(p) => p.as_mut(),
        }
    }
}
