//! The bounded pool the use cases run on. argon2 is CPU-bound and the Twilio client blocks, so
//! neither may run on the async threads: each worker thread owns its own [`App`] (on SQLite
//! its own connection; on PostgreSQL a handle on the store's shared pool, see
//! `App::open_many`) and takes jobs from one bounded queue. When the queue is full a request is
//! refused at once (20429), so memory stays bounded — hashing workers × argon2's memory (held
//! by `crypto::memory`, whatever the thread count) plus the queue — however many clients
//! connect.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::app::App;
use crate::config::Config;
use crate::error::Error;

type Job = Box<dyn FnOnce(&mut App) + Send>;

/// Pool threads per hashing worker: while one waits on the database, another can hash (the
/// hashes themselves are bounded by `crypto::bound_concurrent_hashes`).
pub const THREADS_PER_WORKER: usize = 2;

/// Why a job did not run.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full.
    Saturated,
    /// The job panicked or the pool is stopping.
    Lost,
}

pub struct Pool {
    tx: Option<SyncSender<Job>>,
    depth: Arc<AtomicUsize>,
    /// Detached on drop: the process exits once the server has drained its connections.
    _threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `threads` threads, each running its own application; fails if any cannot open.
    pub fn start(config: &Config, threads: usize, queue: usize) -> Result<Pool, Error> {
        let opened = App::open_many(config, threads.max(1))?;
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        let depth = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        for (i, opened) in opened.into_iter().enumerate() {
            let (rx, depth, ready) = (rx.clone(), depth.clone(), ready_tx.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("otpd-worker-{i}"))
                .spawn(move || match opened.for_process() {
                    Ok(mut app) => {
                        let _ = ready.send(Ok(()));
                        work(&mut app, &rx, &depth);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                })
                .map_err(|e| Error::Io(format!("cannot start a worker thread: {e}")))?;
            threads.push(spawned);
        }
        drop(ready_tx);
        for _ in 0..threads.len() {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(Error::Io("a worker thread did not start".into())),
            }
        }
        Ok(Pool {
            tx: Some(tx),
            depth,
            _threads: threads,
        })
    }

    /// Jobs waiting for a worker.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    /// Runs `f` on a worker and waits (asynchronously) for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut App) -> T + Send + 'static,
    ) -> Result<T, Refused> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(Box::new(move |app| {
            let _ = reply.send(f(app));
        }))?;
        answer.await.map_err(|_| Refused::Lost)
    }

    /// Queues `job` without waiting for it (refused at once when the queue is full).
    pub fn submit(&self, job: Job) -> Result<(), Refused> {
        let tx = self.tx.as_ref().ok_or(Refused::Lost)?;
        self.depth.fetch_add(1, Ordering::Relaxed);
        match tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                return Err(Refused::Saturated);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                return Err(Refused::Lost);
            }
        }
        Ok(())
    }
}

/// A worker's loop: one job at a time until the queue closes. A panicking job loses only its
/// own answer (the panic hook prints where, never what).
fn work(app: &mut App, rx: &Mutex<Receiver<Job>>, depth: &AtomicUsize) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        depth.fetch_sub(1, Ordering::Relaxed);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(app)));
    }
}
