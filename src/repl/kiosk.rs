//! `otpd kiosk`: an unattended terminal for the public. A guided flow (number, then code), no
//! commands, no history, no code ever on the screen, and no way out: Ctrl-C, Ctrl-D and Ctrl-Z
//! neither exit nor suspend it — only SIGTERM or SIGHUP from its supervisor end it.
//!
//! It reads the terminal in canonical mode (the kernel edits the line) with `poll`, because an
//! idle visitor must be timed out even half-way through typing — something a blocking line
//! editor cannot do — and there is nothing to complete or remember anyway.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{self, FlushArg, LocalFlags, SetArg, SpecialCharacterIndices, Termios};

use super::command::{LineProblem, check_line};
use super::input::{Input, decode};
use crate::app::{App, Request};
use crate::config::KioskConfig;
use crate::domain::{Channel, Code, Outcome, PhoneNumber};
use crate::error::Error;
use crate::render;

/// Clears the screen and homes the cursor.
const CLEAR: &str = "\x1b[H\x1b[2J";

/// The longest line kept while waiting for its newline.
const MAX_PENDING: usize = 4096;

/// Runs the kiosk until the input is closed (the terminal hung up).
pub fn run(mut app: App, out: &mut dyn Write) -> Result<u8, Error> {
    if app.delivery().shows_codes_locally() {
        return Err(Error::Usage(render::kiosk_refuses_console()));
    }
    let _signals = ignore_interactive_signals()?;
    let _terminal = TerminalMode::kiosk();
    let cfg = app.config().kiosk.clone();
    let mut input = KioskInput::default();
    let mut k = Kiosk {
        app: &mut app,
        input: &mut input,
        out,
        cfg,
    };
    loop {
        k.say(CLEAR)?;
        match k.visitor()? {
            End::Reset => k.input.discard(),
            End::Hangup => return Ok(0),
        }
    }
}

/// SIGINT, SIGQUIT and SIGTSTP get a handler that only sets a flag nobody reads: the keys do
/// nothing, and the process can neither be killed nor stopped from the keyboard.
fn ignore_interactive_signals() -> Result<Vec<signal_hook::SigId>, Error> {
    use signal_hook::consts::{SIGINT, SIGQUIT, SIGTSTP};
    let ignored = Arc::new(AtomicBool::new(false));
    [SIGINT, SIGQUIT, SIGTSTP]
        .into_iter()
        .map(|s| signal_hook::flag::register(s, Arc::clone(&ignored)))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Io(format!("cannot ignore keyboard signals: {e}")))
}

/// The terminal in canonical mode with echo, Ctrl-D disabled; restored when dropped.
struct TerminalMode(Option<Termios>);

impl TerminalMode {
    fn kiosk() -> TerminalMode {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return TerminalMode(None);
        }
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return TerminalMode(None);
        };
        let mut t = saved.clone();
        t.local_flags |= LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG;
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
enum Got {
    Line(Input),
    Idle,
    Hangup,
}

/// Lines from stdin, read without blocking past a deadline.
#[derive(Default)]
struct KioskInput {
    buf: Vec<u8>,
    /// Bytes dropped from an overlong line still waiting for its newline.
    dropped: usize,
}

impl KioskInput {
    fn next(&mut self, wait: Duration) -> Result<Got, Error> {
        let deadline = Instant::now() + wait;
        loop {
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
            let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
            match nix::poll::poll(&mut fds, timeout) {
                Ok(0) => return Ok(Got::Idle),
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::Io(format!("cannot wait for input: {e}"))),
            }
            let mut chunk = [0u8; 1024];
            match nix::unistd::read(stdin.as_fd(), &mut chunk) {
                Ok(0) => return Ok(Got::Hangup),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    if self.buf.len() > MAX_PENDING && !self.buf.contains(&b'\n') {
                        self.dropped += self.buf.len();
                        self.buf.clear();
                    }
                }
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => continue,
                Err(nix::errno::Errno::EIO) => return Ok(Got::Hangup),
                Err(e) => return Err(Error::Io(format!("cannot read input: {e}"))),
            }
        }
    }

    /// Forgets everything typed so far, including what the terminal still holds.
    fn discard(&mut self) {
        self.buf.clear();
        self.dropped = 0;
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            let _ = termios::tcflush(stdin.as_fd(), FlushArg::TCIFLUSH);
        }
    }
}

/// How one visitor's session ended.
enum End {
    Reset,
    Hangup,
}

/// One answer from the visitor, already checked.
enum Answer {
    Text(String),
    Bad(LineProblem),
    End(End),
}

struct Kiosk<'a> {
    app: &'a mut App,
    input: &'a mut KioskInput,
    out: &'a mut dyn Write,
    cfg: KioskConfig,
}

