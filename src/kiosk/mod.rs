//! `otpd kiosk`: an unattended terminal for the public. A guided flow (number, then code), no
//! commands, no history, no code ever on the screen, and no way out: Ctrl-C, Ctrl-D and Ctrl-Z
//! neither exit nor suspend it (a half-typed line they drop is wiped from the screen too) —
//! only SIGTERM or SIGHUP from its supervisor end it, leaving a clear screen. Every line a
//! visitor reads is in visitor words: an error's operator sentence goes to stderr (the log).
//!
//! It reads lines with a deadline ([`crate::terminal::timed`]): an idle visitor is timed out
//! even half-way through typing, and there is nothing to complete or remember anyway. What a
//! visitor types is read with the operator's grammar ([`crate::grammar`]), restricted to what
//! each step allows. What the kiosk says comes from the visitor's locale
//! ([`crate::message::KioskTexts`]); with `[kiosk] locales` listing several, the visitor picks
//! one first, for this visit only. [`screen`] draws it full-screen on a terminal.

mod screen;

use std::io::Write;
use std::time::{Duration, Instant};

use crate::app::Executor;
use crate::config::KioskConfig;
use crate::domain::{Channel, Code, CodeError, Outcome, PhoneNumber};
use crate::error::Error;
use crate::grammar::{self, Line, check_line};
use crate::message::{KioskTexts, Locale, language_menu, pick_language};
use crate::render::{self, kiosk as wording};
use crate::request::{InputError, Request};
use crate::terminal::input::Input;
use crate::terminal::signals::KioskSignals;
use crate::terminal::timed::{Got, TerminalMode, TimedLines};
use screen::Screen;

/// Runs the kiosk until the input is closed (the terminal hung up).
pub fn run(mut app: Box<dyn Executor>, out: &mut dyn Write) -> Result<u8, Error> {
    if app.shows_codes_locally() {
        return Err(Error::KioskShowsCodes);
    }
    let signals = KioskSignals::install()?;
    let _terminal = TerminalMode::canonical();
    let cfg = app.config().kiosk.clone();
    let mut input = TimedLines::default();
    let locale = cfg
        .locales
        .first()
        .copied()
        .unwrap_or(app.config().message.locale());
    let mut k = Kiosk {
        app: app.as_mut(),
        input: &mut input,
        signals: &signals,
        screen: Screen::new(out),
        cfg,
        locale,
    };
    loop {
        k.screen.clear()?;
        match k.visitor()? {
            End::Reset => k.input.discard(),
            End::Hangup => {
                // Nothing of the last visit stays on the screen.
                k.screen.clear()?;
                return Ok(0);
            }
        }
    }
}

/// What a visitor's answer at the code step means.
enum CodeAnswer {
    Nothing,
    Resend,
    Code(Code),
    NotACode,
    /// Digits that cannot be the code: codes here have this many.
    WrongLength(usize),
}

/// The code step's answer through the grammar: the digits (or `verify DIGITS`) for this
/// visitor's number, or `resend` (or its word in the visitor's language); naming another
/// number, or any other command, is not allowed.
fn code_answer(text: &str, texts: &KioskTexts, code_length: usize) -> CodeAnswer {
    if texts.is_resend(text) {
        return CodeAnswer::Resend;
    }
    let reading = grammar::Reading {
        region: None,
        code_length,
    };
    match grammar::parse_line_in(text, reading) {
        Line::Empty => CodeAnswer::Nothing,
        Line::Invalid(InputError::Code(
            CodeError::WrongLength { expected, .. } | CodeError::Neither { expected, .. },
        )) => CodeAnswer::WrongLength(expected),
        Line::Run(Request::Resend { phone: None, .. }) => CodeAnswer::Resend,
        Line::Run(Request::Verify { code, phone: None }) => CodeAnswer::Code(code),
        _ => CodeAnswer::NotACode,
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
    /// A line that cannot be read (control characters, not text, too long).
    Bad,
    End(End),
}

struct Kiosk<'a> {
    app: &'a mut dyn Executor,
    input: &'a mut TimedLines,
    signals: &'a KioskSignals,
    screen: Screen<'a>,
    cfg: KioskConfig,
    /// This visitor's language.
    locale: &'static Locale,
}

