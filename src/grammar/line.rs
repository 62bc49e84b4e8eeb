//! One typed line, as the prompt reads it: the input checks, the natural forms (a bare phone
//! number means `send`, bare digits of the code's length mean `verify`, other bare digits are
//! refused as neither), case-insensitive command words, and then
//! the same clap definition as the command line ([`super::Operator`]); the prompt's own words
//! (`help`, `quit`) are taken first. The kiosk reads its visitors' answers through here too.

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser};

use super::{Asked, Operator, Reading};
use crate::audit::AuditArgs;
use crate::domain::{Code, CodeError, PhoneNumber};
use crate::request::{InputError, LineProblem, MAX_LINE, Request};

/// The prompt's commands, in the order `help` lists them (also the completion candidates).
pub const COMMANDS: [&str; 11] = [
    "send", "resend", "verify", "status", "cancel", "limits", "unlock", "audit", "help", "quit",
    "exit",
];

/// What one line asks for.
#[derive(Debug)]
pub enum Line {
    /// A blank line: nothing to do.
    Empty,
    /// A use case. A missing phone is filled in by the prompt from its current number where
    /// that makes sense.
    Run(Request),
    /// `audit …`, parsed with the command line's definitions.
    Audit(Box<AuditArgs>),
    Help(Option<String>),
    Quit,
    Unknown {
        input: String,
        suggestion: Option<&'static str>,
    },
    /// The line was refused (too long, control characters, a bad phone or code…).
    Invalid(InputError),
    /// `COMMAND --help`: clap's help for it (raw; sanitise before printing).
    ShowHelp(String),
    /// The words do not fit the command (an unknown option, a stray word): clap's error.
    Words {
        command: &'static str,
        error: clap::Error,
    },
}

/// The prompt's grammar: the operator's commands. `multicall`: the first word is the command,
/// as `otpd`'s subcommand is on the command line.
#[derive(Debug, Parser)]
#[command(name = "otpd", multicall = true, disable_version_flag = true)]
struct PromptLine {
    #[command(subcommand)]
    operator: Operator,
}

/// The prompt's own words, besides the operator's commands. (Not clap subcommands: clap's
/// generated `help` would clash with `help`, and disabling it would take `audit help` away.)
const PROMPT_WORDS: [&str; 4] = ["help", "?", "quit", "exit"];

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

/// Parses one line (without its newline), reading only international numbers.
pub fn parse_line(line: &str) -> Line {
    parse_line_in(line, Reading::default())
}

/// Parses one line (without its newline); a bare national number of `r.region` means `send`.
pub fn parse_line_in(line: &str, r: Reading) -> Line {
    if let Err(p) = check_line(line) {
        return Line::Invalid(p.into());
    }
    let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let Some(first) = words.first() else {
        return Line::Empty;
    };
    let lowered = first.to_ascii_lowercase();
    if PROMPT_WORDS.contains(&lowered.as_str()) {
        return match lowered.as_str() {
            "quit" | "exit" => Line::Quit,
            _ => Line::Help(words.get(1).map(|w| w.to_ascii_lowercase())),
        };
    }
    let command = if let Some(command) = COMMANDS.iter().find(|c| **c == lowered) {
        if lowered == "limits"
            && words
                .get(1)
                .is_some_and(|w| w.eq_ignore_ascii_case("resume"))
        {
            words[1] = "resume".into();
        }
        words[0] = lowered;
        *command
    } else if let Some(command) = natural(line, first, r) {
        // Bare digits neither a code of this installation's length nor a number: say so,
        // rather than spend an attempt on a mistyped number.
        let digits = Code::digits_in(line);
        if command == "verify" && r.code_length > 0 && digits != r.code_length {
            return Line::Invalid(
                CodeError::Neither {
                    expected: r.code_length,
                    got: digits,
                }
                .into(),
            );
        }
        // `--`: what follows is the number or the code, even a word that starts with `-`.
        words.splice(0..0, [command.to_string(), "--".to_string()]);
        command
    } else {
        return Line::Unknown {
            input: crate::sanitize::truncate(first, 24),
            suggestion: suggest(&lowered),
        };
    };
    match parse_words(&words).map(|op| op.asked(r)) {
        Ok(Ok(Asked::Run(r))) => Line::Run(r),
        Ok(Ok(Asked::Audit(a))) => Line::Audit(a),
        Ok(Err(e)) => Line::Invalid(e),
        Err(e) if is_help(&e) => Line::ShowHelp(e.render().to_string()),
        Err(error) => Line::Words { command, error },
    }
}

/// The command a line without one means: `send` for a phone number, `verify` for a code.
fn natural(line: &str, first: &str, r: Reading) -> Option<&'static str> {
    Some(match first {
        _ if first.starts_with('+') => "send",
        _ if is_national(line, r) => "send",
        // A code may start with 00 too: digits that make a code are a code.
        _ if Code::looks_like(line) && Code::parse_len(line, r.code_length).is_ok() => "verify",
        _ if first.starts_with("00") => "send",
        _ if Code::looks_like(line) => "verify",
        _ => return None,
    })
}

