//! A spinner on stderr while a code is being delivered (only on a terminal, and only once the
//! delivery takes long enough to notice).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::render;

/// A spinner on stderr while a code is being delivered (only on a terminal).
pub struct Spinner {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    pub fn start() -> Option<Spinner> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let mut shown = false;
            // Quick deliveries finish before the first frame: no flicker.
            for i in 0.. {
                std::thread::sleep(Duration::from_millis(100));
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let mut err = std::io::stderr().lock();
                let _ = write!(
                    err,
                    "\r{} {}",
                    frames[i % frames.len()],
                    render::prompt::sending()
                );
                let _ = err.flush();
                shown = true;
            }
            if shown {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[K");
                let _ = err.flush();
            }
        });
        Some(Spinner {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
