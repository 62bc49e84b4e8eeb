//! One typed line of the prompt: the words people type (or natural input — a bare phone number,
//! a bare code) become a [`ReplCommand`] here, once, after the line passed the input checks.

use crate::app::{InputError, Request};
use crate::domain::{Channel, Code, PhoneNumber};
use crate::render;

/// The longest line the prompt accepts, in bytes.
pub const MAX_LINE: usize = 256;

/// The prompt's commands, in the order `help` lists them (also the completion candidates).
pub const COMMANDS: [&str; 11] = [
    "send", "resend", "verify", "status", "cancel", "limits", "unlock", "audit", "help", "quit",
    "exit",
];

/// What one line asks for.
#[derive(Debug, Clone)]
pub enum ReplCommand {
    /// A blank line: nothing to do.
    Empty,
    /// A use case (send, resend, verify, status, cancel). A missing phone is filled in from the
    /// session's current number where that makes sense.
    Run(Request),
    Help(Option<String>),
    Quit,
    /// `audit …`: the words after `audit`.
    Audit(Vec<String>),
    Unknown {
        input: String,
        suggestion: Option<&'static str>,
    },
    /// The line was refused (too long, control characters, a bad phone or code…).
    Invalid(InputError),
}

/// Why a line was refused before it was even parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineProblem {
    TooLong(usize),
    NotUtf8,
    Control,
    ForeignDigits,
}

impl LineProblem {
    pub fn into_error(self) -> InputError {
        InputError::Other(render::line_problem(self))
    }
}

/// The checks every line passes before parsing: length, control characters (ESC from arrow
/// keys or pastes, NUL, bidi controls…) and digits from other scripts.
pub fn check_line(line: &str) -> Result<(), LineProblem> {
    if line.len() > MAX_LINE {
        return Err(LineProblem::TooLong(line.len()));
    }
    if line.chars().any(crate::sanitize::is_dangerous) {
        return Err(LineProblem::Control);
    }
    if line.chars().any(|c| c.is_numeric() && !c.is_ascii_digit()) {
        return Err(LineProblem::ForeignDigits);
    }
    Ok(())
}

/// Parses one line (without its newline).
pub fn parse(line: &str) -> ReplCommand {
    if let Err(p) = check_line(line) {
        return ReplCommand::Invalid(p.into_error());
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else {
        return ReplCommand::Empty;
    };
    let rest = &words[1..];
    let lowered = first.to_ascii_lowercase();
    let run = |r: Result<Request, InputError>| match r {
        Ok(r) => ReplCommand::Run(r),
        Err(e) => ReplCommand::Invalid(e),
    };
    match lowered.as_str() {
        "send" => run(send(rest)),
        "resend" => run(optional_phone(rest).map(|phone| Request::Resend { phone })),
        "verify" => run(verify(rest)),
        "status" => run(optional_phone(rest).map(|phone| Request::Status { phone })),
        "cancel" => run(optional_phone(rest).map(|phone| Request::Cancel { phone })),
        "limits"
            if rest
                .first()
                .is_some_and(|w| w.eq_ignore_ascii_case("resume")) =>
        {
            if rest.len() == 1 {
                ReplCommand::Run(Request::ResumeSending)
            } else {
                ReplCommand::Invalid(InputError::Other(
                    "limits resume takes nothing after it.".into(),
                ))
            }
        }
        "limits" => run(optional_phone(rest).map(|phone| Request::Limits { phone })),
        "unlock" => run(optional_phone(rest).and_then(|p| {
            p.map(|phone| Request::Unlock { phone }).ok_or_else(|| {
                InputError::Other(
                    "unlock needs the phone number, e.g. unlock +1 415 555 2671.".into(),
                )
            })
        })),
        "audit" => ReplCommand::Audit(rest.iter().map(|w| w.to_string()).collect()),
        "help" | "?" => ReplCommand::Help(rest.first().map(|w| w.to_ascii_lowercase())),
        "quit" | "exit" => ReplCommand::Quit,
        _ if first.starts_with('+') => run(send(&words)),
        // A code may start with 00 too: digits that make a code are a code.
        _ if Code::looks_like(line) && Code::parse(line).is_ok() => run(verify(&words)),
        _ if first.starts_with("00") => run(send(&words)),
        _ if Code::looks_like(line) => run(verify(&words)),
        _ => ReplCommand::Unknown {
            input: crate::sanitize::truncate(first, 24),
            suggestion: suggest(&lowered),
        },
    }
}

/// `send PHONE [CHANNEL]`: the channel, if any, is the last word.
fn send(words: &[&str]) -> Result<Request, InputError> {
    let (phone_words, channel) = match words.split_last() {
        Some((last, before))
            if !before.is_empty() && !last.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            let channel = last
                .parse::<Channel>()
                .map_err(|e| InputError::Other(render::capitalised(&e.to_string())))?;
            (before, Some(channel))
        }
        _ => (words, None),
    };
    let phone = PhoneNumber::parse(&phone_words.join(" "))?;
    Ok(Request::Send { phone, channel })
}

/// `verify CODE [PHONE]`: the code is every word before the first that starts with `+`.
fn verify(words: &[&str]) -> Result<Request, InputError> {
    let split = words
        .iter()
        .position(|w| w.starts_with('+'))
        .unwrap_or(words.len());
    let code = Code::parse(&words[..split].join(" "))?;
    let phone = optional_phone(&words[split..])?;
    Ok(Request::Verify { code, phone })
}

fn optional_phone(words: &[&str]) -> Result<Option<PhoneNumber>, InputError> {
    if words.is_empty() {
        return Ok(None);
    }
    Ok(Some(PhoneNumber::parse(&words.join(" "))?))
}