impl Kiosk<'_> {
    fn texts(&self) -> &'static KioskTexts {
        self.locale.kiosk()
    }

    fn line(&mut self, text: &str) -> Result<(), Error> {
        self.screen.line(text)
    }

    fn ask(&mut self, question: &str) -> Result<Answer, Error> {
        self.screen.ask(question)?;
        let idle = Duration::from_secs(self.cfg.idle_seconds);
        let mut got = self.input.next(idle, self.signals)?;
        while let Got::Dropped = got {
            self.screen.redraw()?;
            got = self.input.next(idle, self.signals)?;
        }
        Ok(answer(got))
    }

    /// [`Kiosk::ask`] at the code step: while the visitor has not answered, looks at the
    /// delivery every [`WATCH`]; once the provider reports the code undelivered (a Twilio
    /// status callback stores that at once), offers a voice call, once, if this kiosk offers
    /// calls and the code did not go by one.
    fn ask_watching(
        &mut self,
        question: &str,
        phone: &PhoneNumber,
        watch: &mut Watch,
    ) -> Result<Answer, Error> {
        self.screen.ask(question)?;
        let until = Instant::now() + Duration::from_secs(self.cfg.idle_seconds);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let watching = !watch.offered
                && watch.channel != Channel::Call
                && self.cfg.channels.contains(&Channel::Call);
            let slice = if watching { left.min(WATCH) } else { left };
            match self.input.next(slice, self.signals)? {
                Got::Dropped => self.screen.redraw()?,
                Got::Idle if watching && Instant::now() < until => {
                    if self.undelivered(phone) {
                        watch.offered = true;
                        self.line(&self.texts().undelivered(watch.channel))?;
                        self.screen.ask(question)?;
                    }
                }
                got => return Ok(answer(got)),
            }
        }
    }

    /// Whether the provider said the code for `phone` was not delivered.
    fn undelivered(&mut self, phone: &PhoneNumber) -> bool {
        let status = self.app.execute(&Request::Status {
            phone: Some(phone.clone()),
        });
        match status {
            Ok(Outcome::Status { pending }) => pending
                .first()
                .is_some_and(|v| crate::domain::events::is_failed_delivery(&v.delivery_status)),
            _ => false,
        }
    }
}

/// How often the code step looks at the delivery while the visitor has not answered.
const WATCH: Duration = Duration::from_secs(5);

/// The code step's view of its delivery: the channel the code went by, and whether a call was
/// offered already.
struct Watch {
    channel: Channel,
    offered: bool,
}

/// A wait's result as the visitor's answer.
fn answer(got: Got) -> Answer {
    match got {
        Got::Dropped | Got::Idle => Answer::End(End::Reset),
        Got::Hangup => Answer::End(End::Hangup),
        Got::Line(Input::Line(l)) => match check_line(&l) {
            Ok(()) => Answer::Text(l.trim().to_string()),
            Err(_) => Answer::Bad,
        },
        Got::Line(Input::Refused(_)) => Answer::Bad,
        Got::Line(Input::Interrupted | Input::Eof) => Answer::End(End::Hangup),
    }
}

