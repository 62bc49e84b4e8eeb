//! Turns outcomes and errors into what people and programs read: one friendly sentence, or one
//! JSON object. The only place that decides wording (every error type's `Display` that is not a
//! lower layer's own is here too); every echoed string is sanitised. It names no front-end:
//! the front-ends call it.
//!
//! - [`outcome`]: a use case's outcome as sentences ([`text`]); [`limits`]: `otpd limits`,
//!   its pauses and locked numbers; [`refusal`]: a refused send in the operator's words;
//! - [`json`]: outcomes and errors as one JSON object ([`json()`], [`error_json`]);
//! - [`error`]: operational errors, clap's messages, warnings ([`error_text`]);
//! - [`input`]: why a line, a phone, a code or a channel was refused;
//! - [`prompt`] and [`kiosk`]: what only the prompt, or only the kiosk, says;
//! - [`config_summary`]: `otpd config`; [`store`]: `otpd store copy`; [`setup`]: `otpd init`;
//!   [`events`]: `otpd events status`.

pub mod audit_pages;
pub mod causes;
pub mod config_summary;
pub mod error;
pub mod events;
pub mod failures;
pub mod input;
pub mod json;
pub mod kiosk;
pub mod limits;
pub mod outcome;
pub mod prompt;
pub mod refusal;
pub mod serve;
pub mod setup;
pub mod store;

pub use config_summary::config_summary;
pub use error::{clap_message, error_text, usage_line};
pub use json::{error_json, json};
pub use outcome::text;
// Durations and clock times are worded with the visitor's texts, below this module.
pub use crate::message::when::{duration, local_time};

/// What an operator must do, after "an operator must": `run `otpd …`` for a command, the edit
/// itself for a configuration change (`add the country to limits.allowed_countries in the
/// config file`), which is no command to run.
pub fn operator_step(action: &str) -> String {
    let action = crate::sanitize::sanitize(action);
    if action.starts_with("otpd ") {
        format!("run `{action}`")
    } else {
        format!("{action} in the config file")
    }
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
