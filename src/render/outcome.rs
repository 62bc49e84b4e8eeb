//! The sentences for a use case's [`Outcome`]: what the operator reads after each command (the
//! kiosk's visitor reads them too, except where `kiosk` words them for the public).

use super::limits::{limits_text, resumed_text};
use super::{duration, local_time};
use crate::domain::limits::Limit;
use crate::domain::outcome::PendingView;
use crate::domain::{Outcome, Privilege};
use crate::sanitize::sanitize;

pub(super) fn attempts(n: u32) -> String {
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
            instead_of,
            ..
        } => {
            let mut s = format!(
                "Sent a {}{code_length}-digit code {} to {phone}. It expires at {} (in {}).",
                if *resent { "new " } else { "" },
                channel.by_phrase(),
                local_time(*expires_at),
                duration(*expires_in_seconds),
            );
            if let Some(asked) = instead_of {
                s.push_str(&format!(
                    " It is a fixed-line number, so the code is read out {} instead of sent {}.",
                    channel.by_phrase(),
                    asked.by_phrase()
                ));
            }
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
            retry_after_seconds,
            reason,
            operator_action,
            limit,
            scope,
            ..
        } => super::refusal::rate_limited(
            *limit,
            *scope,
            *retry_after_seconds,
            operator_action.as_deref(),
            reason,
        ),
        Outcome::NumberTypeBlocked {
            phone,
            limit: Limit::FixedLine,
            ..
        } => format!(
            "Not sent to {phone}: it is a fixed-line number, which cannot receive SMS. Send by call instead."
        ),
        Outcome::NumberTypeBlocked {
            phone, number_type, ..
        } => format!(
            "Not sent to {phone}: it is a {} number, and codes are not sent to those here.",
            number_type.describe()
        ),
        Outcome::CountryBlocked { phone, reason, .. } => format!(
            "Not sent to {phone}: {}. Nothing was sent.",
            sanitize(reason)
        ),
        Outcome::NumberLocked {
            phone,
            consecutive_failures,
            retry_after_seconds,
            operator_action,
        } => match operator_action {
            Some(action) => format!(
                "{phone} is locked after {consecutive_failures} wrong codes in a row; the code was not checked. An operator must run `{}`.",
                sanitize(action)
            ),
            None => format!(
                "{phone} is locked after {consecutive_failures} wrong codes in a row; the code was not checked. Try again in {}.",
                duration(*retry_after_seconds)
            ),
        },
        Outcome::Unlocked {
            phone,
            was_locked: true,
        } => format!("Unlocked {phone}: its wrong-code count starts again from zero."),
        Outcome::Unlocked { phone, .. } => {
            format!("{phone} was not locked; its wrong-code count starts again from zero.")
        }
        Outcome::Resumed { lifted, .. } => resumed_text(lifted),
        Outcome::Limits { view } => limits_text(view),
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
            "Too many wrong codes: the verification for {phone} is locked and cannot be resent. Start a new one with send."
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
        Outcome::Forbidden { privilege: p } => format!(
            "This key may not {}; nothing was done. Ask an operator with an admin key.",
            privilege(*p)
        ),
    }
}

/// What a privilege lets a caller do, as the end of "This key may not …".
pub fn privilege(p: Privilege) -> &'static str {
    match p {
        Privilege::RunVerifications => "send or check codes",
        Privilege::ResumeSending => "resume sending (otpd limits resume)",
        Privilege::Unlock => "unlock a number (otpd unlock)",
        Privilege::ReadLimits => "read a number's limits or the locked numbers",
        Privilege::ReadAudit => "read the audit log",
        Privilege::ActOnAnyStation => "approve a verification without its code",
        Privilege::ManageService => "change the service or its rate limits",
    }
}

pub(super) fn status_line(p: &PendingView) -> String {
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