impl Kiosk<'_> {
    /// What the visitor reads for an outcome: their language's sentence, or the operator's
    /// (reworded where it would show internals) for one a visitor should not meet.
    fn outcome_text(&self, o: &Outcome) -> String {
        self.texts()
            .outcome(o)
            .unwrap_or_else(|| wording::outcome(o))
    }

    fn execute(&mut self, request: &Request) -> Result<Option<Outcome>, Error> {
        match self.app.execute(request) {
            Ok(o) => {
                self.line(&self.outcome_text(&o))?;
                Ok(Some(o))
            }
            Err(e) => {
                // The operator's sentence (OTPD_SERVER, a database error…) is for the log.
                eprintln!("otpd kiosk: {}", render::error_text(&e));
                self.line(self.texts().unavailable())?;
                Ok(None)
            }
        }
    }

    /// The visitor's language, when this kiosk offers several: a digit or the language's name.
    fn ask_language(&mut self) -> Result<Option<End>, Error> {
        let locales = self.cfg.locales.clone();
        self.locale = locales.first().copied().unwrap_or(self.locale);
        if locales.len() < 2 {
            return Ok(None);
        }
        loop {
            match self.ask(&language_menu(&locales))? {
                Answer::End(end) => return Ok(Some(end)),
                Answer::Text(t) if t.is_empty() => {}
                Answer::Text(t) => {
                    if let Some(l) = pick_language(&t, &locales) {
                        self.locale = l;
                        return Ok(None);
                    }
                    self.line(self.texts().not_a_language())?;
                }
                Answer::Bad => self.line(self.texts().not_a_language())?,
            }
        }
    }

    /// One visitor, from their language and the welcome to a verified number, an idle timeout
    /// or a hang-up.
    fn visitor(&mut self) -> Result<End, Error> {
        if let Some(end) = self.ask_language()? {
            return Ok(end);
        }
        self.line(self.texts().welcome())?;
        loop {
            let (phone, typed) = match self.ask_phone()? {
                Ok(p) => p,
                Err(end) => return Ok(end),
            };
            let channel = match self.ask_channel(typed)? {
                Ok(c) => c,
                Err(end) => return Ok(end),
            };
            let sent = self.execute(&Request::Send {
                phone: phone.clone(),
                channel: Some(channel),
                locale: Some(self.locale),
                app_hash: None,
            })?;
            if matches!(
                sent,
                Some(Outcome::Sent { .. } | Outcome::DeliveryUnknown { .. })
            ) && let Some(end) = self.ask_code(&phone, channel)?
            {
                return Ok(end);
            }
            self.line(self.texts().start_over())?;
        }
    }

    /// The number (a bare number, as at the prompt; `send NUMBER` works too), and the channel
    /// if the visitor typed one after it.
    fn ask_phone(&mut self) -> Result<Result<(PhoneNumber, Option<Channel>), End>, Error> {
        loop {
            let region = self.app.config().phone.default_region;
            let example = region.and_then(|r| r.mobile_example());
            match self.ask(&self.texts().ask_phone(example.as_deref()))? {
                Answer::End(end) => return Ok(Err(end)),
                // A line it cannot read (control keys, not text): what is accepted.
                Answer::Bad => self.line(self.texts().not_a_phone(region.is_some()))?,
                Answer::Text(t) if t.is_empty() => {}
                Answer::Text(t) => {
                    let reading = grammar::Reading {
                        region,
                        code_length: 0,
                    };
                    if let Line::Run(Request::Send { phone, channel, .. }) =
                        grammar::parse_line_in(&t, reading)
                    {
                        return Ok(Ok((phone, channel)));
                    }
                    // Anything else (a command, a code, a mistyped number): what is accepted,
                    // in visitor words (the parser's reasons are the operator's).
                    self.line(self.texts().not_a_phone(region.is_some()))?;
                }
            }
        }
    }

    /// The channel: the one typed after the number if this kiosk offers it, the only one it
    /// offers, or the visitor's choice.
    fn ask_channel(&mut self, typed: Option<Channel>) -> Result<Result<Channel, End>, Error> {
        let channels = self.cfg.channels.clone();
        if let Some(c) = typed.filter(|c| channels.contains(c)) {
            return Ok(Ok(c));
        }
        if let [only] = channels.as_slice() {
            return Ok(Ok(*only));
        }
        loop {
            match self.ask(&self.texts().ask_channel(&channels))? {
                Answer::End(end) => return Ok(Err(end)),
                Answer::Text(t) => {
                    if let Some(c) = self.texts().parse_channel(&t, &channels) {
                        return Ok(Ok(c));
                    }
                }
                Answer::Bad => {}
            }
        }
    }

    /// The code step. `None`: the verification cannot go on (expired, locked…), start again.
    fn ask_code(&mut self, phone: &PhoneNumber, channel: Channel) -> Result<Option<End>, Error> {
        let cooldown = self.app.config().policy.resend_cooldown;
        let mut sent_at = self.app.now();
        let mut watch = Watch {
            channel,
            offered: false,
        };
        loop {
            let resend_allowed = self.app.now() - sent_at >= cooldown;
            let question = self.texts().ask_code(resend_allowed);
            let answer = self.ask_watching(&question, phone, &mut watch)?;
            let text = match answer {
                Answer::End(end) => return Ok(Some(end)),
                Answer::Bad => {
                    self.line(self.texts().not_a_code())?;
                    continue;
                }
                Answer::Text(t) => t,
            };
            // After the offer: the call word asks for the code by a voice call.
            if watch.offered
                && self
                    .texts()
                    .parse_channel(&text, &[Channel::Call])
                    .is_some()
            {
                let o = self.execute(&Request::Send {
                    phone: phone.clone(),
                    channel: Some(Channel::Call),
                    locale: Some(self.locale),
                    app_hash: None,
                })?;
                match o {
                    Some(Outcome::Sent { .. }) => {
                        sent_at = self.app.now();
                        watch.channel = Channel::Call;
                    }
                    Some(Outcome::RateLimited { .. }) | None => {}
                    Some(_) => return Ok(None),
                }
                continue;
            }
            let code_length = grammar::Reading::of(self.app.config()).code_length;
            let code = match code_answer(&text, self.texts(), code_length) {
                CodeAnswer::Nothing => continue,
                CodeAnswer::WrongLength(digits) => {
                    self.line(&self.texts().wrong_length(digits))?;
                    continue;
                }
                CodeAnswer::NotACode => {
                    self.line(self.texts().not_a_code())?;
                    continue;
                }
                CodeAnswer::Resend => {
                    let o = self.execute(&Request::Resend {
                        phone: Some(phone.clone()),
                        locale: Some(self.locale),
                    })?;
                    match o {
                        Some(Outcome::Sent { .. }) => sent_at = self.app.now(),
                        Some(Outcome::RateLimited { .. }) | None => {}
                        Some(_) => return Ok(None),
                    }
                    continue;
                }
                CodeAnswer::Code(code) => code,
            };
            let o = self.execute(&Request::Verify {
                code,
                phone: Some(phone.clone()),
            })?;
            match o {
                Some(Outcome::Approved { .. }) => return self.show_result().map(Some),
                Some(Outcome::Invalid { attempts_left, .. }) if attempts_left > 0 => {}
                // A server that refused the code's length (it spent nothing): ask again.
                Some(Outcome::InvalidInput { .. }) | None => {}
                Some(_) => return Ok(None),
            }
        }
    }

    /// Shows the success for `result_seconds` (ignoring input), then resets.
    fn show_result(&mut self) -> Result<End, Error> {
        let seconds = self.cfg.result_seconds;
        self.line(&self.texts().done(seconds))?;
        self.screen.show()?;
        let until = Instant::now() + Duration::from_secs(seconds);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.input.next(left, self.signals)? {
                Got::Idle => return Ok(End::Reset),
                Got::Hangup => return Ok(End::Hangup),
                Got::Line(_) | Got::Dropped => {}
            }
        }
    }
}
