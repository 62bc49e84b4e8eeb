//! What the core is asked to do, as typed values ([`Request`]), and why text could not become
//! one ([`InputError`], [`LineProblem`]). Every front-end produces these; the sentences for
//! the errors are in `render::input`, so this module names no front-end and no wording.

pub mod wire;

use crate::domain::channel::ChannelError;
use crate::domain::{Channel, Code, CodeError, Outcome, PhoneError, PhoneNumber};
use crate::message::{AppHash, Locale, LocaleError};

/// The longest line the prompt and the kiosk accept, in bytes.
pub const MAX_LINE: usize = 256;

/// One command, already parsed into typed values.
#[derive(Debug, Clone)]
pub enum Request {
    Send {
        phone: PhoneNumber,
        channel: Option<Channel>,
        /// The message's language (`--locale es`, the prompt's `send PHONE es`, a kiosk
        /// visitor's choice, the server's `Locale`); `None`: `[message] locale`.
        locale: Option<&'static Locale>,
        /// The message's SMS Retriever hash (the server's `AppHash`); `None`: `[message]
        /// app_hash`.
        app_hash: Option<AppHash>,
    },
    Resend {
        phone: Option<PhoneNumber>,
        /// The new message's language; `None`: `[message] locale`.
        locale: Option<&'static Locale>,
    },
    Verify {
        code: Code,
        phone: Option<PhoneNumber>,
    },
    Status {
        phone: Option<PhoneNumber>,
    },
    Cancel {
        phone: Option<PhoneNumber>,
    },
    /// Show the limits' counters (for one number, if named) and what would be refused now.
    Limits {
        phone: Option<PhoneNumber>,
    },
    /// Lift the conversion guard's pause.
    ResumeSending,
    /// Lift a number's lock-out.
    Unlock {
        phone: PhoneNumber,
    },
}

/// Why a line was refused before it was even split into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineProblem {
    TooLong(usize),
    NotUtf8,
    Control,
    ForeignDigits,
}

/// Why words could not become a [`Request`]; shown as an `invalid_phone` / `invalid_input`
/// outcome (exit status 2). Its `Display` (the sentence) is in `render::input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    Phone(PhoneError),
    Code(CodeError),
    Channel(ChannelError),
    Locale(LocaleError),
    Line(LineProblem),
}

impl InputError {
    pub fn outcome(self) -> Outcome {
        match self {
            InputError::Phone(_) => Outcome::InvalidPhone {
                error: self.to_string(),
            },
            _ => Outcome::InvalidInput {
                error: self.to_string(),
            },
        }
    }
}

impl LineProblem {
    pub fn into_error(self) -> InputError {
        InputError::Line(self)
    }
}

impl From<PhoneError> for InputError {
    fn from(e: PhoneError) -> Self {
        InputError::Phone(e)
    }
}

impl From<CodeError> for InputError {
    fn from(e: CodeError) -> Self {
        InputError::Code(e)
    }
}

impl From<ChannelError> for InputError {
    fn from(e: ChannelError) -> Self {
        InputError::Channel(e)
    }
}

impl From<LocaleError> for InputError {
    fn from(e: LocaleError) -> Self {
        InputError::Locale(e)
    }
}

impl From<LineProblem> for InputError {
    fn from(p: LineProblem) -> Self {
        InputError::Line(p)
    }
}