/// A bare national number of the default region (a channel may follow it), unless its digits
/// are as many as a code's: `482913` stays a code, `415 555 2671` is a US number.
fn is_national(line: &str, r: Reading) -> bool {
    let Some(region) = r.region else {
        return false;
    };
    let number = match line.trim_end().rsplit_once(' ') {
        Some((before, last)) if last.starts_with(|c: char| c.is_ascii_alphabetic()) => before,
        _ => line,
    };
    let digits = number.chars().filter(char::is_ascii_digit).count();
    digits != r.code_length && PhoneNumber::parse_in(number, Some(region)).is_ok()
}

/// The prompt's words through clap. A missing phone or code is not clap's business here: the
/// prompt answers it with the domain's own sentence (what a phone number or a code looks like)
/// rather than a usage block, so the required arguments are relaxed.
fn parse_words(words: &[String]) -> Result<Operator, clap::Error> {
    let mut command = PromptLine::command();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| {
            let ids: Vec<clap::Id> = sub
                .get_positionals()
                .filter(|a| a.is_required_set())
                .map(|a| a.get_id().clone())
                .collect();
            ids.into_iter()
                .fold(sub, |sub, id| sub.mut_arg(id, |a| a.required(false)))
        });
    }
    let matches = command.try_get_matches_from(words)?;
    PromptLine::from_arg_matches(&matches).map(|p| p.operator)
}