/// The closest command, if it is close enough to be what was meant.
pub fn suggest(word: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        // One slip, or two in a longer word ("hello" is not "help").
        .filter(|(d, _)| *d == 1 || (*d == 2 && word.len() >= 6))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact description of a parse, for the case table.
    fn describe(line: &str) -> String {
        match parse(line) {
            ReplCommand::Empty => "empty".into(),
            ReplCommand::Run(Request::Send { phone, channel }) => format!(
                "send {}{}",
                phone.e164(),
                channel.map(|c| format!(" {c}")).unwrap_or_default()
            ),
            ReplCommand::Run(Request::Resend { phone }) => {
                format!(
                    "resend {}",
                    phone.map(|p| p.e164().to_string()).unwrap_or_default()
                )
            }
            ReplCommand::Run(Request::Verify { code, phone }) => format!(
                "verify {}{}",
                code.expose_digits(),
                phone.map(|p| format!(" {}", p.e164())).unwrap_or_default()
            ),
            ReplCommand::Run(Request::Status { phone }) => {
                format!(
                    "status {}",
                    phone.map(|p| p.e164().to_string()).unwrap_or_default()
                )
            }
            ReplCommand::Run(Request::Cancel { phone }) => {
                format!(
                    "cancel {}",
                    phone.map(|p| p.e164().to_string()).unwrap_or_default()
                )
            }
            ReplCommand::Run(other) => format!("{other:?}"),
            ReplCommand::Help(t) => format!("help {}", t.unwrap_or_default()),
            ReplCommand::Quit => "quit".into(),
            ReplCommand::Audit(w) => format!("audit {}", w.join(" ")),
            ReplCommand::Unknown { input, suggestion } => {
                format!("unknown {input} {}", suggestion.unwrap_or("-"))
            }
            ReplCommand::Invalid(InputError::Phone(_)) => "bad phone".into(),
            ReplCommand::Invalid(InputError::Other(e)) => format!("bad: {e}"),
        }
    }

    #[test]
    fn lines_parse_into_commands() {
        let long = format!("send {}", "1".repeat(300));
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("send +1 415 555 2671", "send +14155552671"),
            (
                "SEND +1 (415) 555-2671 whatsapp",
                "send +14155552671 whatsapp",
            ),
            ("send +44 7911 123456 call", "send +447911123456 call"),
            (
                "send +1 415 555 2671 pigeon",
                "bad: \"pigeon\" is not a channel: use sms, whatsapp or call",
            ),
            ("send", "bad phone"),
            ("send +1 555 555 0000", "bad phone"),
            ("+1 415 555 2671", "send +14155552671"),
            ("0044 7911 123456", "send +447911123456"),
            ("482913", "verify 482913"),
            ("482 913", "verify 482913"),
            ("482-913", "verify 482913"),
            ("004821", "verify 004821"),
            ("verify 123 456", "verify 123456"),
            (
                "verify 123456 +1 202 555 0123",
                "verify 123456 +12025550123",
            ),
            (
                "verify 12",
                "bad: That is not a code: a code is 6 to 10 digits; that was 2.",
            ),
            (
                "verify",
                "bad: That is not a code: a code is needed: type the 6 to 10 digits you received.",
            ),
            ("resend", "resend "),
            ("resend +1 202 555 0123", "resend +12025550123"),
            ("status", "status "),
            ("cancel", "cancel "),
            ("help", "help "),
            ("help Verify", "help verify"),
            ("quit", "quit"),
            ("exit", "quit"),
            ("audit verify --since 1h", "audit verify --since 1h"),
            ("limits", "Limits { phone: None }"),
            ("LIMITS resume", "ResumeSending"),
            (
                "limits resume now",
                "bad: limits resume takes nothing after it.",
            ),
            (
                "unlock +1 415 555 2671",
                "Unlock { phone: PhoneNumber(+1 •••-•••-2671) }",
            ),
            (
                "unlock",
                "bad: unlock needs the phone number, e.g. unlock +1 415 555 2671.",
            ),
            ("limts", "unknown limts limits"),
            ("resnd", "unknown resnd resend"),
            ("verfy 123456", "unknown verfy verify"),
            ("sedn +1 415 555 2671", "unknown sedn send"),
            ("hello", "unknown hello -"),
            ("x", "unknown x -"),
            (
                &long,
                "bad: That line is too long (305 bytes); the limit is 256.",
            ),
            (
                "send \u{1b}[31m+1",
                "bad: That line has control characters (from an arrow key, a paste or a terminal escape); type it again.",
            ),
            (
                "verify 123\x00456",
                "bad: That line has control characters (from an arrow key, a paste or a terminal escape); type it again.",
            ),
            (
                "verify \u{202e}123456",
                "bad: That line has control characters (from an arrow key, a paste or a terminal escape); type it again.",
            ),
            (
                "٤٨٢٩١٣",
                "bad: Type digits as 0-9: digits from other scripts are not accepted.",
            ),
            (
                "verify １２３４５６",
                "bad: Type digits as 0-9: digits from other scripts are not accepted.",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(describe(line), *want, "{line:?}");
        }
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let cases = [
            ("resnd", Some("resend")),
            ("stauts", Some("status")),
            ("quti", Some("quit")),
            ("hepl", Some("help")),
            ("banana", None),
            ("hello", None),
            ("verifyy", Some("verify")),
            ("cancle", Some("cancel")),
            ("ab", None),
        ];
        for (word, want) in cases {
            assert_eq!(suggest(word), want, "{word}");
        }
    }
}
