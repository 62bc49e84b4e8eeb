//! What the prompt says that is not a use case's outcome: the banner, locked numbers and
//! pauses on start, resuming a pending code,
//! help, unknown words and their suggestion, the argument hints, goodbye — and [`Notice`],
//! the prompt's own answers as values (also serialised for `--json`).

use serde::Serialize;

use super::duration;
use crate::domain::PhoneNumber;
use crate::domain::outcome::{LimitsView, PendingView, exit};
use crate::sanitize::sanitize;

/// The prompt's own answers (everything that is not a use case's [`crate::domain::Outcome`]).
/// Serialised like outcomes: `{"outcome": "help", …}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Notice {
    Help {
        text: String,
    },
    UnknownCommand {
        input: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        suggestion: Option<&'static str>,
    },
    Bye,
}

impl Notice {
    pub fn text(&self) -> String {
        match self {
            Notice::Help { text } => text.clone(),
            Notice::UnknownCommand { input, suggestion } => unknown_command(input, *suggestion),
            Notice::Bye => bye().to_string(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Notice::UnknownCommand { .. } => exit::USAGE,
            Notice::Help { .. } | Notice::Bye => exit::OK,
        }
    }

    /// The notice as one JSON object (no newline).
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"outcome\":\"error\"}".into())
    }
}

/// The prompt itself, with the current number (shortened) when there is one.
pub fn prompt(current: Option<&PhoneNumber>) -> String {
    match current {
        Some(p) => format!("otpd {}> ", p.short()),
        None => "otpd> ".to_string(),
    }
}

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

/// The banner's second line: what one SMS costs in each configured locale.
pub fn message_costs(c: &crate::config::Config) -> String {
    format!(
        "SMS cost per message: {}.",
        super::config_summary::message_costs(c)
    )
}

/// Said on start, after the banner, when numbers are locked or sending from this station is
/// paused: both refuse sends an operator may not expect, and anyone can lock a number.
pub fn start_warnings(v: &LimitsView) -> Vec<String> {
    let mut out: Vec<String> = super::limits::locked_summary(&v.locked_numbers, "unlock PHONE")
        .into_iter()
        .collect();
    if let Some(reason) = &v.paused_reason {
        out.push(format!(
            "Sending from this station is PAUSED: {}. Type limits to see why; limits resume lifts it.",
            sanitize(reason)
        ));
    }
    out
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

/// The prompt's help: all commands, or one.
pub fn help(topic: Option<&str>) -> String {
    let one = |t: &str| -> Option<&'static str> {
        Some(match t {
            "send" => {
                "send PHONE [sms|whatsapp|call] [LOCALE] — send a code, in LOCALE's language if given (en, es, fr, de or pt; otherwise [message] locale). Typing just the number does the same."
            }
            "resend" => {
                "resend — send a new code to the current number; the old code still works until its own expiry (policy.accept_replaced_code). Allowed once the cooldown has passed."
            }
            "verify" => {
                "verify CODE [PHONE] — check a code for the current number. Typing just the digits does the same; spaces and dashes are fine."
            }
            "status" => "status — show this station's pending codes and how long they stay valid.",
            "cancel" => {
                "cancel — abandon the pending code of the current number (recorded in the audit log)."
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
        Some("limits") => super::refusal::help_limits(),
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

/// The arguments a command takes, shown greyed after `command `.
pub fn hint(command: &str) -> Option<&'static str> {
    Some(match command {
        "send" => "PHONE [sms|whatsapp|call]",
        "verify" => "CODE [PHONE]",
        "help" => "[COMMAND]",
        _ => return None,
    })
}

/// Said once when the history file cannot be used; the prompt goes on without one.
pub fn no_history(file: &std::path::Path, e: &std::io::Error) -> String {
    format!(
        "otpd: warning: no history ({}: {e})",
        sanitize(&file.display().to_string())
    )
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

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
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