fn is_help(e: &clap::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
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

    fn phone(p: &Option<crate::domain::PhoneNumber>) -> String {
        p.as_ref().map(|p| p.e164().to_string()).unwrap_or_default()
    }

    /// A compact description of a parse, for the case table.
    fn describe(line: &str) -> String {
        match parse_line(line) {
            Line::Empty => "empty".into(),
            Line::Run(Request::Send {
                phone,
                channel,
                locale,
                ..
            }) => format!(
                "send {}{}{}",
                phone.e164(),
                channel.map(|c| format!(" {c}")).unwrap_or_default(),
                locale.map(|l| format!(" {}", l.tag())).unwrap_or_default()
            ),
            Line::Run(Request::Resend { phone: p, locale }) => format!(
                "resend {}{}",
                phone(&p),
                locale.map(|l| format!(" {}", l.tag())).unwrap_or_default()
            ),
            Line::Run(Request::Verify { code, phone: p }) => format!(
                "verify {}{}",
                code.expose_digits(),
                p.map(|p| format!(" {}", p.e164())).unwrap_or_default()
            ),
            Line::Run(Request::Status { phone: p }) => format!("status {}", phone(&p)),
            Line::Run(Request::Cancel { phone: p }) => format!("cancel {}", phone(&p)),
            Line::Run(other) => format!("{other:?}"),
            Line::Help(t) => format!("help {}", t.unwrap_or_default()),
            Line::Quit => "quit".into(),
            Line::Audit(a) => format!("audit {:?}", a.command.is_some()),
            Line::Unknown { input, suggestion } => {
                format!("unknown {input} {}", suggestion.unwrap_or("-"))
            }
            Line::Invalid(InputError::Phone(_)) => "bad phone".into(),
            Line::Invalid(e) => format!("bad: {e}"),
            Line::ShowHelp(text) => format!("usage {}", text.lines().next().unwrap_or_default()),
            Line::Words { command, error } => format!("words {command} {:?}", error.kind()),
        }
    }

    #[test]
    fn lines_parse_into_commands() {
        let long = format!("send {}", "1".repeat(300));
        let control = "bad: That line has control characters (from an arrow key, a paste or a terminal escape); type it again.";
        let foreign = "bad: Type digits as 0-9: digits from other scripts are not accepted.";
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
                "send +44 7911 123456 --channel wa",
                "send +447911123456 whatsapp",
            ),
            (
                "send +1 415 555 2671 pigeon",
                "bad: \"pigeon\" is not a channel: use sms, whatsapp or call.",
            ),
            ("send +1 415 555 2671 es", "send +14155552671 es"),
            ("send +1 415 555 2671 call FR", "send +14155552671 call fr"),
            (
                "send +1 415 555 2671 de whatsapp",
                "send +14155552671 whatsapp de",
            ),
            (
                "send +1 415 555 2671 --locale pt-BR",
                "send +14155552671 pt",
            ),
            ("+44 7911 123456 es", "send +447911123456 es"),
            (
                "send +1 415 555 2671 xx",
                "bad: Unknown locale \"xx\": the built-in locales are en, es, fr, de, pt.",
            ),
            (
                "send +1 415 555 2671 --locale klingon",
                "bad: Unknown locale \"klingon\": the built-in locales are en, es, fr, de, pt.",
            ),
            ("send", "bad phone"),
            ("send +1 555 555 0000", "bad phone"),
            ("+1 415 555 2671", "send +14155552671"),
            ("+1 415 555 2671 sms", "send +14155552671 sms"),
            ("0044 7911 123456", "send +447911123456"),
            ("482913", "verify 482913"),
            ("482 913", "verify 482913"),
            ("482-913", "verify 482913"),
            ("-482913", "verify 482913"),
            ("004821", "verify 004821"),
            ("verify 123 456", "verify 123456"),
            (
                "verify 123456 +1 202 555 0123",
                "verify 123456 +12025550123",
            ),
            (
                "verify 123456 --phone +1 202 555 0123",
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
            ("verify 123456 --bogus", "words verify UnknownArgument"),
            ("verify --help", "usage Check a code"),
            ("resend", "resend "),
            ("resend +1 202 555 0123", "resend +12025550123"),
            ("resend es", "resend  es"),
            ("resend +1 202 555 0123 pt-BR", "resend +12025550123 pt"),
            ("resend --locale fr", "resend  fr"),
            (
                "resend +1 202 555 0123 --locale de",
                "resend +12025550123 de",
            ),
            (
                "resend +1 202 555 0123 sms",
                "bad: Unknown locale \"sms\": the built-in locales are en, es, fr, de, pt.",
            ),
            ("status", "status "),
            ("cancel", "cancel "),
            ("help", "help "),
            ("help Verify", "help verify"),
            ("? send", "help send"),
            ("quit", "quit"),
            ("exit", "quit"),
            ("quit now", "quit"),
            ("audit", "audit false"),
            ("audit stats --since 1h", "audit true"),
            ("audit --event nonsense", "words audit ValueValidation"),
            ("limits", "Limits { phone: None }"),
            ("LIMITS resume", "ResumeSending"),
            ("limits resume now", "words limits UnknownArgument"),
            (
                "unlock +1 415 555 2671",
                "Unlock { phone: PhoneNumber(+1 •••-•••-2671) }",
            ),
            ("unlock", "bad phone"),
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
            ("send \u{1b}[31m+1", control),
            ("verify 123\x00456", control),
            ("verify \u{202e}123456", control),
            ("٤٨٢٩١٣", foreign),
            ("verify １２３４５６", foreign),
        ];
        for (line, want) in cases {
            assert_eq!(describe(line), *want, "{line:?}");
        }
    }

    #[test]
    fn a_default_region_reads_bare_national_numbers() {
        let us = |code_length| Reading {
            region: Some("US".parse().unwrap()),
            code_length,
        };
        let read = |line: &str, r: Reading| match parse_line_in(line, r) {
            Line::Run(Request::Send { phone, channel, .. }) => format!(
                "send {}{}",
                phone.e164(),
                channel.map(|c| format!(" {c}")).unwrap_or_default()
            ),
            Line::Run(Request::Verify { code, phone: p }) => format!(
                "verify {}{}",
                code.expose_digits(),
                p.map(|p| format!(" {}", p.e164())).unwrap_or_default()
            ),
            Line::Run(other) => format!("{other:?}"),
            Line::Invalid(e) => format!("bad: {e}"),
            _ => "other".into(),
        };
        let cases = [
            ("415 555 2671", us(6), "send +14155552671"),
            ("(415) 555-2671", us(6), "send +14155552671"),
            ("415 555 2671 call", us(6), "send +14155552671 call"),
            (
                "send 415 555 2671 whatsapp",
                us(6),
                "send +14155552671 whatsapp",
            ),
            ("482913", us(6), "verify 482913"),
            // Digits as many as a code's stay a code: `send` says otherwise.
            ("4155552671", us(10), "verify 4155552671"),
            ("send 4155552671", us(10), "send +14155552671"),
            (
                "verify 482913 415 555 2671",
                us(6),
                "verify 482913 +14155552671",
            ),
            (
                "verify 482 913 +44 7911 123456",
                us(6),
                "verify 482913 +447911123456",
            ),
            ("+44 7911 123456", us(6), "send +447911123456"),
            ("415 555 2671", Reading::default(), "verify 4155552671"),
            // Bare digits neither a code of this length nor a number: said so, not a verify.
            (
                "415 555 267",
                us(6),
                "bad: 9 digits are neither a code (codes here have 6 digits) nor a phone number (type one with + and its country code).",
            ),
            (
                "verify 12345678",
                us(6),
                "bad: That is not a code: codes here have 6 digits; that was 8.",
            ),
            ("0044 7911 123456", us(6), "send +447911123456"),
        ];
        for (line, r, want) in cases {
            assert_eq!(read(line, r), want, "{line:?} {r:?}");
        }
        assert!(
            read("status 415 555 2671", Reading::default()).starts_with("bad: "),
            "no region, no country code"
        );
    }

    #[test]
    fn the_listed_commands_are_the_grammar_s() {
        let grammar = PromptLine::command();
        let mut names: Vec<&str> = grammar
            .get_subcommands()
            .map(|s| s.get_name())
            .chain(PROMPT_WORDS)
            .filter(|n| *n != "?")
            .collect();
        let mut listed = COMMANDS.to_vec();
        names.sort_unstable();
        listed.sort_unstable();
        assert_eq!(names, listed);
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
