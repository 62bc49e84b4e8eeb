//! The prompt's history file: in the platform state directory, readable by its owner only, and
//! never holding a code or a full phone number — `verify` lines and bare codes are stored as
//! `verify ******`, a phone number as it is shown (`+1 •••-•••-2671`: only the challenges table
//! holds full numbers, and prune removes them; the prompt keeps the current number itself), and
//! in any other line (a typo such as `verfy 123456`) every other run of 4 or more digits is
//! masked.

use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::domain::{Code, PhoneNumber};
use crate::secret_file;

/// What a code becomes in the history.
pub const MASKED_VERIFY: &str = "verify ******";

/// `history` in the state directory, e.g. `~/.local/state/otpd/history`.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("history")
}

/// Creates the directory (0700) and the file (0600) if needed, and tightens an existing file's
/// mode to 0600, so rustyline never creates it with the umask's looser default. A link, a
/// non-regular file or another user's file is refused. Codes an older otpd left in the file
/// are masked.
pub fn prepare(file: &Path) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        secret_file::create_private_dirs(dir)?;
    }
    let mut f = secret_file::open_update(file).map_err(|e| match e {
        secret_file::SecretFileError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    })?;
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    f.read_to_end(&mut bytes)?;
    // A file that is not text is left to rustyline, which reads none of it.
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(());
    };
    let masked: String = text
        .split_inclusive('\n')
        .map(|l| match l.starts_with("#V") {
            true => l.to_string(),
            false => mask_digits(l),
        })
        .collect();
    if masked != text {
        f.set_len(0)?;
        f.rewind()?;
        f.write_all(masked.as_bytes())?;
    }
    Ok(())
}

/// Sets the file's mode to 0600 (after rustyline rewrote it).
pub fn restrict(file: &Path) -> std::io::Result<()> {
    fs::set_permissions(file, fs::Permissions::from_mode(0o600))
}

/// The form of `line` that may be stored: codes masked, blank lines dropped.
pub fn entry(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let first = line.split_whitespace().next().unwrap_or_default();
    // Anything code-like is masked, even a mistyped code, except a phone number written 00….
    let code_like =
        Code::looks_like(line) && (Code::parse(line).is_ok() || !line.starts_with("00"));
    if first.eq_ignore_ascii_case("verify") || code_like {
        return Some(MASKED_VERIFY.to_string());
    }
    Some(mask_digits(line))
}

/// `line` with every phone number masked as it is shown (`+1 •••-•••-2671`) and the digits of
/// every other run of 4 or more (digits joined by spaces or dashes, the way a code may be
/// typed) replaced by `*`.
///
/// A phone number starts at a word beginning with `+` (or `00`) and takes the following words
/// made of digits and `()-.` only as long as the whole still parses as a valid number: the
/// longest such span is the number, so `+44 7911 123456` is masked as one number while the code in
/// `+1 415 555 2671 482913` is masked. A `+` word that starts no valid number is kept alone.
pub fn mask_digits(line: &str) -> String {
    let phones = phone_spans(line);
    let mut keep = vec![false; line.len()];
    for p in &phones {
        keep[p.start..p.end].fill(true);
    }
    let bytes = line.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || keep[i] {
            i += 1;
            continue;
        }
        // A run: digits, possibly separated by spaces or dashes, none of them a phone's.
        let mut digits = Vec::new();
        let mut j = i;
        while j < bytes.len() && !keep[j] {
            if bytes[j].is_ascii_digit() {
                digits.push(j);
                j += 1;
                continue;
            }
            let mut k = j;
            while k < bytes.len() && matches!(bytes[k], b' ' | b'-') {
                k += 1;
            }
            if k > j && k < bytes.len() && bytes[k].is_ascii_digit() && !keep[k] {
                j = k;
            } else {
                break;
            }
        }
        if digits.len() >= 4 {
            for d in digits {
                out[d] = b'*';
            }
        }
        i = j;
    }
    // Only ASCII digits were replaced, by an ASCII byte: still UTF-8, at the same offsets.
    let out = String::from_utf8(out).unwrap_or_default();
    let mut masked = String::with_capacity(out.len());
    let mut at = 0;
    for p in &phones {
        masked.push_str(&out[at..p.start]);
        masked.push_str(&p.shown);
        at = p.end;
    }
    masked.push_str(&out[at..]);
    masked
}

/// A phone number's bytes in a line, and the number as it is shown (masked).
struct Span {
    start: usize,
    end: usize,
    shown: String,
}

/// The phone numbers in `line`, in order, and the `+` words that start none (kept as typed;
/// see [`mask_digits`]).
fn phone_spans(line: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let words: Vec<(usize, &str)> = line
        .split_ascii_whitespace()
        .map(|w| (w.as_ptr() as usize - line.as_ptr() as usize, w))
        .collect();
    let phone_chars = |w: &str| {
        w.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'(' | b')' | b'-' | b'.'))
    };
    let mut i = 0;
    while i < words.len() {
        let (start, first) = words[i];
        let plus = first.strip_prefix('+').is_some_and(phone_chars);
        let zeros = first.starts_with("00") && phone_chars(first);
        if !plus && !zeros {
            i += 1;
            continue;
        }
        let last = (i + 1..words.len())
            .take_while(|&j| phone_chars(words[j].1))
            .last()
            .unwrap_or(i);
        let number = (i..=last).rev().find_map(|j| {
            let end = words[j].0 + words[j].1.len();
            PhoneNumber::parse(&line[start..end])
                .ok()
                .map(|p| (j, end, p))
        });
        match number {
            Some((j, end, phone)) => {
                spans.push(Span {
                    start,
                    end,
                    shown: phone.to_string(),
                });
                i = j + 1;
            }
            None => {
                if plus {
                    let end = start + first.len();
                    spans.push(Span {
                        start,
                        end,
                        shown: line[start..end].to_string(),
                    });
                }
                i += 1;
            }
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_never_reach_the_history() {
        let cases = [
            ("verify 482913", Some(MASKED_VERIFY)),
            ("VERIFY 482 913 +1 415 555 2671", Some(MASKED_VERIFY)),
            ("482913", Some(MASKED_VERIFY)),
            ("482-913", Some(MASKED_VERIFY)),
            ("0044 7911 123456", Some("+44 •••• ••3456")),
            ("48291", Some(MASKED_VERIFY)),
            ("verify", Some(MASKED_VERIFY)),
            ("send +1 415 555 2671", Some("send +1 •••-•••-2671")),
            ("+1 415 555 2671", Some("+1 •••-•••-2671")),
            ("  status ", Some("status")),
            ("", None),
        ];
        for (line, want) in cases {
            assert_eq!(entry(line).as_deref(), want, "{line:?}");
        }
    }

    #[test]
    fn the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(&dir.path().join("state/otpd"));
        prepare(&file).unwrap();
        let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        prepare(&file).unwrap();
        let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
