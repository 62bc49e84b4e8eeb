//! Turns outcomes and errors into what people and programs read: one friendly sentence, or one
//! JSON object. The only place that decides wording; every echoed string is sanitised.

use chrono::{DateTime, Local, Utc};

use crate::domain::Outcome;
use crate::domain::outcome::PendingView;
use crate::error::Error;
use crate::sanitize::sanitize;

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

fn attempts(n: u32) -> String {
    match n {
        0 => "No attempts left".into(),
        1 => "1 attempt left".into(),
        n => format!("{n} attempts left"),
    }
}

/// The sentence(s) for an outcome, without a trailing newline.
pub fn text(o: &Outcome) -> String {
    match o {
        Outcome::Sent {
            phone,
            channel,
            code_length,
            expires_at,
            expires_in_seconds,
            attempts_left,
            resent,
            ..
        } => {
            let mut s = format!(
                "Sent a {}{code_length}-digit code {} to {phone}. It expires at {} (in {}).",
                if *resent { "new " } else { "" },
                channel.by_phrase(),
                local_time(*expires_at),
                duration(*expires_in_seconds),
            );
            if *resent {
                s.push_str(&format!(
                    " The previous code no longer works. {}.",
                    attempts(*attempts_left)
                ));
            }
            s
        }
        Outcome::DeliveryUnknown { phone, reason, .. } => format!(
            "Could not confirm delivery to {phone}: {}. The code may still arrive; if it does not, type resend.",
            sanitize(reason)
        ),
        Outcome::DeliveryFailed { phone, reason, .. } => format!(
            "Could not deliver the code to {phone}: {}. That code cannot be used; send again when the problem is fixed.",
            sanitize(reason)
        ),
        Outcome::RateLimited {
            phone,
            retry_after_seconds,
            reason,
        } => {
            let to = phone
                .as_ref()
                .map(|p| format!(" to {p}"))
                .unwrap_or_default();
            format!(
                "Not sent{to}: {}. Try again in {}.",
                sanitize(reason),
                duration(*retry_after_seconds)
            )
        }
        Outcome::InvalidPhone { error } => format!(
            "That is not a phone number otpd can use: {}.",
            sanitize(error)
        ),
        Outcome::InvalidInput { error } => sanitize(error),
        Outcome::Approved { phone } => format!("Verified {phone}. ✔"),
        Outcome::Invalid {
            attempts_left: 0, ..
        } => "That code is not right. No attempts left: send a new code.".into(),
        Outcome::Invalid { attempts_left, .. } => {
            format!("That code is not right. {}.", attempts(*attempts_left))
        }
        Outcome::Expired { phone } => {
            format!("That code has expired. Send a new code to {phone}.")
        }
        Outcome::Locked { phone } => format!(
            "Too many wrong codes: the verification for {phone} is locked. Send a new code."
        ),
        Outcome::AlreadyUsed { phone } => {
            format!("That code was already used: {phone} is verified.")
        }
        Outcome::NoPending { phone: Some(phone) } => {
            format!("There is no pending verification for {phone}. Send a code first.")
        }
        Outcome::NoPending { phone: None } => {
            "There is no pending verification on this station. Send a code first.".into()
        }
        Outcome::PhoneRequired { pending } => format!(
            "{pending} verifications are pending on this station: say which phone number you mean."
        ),
        Outcome::Status { pending } if pending.is_empty() => "No verification is pending.".into(),
        Outcome::Status { pending } => pending
            .iter()
            .map(status_line)
            .collect::<Vec<_>>()
            .join("\n"),
        Outcome::Cancelled { phone } => format!("Cancelled the pending code for {phone}."),
    }
}

fn status_line(p: &PendingView) -> String {
    let mut s = format!(
        "{} — code sent {} at {}, expires in {}, {}, delivery: {}",
        p.phone,
        p.channel.by_phrase(),
        local_time(p.sent_at),
        duration(p.expires_in_seconds),
        attempts(p.attempts_left).to_lowercase(),
        sanitize(&p.delivery_status),
    );
    if let Some(e) = &p.delivery_error {
        s.push_str(&format!(" ({})", sanitize(e)));
    }
    s
}

/// The outcome as one JSON object (no newline).
pub fn json(o: &Outcome) -> String {
    serde_json::to_string(o).unwrap_or_else(|_| format!("{{\"outcome\":\"{}\"}}", o.name()))
}

/// An error as one line for people.
pub fn error_text(e: &Error) -> String {
    format!("otpd: {}", sanitize(&e.to_string()))
}

/// An error as one JSON object.
pub fn error_json(e: &Error) -> String {
    serde_json::json!({
        "outcome": "error",
        "error": e.kind(),
        "message": sanitize(&e.to_string()),
        "exit_code": e.exit_code(),
    })
    .to_string()
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
}
