//! One line that must not be seen: a code read from stdin so that it never has to be an
//! argument (`/proc/PID/cmdline` is readable by every local user). On a pipe the line is read
//! byte by byte, nothing past its newline; on a terminal it is asked for with echo off and the
//! line edited here (raw mode), so Ctrl-C restores the terminal instead of killing the process
//! with echo left off. Every byte lives in a buffer that is wiped when dropped.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};
use zeroize::Zeroizing;

use crate::request::{LineProblem, MAX_LINE};

/// What reading the hidden line gave. End of input with nothing typed is an empty line.
pub enum Hidden {
    Line(Zeroizing<String>),
    Refused(LineProblem),
    /// Ctrl-C at the terminal.
    Interrupted,
}

/// Reads one line from stdin: asks `prompt` on stderr without echo when stdin is a terminal,
/// reads silently otherwise.
pub fn read_line(prompt: &str) -> std::io::Result<Hidden> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return read_piped();
    }
    let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
        return read_piped();
    };
    let keys = Keys::of(&saved);
    let _restore = Raw::enter(saved)?;
    let mut err = std::io::stderr();
    write!(err, "{prompt}")?;
    err.flush()?;
    let got = read_typed(&keys);
    // Enter was not echoed either: end the prompt's line.
    let _ = writeln!(err);
    got
}

/// Bytes kept for the line: one more than [`MAX_LINE`], to tell a long line apart.
const KEEP: usize = MAX_LINE + 1;

/// The next byte of stdin, `None` at end of input. Straight from the descriptor: std's
/// buffered stdin would keep a copy of the code nobody wipes.
fn next_byte() -> std::io::Result<Option<u8>> {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(std::io::stdin().as_fd(), &mut byte) {
            Ok(0) | Err(Errno::EIO) => return Ok(None),
            Ok(_) => return Ok(Some(byte[0])),
            Err(Errno::EINTR | Errno::EAGAIN) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn read_piped() -> std::io::Result<Hidden> {
    let mut line = Zeroizing::new(Vec::with_capacity(KEEP));
    let mut total = 0usize;
    while let Some(b) = next_byte()? {
        if b == b'\n' {
            break;
        }
        total += 1;
        if line.len() < KEEP {
            line.push(b);
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
        total -= 1;
    }
    Ok(finish(line, total))
}

/// The terminal's editing keys, as configured (`stty`).
struct Keys {
    erase: u8,
    kill: u8,
    interrupt: u8,
    eof: u8,
}

impl Keys {
    fn of(t: &Termios) -> Keys {
        let key = |i: SpecialCharacterIndices| t.control_chars[i as usize];
        Keys {
            erase: key(SpecialCharacterIndices::VERASE),
            kill: key(SpecialCharacterIndices::VKILL),
            interrupt: key(SpecialCharacterIndices::VINTR),
            eof: key(SpecialCharacterIndices::VEOF),
        }
    }
}

/// Echo, line editing and keyboard signals off until dropped.
struct Raw(Termios);

impl Raw {
    fn enter(saved: Termios) -> std::io::Result<Raw> {
        let mut t = saved.clone();
        t.local_flags &= !(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG);
        t.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        t.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSAFLUSH, &t)?;
        Ok(Raw(saved))
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.0);
    }
}

/// Keys until Enter: erase and kill edit the line, the interrupt key cancels, end-of-file on
/// an empty line ends it. Nothing is echoed.
fn read_typed(keys: &Keys) -> std::io::Result<Hidden> {
    let mut line = Zeroizing::new(Vec::with_capacity(KEEP));
    let mut total = 0usize;
    while let Some(b) = next_byte()? {
        match b {
            b'\r' | b'\n' => break,
            _ if b == keys.interrupt => return Ok(Hidden::Interrupted),
            _ if b == keys.eof && total == 0 => break,
            _ if b == keys.erase || b == 0x7f || b == 0x08 => {
                total = total.saturating_sub(1);
                line.truncate(total.min(KEEP));
            }
            _ if b == keys.kill => {
                total = 0;
                line.clear();
            }
            _ => {
                total += 1;
                if line.len() < KEEP {
                    line.push(b);
                }
            }
        }
    }
    Ok(finish(line, total))
}

/// The bytes of the line → the line, or why it is refused. The bytes are moved, not copied,
/// into the returned string.
fn finish(mut line: Zeroizing<Vec<u8>>, total: usize) -> Hidden {
    if total > MAX_LINE {
        return Hidden::Refused(LineProblem::TooLong(total));
    }
    match String::from_utf8(std::mem::take(&mut *line)) {
        Ok(s) => Hidden::Line(Zeroizing::new(s)),
        Err(e) => {
            // Wipe the bytes the error handed back.
            drop(Zeroizing::new(e.into_bytes()));
            Hidden::Refused(LineProblem::NotUtf8)
        }
    }
}
