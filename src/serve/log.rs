//! The access log's writer: one thread owns stderr, requests hand it their line through a
//! bounded queue and never wait. When stderr is slow or nobody reads it (a full pipe, a stuck
//! journald), lines beyond the queue are dropped and counted (`otpd_log_lines_dropped_total`)
//! rather than stalling every request behind a blocked `write`.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// Lines waiting for the writer before new ones are dropped (~100 bytes each).
const QUEUE: usize = 4096;

/// How long a stopping server waits for the writer to empty its queue.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(2);

/// What the writer is handed: a line, or the end (with a last line, or none).
enum Msg {
    Line(String),
    Last(Option<String>),
}

pub struct AccessLog {
    tx: SyncSender<Msg>,
    dropped: AtomicU64,
    /// Signalled by the writer once it has written the last line.
    done: Mutex<Receiver<()>>,
}

impl AccessLog {
    /// Starts the writer thread over `sink` (stderr in the server).
    pub fn start(sink: Box<dyn Write + Send>) -> std::io::Result<AccessLog> {
        let (tx, rx) = sync_channel::<Msg>(QUEUE);
        let (done_tx, done) = sync_channel(1);
        std::thread::Builder::new()
            .name("otpd-log".into())
            .spawn(move || {
                write_all(sink, &rx);
                let _ = done_tx.send(());
            })?;
        Ok(AccessLog {
            tx,
            dropped: AtomicU64::new(0),
            done: Mutex::new(done),
        })
    }

    /// Queues one line (without its newline); drops it if the queue is full.
    pub fn line(&self, line: String) {
        if self.tx.try_send(Msg::Line(line)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes `last` (if any) after the lines queued before it and waits for the writer to
    /// finish, for at most [`FLUSH_AT_EXIT`] in all: a stderr that still blocks is left behind
    /// (the process is exiting). Lines offered after this are dropped.
    pub fn finish(&self, last: Option<&str>) {
        let deadline = Instant::now() + FLUSH_AT_EXIT;
        let mut msg = Msg::Last(last.map(str::to_string));
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    msg = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TrySendError::Full(_)) => return,
            }
        }
        let done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        let _ = done.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

/// The writer's loop: a line at a time, flushed whenever the queue runs empty, until the last
/// line. If stderr fails, it keeps draining (so senders never block) and writes nothing.
fn write_all(sink: Box<dyn Write + Send>, rx: &Receiver<Msg>) {
    let mut out = Some(std::io::BufWriter::new(sink));
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next {
            let (line, last) = match msg {
                Msg::Line(l) => (Some(l), false),
                Msg::Last(l) => (l, true),
            };
            if let (Some(o), Some(line)) = (&mut out, line)
                && writeln!(o, "{line}").is_err()
            {
                out = None;
            }
            if last {
                if let Some(o) = &mut out {
                    let _ = o.flush();
                }
                return;
            }
            next = rx.try_recv().ok();
        }
        if let Some(o) = &mut out
            && o.flush().is_err()
        {
            out = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A sink that blocks until released, then records what it was given.
    struct Gate {
        open: Arc<(Mutex<bool>, std::sync::Condvar)>,
        seen: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (lock, cv) = &*self.open;
            let mut open = lock.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
            self.seen.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_blocked_sink_drops_and_counts_lines_instead_of_blocking_the_caller() {
        let open = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = AccessLog::start(Box::new(Gate {
            open: open.clone(),
            seen: seen.clone(),
        }))
        .unwrap();
        // The sink is shut: these calls must all return, the overflow counted.
        let n = QUEUE * 2 + 100;
        for i in 0..n {
            log.line(format!("line {i}"));
        }
        // The writer holds what its 8 KiB buffer takes before it blocks, the queue the rest.
        assert!(
            log.dropped() >= (n - QUEUE - 2000) as u64,
            "{}",
            log.dropped()
        );
        assert!(log.dropped() < n as u64);
        *open.0.lock().unwrap() = true;
        open.1.notify_all();
        let dropped = log.dropped();
        log.finish(Some("stopped"));
        log.line("after the end".into());
        let text = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("line 0\n"), "{}", &text[..40]);
        assert!(text.ends_with("stopped\n"));
        assert_eq!(text.lines().count() as u64, n as u64 + 1 - dropped);
    }
}
