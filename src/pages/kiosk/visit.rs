//! One visitor at a kiosk page, held by the server (never in the page or a URL): their
//! language, the step they are at, their number once typed (masked whenever shown), and the
//! last sentence said to them. A form's action moves the visit on by calling the core as the
//! kiosk's caller ([`step`]); the terminal kiosk's flow, step for step.

use chrono::{DateTime, TimeDelta, Utc};

use crate::app::App;
use crate::domain::{Caller, Channel, Code, CodeError, Outcome, PhoneNumber};
use crate::grammar::{self, Line};
use crate::message::{KioskTexts, Locale, pick_language};
use crate::request::Request;
use crate::web::form::Fields;

/// Where a visitor is.
#[derive(Clone, Debug)]
pub enum Step {
    Language,
    Phone,
    Channel {
        phone: PhoneNumber,
    },
    Code {
        phone: PhoneNumber,
        sent_at: DateTime<Utc>,
    },
    Done,
}

/// How the last sentence reads (its colour and its live region).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Info,
    Bad,
    Good,
}

/// No `Debug`: it holds the visit's CSRF token.
#[derive(Clone)]
pub struct Visit {
    /// The CSRF token of this visit's forms (new for each visitor).
    pub csrf: String,
    pub locale: &'static Locale,
    pub step: Step,
    pub said: Option<(Tone, String)>,
    pub last_seen: DateTime<Utc>,
}

impl Visit {
    /// A new visitor: the language question when the kiosk offers several.
    pub fn new(app: &App, now: DateTime<Utc>) -> Visit {
        let cfg = &app.config().kiosk;
        let locale = cfg
            .locales
            .first()
            .copied()
            .unwrap_or(app.config().message.locale());
        Visit {
            csrf: crate::web::csrf::token(),
            locale,
            step: if cfg.locales.len() > 1 {
                Step::Language
            } else {
                Step::Phone
            },
            said: None,
            last_seen: now,
        }
    }

    pub fn texts(&self) -> &'static KioskTexts {
        self.locale.kiosk()
    }

    fn say(&mut self, tone: Tone, text: impl Into<String>) {
        self.said = Some((tone, text.into()));
    }
}

/// The seconds until `sent_at` allows a new code (0: now).
pub fn resend_wait(app: &App, sent_at: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let cooldown: TimeDelta = app.config().policy.resend_cooldown;
    (cooldown - (now - sent_at)).num_seconds().max(0)
}

/// Applies one form to the visit (the caller is the kiosk's key). `restart`: a new visitor.
pub fn step(app: &mut App, caller: &Caller, v: &mut Visit, form: &Fields, now: DateTime<Utc>) {
    let field = |name: &str| form.get(name).map(|s| s.trim()).unwrap_or("");
    v.said = None;
    match (field("action"), v.step.clone()) {
        ("restart", _) => *v = Visit::new(app, now),
        ("more", _) => {}
        ("language", Step::Language) => {
            let locales = app.config().kiosk.locales.clone();
            match pick_language(field("lang"), &locales) {
                Some(l) => {
                    v.locale = l;
                    v.step = Step::Phone;
                }
                None => v.say(Tone::Bad, v.texts().not_a_language()),
            }
        }
        ("phone", Step::Phone) => {
            let region = app.config().phone.default_region;
            let reading = grammar::Reading {
                region,
                code_length: 0,
            };
            match grammar::parse_line_in(field("phone"), reading) {
                Line::Run(Request::Send { phone, channel, .. }) => {
                    let channels = app.config().kiosk.channels.clone();
                    match channel
                        .filter(|c| channels.contains(c))
                        .or(match channels.as_slice() {
                            [only] => Some(*only),
                            _ => None,
                        }) {
                        Some(c) => send(app, caller, v, phone, c, now),
                        None => v.step = Step::Channel { phone },
                    }
                }
                _ => v.say(Tone::Bad, v.texts().not_a_phone(region.is_some())),
            }
        }
        ("channel", Step::Channel { phone }) => {
            let channels = app.config().kiosk.channels.clone();
            match field("channel")
                .parse::<Channel>()
                .ok()
                .filter(|c| channels.contains(c))
            {
                Some(c) => send(app, caller, v, phone, c, now),
                None => v.say(Tone::Bad, v.texts().ask_channel(&channels)),
            }
        }
        ("resend", Step::Code { phone, .. }) => {
            let request = Request::Resend {
                phone: Some(phone.clone()),
                locale: Some(v.locale),
            };
            match run(app, caller, v, &request) {
                Some(Outcome::Sent { .. }) => {
                    v.step = Step::Code {
                        phone,
                        sent_at: now,
                    }
                }
                Some(Outcome::RateLimited { .. }) | None => {}
                Some(_) => v.step = Step::Phone,
            }
        }
        ("code", Step::Code { phone, .. }) => {
            let length = grammar::Reading::of(app.config()).code_length;
            let code = match Code::parse_len(field("code"), length) {
                Ok(c) => c,
                Err(CodeError::WrongLength { expected, .. }) => {
                    return v.say(Tone::Bad, v.texts().wrong_length(expected));
                }
                Err(_) => return v.say(Tone::Bad, v.texts().not_a_code()),
            };
            let request = Request::Verify {
                code,
                phone: Some(phone),
            };
            match run(app, caller, v, &request) {
                Some(Outcome::Approved { .. }) => {
                    let seconds = app.config().kiosk.result_seconds;
                    let done = format!(
                        "{} {}",
                        v.said.as_ref().map(|s| s.1.as_str()).unwrap_or_default(),
                        v.texts().done(seconds)
                    );
                    v.say(Tone::Good, done);
                    v.step = Step::Done;
                }
                Some(Outcome::Invalid { attempts_left, .. }) if attempts_left > 0 => {}
                Some(Outcome::InvalidInput { .. }) | None => {}
                Some(_) => v.step = Step::Phone,
            }
        }
        // A form from another step (a second tab, a reload of an old form): show this step.
        _ => {}
    }
}

fn send(
    app: &mut App,
    caller: &Caller,
    v: &mut Visit,
    phone: PhoneNumber,
    channel: Channel,
    now: DateTime<Utc>,
) {
    let request = Request::Send {
        phone: phone.clone(),
        channel: Some(channel),
        locale: Some(v.locale),
        app_hash: None,
    };
    match run(app, caller, v, &request) {
        Some(Outcome::Sent { .. } | Outcome::DeliveryUnknown { .. }) => {
            v.step = Step::Code {
                phone,
                sent_at: now,
            }
        }
        _ => v.step = Step::Phone,
    }
}

/// Runs `request` as the kiosk and says its outcome in the visitor's words; `None` when it
/// failed (the operator's reason goes to the server's log through the returned warning).
fn run(app: &mut App, caller: &Caller, v: &mut Visit, request: &Request) -> Option<Outcome> {
    match app.execute_as(caller, request) {
        Ok(o) => {
            let text = v
                .texts()
                .outcome(&o)
                .unwrap_or_else(|| crate::render::kiosk::outcome(&o));
            let tone = match o {
                Outcome::Sent { .. } => Tone::Info,
                Outcome::Approved { .. } => Tone::Good,
                _ => Tone::Bad,
            };
            v.say(tone, text);
            Some(o)
        }
        Err(e) => {
            app.warn(format!("kiosk page: {}", crate::render::error_text(&e)));
            v.say(Tone::Bad, v.texts().unavailable());
            None
        }
    }
}
