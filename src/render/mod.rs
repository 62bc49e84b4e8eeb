//! Turns outcomes and errors into what people and programs read: one friendly sentence, or one
//! JSON object. The only place that decides wording (every error type's `Display` that is not a
//! lower layer's own is here too); every echoed string is sanitised. It names no front-end:
//! the front-ends call it.
//!
//! - [`outcome`]: a use case's outcome as sentences ([`text`]); [`limits`]: `otpd limits`,
//!   its pauses and locked numbers;
//! - [`json`]: outcomes and errors as one JSON object ([`json()`], [`error_json`]);
//! - [`error`]: operational errors, clap's messages, warnings ([`error_text`]);
//! - [`input`]: why a line, a phone, a code or a channel was refused;
//! - [`prompt`] and [`kiosk`]: what only the prompt, or only the kiosk, says;
//! - [`config_summary`]: `otpd config`.

pub mod config_summary;
pub mod error;
pub mod input;
pub mod json;
pub mod kiosk;
pub mod limits;
pub mod outcome;
pub mod prompt;

use chrono::{DateTime, Local, Utc};

pub use config_summary::config_summary;
pub use error::{clap_message, error_text, usage_line};
pub use json::{error_json, json};
pub use outcome::text;

/// "5 min", "4 min 12 s", "45 s", "2 h 5 min".
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 if s % 60 == 0 => format!("{} min", s / 60),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ if s % 3600 / 60 == 0 => format!("{} h", s / 3600),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// A UTC instant as local wall-clock time, e.g. "14:32".
pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M").to_string()
}

/// `s` with its first letter in upper case (errors from the domain start in lower case).
pub fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let cases = [
            (0, "0 s"),
            (45, "45 s"),
            (60, "1 min"),
            (300, "5 min"),
            (252, "4 min 12 s"),
            (3600, "1 h"),
            (7500, "2 h 5 min"),
            (-5, "0 s"),
        ];
        for (s, want) in cases {
            assert_eq!(duration(s), want);
        }
    }

    #[test]
    fn capitals_only_for_letters() {
        assert_eq!(capitalised("\"x\" is not"), "\"x\" is not");
        assert_eq!(capitalised("abc"), "Abc");
    }
}
