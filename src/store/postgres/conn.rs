//! One PostgreSQL transaction with the connection's prepared statements: each SQL text is
//! prepared once per connection (a round trip saved on every later use, which matters to a
//! server that runs many commands on one connection) and run through the typed helpers the
//! SQL modules use.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};

pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];
pub(super) type PgResult<T> = Result<T, DbError>;

/// What the SQL modules fail with: the server's error, or a stored value otpd never writes.
#[derive(Debug)]
pub(super) enum DbError {
    Pg(postgres::Error),
    Bad(String),
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        DbError::Pg(e)
    }
}

impl DbError {
    pub(super) fn into_store(self, path: &std::path::Path) -> crate::store::StoreError {
        match self {
            DbError::Pg(e) => crate::store::StoreError::from_postgres(path, &e),
            DbError::Bad(detail) => crate::store::StoreError::Corrupt {
                path: path.to_path_buf(),
                detail,
            },
        }
    }
}

/// The statements prepared on one connection, by SQL text.
pub(super) type Cache = HashMap<String, Statement>;

/// An open transaction and its connection's statement cache.
pub(super) struct Conn<'c> {
    pub(super) tx: Transaction<'c>,
    cache: &'c mut Cache,
}

impl<'c> Conn<'c> {
    pub(super) fn new(tx: Transaction<'c>, cache: &'c mut Cache) -> Self {
        Conn { tx, cache }
    }

    fn statement(&mut self, sql: &str) -> PgResult<Statement> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.cache.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// The types of `sql`'s parameters, as the server inferred them.
    pub(super) fn param_types(&mut self, sql: &str) -> PgResult<Vec<postgres::types::Type>> {
        Ok(self.statement(sql)?.params().to_vec())
    }

    pub(super) fn query(&mut self, sql: &str, params: Params<'_>) -> PgResult<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(self.tx.query(&s, params)?)
    }

    pub(super) fn query_opt(&mut self, sql: &str, params: Params<'_>) -> PgResult<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(self.tx.query_opt(&s, params)?)
    }

    pub(super) fn query_one(&mut self, sql: &str, params: Params<'_>) -> PgResult<Row> {
        let s = self.statement(sql)?;
        Ok(self.tx.query_one(&s, params)?)
    }

    /// Runs a statement; returns how many rows it changed.
    pub(super) fn execute(&mut self, sql: &str, params: Params<'_>) -> PgResult<u64> {
        let s = self.statement(sql)?;
        Ok(self.tx.execute(&s, params)?)
    }

    pub(super) fn commit(self) -> PgResult<()> {
        Ok(self.tx.commit()?)
    }
}

/// A count or small integer column read back as otpd's `u32`, saturating rather than failing.
pub(super) fn u32_of(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}
