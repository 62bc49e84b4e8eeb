//! The files otpd creates (issue 21): each is owner-only (0600) whatever the umask it runs
//! under, and none is created through a symbolic link, which would put it, with another
//! mode, wherever the link points.

use std::io::Write;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Env, US};

const HEAD_EVERY_EVENT: &str = "[audit]\nhead_file = \"head\"\nhead_every = 1\n";

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The prompt, piped, under umask 000.
fn prompt_under_umask_000(env: &Env) -> Child {
    let mut c = env.command();
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: umask(2) is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    c.spawn().expect("spawn otpd")
}

#[test]
fn every_file_otpd_creates_is_private_even_under_umask_000() {
    let mut env = Env::with_config("[audit]\nhead_file = \"state/head\"\nhead_every = 1\n");
    env.set_env(
        "OTPD_OUTBOX",
        env.path("spool/outbox.jsonl").to_str().unwrap(),
    );
    let mut child = prompt_under_umask_000(&env);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "send {US}").unwrap();
    // While the prompt holds the database open, its -wal and -shm files exist.
    let db = env.db_path();
    let wal = db.with_file_name("otpd.db-wal");
    let shm = db.with_file_name("otpd.db-shm");
    let head = env.path("state/head");
    let outbox = env.path("spool/outbox.jsonl");
    let files = [db.clone(), wal, shm, outbox.clone(), head.clone()];
    let start = Instant::now();
    while !files.iter().all(|f| f.exists()) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not all of {files:?} appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    // The folders otpd created for them are the owner's alone too.
    for dir in [head.parent().unwrap(), outbox.parent().unwrap()] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
}

#[test]
fn a_symbolic_link_is_refused_as_the_database_and_the_head_file() {
    let env = Env::with_config(HEAD_EVERY_EVENT);
    let target = env.path("elsewhere.db");
    symlink(&target, env.db_path()).unwrap();
    let r = env.run(&["send", US]);
    assert_ne!(r.code, 0, "{r:?}");
    let errors = r.stderr.lines().filter(|l| !l.contains("warning:"));
    assert_eq!(errors.count(), 1, "{r:?}");
    assert!(r.stderr.contains("symbolic link"), "{r:?}");
    assert!(
        !target.exists(),
        "the database was created at the link's target"
    );
    // A link to a real database is refused alike.
    std::fs::remove_file(env.db_path()).unwrap();
    let real = Env::with_config(HEAD_EVERY_EVENT);
    real.run(&["status"]).ok();
    symlink(real.db_path(), env.db_path()).unwrap();
    let r = env.run(&["status"]);
    assert!(r.stderr.contains("symbolic link"), "{r:?}");

    // The head file: the send goes through, the head is not written through the link.
    let env = Env::with_config(HEAD_EVERY_EVENT);
    let head_target = env.path("head-elsewhere");
    symlink(&head_target, env.path("head")).unwrap();
    let r = env.run(&["send", US]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("symbolic link"), "{r:?}");
    assert!(
        !head_target.exists(),
        "the head file was created at the link's target"
    );
}
