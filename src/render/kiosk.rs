//! What a kiosk visitor reads: the guided questions, and the outcomes reworded where the
//! operator's sentence would show the public internals or give nothing to act on.

use super::{duration, text};
use crate::domain::{Channel, Outcome};

pub fn welcome() -> &'static str {
    "Welcome. Let's verify your mobile number."
}

pub fn ask_phone() -> &'static str {
    "Enter your mobile number, starting with + and the country code (e.g. +44 7400 123456):"
}

pub fn ask_channel(channels: &[Channel]) -> String {
    let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    format!("How should we send the code? Type {}:", names.join(" or "))
}

pub fn ask_code(resend_allowed: bool) -> String {
    if resend_allowed {
        "Enter the code we sent (didn't get it? type resend):".into()
    } else {
        "Enter the code we sent:".into()
    }
}

pub fn not_a_phone() -> &'static str {
    "Please enter a mobile number, starting with + and the country code."
}

pub fn not_a_code() -> &'static str {
    "Please enter the digits of the code we sent."
}

pub fn done(seconds: u64) -> String {
    format!(
        "Thank you. This screen resets in {}.",
        duration(seconds as i64)
    )
}

/// What a kiosk visitor reads for an outcome: the operator's sentence, except where that would
/// show the public internals (limit names, provider errors) or give nothing to act on.
pub fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::RateLimited {
            operator_action: Some(_),
            ..
        }
        | Outcome::NumberLocked {
            operator_action: Some(_),
            ..
        } => "Sorry, codes cannot be sent to this number right now. Please ask a member of staff."
            .into(),
        Outcome::RateLimited {
            retry_after_seconds,
            ..
        }
        | Outcome::NumberLocked {
            retry_after_seconds,
            ..
        } => format!(
            "Please wait {} before asking for another code.",
            duration(*retry_after_seconds)
        ),
        Outcome::CountryBlocked { .. } => {
            "Sorry, we cannot send codes to numbers from that country here.".into()
        }
        Outcome::DeliveryFailed { .. } | Outcome::DeliveryUnknown { .. } => {
            "Sorry, we could not confirm that the code was sent. Please try again, or ask a member of staff."
                .into()
        }
        other => text(other),
    }
}

pub fn start_over() -> &'static str {
    "Let's start again."
}
