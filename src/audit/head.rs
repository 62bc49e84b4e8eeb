//! Copies of the chain's head kept outside the database. Every `head_every` events otpd
//! appends `ID:MAC TIME` to `[audit] head_file`, so deleting the newest rows (which leaves a
//! shorter but internally valid chain) shows up in `audit verify`, which consults that file
//! whenever it exists (`--no-head-file` opts out).
//!
//! Where: after the use case has committed, never inside the write transaction (a slow disk
//! must not hold the database lock, and a rolled-back transaction must not leave a head that
//! never existed). How every multiple of N is caught even with many processes: each command
//! notes the head id before it runs and again after; the process whose events crossed a
//! multiple of N writes the head it then sees (itself or later, never earlier).

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::args::VerifyArgs;
use crate::config::AuditConfig;
use crate::error::Usage;
use crate::store::Backend;

/// A head recorded earlier (`audit head`, the head file): row `id` had MAC `mac`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub id: i64,
    pub mac: String,
}

impl Head {
    /// Parses `ID:MAC` (as printed by `audit head`; a trailing time is ignored).
    pub fn parse(s: &str) -> Result<Head, Usage> {
        let first = s.split_whitespace().next().unwrap_or_default();
        let bad = || Usage::NotAHead {
            given: s.to_string(),
        };
        let (id, mac) = first.split_once(':').ok_or_else(bad)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        let mac = mac.to_ascii_lowercase();
        if id < 1 || mac.len() != 64 || !mac.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Head { id, mac })
    }
}

/// Whether this process could write the head file: the file if it exists, else the nearest
/// folder that does (the missing ones would be created there). Checked by `otpd serve` at
/// start-up, so a sandbox that hides the file is said at once, not after rows went missing.
pub fn writable(path: &Path) -> bool {
    let mut at = Some(path);
    while let Some(p) = at {
        if p.exists() {
            // A file where a folder must be cannot hold the head file under it.
            let fits = p == path || p.is_dir();
            return fits && rustix::fs::access(p, rustix::fs::Access::WRITE_OK).is_ok();
        }
        at = p.parent().filter(|d| !d.as_os_str().is_empty());
    }
    false
}

/// The head id seen before a command ran; `None` when the head file is disabled.
#[derive(Debug, Clone, Copy)]
pub struct Watch(i64);

/// Notes the head id before a command.
pub fn watch(store: &mut dyn Backend, cfg: &AuditConfig) -> Option<Watch> {
    if cfg.head_every == 0 {
        return None;
    }
    store.snapshot(|tx| tx.audit_head_id()).ok().map(Watch)
}

/// After a command: if the head crossed a multiple of `head_every`, append it to the head file.
/// Returns a warning to show when the file cannot be written (the command itself succeeded).
pub fn checkpoint(
    store: &mut dyn Backend,
    cfg: &AuditConfig,
    watch: Option<Watch>,
    now: DateTime<Utc>,
) -> Option<String> {
    let Watch(before) = watch?;
    let every = i64::from(cfg.head_every);
    let (id, mac) = match store.snapshot(|tx| tx.audit_head()) {
        Ok(Some(h)) => h,
        _ => return None,
    };
    if id / every <= before / every {
        return None;
    }
    // The MAC is read from the database: whatever it holds is sanitised before the file sees it.
    let mac = crate::sanitize::sanitize(&mac);
    append(&cfg.head_file, &Head { id, mac }, now)
        .err()
        .map(|e| {
            format!(
                "warning: could not record the audit head in {}: {e}",
                cfg.head_file.display()
            )
        })
}

/// Appends one `ID:MAC TIME` line (one `write`, so concurrent appends do not interleave).
pub fn append(path: &Path, head: &Head, now: DateTime<Utc>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        crate::secret_file::create_private_dirs(dir)?;
    }
    let line = format!(
        "{}:{} {}\n",
        head.id,
        head.mac,
        now.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    // Owner-only whatever the umask (looser bits are repaired), never through a link.
    let mut f = crate::secret_file::open_append_regular(path).map_err(|e| match e {
        crate::secret_file::SecretFileError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    })?;
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

/// Where the head `audit verify` checked against came from, when a head file was involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadFile {
    /// The newest head in this file was used.
    Consulted(PathBuf),
    /// The configured head file does not exist (yet): the tail is not checked.
    Missing(PathBuf),
}

