//! Turns outcomes and errors into what people and programs read: one friendly sentence, or one
//! JSON object. The only place that decides wording; every echoed string is sanitised.

use chrono::{DateTime, Local, Utc};

use crate::domain::Outcome;
use crate::domain::outcome::{Counter, LimitsView, PendingView};
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
            operator_action,
            limit,
        } => {
            let to = phone
                .as_ref()
                .map(|p| format!(" to {p}"))
                .unwrap_or_default();
            let reason = match limit {
                Some(l) => format!("{} ({})", sanitize(reason), l.key()),
                None => sanitize(reason),
            };
            match operator_action {
                Some(action) => format!(
                    "Not sent{to}: {reason}. Waiting will not help: an operator must run `{}`.",
                    sanitize(action)
                ),
                None => format!(
                    "Not sent{to}: {reason}. Try again in {}.",
                    duration(*retry_after_seconds)
                ),
            }
        }
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
        Outcome::Resumed {
            was_paused: true,
            reason,
        } => format!(
            "Sending resumed (it was paused: {}).",
            sanitize(reason.as_deref().unwrap_or("no reason recorded"))
        ),
        Outcome::Resumed { .. } => "Sending was not paused; nothing changed.".into(),
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

fn counter(c: &Counter) -> String {
    if c.cap == 0 {
        format!("{} (no cap)", c.count)
    } else {
        format!("{} of {}", c.count, c.cap)
    }
}

