//! What SQLite's errors and the file system mean for the person running otpd: the database's
//! file and folder are created private before SQLite opens them, and an error code becomes the
//! [`StoreError`] that says what to fix (a full disk, a read-only folder, a busy database…).

use std::path::Path;

use rusqlite::ErrorCode;

use crate::store::{BUSY_TIMEOUT_MS, StoreError};

impl StoreError {
    pub(crate) fn from_sqlite(path: &Path, e: &rusqlite::Error) -> Self {
        let path = path.to_path_buf();
        let detail = e.to_string();
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                StoreError::Corrupt { path, detail }
            }
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { path },
            Some(ErrorCode::DiskFull) => StoreError::Full { path },
            // SQLite reports a full disk met while growing the WAL index (`-shm`) as a plain
            // I/O error, and a folder it cannot create the `-wal` in as "unable to open":
            // ask the file system which it was, so the message says what to fix.
            Some(ErrorCode::SystemIoFailure) if no_space_left(&path) => StoreError::Full { path },
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) if read_only(&path) => {
                StoreError::ReadOnly { path }
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
                path,
                why: format!("another terminal's transaction held it for {BUSY_TIMEOUT_MS} ms"),
            },
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
                StoreError::Open { path, detail }
            }
            _ => StoreError::Other { path, detail },
        }
    }
}

/// The folder that holds `path` (where SQLite creates its `-wal` and `-shm` files).
fn folder(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Whether the database file or its folder cannot be written (read-only mount or permissions).
fn read_only(path: &Path) -> bool {
    use rustix::fs::{Access, access};
    let denied =
        |p: &Path| access(p, Access::WRITE_OK).is_err_and(|e| e != rustix::io::Errno::NOENT);
    denied(folder(path)) || denied(path)
}

/// Whether the file system holding `path` has (next to) no space left for unprivileged writes.
fn no_space_left(path: &Path) -> bool {
    rustix::fs::statvfs(folder(path))
        .is_ok_and(|s| s.f_bavail.saturating_mul(s.f_frsize) < 64 * 1024)
}

/// Creates a missing database folder (mode 0700) and file (mode 0600) before SQLite does, so
/// the phone numbers in it — and the WAL and shared-memory files, which SQLite gives the
/// database file's mode — are readable by their owner only. Existing files are left as they are.
/// A symbolic link at the path is refused: SQLite would follow it, and create the file at its
/// target with its own mode (0644) where `create_new` here had refused to.
pub(super) fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let fail = |what: String, e: std::io::Error| StoreError::Open {
        path: path.to_path_buf(),
        detail: format!("{what}: {e}"),
    };
    if crate::secret_file::is_symlink(path) {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            detail: "it is a symbolic link, which otpd does not follow for its database: name the file itself".into(),
        });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail(format!("cannot create the folder {}", dir.display()), e))?;
    }
    // Already there (or just created by another process), or not creatable (a read-only
    // folder…): SQLite opens it or reports the problem in its own words.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    Ok(())
}
