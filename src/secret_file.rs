//! Opening the files that hold secrets or live codes (the master key, Twilio's secret files,
//! the outbox, the prompt's history, the audit head file) without a race: never through a symbolic link, and judged
//! on the open descriptor — a regular file owned by the user running otpd, private to them.

use std::fs::{DirBuilder, File};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};

/// Why a secret file was not used. The messages are phrases about "it" (the caller names the
/// file first) and never quote the file's contents.
/// Worded in `render::causes`.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    Symlink,
    NotRegular,
    Owner { owner: u32, me: u32, path: PathBuf },
    Loose { mode: u32, path: PathBuf },
    Io(#[from] io::Error),
}

impl SecretFileError {
    /// Nothing exists at the path (a dangling symbolic link is [`SecretFileError::Symlink`]).
    pub fn is_not_found(&self) -> bool {
        matches!(self, SecretFileError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

/// How [`open`] treats a file whose mode lets the group or others in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loose {
    Refuse,
    Repair,
}

/// What may be at the path besides a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kinds {
    RegularOnly,
    /// A named pipe of ours too: a program reading codes as they are written (the open then
    /// waits for that reader, as writing to a pipe does).
    RegularOrFifo,
}

/// Opens an existing secret file for reading. Refused: a symbolic link, anything but a regular
/// file (a FIFO would block), a file owned by another user, any group or other permission bit.
pub fn open_read(path: &Path) -> Result<File, SecretFileError> {
    open(path, OFlags::RDONLY, Loose::Refuse, Kinds::RegularOnly)
}

/// Opens a file of live codes (the outbox) for appending, creating it with mode 0600. An
/// existing file with looser bits is set to 0600; a symbolic link, another user's file or
/// anything but a regular file or a named pipe is refused.
pub fn open_append(path: &Path) -> Result<File, SecretFileError> {
    open(
        path,
        OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE,
        Loose::Repair,
        Kinds::RegularOrFifo,
    )
}

/// Like [`open_append`] for a regular file only (the audit head file: a named pipe there
/// would hold up every write of the use cases).
pub fn open_append_regular(path: &Path) -> Result<File, SecretFileError> {
    open(
        path,
        OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE,
        Loose::Repair,
        Kinds::RegularOnly,
    )
}

/// Whether `path` itself is a symbolic link (dangling or not): for files otpd hands to another
/// library to create (SQLite), which would follow it.
pub fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Like [`open_append`], for reading and rewriting a regular file in place (not appending).
pub fn open_update(path: &Path) -> Result<File, SecretFileError> {
    open(
        path,
        OFlags::RDWR | OFlags::CREATE,
        Loose::Repair,
        Kinds::RegularOnly,
    )
}

fn open(path: &Path, flags: OFlags, loose: Loose, kinds: Kinds) -> Result<File, SecretFileError> {
    // NONBLOCK: opening a FIFO must not wait for the other end when it is to be refused.
    let mut flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
    if kinds == Kinds::RegularOnly {
        flags |= OFlags::NONBLOCK;
    }
    let fd = rustix::fs::open(path, flags, Mode::from_raw_mode(0o600)).map_err(|e| {
        if e == rustix::io::Errno::LOOP {
            SecretFileError::Symlink
        } else {
            SecretFileError::Io(e.into())
        }
    })?;
    let stat = rustix::fs::fstat(&fd).map_err(io::Error::from)?;
    match (FileType::from_raw_mode(stat.st_mode), kinds) {
        (FileType::RegularFile, _) | (FileType::Fifo, Kinds::RegularOrFifo) => {}
        _ => return Err(SecretFileError::NotRegular),
    }
    let me = rustix::process::geteuid().as_raw();
    if stat.st_uid != me {
        return Err(SecretFileError::Owner {
            owner: stat.st_uid,
            me,
            path: path.to_path_buf(),
        });
    }
    let mode = stat.st_mode & 0o777;
    if mode & 0o077 != 0 {
        match loose {
            Loose::Refuse => {
                return Err(SecretFileError::Loose {
                    mode,
                    path: path.to_path_buf(),
                });
            }
            Loose::Repair => {
                rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o600)).map_err(io::Error::from)?
            }
        }
    }
    if flags.contains(OFlags::NONBLOCK) {
        // Back to blocking I/O (which a regular file ignores anyway).
        let status = rustix::fs::fcntl_getfl(&fd).map_err(io::Error::from)?;
        rustix::fs::fcntl_setfl(&fd, status - OFlags::NONBLOCK).map_err(io::Error::from)?;
    }
    Ok(File::from(fd))
}

/// Creates `dir` and its missing parents with mode 0700; existing folders are left as they are.
pub fn create_private_dirs(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Reads at most `limit` bytes of an open secret file into memory that is wiped when dropped.
pub fn read_capped(file: File, limit: u64) -> io::Result<zeroize::Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(usize::try_from(limit).unwrap_or(0)));
    file.take(limit).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn links_fifos_and_loose_files_are_refused_and_the_outbox_is_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "x").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(open_read(&real).is_ok());

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(open_read(&link), Err(SecretFileError::Symlink)));
        assert!(matches!(open_append(&link), Err(SecretFileError::Symlink)));
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("none"), &dangling).unwrap();
        assert!(matches!(
            open_read(&dangling),
            Err(SecretFileError::Symlink)
        ));
        assert!(matches!(
            open_append(&dangling),
            Err(SecretFileError::Symlink)
        ));
        assert!(!dir.path().join("none").exists());
        assert!(
            open_read(&dir.path().join("none"))
                .unwrap_err()
                .is_not_found()
        );

        assert!(matches!(
            open_read(dir.path()),
            Err(SecretFileError::NotRegular)
        ));

        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = open_read(&real).unwrap_err().to_string();
        assert!(err.contains("chmod 600") && err.contains("640"), "{err}");
        open_append(&real).unwrap();
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
