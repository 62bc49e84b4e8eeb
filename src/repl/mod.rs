//! The interactive prompt, the main way people use otpd: one line in, one answer out. The same
//! loop serves a person at a terminal (rustyline: completion, hints, history, colour) and a
//! script or front-end on a pipe (plain lines; with `--json`, one JSON object per line).
//!
//! Each line is parsed once ([`command`]), executed through [`App::execute`], and rendered by
//! [`crate::render`]. SIGINT is caught for the whole session, so Ctrl-C while a code is being
//! hashed or delivered lets the command finish (and write its audit event) instead of killing
//! the process half-way. At the prompt itself Ctrl-C just cancels the line; a script reading
//! from a pipe stops — at once while it waits for input, after the command if one is running.

pub mod command;
pub mod helper;
pub mod history;
pub mod input;
pub mod kiosk;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::app::{App, Request};
use crate::domain::{Outcome, PhoneNumber};
use crate::error::Error;
use crate::render;
use command::ReplCommand;
use helper::Paint;
use input::{Input, PipeSource, Source, TtySource};

/// The prompt's own answers (everything that is not a use case's [`Outcome`]). Serialised like
/// outcomes: `{"outcome": "help", …}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Notice {
    Help {
        text: String,
    },
    UnknownCommand {
        input: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        suggestion: Option<&'static str>,
    },
    Bye,
}

impl Notice {
    fn text(&self) -> String {
        match self {
            Notice::Help { text } => text.clone(),
            Notice::UnknownCommand { input, suggestion } => {
                render::unknown_command(input, *suggestion)
            }
            Notice::Bye => render::bye().to_string(),
        }
    }

    fn exit_code(&self) -> u8 {
        match self {
            Notice::UnknownCommand { .. } => crate::domain::outcome::exit::USAGE,
            Notice::Help { .. } | Notice::Bye => 0,
        }
    }
}

fn write_line(out: &mut dyn Write, line: &str) -> Result<(), Error> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| Error::Io(format!("cannot write output: {e}")))
}

/// One prompt session: the current number and how to print.
struct Session {
    current: Option<PhoneNumber>,
    json: bool,
    paint: Paint,
}

impl Session {
    fn prompt(&self) -> (String, String) {
        let raw = match &self.current {
            Some(p) => format!("otpd {}> ", p.short()),
            None => "otpd> ".to_string(),
        };
        let styled = self.paint.prompt(&raw);
        (raw, styled)
    }

    fn show(&self, out: &mut dyn Write, o: &Outcome) -> Result<(), Error> {
        if self.json {
            write_line(out, &render::json(o))
        } else {
            write_line(out, &self.paint.outcome(&render::text(o), o.exit_code()))
        }
    }

    fn notice(&self, out: &mut dyn Write, n: &Notice) -> Result<(), Error> {
        if self.json {
            let line = serde_json::to_string(n).map_err(|e| Error::Io(e.to_string()))?;
            write_line(out, &line)
        } else {
            write_line(out, &self.paint.outcome(&n.text(), n.exit_code()))
        }
    }

