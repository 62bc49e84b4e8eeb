//! The master secret's file: read it, or create it once when it is missing, without following
//! links, owner-only, and written whole before anyone can read it (two processes starting at
//! once agree on one key).

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use zeroize::Zeroizing;

use super::{MIN_SECRET_LEN, SecretError, getrandom_fill};
use crate::secret_file;

/// How many times key loading may find the file missing, then lose the race to create it
/// (another process created it, or something keeps replacing it) before giving up.
const KEY_FILE_ATTEMPTS: u32 = 5;

/// The largest key file read (a key is 64 hex characters).
const KEY_FILE_MAX: u64 = 4096;

pub(super) fn read_or_create_key_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    let unsafe_file = |problem| SecretError::Unsafe {
        path: path.to_path_buf(),
        problem,
    };
    for _ in 0..KEY_FILE_ATTEMPTS {
        match secret_file::open_read(path) {
            Ok(file) => return read_key_file(path, file),
            Err(e) if e.is_not_found() => {
                if let Some(key) = create_key_file(path)? {
                    return Ok(key);
                }
                // Another process created it first: read theirs.
            }
            Err(e) => return Err(unsafe_file(e)),
        }
    }
    Err(SecretError::Unstable {
        path: path.to_path_buf(),
        attempts: KEY_FILE_ATTEMPTS,
    })
}

fn read_key_file(path: &Path, file: fs::File) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    let buf = secret_file::read_capped(file, KEY_FILE_MAX).map_err(|source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let trimmed = Zeroizing::new(buf.trim_ascii().to_vec());
    if trimmed.len() < MIN_SECRET_LEN {
        return Err(SecretError::FileTooShort(path.to_path_buf()));
    }
    Ok(trimmed)
}

/// `otpd init`: writes a new master secret at `path` (private directories, mode 0600);
/// `false` when a file is already there, which is never touched.
pub fn create_master_secret(path: &Path) -> Result<bool, SecretError> {
    Ok(create_key_file(path)?.is_some())
}

/// Writes a new random key at `path`; `None` if a file appeared there first.
fn create_key_file(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, SecretError> {
    let io = |source| SecretError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        secret_file::create_private_dirs(dir).map_err(io)?;
    }
    let mut raw = Zeroizing::new([0u8; 32]);
    getrandom_fill(raw.as_mut_slice());
    let encoded = Zeroizing::new(hex::encode(raw.as_slice()));
    // Written whole under a private name, then linked into place: link(2) fails if the name
    // exists (even as a dangling symbolic link), so exactly one process's key wins, and nobody
    // ever reads a key file that is still being written (which `create_new` + write allowed:
    // a second process starting at the same moment found it empty and refused to start).
    let mut suffix = [0u8; 8];
    getrandom_fill(&mut suffix);
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".new-{}", hex::encode(suffix)));
    let tmp = path.with_file_name(tmp_name);
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(encoded.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()
        });
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = fs::File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(Some(Zeroizing::new(encoded.as_bytes().to_vec())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(io(e)),
    }
}