fn limits_text(v: &LimitsView) -> String {
    let mut lines = Vec::new();
    match (&v.paused_at, &v.paused_reason) {
        (Some(at), reason) => lines.push(format!(
            "Sending is PAUSED since {}: {}. Run `otpd limits resume` to resume.",
            local_time(*at),
            sanitize(reason.as_deref().unwrap_or(""))
        )),
        _ => lines.push("Sending is not paused.".into()),
    }
    lines.push(format!(
        "Sends in the last hour: {} overall, {} from this station.",
        counter(&v.global_last_hour),
        counter(&v.station_last_hour)
    ));
    let c = &v.conversion;
    lines.push(format!(
        "Conversion: {} of {} verifications completed ({} sends; the guard needs {} sends and pauses below {:.0}%).",
        c.converted,
        c.verifications,
        c.sends,
        v.min_sends_for_conversion,
        v.min_conversion * 100.0
    ));
    if let Some(n) = &v.number {
        lines.push(format!(
            "{}{}: {} sends in the last hour, {} in 24 hours, {} to its prefix in the last hour; send streak {} (cooldown {}); {} wrong codes in a row.",
            n.phone,
            n.country
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default(),
            counter(&n.last_hour),
            counter(&n.last_day),
            counter(&n.prefix_last_hour),
            n.streak,
            duration(n.cooldown_seconds),
            n.consecutive_failures
        ));
    }
    if v.locked_numbers.is_empty() {
        lines.push("No number is locked.".into());
    }
    for l in &v.locked_numbers {
        lines.push(match l.locked_until {
            _ if l.needs_unlock => format!(
                "Locked: {} after {} wrong codes, until `otpd unlock`.",
                sanitize(&l.phone),
                l.failures
            ),
            Some(until) => format!(
                "Locked: {} after {} wrong codes, until {}.",
                sanitize(&l.phone),
                l.failures,
                local_time(until)
            ),
            None => format!("Locked: {}.", sanitize(&l.phone)),
        });
    }
    if v.would_refuse.is_empty() {
        lines.push(if v.number.is_some() {
            "A send to this number would go out now.".into()
        } else {
            "A send would go out now (name a number to check its own limits).".into()
        });
    }
    for r in &v.would_refuse {
        lines.push(match &r.operator_action {
            Some(a) => format!(
                "Would refuse ({}): {}; an operator must run `{}`.",
                r.limit.key(),
                sanitize(&r.reason),
                sanitize(a)
            ),
            None => format!(
                "Would refuse ({}): {}; for {}.",
                r.limit.key(),
                sanitize(&r.reason),
                duration(r.retry_after_seconds)
            ),
        });
    }
    lines.join("\n")
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

/// A command-line parse error as one line: clap's message up to its usage block, without the
/// "error: " prefix.
pub fn usage_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let words: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = words.join(" ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    crate::sanitize::truncate(&sanitize(line), 300)
}

/// clap's own message (a parse error, or `--help` / `--version`), made safe to print: every
/// line sanitised and cut to 300 characters, since clap quotes the offending word back whole.
pub fn clap_message(rendered: &str) -> String {
    rendered
        .trim_end()
        .lines()
        .map(|l| crate::sanitize::truncate(&crate::sanitize::sanitize(l), 300))
        .collect::<Vec<_>>()
        .join("\n")
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

/// `s` with its first letter in upper case (errors from the domain start in lower case).
pub fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

// ── The prompt ──────────────────────────────────────────────────────────────────────────────

/// The first line of the interactive prompt.
pub fn banner(delivery: &str, station: &str) -> String {
    let delivery = match delivery {
        "console" => "console (development)".to_string(),
        "outbox" => "outbox (file)".to_string(),
        other => other.to_string(),
    };
    format!(
        "otpd {} — phone verification. Delivery: {delivery}. Station: {}. Type help.",
        env!("CARGO_PKG_VERSION"),
        sanitize(station)
    )
}

/// Said on start when this station has a pending verification.
pub fn resuming(p: &PendingView, others: usize) -> String {
    let mut s = format!(
        "Resuming: code pending for {}, expires in {}.",
        p.phone,
        duration(p.expires_in_seconds)
    );
    if others > 0 {
        s.push_str(&format!(
            " {others} more pending on this station: type status."
        ));
    }
    s
}

/// Why a line was refused before parsing.
pub fn line_problem(p: crate::repl::command::LineProblem) -> String {
    use crate::repl::command::{LineProblem, MAX_LINE};
    match p {
        LineProblem::TooLong(n) => {
            format!("That line is too long ({n} bytes); the limit is {MAX_LINE}.")
        }
        LineProblem::NotUtf8 => {
            "That line is not valid UTF-8 text; type it again.".into()
        }
        LineProblem::Control => "That line has control characters (from an arrow key, a paste or a terminal escape); type it again.".into(),
        LineProblem::ForeignDigits => {
            "Type digits as 0-9: digits from other scripts are not accepted.".into()
        }
    }
}

/// The prompt's help: all commands, or one.
pub fn help(topic: Option<&str>) -> String {
    let one = |t: &str| -> Option<&'static str> {
        Some(match t {
            "send" => {
                "send PHONE [sms|whatsapp|call] — send a code. Typing just the number does the same."
            }
            "resend" => {
                "resend — send a new code to the current number; the old code stops working. Allowed once the cooldown has passed."
            }
            "verify" => {
                "verify CODE [PHONE] — check a code for the current number. Typing just the digits does the same; spaces and dashes are fine."
            }
            "status" => "status — show this station's pending codes and how long they stay valid.",
            "cancel" => {
                "cancel — abandon the pending code of the current number (recorded in the audit log)."
            }
            "limits" => {
                "limits [PHONE] — the abuse and cost limits: counters, locks and what would be refused now. limits resume restarts sending after the conversion guard paused it (recorded in the audit log)."
            }
            "unlock" => {
                "unlock PHONE — lift a number's lock-out after too many wrong codes (recorded in the audit log)."
            }
            "audit" => "audit … — review the audit log.",
            "help" => "help [COMMAND] — all commands, or one in detail.",
            "quit" | "exit" => "quit — leave the prompt (Ctrl-D on an empty line does the same).",
            _ => return None,
        })
    };
    match topic {
        Some(t) => one(t).map(str::to_string).unwrap_or_else(|| {
            format!(
                "There is no command \"{}\". Type help to see them all.",
                sanitize(&crate::sanitize::truncate(t, 24))
            )
        }),
        None => [
            "Commands:",
            "  send PHONE [sms|whatsapp|call]  send a code (or type just the number)",
            "  resend                          send a new code to the current number",
            "  verify CODE [PHONE]             check a code (or type just the digits)",
            "  status                          this station's pending codes",
            "  cancel                          abandon the pending code",
            "  limits [PHONE] | limits resume  abuse limits: counters, locks; resume sending",
            "  unlock PHONE                    lift a number's wrong-code lock-out",
            "  audit …                         review the audit log",
            "  help [COMMAND]                  this list, or one command",
            "  quit                            leave (or Ctrl-D)",
        ]
        .join("\n"),
    }
}

/// An unknown command, with the closest one.
pub fn unknown_command(input: &str, suggestion: Option<&str>) -> String {
    let input = sanitize(input);
    match suggestion {
        Some(s) => {
            format!("I don't know \"{input}\": did you mean \"{s}\"? Type help for the list.")
        }
        None => format!("I don't know \"{input}\". Type a phone number, a code, or help."),
    }
}

pub fn bye() -> &'static str {
    "Bye."
}

