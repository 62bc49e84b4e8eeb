//! The interactive prompt, the main way people use otpd: one line in, one answer out. The same
//! loop serves a person at a terminal (rustyline: completion, hints, history, colour) and a
//! script or front-end on a pipe (plain lines; with `--json`, one JSON object per line).
//!
//! Each line is parsed once by the grammar ([`crate::grammar::parse_line_in`]), executed through
//! [`Executor::execute`] (the local application or a remote terminal's server), and rendered by [`crate::render`]. SIGINT is caught for the whole session
//! ([`crate::terminal::signals`]), so Ctrl-C while a code is being hashed or delivered lets the
//! command finish (and write its audit event) instead of killing the process half-way. At the
//! prompt itself Ctrl-C just cancels the line; a script reading from a pipe stops — at once
//! while it waits for input, after the command if one is running.

mod spinner;

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::app::Executor;
use crate::audit::AuditArgs;
use crate::domain::{Outcome, PhoneNumber};
use crate::error::Error;
use crate::grammar::{self, Line};
use crate::render::prompt::Notice;
use crate::render::{self, clap_message};
use crate::request::Request;
use crate::terminal::history;
use crate::terminal::input::{Input, PipeSource, Source, TtySource};
use crate::terminal::paint::{Paint, colour_wanted};
use crate::terminal::signals::Watch;
use spinner::Spinner;

fn write_line(out: &mut dyn Write, line: &str) -> Result<(), Error> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

/// One prompt session: the current number (and the language its code was sent in) and how to
/// print.
struct Session {
    current: Option<PhoneNumber>,
    /// The locale of the last `send`, for a `resend` to the current number.
    locale: Option<&'static crate::message::Locale>,
    json: bool,
    paint: Paint,
}

impl Session {
    fn prompt(&self) -> (String, String) {
        let raw = render::prompt::prompt(self.current.as_ref());
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
            write_line(out, &n.json())
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
            Request::Resend {
                phone: None,
                locale,
            } => Request::Resend {
                phone: current,
                locale: locale.or(self.locale),
            },
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

    fn run(
        &mut self,
        app: &mut dyn Executor,
        request: Request,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let request = self.with_current(request);
        if let Request::Send { locale, .. } = &request {
            self.locale = *locale;
        }
        let spinner = matches!(request, Request::Send { .. } | Request::Resend { .. })
            && !app.shows_codes_locally()
            && !self.json;
        let spinner = spinner.then(Spinner::start).flatten();
        let result = app.execute(&request);
        drop(spinner);
        match result {
            Ok(o) => {
                self.follow(&o);
                self.show(out, &o)
            }
            Err(e) => self.error(out, &e),
        }
    }

    /// `audit …`: the same review commands as `otpd audit …`. A mistake is one line and the
    /// prompt goes on.
    fn audit(
        &self,
        app: &mut dyn Executor,
        args: &AuditArgs,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        match app.audit(args, self.json, out) {
            Ok(_) => Ok(()),
            Err(e) => self.error(out, &e),
        }
    }

    /// Runs one parsed line. `Ok(false)` ends the session.
    fn handle(
        &mut self,
        app: &mut dyn Executor,
        line: Line,
        out: &mut dyn Write,
    ) -> Result<bool, Error> {
        match line {
            Line::Empty => {}
            Line::Run(request) => self.run(app, request, out)?,
            Line::Audit(args) => self.audit(app, &args, out)?,
            Line::Help(topic) => self.notice(
                out,
                &Notice::Help {
                    text: render::prompt::help(topic.as_deref()),
                },
            )?,
            Line::Unknown { input, suggestion } => {
                self.notice(out, &Notice::UnknownCommand { input, suggestion })?
            }
            Line::Invalid(e) => self.show(out, &e.outcome())?,
            Line::ShowHelp(text) => write_line(out, &clap_message(&text))?,
            Line::Words { command, error } => {
                self.error(out, &Error::PromptArgs(command, error))?
            }
            Line::Quit => {
                self.notice(out, &Notice::Bye)?;
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Runs the prompt until `quit`, Ctrl-D or the end of the input. Returns the exit status.
pub fn run(
    mut app: Box<dyn Executor>,
    state_dir: &Path,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let interactive = std::io::stdin().is_terminal();
    let signals = Watch::install(interactive)?;
    let mut session = Session {
        current: None,
        locale: None,
        json,
        paint: Paint {
            on: interactive && !json && colour_wanted(app.config().no_color),
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
            &render::prompt::banner(&app.delivery_name(), &app.config().station),
        )?;
        // What an SMS costs is the server's business when it composes the messages.
        if app.config().remote.is_none() {
            write_line(out, &render::prompt::message_costs(app.config()))?;
        }
        warn(app.as_mut(), &session, out)?;
        resume(app.as_mut(), &mut session, out)?;
    }
    loop {
        let (raw, styled) = session.prompt();
        signals.waiting(true);
        let input = source.read(&raw, &styled);
        signals.waiting(false);
        match input? {
            Input::Eof => {
                if interactive && !json {
                    write_line(out, render::prompt::bye())?;
                }
                break;
            }
            Input::Interrupted => continue,
            Input::Refused(problem) => session.show(out, &problem.into_error().outcome())?,
            Input::Line(line) => {
                source.remember(&line);
                let parsed = grammar::parse_line_in(&line, grammar::Reading::of(app.config()));
                let go_on = session.handle(app.as_mut(), parsed, out)?;
                // Ctrl-C while the command ran: it finished; a person gets the prompt back,
                // a script stops here.
                if signals.take_interrupt() && !interactive {
                    return Ok(130);
                }
                if signals.terminated() {
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

/// On start: locked numbers (anyone can lock a victim's number by typing wrong codes) and a
/// pause holding this station, so the operator sees them before a visitor is refused.
fn warn(app: &mut dyn Executor, session: &Session, out: &mut dyn Write) -> Result<(), Error> {
    match app.execute(&Request::Limits { phone: None }) {
        Ok(Outcome::Limits { view }) => {
            for line in render::prompt::start_warnings(&view) {
                write_line(out, &session.paint.outcome(&line, 1))?;
            }
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => session.error(out, &e),
    }
}

/// On start: if this station has a pending verification, say so and make it current.
fn resume(app: &mut dyn Executor, session: &mut Session, out: &mut dyn Write) -> Result<(), Error> {
    match app.execute(&Request::Status { phone: None }) {
        Ok(Outcome::Status { pending }) => {
            if let Some(newest) = pending.first() {
                session.current = Some(newest.phone.clone());
                write_line(out, &render::prompt::resuming(newest, pending.len() - 1))?;
            }
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => session.error(out, &e),
    }
}
