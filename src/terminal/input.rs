//! Where a terminal's lines come from: rustyline on a terminal, or plain lines from a pipe.
//! Pipe input is read as bytes, so an overlong line or invalid UTF-8 becomes one refusal and
//! the loop goes on (rustyline would fail the whole read); [`decode`] is the same check for
//! the kiosk's own reader.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};

use super::helper::PromptHelper;
use super::history;
use super::paint::Paint;
use crate::error::Error;
use crate::grammar::check_line;
use crate::render::prompt::no_history;
use crate::request::{LineProblem, MAX_LINE};

/// One read.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    Line(String),
    /// A line that cannot even be decoded or is too long to look at.
    Refused(LineProblem),
    /// Ctrl-C at the prompt: the line is dropped.
    Interrupted,
    Eof,
}

pub trait Source {
    /// Reads one line; `prompt` is shown on a terminal only.
    fn read(&mut self, prompt: &str, styled: &str) -> Result<Input, Error>;
    /// Adds a line that was read to the history, if this source keeps one.
    fn remember(&mut self, _line: &str) {}
}

/// Lines from a pipe or file: no prompt, no history.
pub struct PipeSource<R> {
    reader: R,
}

impl<R: BufRead> PipeSource<R> {
    pub fn new(reader: R) -> Self {
        PipeSource { reader }
    }

    /// Reads up to the next newline, keeping at most `MAX_LINE + 1` bytes of it.
    fn next_bytes(&mut self) -> std::io::Result<Option<(Vec<u8>, usize)>> {
        let mut kept = Vec::new();
        let mut total = 0usize;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok((total > 0).then_some((kept, total)));
            }
            let (part, used, done) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (&chunk[..i], i + 1, true),
                None => (chunk, chunk.len(), false),
            };
            let room = (MAX_LINE + 1).saturating_sub(kept.len());
            kept.extend_from_slice(&part[..part.len().min(room)]);
            total += part.len();
            self.reader.consume(used);
            if done {
                return Ok(Some((kept, total)));
            }
        }
    }
}

impl<R: BufRead> Source for PipeSource<R> {
    fn read(&mut self, _prompt: &str, _styled: &str) -> Result<Input, Error> {
        let Some((mut bytes, mut total)) = self.next_bytes().map_err(Error::Input)? else {
            return Ok(Input::Eof);
        };
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
            total -= 1;
        }
        Ok(decode(bytes, total))
    }
}

/// Bytes of one line (of `total` bytes in all) → a line or a refusal.
pub fn decode(bytes: Vec<u8>, total: usize) -> Input {
    if total > MAX_LINE {
        return Input::Refused(LineProblem::TooLong(total));
    }
    match String::from_utf8(bytes) {
        Ok(line) => Input::Line(line),
        Err(_) => Input::Refused(LineProblem::NotUtf8),
    }
}

/// A person at a terminal: rustyline with completion, hints and a private history file.
pub struct TtySource {
    editor: Editor<PromptHelper, FileHistory>,
    history: Option<PathBuf>,
}

impl TtySource {
    pub fn new(paint: Paint, history_file: &Path) -> Result<Self, Error> {
        let config = Config::builder()
            .auto_add_history(false)
            .max_history_size(1000)
            .map_err(Error::Terminal)?
            .history_ignore_dups(true)
            .map_err(Error::Terminal)?
            .completion_type(CompletionType::List)
            .build();
        let mut editor: Editor<PromptHelper, FileHistory> =
            Editor::with_config(config).map_err(Error::Terminal)?;
        editor.set_helper(Some(PromptHelper { paint }));
        let history = match history::prepare(history_file) {
            Ok(()) => {
                let _ = editor.load_history(history_file);
                Some(history_file.to_path_buf())
            }
            Err(e) => {
                eprintln!("{}", no_history(history_file, &e));
                None
            }
        };
        Ok(TtySource { editor, history })
    }
}

impl Source for TtySource {
    fn read(&mut self, prompt: &str, styled: &str) -> Result<Input, Error> {
        match self.editor.readline(&(prompt, styled)) {
            Ok(line) => Ok(Input::Line(line)),
            Err(ReadlineError::Interrupted) => Ok(Input::Interrupted),
            Err(ReadlineError::Eof) => Ok(Input::Eof),
            Err(e) => Err(Error::Terminal(e)),
        }
    }

    fn remember(&mut self, line: &str) {
        let (Some(path), Some(entry)) = (&self.history, history::entry(line)) else {
            return;
        };
        if check_line(line).is_err() {
            return;
        }
        if self.editor.add_history_entry(entry).unwrap_or(false) {
            let _ = self.editor.append_history(path);
            let _ = history::restrict(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_lines_are_checked_as_bytes() {
        let long = "7".repeat(MAX_LINE + 50);
        let mut data = b"status\r\nsend +1\n".to_vec();
        data.extend_from_slice(long.as_bytes());
        data.extend_from_slice(b"\n\xff\xfe bad\nlast");
        let mut src = PipeSource::new(std::io::Cursor::new(data));
        let mut read = || src.read("", "").unwrap();
        assert_eq!(read(), Input::Line("status".into()));
        assert_eq!(read(), Input::Line("send +1".into()));
        assert_eq!(read(), Input::Refused(LineProblem::TooLong(MAX_LINE + 50)));
        assert_eq!(read(), Input::Refused(LineProblem::NotUtf8));
        assert_eq!(read(), Input::Line("last".into()));
        assert_eq!(read(), Input::Eof);
    }
}