    /// An operational error: the loop goes on (the next command may well work).
    fn error(&self, out: &mut dyn Write, e: &Error) -> Result<(), Error> {
        if self.json {
            write_line(out, &render::error_json(e))
        } else {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}", self.paint.outcome(&render::error_text(e), 5));
            Ok(())
        }
    }

    /// Fills in the current number where the command left it out.
    fn with_current(&self, request: Request) -> Request {
        let current = self.current.clone();
        match request {
            Request::Resend { phone: None } => Request::Resend { phone: current },
            Request::Verify { code, phone: None } => Request::Verify {
                code,
                phone: current,
            },
            Request::Cancel { phone: None } => Request::Cancel { phone: current },
            other => other,
        }
    }

    /// Remembers the number a send was for; forgets it once it is verified or abandoned.
    fn follow(&mut self, o: &Outcome) {
        match o {
            Outcome::Sent { phone, .. } | Outcome::DeliveryUnknown { phone, .. } => {
                self.current = Some(phone.clone());
            }
            Outcome::Approved { .. }
            | Outcome::Cancelled { .. }
            | Outcome::DeliveryFailed { .. } => self.current = None,
            _ => {}
        }
    }

    /// Runs one parsed line. `Ok(false)` ends the session.
    fn handle(
        &mut self,
        app: &mut App,
        cmd: ReplCommand,
        out: &mut dyn Write,
    ) -> Result<bool, Error> {
        match cmd {
            ReplCommand::Empty => {}
            ReplCommand::Run(request) => {
                let request = self.with_current(request);
                let spinner = matches!(request, Request::Send { .. } | Request::Resend { .. })
                    && !app.delivery().shows_codes_locally()
                    && !self.json;
                let spinner = spinner.then(Spinner::start).flatten();
                let result = app.execute(&request);
                drop(spinner);
                match result {
                    Ok(o) => {
                        self.follow(&o);
                        self.show(out, &o)?;
                    }
                    Err(e) => self.error(out, &e)?,
                }
            }
            ReplCommand::Help(topic) => self.notice(
                out,
                &Notice::Help {
                    text: render::help(topic.as_deref()),
                },
            )?,
            ReplCommand::Audit(words) => {
                if let Err(e) = audit_line(app, &words, self.json, out) {
                    self.error(out, &e)?;
                }
            }
            ReplCommand::Unknown { input, suggestion } => {
                self.notice(out, &Notice::UnknownCommand { input, suggestion })?
            }
            ReplCommand::Invalid(e) => self.show(out, &e.outcome())?,
            ReplCommand::Quit => {
                self.notice(out, &Notice::Bye)?;
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// `audit …` at the prompt: the same review commands as `otpd audit …`, parsed from the words
/// after `audit`. Mistakes come back as one line and the prompt goes on.
fn audit_line(
    app: &mut App,
    words: &[String],
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    app.audit_words(words, json, out)
}

/// Runs the prompt until `quit`, Ctrl-D or the end of the input. Returns the exit status.
pub fn run(mut app: App, state_dir: &Path, json: bool, out: &mut dyn Write) -> Result<u8, Error> {
    let interactive = std::io::stdin().is_terminal();
    let interrupted = Arc::new(AtomicBool::new(false));
    let waiting = Arc::new(AtomicBool::new(false));
    let sigint = signal_hook::consts::SIGINT;
    signal_hook::flag::register(sigint, Arc::clone(&interrupted))
        .and_then(|_| {
            if interactive {
                return Ok(());
            }
            // Nothing is half-done while a script waits for its next line: exit right away.
            signal_hook::flag::register_conditional_shutdown(sigint, 130, Arc::clone(&waiting))
                .map(|_| ())
        })
        .map_err(|e| Error::Io(format!("cannot handle Ctrl-C: {e}")))?;
    // SIGTERM (a supervisor, a shutdown): a command that is running finishes — its answer
    // printed, its audit row written — then the prompt exits 143; while it waits for a line
    // there is nothing half-done, so it exits at once.
    let terminated = Arc::new(AtomicBool::new(false));
    let sigterm = signal_hook::consts::SIGTERM;
    signal_hook::flag::register(sigterm, Arc::clone(&terminated))
        .and_then(|_| {
            signal_hook::flag::register_conditional_shutdown(sigterm, 143, Arc::clone(&waiting))
        })
        .map_err(|e| Error::Io(format!("cannot handle SIGTERM: {e}")))?;
    let mut session = Session {
        current: None,
        json,
        paint: Paint {
            on: interactive && !json && helper::colour_wanted(app.config().no_color),
        },
    };
    let mut source: Box<dyn Source> = if interactive {
        Box::new(TtySource::new(session.paint, &history::path(state_dir))?)
    } else {
        Box::new(PipeSource::new(std::io::stdin().lock()))
    };
    if interactive && !json {
        write_line(
            out,
            &render::banner(app.delivery().name(), &app.config().station),
        )?;
        resume(&mut app, &mut session, out)?;
    }
    loop {
        let (raw, styled) = session.prompt();
        waiting.store(true, Ordering::SeqCst);
        let input = source.read(&raw, &styled);
        waiting.store(false, Ordering::SeqCst);
        match input? {
            Input::Eof => {
                if interactive && !json {
                    write_line(out, render::bye())?;
                }
                break;
            }
            Input::Interrupted => continue,
            Input::Refused(problem) => session.show(out, &problem.into_error().outcome())?,
            Input::Line(line) => {
                source.remember(&line);
                let go_on = session.handle(&mut app, command::parse(&line), out)?;
                // Ctrl-C while the command ran: it finished; a person gets the prompt back,
                // a script stops here.
                if interrupted.swap(false, Ordering::SeqCst) && !interactive {
                    return Ok(130);
                }
                if terminated.load(Ordering::SeqCst) {
                    return Ok(143);
                }
                if !go_on {
                    break;
                }
            }
        }
    }
    Ok(0)
}

/// On start: if this station has a pending verification, say so and make it current.
fn resume(app: &mut App, session: &mut Session, out: &mut dyn Write) -> Result<(), Error> {
    match app.execute(&Request::Status { phone: None }) {
        Ok(Outcome::Status { pending }) => {
            if let Some(newest) = pending.first() {
                session.current = Some(newest.phone.clone());
                write_line(out, &render::resuming(newest, pending.len() - 1))?;
            }
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => session.error(out, &e),
    }
}

/// A spinner on stderr while a code is being delivered (only on a terminal).
struct Spinner {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    fn start() -> Option<Spinner> {
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
                let _ = write!(err, "\r{} {}", frames[i % frames.len()], render::sending());
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
