//! Signals on a terminal. The prompt catches SIGINT and SIGTERM so that a command that is
//! running (hashing, delivering) finishes — its answer printed, its audit row written — before
//! the process stops; while it only waits for a line there is nothing half-done, so it exits
//! at once. The kiosk makes the keyboard's signals do nothing but wipe the half-typed line (the
//! terminal drops it), and ends cleanly on its supervisor's SIGTERM or SIGHUP.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP};

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

/// The kiosk's signals. SIGINT, SIGQUIT and SIGTSTP only raise a flag: the process can
/// neither be killed nor stopped from the keyboard, but the terminal has dropped the line
/// typed so far, so the kiosk redraws its question rather than leave on screen what it will
/// never read. SIGTERM and SIGHUP raise another: the kiosk clears the screen and exits.
pub struct KioskSignals {
    keyboard: Arc<AtomicBool>,
    ended: Arc<AtomicBool>,
}

impl KioskSignals {
    pub fn install() -> Result<KioskSignals, Error> {
        let keyboard = Arc::new(AtomicBool::new(false));
        let ended = Arc::new(AtomicBool::new(false));
        for s in [SIGINT, SIGQUIT, SIGTSTP] {
            signal_hook::flag::register(s, Arc::clone(&keyboard))
                .map_err(|e| Error::Signals(Signal::Keyboard, e))?;
        }
        for s in [SIGTERM, SIGHUP] {
            signal_hook::flag::register(s, Arc::clone(&ended))
                .map_err(|e| Error::Signals(Signal::Terminate, e))?;
        }
        Ok(KioskSignals { keyboard, ended })
    }

    /// Whether a keyboard signal came since the last call.
    pub fn take_keyboard(&self) -> bool {
        self.keyboard.swap(false, Ordering::SeqCst)
    }

    /// Whether the supervisor asked the kiosk to end.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }
}
