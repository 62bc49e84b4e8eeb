//! The store a process opens, chosen by the configuration: the SQLite file or the PostgreSQL
//! server. The use cases, the audit review and the copier see either through [`Backend`];
//! [`AnyStore::sqlite`] remains for what needs SQLite's connection, refused on PostgreSQL.

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::{Backend, Result, StoreError};
use crate::config::Database;

/// An open store of either kind.
#[derive(Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(Box<PgStore>),
}

impl AnyStore {
    /// Opens (and migrates) the configured database.
    pub fn open(db: &Database) -> Result<AnyStore> {
        Ok(match db {
            Database::Sqlite(path) => AnyStore::Sqlite(SqliteStore::open(path)?),
            Database::Postgres(pg) => AnyStore::Postgres(Box::new(PgStore::open(pg)?)),
        })
    }

    /// The store in the use cases' vocabulary.
    pub fn backend(&mut self) -> &mut dyn Backend {
        match self {
            AnyStore::Sqlite(s) => s,
            AnyStore::Postgres(p) => p.as_mut(),
        }
    }

    /// The SQLite store, for what still needs its connection (`what` names it for the refusal).
    pub fn sqlite(&mut self, what: &'static str) -> Result<&mut SqliteStore> {
        match self {
            AnyStore::Sqlite(s) => Ok(s),
            AnyStore::Postgres(_) => Err(StoreError::NotYet { what }),
        }
    }
}
