//! Lines with a deadline, for a terminal nobody may hold: the terminal in canonical mode (the
//! kernel edits the line) read with `poll`, because an idle visitor must be timed out even
//! half-way through typing — something a blocking line editor cannot do.

use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, FlushArg, LocalFlags, SetArg, SpecialCharacterIndices, Termios};

use super::input::{Input, decode};
use super::signals::KioskSignals;
use crate::error::Error;

/// The bytes of Ctrl-C, Ctrl-D, Ctrl-Z and Ctrl-\\ (when the terminal passes them on).
const KEYBOARD: [u8; 4] = [0x03, 0x04, 0x1a, 0x1c];

/// The longest line kept while waiting for its newline.
const MAX_PENDING: usize = 4096;

/// The terminal in canonical mode with echo, Ctrl-D disabled (it must not end the input) and
/// control keys echoed as themselves rather than as `^C` (a terminal shows nothing for them);
/// restored when dropped.
pub struct TerminalMode(Option<Termios>);

impl TerminalMode {
    pub fn canonical() -> TerminalMode {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return TerminalMode(None);
        }
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return TerminalMode(None);
        };
        let mut t = saved.clone();
        t.local_flags |= LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG;
        // Ctrl-C, Ctrl-D and Ctrl-\\ must leave nothing on the screen: no `^C` echo.
        t.local_flags &= !LocalFlags::ECHOCTL;
        // _POSIX_VDISABLE: Ctrl-D is no longer end-of-file.
        t.control_chars[SpecialCharacterIndices::VEOF as usize] = 0;
        let _ = termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &t);
        TerminalMode(Some(saved))
    }
}

impl Drop for TerminalMode {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

/// What waiting for a line gave.
pub enum Got {
    Line(Input),
    Idle,
    Hangup,
    /// A keyboard signal: the terminal dropped what was typed of the line (it is still on the
    /// screen).
    Dropped,
}

/// The longest wait in one `poll`, so a signal that lands just before it is seen soon.
const SLICE: Duration = Duration::from_millis(250);

/// Lines from stdin, read without blocking past a deadline.
#[derive(Default)]
pub struct TimedLines {
    buf: Vec<u8>,
    /// Bytes dropped from an overlong line still waiting for its newline.
    dropped: usize,
}

impl TimedLines {
    /// The next line within `wait`; `signals` end the wait early (a keyboard signal, or the
    /// supervisor's SIGTERM or SIGHUP, which reads as a hang-up).
    pub fn next(&mut self, wait: Duration, signals: &KioskSignals) -> Result<Got, Error> {
        let deadline = Instant::now() + wait;
        loop {
            if signals.ended() {
                return Ok(Got::Hangup);
            }
            // The terminal dropped its half-typed line itself; what was typed since is kept.
            if signals.take_keyboard() {
                return Ok(Got::Dropped);
            }
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                let total = line.len() + std::mem::take(&mut self.dropped);
                return Ok(Got::Line(decode(line, total)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Got::Idle);
            }
            let stdin = std::io::stdin();
            let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
            let timeout = PollTimeout::try_from(left.min(SLICE)).unwrap_or(PollTimeout::MAX);
            match nix::poll::poll(&mut fds, timeout) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::Input(e.into())),
            }
            let mut chunk = [0u8; 1024];
            match nix::unistd::read(stdin.as_fd(), &mut chunk) {
                Ok(0) => return Ok(Got::Hangup),
                Ok(n) => {
                    // Ctrl-C, Ctrl-D, Ctrl-Z and Ctrl-\\ do nothing here: not even a character
                    // that would make the line refused.
                    let keys = chunk[..n].iter().filter(|b| !KEYBOARD.contains(b));
                    self.buf.extend(keys);
                    if self.buf.len() > MAX_PENDING && !self.buf.contains(&b'\n') {
                        self.dropped += self.buf.len();
                        self.buf.clear();
                    }
                }
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => continue,
                Err(nix::errno::Errno::EIO) => return Ok(Got::Hangup),
                Err(e) => return Err(Error::Input(e.into())),
            }
        }
    }

    /// Forgets everything typed so far, including what the terminal still holds.
    pub fn discard(&mut self) {
        self.buf.clear();
        self.dropped = 0;
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            let _ = termios::tcflush(stdin.as_fd(), FlushArg::TCIFLUSH);
        }
    }
}
