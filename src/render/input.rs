//! Why a line, a phone number, a code or a channel was refused: the sentences of
//! [`InputError`] and [`LineProblem`] (the types live with the requests they failed to become).

use std::fmt;

use super::capitalised;
use crate::domain::CodeError;
use crate::request::{InputError, LineProblem, MAX_LINE};

/// What `otpd verify` without a code asks on a terminal (the code is typed without echo).
pub const CODE_PROMPT: &str = "Code: ";

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Bare: the outcome's sentence wraps it ("That is not a phone number otpd can use: …").
            InputError::Phone(e) => write!(f, "{e}"),
            InputError::Code(e @ CodeError::Neither { .. }) => {
                write!(f, "{}.", capitalised(&e.to_string()))
            }
            InputError::Code(e) => write!(f, "That is not a code: {e}."),
            InputError::Channel(e) => write!(f, "{}.", capitalised(&e.to_string())),
            InputError::Locale(e) => write!(f, "{}.", capitalised(&e.to_string())),
            InputError::Line(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineProblem::TooLong(n) => {
                write!(f, "That line is too long ({n} bytes); the limit is {MAX_LINE}.")
            }
            LineProblem::NotUtf8 => f.write_str("That line is not valid UTF-8 text; type it again."),
            LineProblem::Control => f.write_str(
                "That line has control characters (from an arrow key, a paste or a terminal escape); type it again.",
            ),
            LineProblem::ForeignDigits => {
                f.write_str("Type digits as 0-9: digits from other scripts are not accepted.")
            }
        }
    }
}
