//! One PostgreSQL transaction on a leased connection, with that connection's prepared statements: each SQL text is
//! prepared once per connection (a round trip saved on every later use, which matters to a
//! server that runs many commands on one connection) and run through the typed helpers the
//! SQL modules use.

use postgres::types::ToSql;
use postgres::{Row, Statement};

use super::pool::Checkout;
use super::session::Session;

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

/// Where a transaction's connection comes from: the process's own (a one-shot command), or
/// one checked out of the server's [`pool`](super::pool) and given back when the transaction
/// ends.
pub(super) enum Lease<'c> {
    Own(&'c mut Session),
    Pooled(Checkout),
}

impl Lease<'_> {
    fn session(&mut self) -> &mut Session {
        match self {
            Lease::Own(s) => s,
            Lease::Pooled(c) => c.session(),
        }
    }
}

/// An open transaction on a leased connection: `BEGIN` has run; [`Conn::commit`] ends it, and
/// dropping it rolls back (a pooled connection whose rollback fails is discarded, so no
/// half-open transaction goes back to the pool).
pub(super) struct Conn<'c> {
    lease: Lease<'c>,
    open: bool,
}

impl<'c> Conn<'c> {
    /// Starts a transaction with `begin` (e.g. `BEGIN ISOLATION LEVEL READ COMMITTED`); on
    /// failure the lease comes back with the error, so a pool can discard a dead connection.
    pub(super) fn begin(
        mut lease: Lease<'c>,
        begin: &str,
    ) -> Result<Self, (Lease<'c>, postgres::Error)> {
        match lease.session().client.batch_execute(begin) {
            Ok(()) => Ok(Conn { lease, open: true }),
            Err(e) => Err((lease, e)),
        }
    }

    /// Runs statements without results (no parameters, not prepared).
    pub(super) fn batch_execute(&mut self, sql: &str) -> PgResult<()> {
        Ok(self.lease.session().client.batch_execute(sql)?)
    }

    fn statement(&mut self, sql: &str) -> PgResult<Statement> {
        let session = self.lease.session();
        if let Some(s) = session.cache.get(sql) {
            return Ok(s.clone());
        }
        let s = session.client.prepare(sql)?;
        session.cache.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// The types of `sql`'s parameters, as the server inferred them.
    pub(super) fn param_types(&mut self, sql: &str) -> PgResult<Vec<postgres::types::Type>> {
        Ok(self.statement(sql)?.params().to_vec())
    }

    pub(super) fn query(&mut self, sql: &str, params: Params<'_>) -> PgResult<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(self.lease.session().client.query(&s, params)?)
    }

    pub(super) fn query_opt(&mut self, sql: &str, params: Params<'_>) -> PgResult<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(self.lease.session().client.query_opt(&s, params)?)
    }

    pub(super) fn query_one(&mut self, sql: &str, params: Params<'_>) -> PgResult<Row> {
        let s = self.statement(sql)?;
        Ok(self.lease.session().client.query_one(&s, params)?)
    }

    /// Runs a statement; returns how many rows it changed.
    pub(super) fn execute(&mut self, sql: &str, params: Params<'_>) -> PgResult<u64> {
        let s = self.statement(sql)?;
        Ok(self.lease.session().client.execute(&s, params)?)
    }

    /// Commits. A failed `COMMIT` ends the transaction too (PostgreSQL rolls it back).
    pub(super) fn commit(mut self) -> PgResult<()> {
        self.open = false;
        Ok(self.lease.session().client.batch_execute("COMMIT")?)
    }

    /// Ends a transaction that wrote nothing (a read's snapshot).
    pub(super) fn rollback(mut self) -> PgResult<()> {
        self.open = false;
        Ok(self.lease.session().client.batch_execute("ROLLBACK")?)
    }

    fn finish(&mut self) {
        if std::mem::take(&mut self.open)
            && self
                .lease
                .session()
                .client
                .batch_execute("ROLLBACK")
                .is_err()
            && let Lease::Pooled(c) = &mut self.lease
        {
            c.discard();
        }
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A count or small integer column read back as otpd's `u32`, saturating rather than failing.
pub(super) fn u32_of(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}