/// Shown next to the spinner while a code is being delivered.
pub fn sending() -> &'static str {
    "Sending…"
}

// ── The kiosk ───────────────────────────────────────────────────────────────────────────────

pub fn kiosk_refuses_console() -> String {
    "kiosk mode never shows codes on the screen, but the console delivery does: configure the outbox or twilio delivery".into()
}

pub fn kiosk_welcome() -> &'static str {
    "Welcome. Let's verify your mobile number."
}

pub fn kiosk_ask_phone() -> &'static str {
    "Enter your mobile number, starting with + and the country code (e.g. +44 7911 123456):"
}

pub fn kiosk_ask_channel(channels: &[crate::domain::Channel]) -> String {
    let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    format!("How should we send the code? Type {}:", names.join(" or "))
}

pub fn kiosk_ask_code(resend_allowed: bool) -> String {
    if resend_allowed {
        "Enter the code we sent (didn't get it? type resend):".into()
    } else {
        "Enter the code we sent:".into()
    }
}

pub fn kiosk_not_a_phone() -> &'static str {
    "Please enter a mobile number, starting with + and the country code."
}

pub fn kiosk_not_a_code() -> &'static str {
    "Please enter the digits of the code we sent."
}

pub fn kiosk_done(seconds: u64) -> String {
    format!(
        "Thank you. This screen resets in {}.",
        duration(seconds as i64)
    )
}

/// What a kiosk visitor reads for an outcome: the operator's sentence, except where that would
/// show the public internals (limit names, provider errors) or give nothing to act on.
pub fn kiosk_text(o: &Outcome) -> String {
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

pub fn kiosk_start_over() -> &'static str {
    "Let's start again."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_sentences() {
        let phone = crate::domain::PhoneNumber::parse("+1 415 555 2671").unwrap();
        let view = PendingView {
            phone,
            channel: crate::domain::Channel::Sms,
            station: "desk-1".into(),
            sent_at: Utc::now(),
            expires_at: Utc::now(),
            expires_in_seconds: 192,
            attempts_left: 5,
            resends: 0,
            delivery_status: "sent".into(),
            delivery_error: None,
        };
        let cases = [
            (
                resuming(&view, 0),
                "Resuming: code pending for +1 •••-•••-2671, expires in 3 min 12 s.",
            ),
            (
                resuming(&view, 2),
                "Resuming: code pending for +1 •••-•••-2671, expires in 3 min 12 s. 2 more pending on this station: type status.",
            ),
            (
                unknown_command("resnd", Some("resend")),
                "I don't know \"resnd\": did you mean \"resend\"? Type help for the list.",
            ),
            (
                unknown_command("\u{1b}[2J", None),
                "I don't know \"\u{FFFD}[2J\". Type a phone number, a code, or help.",
            ),
            (
                banner("console", "desk-1"),
                "otpd 0.1.0 — phone verification. Delivery: console (development). Station: desk-1. Type help.",
            ),
            (
                help(Some("nope")),
                "There is no command \"nope\". Type help to see them all.",
            ),
            (capitalised("\"x\" is not"), "\"x\" is not"),
            (capitalised("abc"), "Abc"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

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
    fn clap_messages_are_sanitised_and_cut() {
        let long = "x".repeat(1000);
        let cases: [(&str, &str); 3] = [
            (
                "error: invalid value 'a\u{9b}b\u{202e}c'\n\nUsage: otpd\n",
                "error: invalid value 'a\u{fffd}b\u{fffd}c'\n\nUsage: otpd",
            ),
            ("plain\n", "plain"),
            ("a\u{7}\u{1b}[2J", "a\u{fffd}\u{fffd}[2J"),
        ];
        for (input, want) in cases {
            assert_eq!(clap_message(input), want, "{input:?}");
        }
        assert_eq!(clap_message(&long).chars().count(), 300);
    }
}
