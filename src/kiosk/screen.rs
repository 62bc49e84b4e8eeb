//! The kiosk's screen. On a terminal every step is drawn full-screen: cleared, the text centred
//! in the middle of the screen with blank lines above, the answer typed under it — as large as
//! a terminal allows, and nothing of the last step (nor of the last visitor) left behind. On a
//! pipe (a supervisor's log, the tests' transcripts) the lines are written one after another.

use std::io::{IsTerminal, Write};

use crate::error::Error;

/// Clears the screen and homes the cursor.
pub const CLEAR: &str = "\x1b[H\x1b[2J";

/// Where the kiosk writes, and how.
pub struct Screen<'a> {
    out: &'a mut dyn Write,
    /// Draw full-screen (stdout is a terminal).
    full: bool,
    /// What the next question shows above itself (full-screen only).
    pending: Vec<String>,
    /// The last screen drawn, to draw again when the terminal dropped a half-typed line.
    last: String,
}

impl<'a> Screen<'a> {
    pub fn new(out: &'a mut dyn Write) -> Screen<'a> {
        Screen {
            out,
            full: std::io::stdout().is_terminal(),
            pending: Vec::new(),
            last: String::new(),
        }
    }

    fn write(&mut self, text: &str) -> Result<(), Error> {
        write!(self.out, "{text}")
            .and_then(|()| self.out.flush())
            .map_err(Error::Output)
    }

    /// A new visitor: a clean screen (on a terminal; a pipe gets no escape codes).
    pub fn clear(&mut self) -> Result<(), Error> {
        self.pending.clear();
        self.last.clear();
        if !self.full {
            return Ok(());
        }
        self.write(CLEAR)
    }

    /// The last question again, without what was typed under it (on a terminal; a pipe
    /// has no keyboard to drop a line).
    pub fn redraw(&mut self) -> Result<(), Error> {
        if !self.full || self.last.is_empty() {
            return Ok(());
        }
        let page = self.last.clone();
        self.write(&page)
    }

    /// A line for the visitor: shown now on a pipe, with the next question on a terminal.
    pub fn line(&mut self, text: &str) -> Result<(), Error> {
        if self.full {
            self.pending.extend(text.lines().map(str::to_string));
            Ok(())
        } else {
            self.write(&format!("{text}\n"))
        }
    }

    /// The question, then the place the answer is typed.
    pub fn ask(&mut self, question: &str) -> Result<(), Error> {
        if !self.full {
            return self.write(&format!("{question}\n> "));
        }
        self.line(question)?;
        let (cols, rows) = size();
        let page = centred(&std::mem::take(&mut self.pending), cols, rows);
        // The answer is typed under the text, from the middle of the line.
        let indent = " ".repeat(cols.saturating_sub(20) / 2);
        self.last = format!("{CLEAR}{page}\n\n{indent}> ");
        let page = self.last.clone();
        self.write(&page)
    }

    /// Shows what is pending, with no question (the last screen of a visit).
    pub fn show(&mut self) -> Result<(), Error> {
        if !self.full {
            return Ok(());
        }
        let (cols, rows) = size();
        let page = centred(&std::mem::take(&mut self.pending), cols, rows);
        self.write(&format!("{CLEAR}{page}\n"))
    }
}

/// The terminal's columns and rows; 80×24 when it cannot tell.
fn size() -> (usize, usize) {
    match rustix::termios::tcgetwinsize(std::io::stdout()) {
        Ok(w) if w.ws_col > 0 && w.ws_row > 0 => (w.ws_col.into(), w.ws_row.into()),
        _ => (80, 24),
    }
}

/// `lines` centred on a `cols`×`rows` screen: long lines wrapped at word boundaries, each line
/// padded to the middle, blank lines above so the block sits a little above the centre.
pub fn centred(lines: &[String], cols: usize, rows: usize) -> String {
    let width = cols.saturating_sub(4).max(20);
    let wrapped: Vec<String> = lines.iter().flat_map(|l| wrap(l, width)).collect();
    // The block with a blank line between paragraphs' worth of text, and the answer's 2 rows.
    let height = wrapped.len() + 2;
    let top = rows.saturating_sub(height) / 3;
    let mut page = "\n".repeat(top);
    for (i, l) in wrapped.iter().enumerate() {
        if i > 0 {
            page.push('\n');
        }
        let pad = cols.saturating_sub(l.chars().count()) / 2;
        page.push_str(&" ".repeat(pad));
        page.push_str(l);
    }
    page
}

/// `text` in lines of at most `width` characters, broken at spaces where possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push(line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_centred_and_wrapped() {
        let page = centred(&["Hello".to_string()], 25, 12);
        // (12 - 3) / 3 = 3 blank lines above, then (25 - 5) / 2 = 10 spaces.
        assert_eq!(page, "\n\n\n          Hello");
        let long = "Enter your mobile number, starting with + and the country code";
        let page = centred(&[long.to_string()], 30, 10);
        for l in page.lines().filter(|l| !l.is_empty()) {
            assert!(l.chars().count() <= 30, "{l:?}");
        }
        assert_eq!(page.split_whitespace().collect::<Vec<_>>().join(" "), long);
    }
}
