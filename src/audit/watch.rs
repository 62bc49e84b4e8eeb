//! The chain check the audit pages show: one check at a time, run on a thread of its own (never
//! on the server's async workers or its API pool), its progress readable while it runs and its
//! last verdict kept for every page until the next check replaces it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use chrono::{DateTime, Utc};

use super::verify::Report;

/// Where the check stands.
#[derive(Debug, Clone)]
pub enum Status {
    /// No check has run since the server started.
    Never,
    /// Running: the last row id read so far, of `head` (the head when it started).
    Running { reached: i64, head: i64 },
    /// Finished at `at` with this report.
    Done {
        at: DateTime<Utc>,
        report: Box<Report>,
    },
    /// The check could not run (the sentence says why).
    Failed { at: DateTime<Utc>, error: String },
}

/// What a check run answers: when it finished and its report, or why it could not run.
pub type Outcome = (DateTime<Utc>, Result<Report, String>);

#[derive(Default)]
pub struct ChainWatch {
    state: Mutex<State>,
    progress: Arc<AtomicI64>,
    finished: Condvar,
}

#[derive(Default)]
struct State {
    running: Option<i64>,
    last: Option<Outcome>,
}

impl ChainWatch {
    pub fn new() -> Arc<ChainWatch> {
        Arc::default()
    }

    /// Starts a check unless one is running: `head` is the newest row id now (for the
    /// progress), `check` runs on a new thread, reporting its progress into the atomic it is
    /// given. `false` when a check was already running (the page then shows that one).
    pub fn start(
        self: &Arc<Self>,
        head: i64,
        check: impl FnOnce(Arc<AtomicI64>) -> Outcome + Send + 'static,
    ) -> bool {
        {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if s.running.is_some() {
                return false;
            }
            s.running = Some(head);
            self.progress.store(0, Ordering::Relaxed);
        }
        let me = self.clone();
        let progress = self.progress.clone();
        let spawned = std::thread::Builder::new()
            .name("otpd-chain-check".into())
            .spawn(move || {
                let done = check(progress);
                let mut s = me.state.lock().unwrap_or_else(|e| e.into_inner());
                s.running = None;
                s.last = Some(done);
                me.finished.notify_all();
            });
        if spawned.is_err() {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.running = None;
            return false;
        }
        true
    }

    pub fn status(&self) -> Status {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(head) = s.running {
            return Status::Running {
                reached: self.progress.load(Ordering::Relaxed),
                head,
            };
        }
        match &s.last {
            None => Status::Never,
            Some((at, Ok(report))) => Status::Done {
                at: *at,
                report: Box::new(report.clone()),
            },
            Some((at, Err(error))) => Status::Failed {
                at: *at,
                error: error.clone(),
            },
        }
    }

    /// Waits until no check runs (tests; the pages never wait).
    pub fn wait(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while s.running.is_some() {
            s = self.finished.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}
