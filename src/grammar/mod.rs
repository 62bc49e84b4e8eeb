//! The one grammar of the operator's commands: a single clap definition ([`Operator`]) that the
//! one-shot command line flattens into its subcommands, the prompt parses each line with
//! (after [`line`]'s bare-number / bare-code rewriting), and the kiosk's free-text answers go
//! through. Words become a typed [`Request`] here, once, so a word means the same everywhere;
//! what is wrong with them is a typed [`InputError`] (worded in `render`).
//!
//! Two forms are accepted everywhere: `send PHONE [CHANNEL] [LOCALE]` or `send PHONE --channel
//! CHANNEL --locale LOCALE`,
//! and `verify CODE [PHONE]` (the phone starts at the first word that starts with `+`) or
//! `verify CODE --phone PHONE`. Phone numbers may be typed with spaces: every word is kept.
//! On the command line `verify` without a code reads it from stdin (see `cli`); at the prompt
//! a missing code is an invalid one.
//!
//! With a default region ([`Reading::region`], `[phone] default_region`) a number without `+`
//! is a national number of that region everywhere a phone is read: `send 415 555 2671`, a bare
//! `(415) 555-2671` at the prompt or the kiosk, `limits`, `unlock`, `status`, `verify CODE
//! PHONE` (the phone then starts after the code's digits).

pub mod line;
pub mod store;

use clap::Subcommand;

use crate::audit::AuditArgs;
use crate::domain::{Channel, Code, PhoneNumber, Region};
use crate::message::Locale;
use crate::request::{InputError, Request};

pub use line::{COMMANDS, Line, check_line, parse_line, parse_line_in, suggest};

/// What reading words depends on besides the words: the default region for numbers without
/// `+`, and the configured code length (so that bare digits of that length stay a code even
/// where they would also be a national number). `Reading::default()` reads only
/// international numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    pub region: Option<Region>,
    /// `[policy] code_length`; 0 when unknown.
    pub code_length: usize,
}

impl Reading {
    /// How this installation reads words: `[phone] default_region`, `[policy] code_length`.
    /// A remote terminal reads codes against its server's length when the server has said it,
    /// else against none (the server checks it).
    pub fn of(config: &crate::config::Config) -> Reading {
        Reading {
            region: config.phone.default_region,
            code_length: match &config.remote {
                Some(remote) => remote.code_length.unwrap_or(0),
                None => config.policy.code_length,
            },
        }
    }
}

/// The operator's commands, shared by `otpd COMMAND …` and the prompt.
#[derive(Debug, Subcommand)]
pub enum Operator {
    /// Send a code to PHONE (e.g. +1 415 555 2671)
    #[command(allow_negative_numbers = true)]
    Send {
        /// The phone number, with country code; spaces are fine
        #[arg(required = true, num_args = 1.., value_name = "PHONE")]
        phone: Vec<String>,
        /// sms, whatsapp or call [default: sms, or [delivery] channel]
        // Parsed in `request`, not by clap: clap would echo the raw value, however long and
        // whatever escape sequences it holds.
        #[arg(long, value_name = "CHANNEL")]
        channel: Option<String>,
        /// The message's language: en, es, fr, de or pt [default: [message] locale]
        #[arg(long, value_name = "LOCALE")]
        locale: Option<String>,
    },
    /// Send a new code for the pending verification (the old code works until its own expiry)
    Resend {
        #[arg(num_args = 0.., value_name = "PHONE")]
        phone: Vec<String>,
        /// The new message's language: en, es, fr, de or pt [default: the language of the
        /// code it replaces]
        #[arg(long, value_name = "LOCALE")]
        locale: Option<String>,
    },
    /// Check a code
    #[command(allow_negative_numbers = true)]
    Verify {
        /// The code; spaces and dashes are fine. Leave it out to have `otpd verify` read it from
        /// stdin (asked without echo on a terminal): then it is not in the process list
        #[arg(num_args = 0.., value_name = "CODE")]
        code: Vec<String>,
        /// Whose code it is (may be left out when this station has one pending verification)
        #[arg(long, num_args = 1.., value_name = "PHONE")]
        phone: Option<Vec<String>>,
    },
    /// Show pending verifications
    Status {
        #[arg(num_args = 0.., value_name = "PHONE")]
        phone: Vec<String>,
    },
    /// Abandon the pending verification (audited)
    Cancel {
        #[arg(num_args = 0.., value_name = "PHONE")]
        phone: Vec<String>,
    },
    /// Show the abuse and cost limits: counters, locked numbers, what would be refused now
    #[command(args_conflicts_with_subcommands = true)]
    Limits {
        /// Also show one number's counters and whether a send to it would be refused
        #[arg(num_args = 0.., value_name = "PHONE")]
        phone: Vec<String>,
        #[command(subcommand)]
        action: Option<LimitsAction>,
    },
    /// Lift a number's lock-out after too many wrong codes (audited)
    Unlock {
        #[arg(required = true, num_args = 1.., value_name = "PHONE")]
        phone: Vec<String>,
    },
    /// Review the audit log (newest first), or verify, head, stats, export
    Audit(Box<AuditArgs>),
}

