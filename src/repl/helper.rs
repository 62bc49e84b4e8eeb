//! rustyline's side of the prompt: tab completion of commands and channels, greyed hints for
//! what a command expects, and colour — only on a terminal and only when `NO_COLOR` is unset.

use std::borrow::Cow;
use std::io::IsTerminal;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::{Hint, Hinter};
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::command::COMMANDS;
use crate::domain::Channel;

/// Whether output may be coloured: a terminal on stdout and `NO_COLOR` unset or empty
/// (<https://no-color.org>; read at start-up into `Config::no_color`).
pub fn colour_wanted(no_color: bool) -> bool {
    std::io::stdout().is_terminal() && !no_color
}

/// ANSI styling that is a no-op when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    pub on: bool,
}

impl Paint {
    fn wrap(self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// An outcome line: green when it succeeded, yellow when refused, red for errors.
    pub fn outcome(self, s: &str, exit_code: u8) -> String {
        match exit_code {
            0 => self.wrap("32", s),
            1 => self.wrap("33", s),
            _ => self.wrap("31", s),
        }
    }

    pub fn prompt(self, s: &str) -> String {
        self.wrap("1;36", s)
    }

    pub fn dim(self, s: &str) -> String {
        self.wrap("2", s)
    }
}

/// What is shown greyed after the cursor.
pub struct CmdHint {
    display: String,
    /// What Right-arrow inserts: the rest of a command name, never a placeholder.
    complete: Option<String>,
}

impl Hint for CmdHint {
    fn display(&self) -> &str {
        &self.display
    }
    fn completion(&self) -> Option<&str> {
        self.complete.as_deref()
    }
}

pub struct PromptHelper {
    pub paint: Paint,
}

impl Helper for PromptHelper {}
impl Validator for PromptHelper {}

/// The candidates for the word under the cursor: a command as the first word, a channel as a
/// later word of `send`, a command after `help`.
pub fn candidates(line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let word = before[start..].to_ascii_lowercase();
    let first = before.split_whitespace().next().unwrap_or_default();
    let pool: Vec<&str> = if start == 0 || before[..start].trim().is_empty() {
        COMMANDS.to_vec()
    } else if first.eq_ignore_ascii_case("send") {
        Channel::ALL.iter().map(|c| c.as_str()).collect()
    } else if first.eq_ignore_ascii_case("help") {
        COMMANDS.to_vec()
    } else {
        Vec::new()
    };
    let found = pool
        .into_iter()
        .filter(|c| c.starts_with(&word))
        .map(str::to_string)
        .collect();
    (start, found)
}

impl Completer for PromptHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = candidates(line, pos);
        Ok((
            start,
            found
                .into_iter()
                .map(|c| Pair {
                    display: c.clone(),
                    replacement: format!("{c} "),
                })
                .collect(),
        ))
    }
}

/// The arguments a command takes, shown after `command `.
fn usage(command: &str) -> Option<&'static str> {
    Some(match command {
        "send" => "PHONE [sms|whatsapp|call]",
        "verify" => "CODE [PHONE]",
        "help" => "[COMMAND]",
        _ => return None,
    })
}

impl Hinter for PromptHelper {
    type Hint = CmdHint;
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<CmdHint> {
        if pos < line.len() || line.is_empty() {
            return None;
        }
        if let Some(command) = line.strip_suffix(' ')
            && !command.contains(' ')
        {
            return usage(&command.to_ascii_lowercase()).map(|u| CmdHint {
                display: u.to_string(),
                complete: None,
            });
        }
        if line.contains(' ') {
            return None;
        }
        let lower = line.to_ascii_lowercase();
        COMMANDS
            .iter()
            .find(|c| c.starts_with(&lower) && c.len() > lower.len())
            .map(|c| {
                let rest = c[lower.len()..].to_string();
                CmdHint {
                    display: rest.clone(),
                    complete: Some(rest),
                }
            })
    }
}

impl Highlighter for PromptHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.paint.on {
            Cow::Owned(self.paint.dim(hint))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_commands_then_channels() {
        let cases: &[(&str, usize, Vec<&str>)] = &[
            ("re", 0, vec!["resend"]),
            ("s", 0, vec!["send", "status"]),
            ("send +1 415 555 2671 wh", 21, vec!["whatsapp"]),
            ("send +1 415 555 2671 ", 21, vec!["sms", "whatsapp", "call"]),
            ("help ve", 5, vec!["verify"]),
            ("verify 12", 7, vec![]),
        ];
        for (line, start, want) in cases {
            let (s, found) = candidates(line, line.len());
            assert_eq!(
                (s, found),
                (*start, want.iter().map(|w| w.to_string()).collect()),
                "{line:?}"
            );
        }
    }
}