/// The head `audit verify` checks against: `--head`, `--head-file [PATH]`, or by default the
/// configured head file whenever it exists (unless `--no-head-file`). A head file that exists
/// but cannot be read, or holds no head, is an error: silently skipping it would hide a
/// truncation.
pub fn for_verify(
    v: &VerifyArgs,
    cfg: &AuditConfig,
) -> Result<(Option<Head>, Option<HeadFile>), Usage> {
    if let Some(h) = &v.head {
        return Ok((Some(Head::parse(h)?), None));
    }
    if v.no_head_file {
        return Ok((None, None));
    }
    let (path, explicit) = match &v.head_file {
        Some(p) => (p.as_ref().unwrap_or(&cfg.head_file), true),
        None => (&cfg.head_file, false),
    };
    let exists = std::fs::symlink_metadata(path).is_ok();
    if !explicit && !exists {
        let missing = (cfg.head_every > 0).then(|| HeadFile::Missing(path.clone()));
        return Ok((None, missing));
    }
    Ok((
        Some(read_last(path)?),
        Some(HeadFile::Consulted(path.clone())),
    ))
}

/// The newest head recorded in a head file: its last well-formed line.
pub fn read_last(path: &Path) -> Result<Head, Usage> {
    let text = std::fs::read_to_string(path).map_err(|source| Usage::HeadFileUnreadable {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .rev()
        .find_map(|l| Head::parse(l).ok())
        .ok_or_else(|| Usage::HeadFileEmpty {
            path: path.to_path_buf(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_lines_and_reads_back_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/heads.log");
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(read_last(&path).is_err());
        append(
            &path,
            &Head {
                id: 100,
                mac: "a".repeat(64),
            },
            now,
        )
        .unwrap();
        append(
            &path,
            &Head {
                id: 200,
                mac: "b".repeat(64),
            },
            now,
        )
        .unwrap();
        let h = read_last(&path).unwrap();
        assert_eq!((h.id, h.mac), (200, "b".repeat(64)));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(&format!("100:{} 2027-01-15T08:00:00Z\n", "a".repeat(64))),
            "{text}"
        );
    }

    /// Appends `n` audit rows to `store`.
    fn append_rows(
        store: &mut crate::store::sqlite::SqliteStore,
        secrets: &crate::crypto::Secrets,
        n: usize,
    ) {
        use crate::store::audit::{Event, NewEvent};
        let backend: &mut dyn Backend = store;
        backend
            .transaction(|tx| {
                for _ in 0..n {
                    tx.append_event(
                        secrets,
                        &NewEvent {
                            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
                            station: "desk",
                            event: Event::Sent,
                            phone: None,
                            challenge_id: None,
                            detail: String::new(),
                        },
                    )?;
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn a_head_is_written_only_when_a_command_crosses_a_multiple_of_head_every() {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            crate::store::sqlite::SqliteStore::open(&dir.path().join("otpd.db")).unwrap();
        let secrets = crate::crypto::Secrets::from_master(b"0123456789abcdef0123456789abcdef-test");
        let cfg = AuditConfig {
            head_file: dir.path().join("heads.log"),
            head_every: 5,
            retention_days: None,
        };
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        append_rows(&mut store, &secrets, 6);
        // 6 → 9: no multiple of 5 crossed, nothing written.
        let w = watch(&mut store, &cfg);
        append_rows(&mut store, &secrets, 3);
        assert_eq!(checkpoint(&mut store, &cfg, w, now), None);
        assert!(!cfg.head_file.exists());
        // 9 → 11: 10 crossed, the head then seen (11) written.
        let w = watch(&mut store, &cfg);
        append_rows(&mut store, &secrets, 2);
        assert_eq!(checkpoint(&mut store, &cfg, w, now), None);
        assert_eq!(read_last(&cfg.head_file).unwrap().id, 11);
    }
}