impl Kiosk<'_> {
    fn say(&mut self, text: &str) -> Result<(), Error> {
        write!(self.out, "{text}")
            .and_then(|()| self.out.flush())
            .map_err(|e| Error::Io(format!("cannot write to the screen: {e}")))
    }

    fn line(&mut self, text: &str) -> Result<(), Error> {
        self.say(&format!("{text}\n"))
    }

    fn ask(&mut self, question: &str) -> Result<Answer, Error> {
        self.line(question)?;
        self.say("> ")?;
        let idle = Duration::from_secs(self.cfg.idle_seconds);
        Ok(match self.input.next(idle)? {
            Got::Idle => Answer::End(End::Reset),
            Got::Hangup => Answer::End(End::Hangup),
            Got::Line(Input::Line(l)) => match check_line(&l) {
                Ok(()) => Answer::Text(l.trim().to_string()),
                Err(p) => Answer::Bad(p),
            },
            Got::Line(Input::Refused(p)) => Answer::Bad(p),
            Got::Line(Input::Interrupted | Input::Eof) => Answer::End(End::Hangup),
        })
    }

    fn execute(&mut self, request: &Request) -> Result<Option<Outcome>, Error> {
        match self.app.execute(request) {
            Ok(o) => {
                self.line(&render::kiosk_text(&o))?;
                Ok(Some(o))
            }
            Err(e) => {
                self.line(&render::error_text(&e))?;
                Ok(None)
            }
        }
    }

    /// One visitor, from the welcome to a verified number, an idle timeout or a hang-up.
    fn visitor(&mut self) -> Result<End, Error> {
        self.line(render::kiosk_welcome())?;
        loop {
            let phone = match self.ask_phone()? {
                Ok(p) => p,
                Err(end) => return Ok(end),
            };
            let channel = match self.ask_channel()? {
                Ok(c) => c,
                Err(end) => return Ok(end),
            };
            let sent = self.execute(&Request::Send {
                phone: phone.clone(),
                channel: Some(channel),
            })?;
            if matches!(
                sent,
                Some(Outcome::Sent { .. } | Outcome::DeliveryUnknown { .. })
            ) && let Some(end) = self.ask_code(&phone)?
            {
                return Ok(end);
            }
            self.line(render::kiosk_start_over())?;
        }
    }

    fn ask_phone(&mut self) -> Result<Result<PhoneNumber, End>, Error> {
        loop {
            match self.ask(render::kiosk_ask_phone())? {
                Answer::End(end) => return Ok(Err(end)),
                Answer::Bad(p) => self.line(&render::line_problem(p))?,
                Answer::Text(t) if t.is_empty() => {}
                Answer::Text(t) => match PhoneNumber::parse(&t) {
                    Ok(p) => return Ok(Ok(p)),
                    Err(e) => {
                        self.line(&render::text(&Outcome::InvalidPhone {
                            error: e.to_string(),
                        }))?;
                        self.line(render::kiosk_not_a_phone())?;
                    }
                },
            }
        }
    }

    fn ask_channel(&mut self) -> Result<Result<Channel, End>, Error> {
        let channels = self.cfg.channels.clone();
        if let [only] = channels.as_slice() {
            return Ok(Ok(*only));
        }
        loop {
            match self.ask(&render::kiosk_ask_channel(&channels))? {
                Answer::End(end) => return Ok(Err(end)),
                Answer::Text(t) => match t.parse::<Channel>() {
                    Ok(c) if channels.contains(&c) => return Ok(Ok(c)),
                    _ => {}
                },
                Answer::Bad(_) => {}
            }
        }
    }

    /// The code step. `None`: the verification cannot go on (expired, locked…), start again.
    fn ask_code(&mut self, phone: &PhoneNumber) -> Result<Option<End>, Error> {
        let cooldown = self.app.config().policy.resend_cooldown;
        let mut sent_at = self.app.now();
        loop {
            let resend_allowed = self.app.now() - sent_at >= cooldown;
            let answer = self.ask(&render::kiosk_ask_code(resend_allowed))?;
            let text = match answer {
                Answer::End(end) => return Ok(Some(end)),
                Answer::Bad(p) => {
                    self.line(&render::line_problem(p))?;
                    continue;
                }
                Answer::Text(t) => t,
            };
            if text.eq_ignore_ascii_case("resend") {
                let o = self.execute(&Request::Resend {
                    phone: Some(phone.clone()),
                })?;
                match o {
                    Some(Outcome::Sent { .. }) => sent_at = self.app.now(),
                    Some(Outcome::RateLimited { .. }) | None => {}
                    Some(_) => return Ok(None),
                }
                continue;
            }
            if text.is_empty() {
                continue;
            }
            let code = match Code::parse(&text) {
                Ok(c) => c,
                Err(_) => {
                    self.line(render::kiosk_not_a_code())?;
                    continue;
                }
            };
            let o = self.execute(&Request::Verify {
                code,
                phone: Some(phone.clone()),
            })?;
            match o {
                Some(Outcome::Approved { .. }) => return self.show_result().map(Some),
                Some(Outcome::Invalid { attempts_left, .. }) if attempts_left > 0 => {}
                None => {}
                Some(_) => return Ok(None),
            }
        }
    }

    /// Shows the success for `result_seconds` (ignoring input), then resets.
    fn show_result(&mut self) -> Result<End, Error> {
        let seconds = self.cfg.result_seconds;
        self.line(&render::kiosk_done(seconds))?;
        let until = Instant::now() + Duration::from_secs(seconds);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.input.next(left)? {
                Got::Idle => return Ok(End::Reset),
                Got::Hangup => return Ok(End::Hangup),
                Got::Line(_) => {}
            }
        }
    }
}
