//! The server's connections (`otpd serve`): a bounded set shared by its worker threads, each
//! transaction checking one out and giving it back when it ends. A connection the server
//! dropped (`pg_terminate_backend`, a restart) is discarded when a transaction notices it,
//! and a new one is opened on demand, so the server heals without a restart. Connections are
//! opened lazily up to the bound; a checkout waits at most [`BUSY_TIMEOUT_MS`] for one to be
//! given back, then fails as a busy database.
//!
//! Small and synchronous on purpose: the workers are plain threads running one blocking unit
//! of work each, and the pool needs only a mutex, a condition variable and the client's own
//! `is_closed` — r2d2 would bring its own thread and a health-check query per checkout.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::session::Session;
use crate::config::Postgres;
use crate::store::{BUSY_TIMEOUT_MS, StoreError};

/// A bounded pool of connections to one database.
pub(super) struct ConnectionPool {
    pg: Postgres,
    path: PathBuf,
    size: usize,
    state: Mutex<State>,
    returned: Condvar,
}

struct State {
    idle: Vec<Session>,
    /// Connections open now: idle, checked out, or being opened.
    open: usize,
}

impl ConnectionPool {
    /// A pool of at most `size` connections (at least one), holding `first` (already open and
    /// migrated) idle.
    pub(super) fn new(
        pg: &Postgres,
        path: PathBuf,
        size: usize,
        first: Box<Session>,
    ) -> ConnectionPool {
        ConnectionPool {
            pg: pg.clone(),
            path,
            size: size.max(1),
            state: Mutex::new(State {
                idle: vec![*first],
                open: 1,
            }),
            returned: Condvar::new(),
        }
    }

    /// The most connections this pool opens.
    pub(super) fn size(&self) -> usize {
        self.size
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection, else a new one while fewer than `size` are open, else the next one
    /// given back within [`BUSY_TIMEOUT_MS`].
    pub(super) fn get(self: &Arc<Self>) -> Result<Checkout, StoreError> {
        let deadline = Instant::now() + Duration::from_millis(BUSY_TIMEOUT_MS);
        let mut state = self.lock();
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(self.checkout(Box::new(session)));
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                return match super::connect(&self.pg, &self.path) {
                    Ok(client) => Ok(self.checkout(Box::new(Session::new(client)))),
                    Err(e) => {
                        self.forget();
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Busy {
                    path: self.path.clone(),
                    why: format!("no connection of the pool was free within {BUSY_TIMEOUT_MS} ms"),
                });
            }
            state = self
                .returned
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn checkout(self: &Arc<Self>, session: Box<Session>) -> Checkout {
        Checkout {
            session: Some(session),
            pool: Arc::clone(self),
        }
    }

    /// A connection was closed or lost: its place may be taken by a new one.
    fn forget(&self) {
        self.lock().open -= 1;
        self.returned.notify_one();
    }

    fn give_back(&self, session: Box<Session>) {
        if session.client.is_closed() {
            return self.forget();
        }
        self.lock().idle.push(*session);
        self.returned.notify_one();
    }
}

/// A connection checked out of a [`ConnectionPool`]; given back when dropped, unless it was lost.
pub(super) struct Checkout {
    /// `None` once discarded. Boxed, so a lease is a pointer whichever kind it is.
    session: Option<Box<Session>>,
    pool: Arc<ConnectionPool>,
}

impl Checkout {
    pub(super) fn session(&mut self) -> &mut Session {
        // Only `discard` empties it, and it is the last use of a checkout.
        self.session
            .as_mut()
            .expect("a discarded connection was used")
    }

    /// Closes the connection instead of giving it back (its state is unknown).
    pub(super) fn discard(&mut self) {
        if self.session.take().is_some() {
            self.pool.forget();
        }
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool.give_back(session);
        }
    }
}