#[derive(Debug, Subcommand)]
pub enum LimitsAction {
    /// Resume sending after the conversion guard paused it (audited)
    Resume,
}

/// What an operator command asks for: a use case, or the audit review (which is not a use case
/// of the core but a reading of its log).
#[derive(Debug)]
pub enum Asked {
    Run(Request),
    Audit(Box<AuditArgs>),
}

impl Operator {
    /// The typed request; an [`InputError`] when a phone, code or channel is not one.
    pub fn asked(&self, r: Reading) -> Result<Asked, InputError> {
        let run = Asked::Run;
        let optional_phone = |words: &[String]| optional_phone(words, r.region);
        Ok(match self {
            Operator::Send {
                phone,
                channel,
                locale,
            } => run(send(
                phone,
                channel.as_deref(),
                locale.as_deref(),
                r.region,
            )?),
            Operator::Resend { phone, locale } => run(resend(phone, locale.as_deref(), r.region)?),
            Operator::Verify { code, phone } => run(verify(code, phone.as_deref(), r)?),
            Operator::Status { phone } => run(Request::Status {
                phone: optional_phone(phone)?,
            }),
            Operator::Cancel { phone } => run(Request::Cancel {
                phone: optional_phone(phone)?,
            }),
            Operator::Limits {
                action: Some(LimitsAction::Resume),
                ..
            } => run(Request::ResumeSending),
            Operator::Limits {
                phone,
                action: None,
            } => run(Request::Limits {
                phone: optional_phone(phone)?,
            }),
            Operator::Unlock { phone } => run(Request::Unlock {
                phone: self::phone(&phone.join(" "), r.region)?,
            }),
            Operator::Audit(args) => Asked::Audit(args.clone()),
        })
    }
}

/// `send PHONE… [CHANNEL] [LOCALE]` or `send PHONE… --channel CHANNEL --locale LOCALE`.
/// Without the flags, the last words that do not start with a digit are the channel and the
/// locale, in either order (a number's own words all do, but its first, which starts with `+`
/// or `00`).
fn send(
    words: &[String],
    channel: Option<&str>,
    locale: Option<&str>,
    region: Option<Region>,
) -> Result<Request, InputError> {
    let mut channel = channel.map(self::channel).transpose()?;
    let mut locale = locale.map(self::locale).transpose()?;
    let mut end = words.len();
    while end > 1 && !words[end - 1].starts_with(|c: char| c.is_ascii_digit()) {
        let word = words[end - 1].as_str();
        match (self::channel(word), self::locale(word)) {
            (Ok(c), _) if channel.is_none() => channel = Some(c),
            (_, Ok(l)) if locale.is_none() => locale = Some(l),
            // Say what the word was most likely meant as: a language tag is two letters.
            (Err(e), Err(l)) => return Err(if looks_like_locale(word) { l } else { e }),
            (Ok(_), _) | (_, Ok(_)) => break,
        }
        end -= 1;
    }
    let phone = phone(&words[..end].join(" "), region)?;
    Ok(Request::Send {
        phone,
        channel,
        locale,
        app_hash: None,
    })
}

