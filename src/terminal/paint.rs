//! Colour on a terminal: ANSI styling that is a no-op when colour is off, and the one rule
//! for when it is on (a terminal on stdout, `NO_COLOR` unset or empty).

use std::io::IsTerminal;

/// Whether output may be coloured: a terminal on stdout and `NO_COLOR` unset or empty
/// (<https://no-color.org>).
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
