//! The storage probe behind `otpd serve`'s `/healthz`: a connection of its own (never one of
//! the workers' nor of the pool's), a read that takes no writers' lock (a snapshot of the
//! stored service SID), short time limits on PostgreSQL, and a fresh connection after any
//! failure. So a health check answers within a bound whether the writers are busy, stuck
//! behind a lock another session holds, or the database server is gone.

use super::StoreError;
use super::any::AnyStore;
use crate::config::Database;
use crate::config::database::Timeouts;

/// The time limits of the probe's PostgreSQL session: a health check waits for nobody.
const TIMEOUTS: Timeouts = Timeouts {
    lock_ms: 1_000,
    statement_ms: 2_000,
    idle_in_transaction_ms: 5_000,
};

/// One database connection kept for health checks.
pub struct Probe {
    db: Database,
    store: Option<AnyStore>,
}

impl Probe {
    /// A probe of `db`, connecting on its first check. On PostgreSQL its session has short
    /// time limits and its own `application_name` (`…-health`), so it is told apart from the
    /// workers' connections in `pg_stat_activity`.
    pub fn new(db: &Database) -> Probe {
        let db = match db {
            Database::Sqlite(_) => db.clone(),
            Database::Postgres(pg) => {
                let mut pg = pg.clone();
                pg.timeouts = TIMEOUTS;
                let name = pg.connect.get_application_name().unwrap_or("otpd");
                let name = format!("{name}-health");
                pg.connect.application_name(&name);
                pg.connect
                    .connect_timeout(std::time::Duration::from_secs(2));
                Database::Postgres(pg)
            }
        };
        Probe { db, store: None }
    }

    /// Reads from the database; any failure drops the connection. A connection kept from an
    /// earlier check that fails (the server restarted since) is replaced and the read tried
    /// once more at once, so a restarted server is not reported down.
    pub fn check(&mut self) -> Result<(), StoreError> {
        let kept = self.store.is_some();
        match self.read() {
            Err(StoreError::Connection { .. }) if kept => self.read(),
            r => r,
        }
    }

    fn read(&mut self) -> Result<(), StoreError> {
        let store = match &mut self.store {
            Some(s) => s,
            None => self.store.insert(AnyStore::open(&self.db)?),
        };
        let read = store
            .backend()
            .snapshot(|tx| tx.server_setting("service_sid").map(|_| ()));
        if read.is_err() {
            self.store = None;
        }
        read
    }
}