/// `resend [PHONE…] [LOCALE]` or `resend [PHONE…] --locale LOCALE`: without the flag, a last
/// word that does not start with a digit (or `+`) is the locale.
fn resend(
    words: &[String],
    locale: Option<&str>,
    region: Option<Region>,
) -> Result<Request, InputError> {
    let mut locale = locale.map(self::locale).transpose()?;
    let mut end = words.len();
    if locale.is_none()
        && let Some(last) = words.last()
        && !last.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '(')
    {
        locale = Some(self::locale(last)?);
        end -= 1;
    }
    Ok(Request::Resend {
        phone: optional_phone(&words[..end], region)?,
        locale,
    })
}

fn looks_like_locale(word: &str) -> bool {
    let lang = word.split(['-', '_']).next().unwrap_or_default();
    lang.len() == 2 && lang.chars().all(|c| c.is_ascii_alphabetic())
}

/// `verify CODE… [PHONE…]` (the phone starts at the first word starting with `+`; with a
/// default region and no such word, at the word after the code's digits) or `verify CODE…
/// --phone PHONE…`. The code is checked first.
fn verify(words: &[String], flag: Option<&[String]>, r: Reading) -> Result<Request, InputError> {
    let split = match flag {
        Some(_) => words.len(),
        None => words
            .iter()
            .position(|w| w.starts_with('+'))
            .or_else(|| r.region.and(national_split(words, r.code_length)))
            .unwrap_or(words.len()),
    };
    let code = code(&words[..split].join(" "), r.code_length)?;
    let phone = optional_phone(flag.unwrap_or(&words[split..]), r.region)?;
    Ok(Request::Verify { code, phone })
}

/// Where a national number starts after a code: the first word after exactly `code_length`
/// digits, if words follow.
fn national_split(words: &[String], code_length: usize) -> Option<usize> {
    let mut digits = 0;
    for (i, w) in words.iter().enumerate() {
        digits += w.chars().filter(char::is_ascii_digit).count();
        if digits >= code_length {
            return (digits == code_length && code_length > 0 && i + 1 < words.len())
                .then_some(i + 1);
        }
    }
    None
}

fn optional_phone(
    words: &[String],
    region: Option<Region>,
) -> Result<Option<PhoneNumber>, InputError> {
    if words.is_empty() {
        return Ok(None);
    }
    phone(&words.join(" "), region).map(Some)
}

/// A phone number as people type it (`+1 (415) 555-2671`, `0044 7911 123456`); with a
/// default region, also its national form (`(415) 555-2671` for `US`).
pub fn phone(text: &str, region: Option<Region>) -> Result<PhoneNumber, InputError> {
    Ok(PhoneNumber::parse_in(text, region)?)
}

/// A code as people type it (`482913`, `482 913`, `482-913`), of `code_length` digits (0:
/// unknown here, any length otpd accepts): digits that cannot match are an input error, so
/// they spend no attempt.
pub fn code(text: &str, code_length: usize) -> Result<Code, InputError> {
    Ok(Code::parse_len(text, code_length)?)
}

/// A built-in locale's tag (`es`, `pt-BR`).
pub fn locale(tag: &str) -> Result<&'static Locale, InputError> {
    Ok(Locale::get(tag)?)
}

/// A channel's name (`sms`, `whatsapp`, `call` and their aliases).
pub fn channel(word: &str) -> Result<Channel, InputError> {
    Ok(word.parse::<Channel>()?)
}

/// The channel names, for completion.
pub fn channel_names() -> impl Iterator<Item = &'static str> {
    Channel::ALL.iter().map(|c| c.as_str())
}
