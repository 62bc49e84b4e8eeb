//! Signals on a terminal. The prompt catches SIGINT and SIGTERM so that a command that is
//! running (hashing, delivering) finishes — its answer printed, its audit row written — before
//! the process stops; while it only waits for a line there is nothing half-done, so it exits
//! at once. The kiosk makes the keyboard's signals do nothing at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGQUIT, SIGTERM, SIGTSTP};

use crate::error::{Error, Signal};

/// The prompt's view of SIGINT and SIGTERM.
pub struct Watch {
    interrupted: Arc<AtomicBool>,
    terminated: Arc<AtomicBool>,
    waiting: Arc<AtomicBool>,
}

impl Watch {
    /// On a terminal Ctrl-C only cancels the line (rustyline sees it); on a pipe it stops the
    /// script, at once while waiting for input. SIGTERM: exit 143, at once while waiting.
    pub fn install(interactive: bool) -> Result<Watch, Error> {
        let interrupted = Arc::new(AtomicBool::new(false));
        let terminated = Arc::new(AtomicBool::new(false));
        let waiting = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(SIGINT, Arc::clone(&interrupted))
            .and_then(|_| {
                if interactive {
                    return Ok(());
                }
                signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&waiting))
                    .map(|_| ())
            })
            .map_err(|e| Error::Signals(Signal::Interrupt, e))?;
        signal_hook::flag::register(SIGTERM, Arc::clone(&terminated))
            .and_then(|_| {
                signal_hook::flag::register_conditional_shutdown(SIGTERM, 143, Arc::clone(&waiting))
            })
            .map_err(|e| Error::Signals(Signal::Terminate, e))?;
        Ok(Watch {
            interrupted,
            terminated,
            waiting,
        })
    }

    /// Marks the time spent waiting for a line (a signal then exits at once).
    pub fn waiting(&self, yes: bool) {
        self.waiting.store(yes, Ordering::SeqCst);
    }

    /// Whether Ctrl-C came since the last call.
    pub fn take_interrupt(&self) -> bool {
        self.interrupted.swap(false, Ordering::SeqCst)
    }

    /// Whether SIGTERM came.
    pub fn terminated(&self) -> bool {
        self.terminated.load(Ordering::SeqCst)
    }
}

/// SIGINT, SIGQUIT and SIGTSTP get a handler that only sets a flag nobody reads: the keys do
/// nothing, and the process can neither be killed nor stopped from the keyboard. The handlers
/// stay for as long as the returned ids are kept.
pub fn ignore_keyboard() -> Result<Vec<signal_hook::SigId>, Error> {
    let ignored = Arc::new(AtomicBool::new(false));
    [SIGINT, SIGQUIT, SIGTSTP]
        .into_iter()
        .map(|s| signal_hook::flag::register(s, Arc::clone(&ignored)))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Signals(Signal::Keyboard, e))
}
