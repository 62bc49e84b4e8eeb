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
mod events;
mod keys;
mod limits;
mod migrate;
mod pauses;
mod pool;
mod rate_limits;
mod retention;
mod review;
mod session;
mod tls;
mod tx;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::Client;

use self::conn::{Conn, DbError, Lease};
use self::pool::ConnectionPool;
use self::session::Session;
use self::tx::PgTx;
use crate::config::Postgres;
use crate::crypto::Secrets;
use crate::store::{Backend, StoreError, Tx};

/// An open otpd PostgreSQL database.
pub struct PgStore {
    source: Source,
    /// The URL without a password, as messages name the database.
    path: PathBuf,
}

/// Where transactions get their connection.
enum Source {
    /// The process's one connection (a one-shot command, the prompt, the kiosk).
    Own(Box<Session>),
    /// The server's pool, shared by its workers.
    Pooled(Arc<ConnectionPool>),
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.path).finish()
    }
}

/// Opens one connection (TLS as configured), with the session timeouts. A password is never
/// sent to a remote server whose certificate is not verified, unless the configuration allows
/// it: that refusal comes before any connection is attempted.
fn connect(pg: &Postgres, path: &Path) -> Result<Client, StoreError> {
    if let Some(host) = pg.unverified_password_host() {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            detail: format!(
                "refusing to send the password to {} without verified TLS (cleartext or MD5 \
                 authentication would expose it); use sslmode=verify-full, or set [database] \
                 allow_unverified_password = true",
                crate::sanitize::sanitize(&host)
            ),
        });
    }
    tls::connect(pg).map_err(|e| match e {
        tls::ConnectError::Tls(detail) => StoreError::Open {
            path: path.to_path_buf(),
            detail,
        },
        tls::ConnectError::Postgres(e) => StoreError::from_postgres(path, &e),
    })
}

impl PgStore {
    /// Connects to the configured server and applies pending migrations.
    pub fn open(pg: &Postgres) -> Result<Self, StoreError> {
        PgStore::open_sealing(pg, None)
    }

    /// [`PgStore::open`], sealing the API keys already stored with `seal` when the migrations
    /// add the seals (schema 7); without it those keys stay unsealed (refused).
    pub fn open_sealing(pg: &Postgres, seal: Option<&Secrets>) -> Result<Self, StoreError> {
        let path = PathBuf::from(&pg.shown);
        let mut client = connect(pg, &path)?;
        migrate::migrate(&mut client, &path, seal)?;
        Ok(PgStore {
            source: Source::Own(Box::new(Session::new(client))),
            path,
        })
    }

    /// `handles` stores sharing one pool of at most `pg.pool_size` connections (else one per
    /// handle), for the server's workers: the first connection is opened (and migrates) now,
    /// the others when a transaction needs them.
    pub fn open_pooled(
        pg: &Postgres,
        handles: usize,
        seal: Option<&Secrets>,
    ) -> Result<Vec<Self>, StoreError> {
        let PgStore { source, path } = PgStore::open_sealing(pg, seal)?;
        let Source::Own(first) = source else {
            unreachable!("open gives its own connection")
        };
        let size = pg.pool_size.unwrap_or(handles);
        let pool = Arc::new(ConnectionPool::new(pg, path.clone(), size, first));
        Ok((0..handles.max(1))
            .map(|_| PgStore {
                source: Source::Pooled(Arc::clone(&pool)),
                path: path.clone(),
            })
            .collect())
    }

    /// The URL (without a password) this store is connected to.
    pub fn url(&self) -> &Path {
        &self.path
    }

    fn begin(&mut self, writes: bool) -> Result<PgTx<'_>, StoreError> {
        let path = &self.path;
        let conn = match &mut self.source {
            Source::Own(session) => {
                start(Lease::Own(session), writes).map_err(|(_, e)| e.into_store(path))?
            }
            Source::Pooled(pool) => begin_pooled(pool, path, writes)?,
        };
        Ok(PgTx::new(conn, path, writes))
    }
}

/// Starts a transaction on a pooled connection. Connections found dead before anything ran
/// (the server restarted, or ended them) are discarded and the next one is tried — at most
/// once per connection the pool may hold, then the error is reported. Once `BEGIN` and the
/// lock have run, a lost connection is the request's storage error: nothing is retried that
/// may have written.
fn begin_pooled<'c>(
    pool: &Arc<ConnectionPool>,
    path: &Path,
    writes: bool,
) -> Result<Conn<'c>, StoreError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let lease = Lease::Pooled(pool.get()?);
        match start(lease, writes) {
            Ok(conn) => return Ok(conn),
            Err((lease, e)) => {
                let err = e.into_store(path);
                let Some(Lease::Pooled(mut checkout)) = lease else {
                    return Err(err);
                };
                let lost = matches!(err, StoreError::Connection { .. })
                    || checkout.session().client.is_closed();
                checkout.discard();
                if !lost || tries > pool.size() {
                    return Err(err);
                }
            }
        }
    }
}

/// `BEGIN` with the isolation a use case needs, and for writes the writers' lock.
/// A failed `BEGIN` gives the lease back (so the pool may discard a dead connection); a failed
/// lock has rolled back and given it back already.
fn start(lease: Lease<'_>, writes: bool) -> Result<Conn<'_>, (Option<Lease<'_>>, DbError)> {
    // Writes: READ COMMITTED under the writers' lock. Reads: one snapshot for the whole read,
    // as SQLite's deferred transaction gives.
    let begin = if writes {
        "BEGIN ISOLATION LEVEL READ COMMITTED"
    } else {
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    };
    let mut conn = Conn::begin(lease, begin).map_err(|(l, e)| (Some(l), e.into()))?;
    if writes {
        // The writers' lock, held to commit: every later statement of this transaction
        // sees all that earlier writers committed, and no other writer interleaves.
        if let Err(e) = conn.batch_execute("SELECT id FROM otpd_lock WHERE id = 1 FOR UPDATE") {
            return Err((None, e));
        }
    }
    Ok(conn)
}
impl Backend for PgStore {
    fn begin_write(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(self.begin(true)?))
    }

    fn begin_read(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(self.begin(false)?))
    }
}
