//! The prompt's history file: in the platform state directory, readable by its owner only, and
//! never holding a code — `verify` lines and bare codes are stored as `verify ******`.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::domain::Code;

/// What a code becomes in the history.
pub const MASKED_VERIFY: &str = "verify ******";

/// `history` in the state directory, e.g. `~/.local/state/otpd/history`.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("history")
}

/// Creates the directory (0700) and the file (0600) if needed, and tightens an existing file's
/// mode to 0600, so rustyline never creates it with the umask's looser default.
pub fn prepare(file: &Path) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)?;
    restrict(file)
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
    Some(line.to_string())
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
            ("0044 7911 123456", Some("0044 7911 123456")),
            ("48291", Some(MASKED_VERIFY)),
            ("verify", Some(MASKED_VERIFY)),
            ("send +1 415 555 2671", Some("send +1 415 555 2671")),
            ("+1 415 555 2671", Some("+1 415 555 2671")),
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
