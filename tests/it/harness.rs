//! The test builder: a temp home with a cheap-argon2 config, an outbox to read codes from, a
//! fixed clock passed through `OTPD_FAKE_NOW`, and helpers to run otpd and inspect the result.
//! The store is a choice ([`Store`]): the SQLite file in the temp home, or a fresh database on
//! the tests' PostgreSQL server; [`on_both_stores!`] runs one test body on each.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use chrono::{DateTime, TimeDelta, Utc};

use crate::pg_server as postgres;

/// Which store an installation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

impl Store {
    /// Whether the PostgreSQL half of a test can run (it says "SKIPPED" when not, and fails
    /// instead under `OTPD_REQUIRE_POSTGRES=1`).
    #[track_caller]
    pub fn postgres_available() -> bool {
        postgres::server_or_skip().is_some()
    }
}

/// Runs a test body once per store: `on_both_stores! { fn name(store) { … } }` makes the
/// tests `name::sqlite` and `name::postgres`; the body builds its installation with
/// `Env::new_on(store)` or `Env::with_config_on(store, …)`.
macro_rules! on_both_stores {
    ($($(#[$meta:meta])* fn $name:ident($store:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(unused_variables, unused_mut)]
            fn body($store: $crate::harness::Store) $body

            $(#[$meta])*
            #[test]
            fn sqlite() {
                body($crate::harness::Store::Sqlite)
            }

            $(#[$meta])*
            #[test]
            fn postgres() {
                if $crate::harness::Store::postgres_available() {
                    body($crate::harness::Store::Postgres)
                }
            }
        }
    )*};
}
pub(crate) use on_both_stores;

pub const US: &str = "+1 415 555 2671";
pub const US_E164: &str = "+14155552671";
pub const US2: &str = "+1 202 555 0123";
pub const US2_E164: &str = "+12025550123";
pub const UK: &str = "+44 7911 123456";
pub const UK_E164: &str = "+447911123456";

/// Cheap argon2 parameters (argon2's minimum) for most tests.
pub const CHEAP_HASHING: &str = "[hashing]\nmemory_kib = 8\niterations = 1\nparallelism = 1\n";

/// One isolated otpd installation.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub station: String,
    now: Option<DateTime<Utc>>,
    extra_env: Vec<(String, String)>,
    /// The PostgreSQL database of this installation (`None`: SQLite).
    pg_database: Option<String>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let (Some(name), Ok(server)) = (&self.pg_database, postgres::server()) {
            server.drop_database(name);
        }
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// The single JSON object on stdout.
    pub fn json(&self) -> serde_json::Value {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "expected one JSON line, got: {self:?}");
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    pub fn outcome(&self) -> String {
        self.json()["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }
}

impl Env {
    /// A fresh installation with cheap hashing and outbox delivery, at a fixed time.
    pub fn new() -> Env {
        Env::with_config("")
    }

    /// Like [`Env::new`], with extra TOML appended to the config (sections may repeat none of
    /// `[hashing]` / `[delivery]` unless `with_raw_config` is used).
    pub fn with_config(extra: &str) -> Env {
        let env = Env::bare();
        env.write_config(&format!("{CHEAP_HASHING}{extra}"));
        env
    }

    /// An installation whose config file is exactly `toml`.
    pub fn with_raw_config(toml: &str) -> Env {
        let env = Env::bare();
        env.write_config(toml);
        env
    }

    fn bare() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
            station: "desk-1".into(),
            now: Some(
                DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
            ),
            extra_env: Vec::new(),
            pg_database: None,
        }
    }

    /// [`Env::new`] on `store`.
    pub fn new_on(store: Store) -> Env {
        Env::with_config_on(store, "")
    }

    /// [`Env::with_config`] on `store`.
    pub fn with_config_on(store: Store, extra: &str) -> Env {
        let mut env = Env::with_config(extra);
        env.use_store(store);
        env
    }

    /// [`Env::with_raw_config`] on `store`.
    pub fn with_raw_config_on(store: Store, toml: &str) -> Env {
        let mut env = Env::with_raw_config(toml);
        env.use_store(store);
        env
    }

    fn use_store(&mut self, store: Store) {
        if store == Store::Postgres {
            let server = postgres::server().expect("PostgreSQL (check Store::postgres_available)");
            self.pg_database = Some(server.fresh_database());
        }
    }

    /// The store this installation uses.
    pub fn store(&self) -> Store {
        match self.pg_database {
            Some(_) => Store::Postgres,
            None => Store::Sqlite,
        }
    }

    /// The PostgreSQL database's name (panics on SQLite).
    pub fn pg_database(&self) -> &str {
        self.pg_database
            .as_deref()
            .expect("a PostgreSQL installation")
    }

    /// What `OTPD_DB` holds: the SQLite file, or the PostgreSQL URL.
    pub fn db_value(&self) -> std::ffi::OsString {
        match &self.pg_database {
            Some(name) => postgres::server().expect("PostgreSQL").url(name).into(),
            None => self.db_path().into(),
        }
    }

    /// The first column of the first row of `sql` as an integer, on either store (plain SQL,
    /// no parameters; an integer or `count(*)`).
    pub fn query_i64(&self, sql: &str) -> i64 {
        match &self.pg_database {
            Some(name) => {
                let mut c = postgres::server().expect("PostgreSQL").connect(name);
                let row = c
                    .query_one(sql, &[])
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                row.try_get::<_, i64>(0)
                    .or_else(|_| row.try_get::<_, i32>(0).map(i64::from))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            None => self
                .db()
                .query_row(sql, [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// The first column of every row of `sql` as text, on either store.
    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        match &self.pg_database {
            Some(name) => {
                let mut c = postgres::server().expect("PostgreSQL").connect(name);
                c.query(sql, &[])
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .iter()
                    .map(|r| r.get(0))
                    .collect()
            }
            None => {
                let db = self.db();
                let mut stmt = db.prepare(sql).unwrap();
                stmt.query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
        }
    }

    /// Runs `sql` (statements without results) on either store, outside otpd.
    pub fn execute(&self, sql: &str) {
        match &self.pg_database {
            Some(name) => postgres::server()
                .expect("PostgreSQL")
                .connect(name)
                .batch_execute(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            None => rusqlite::Connection::open(self.db_path())
                .unwrap()
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    pub fn write_config(&self, toml: &str) {
        std::fs::write(self.config_path(), toml).unwrap();
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn config_path(&self) -> PathBuf {
        self.path("otpd.toml")
    }
    pub fn db_path(&self) -> PathBuf {
        self.path("otpd.db")
    }
    pub fn outbox_path(&self) -> PathBuf {
        self.path("outbox.jsonl")
    }
    pub fn secret_path(&self) -> PathBuf {
        self.path("secret.key")
    }
    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now.expect("clock set")
    }

    /// The fixed clock, or `None` on the real one (what `OTPD_FAKE_NOW` is set to).
    pub fn fake_now(&self) -> Option<DateTime<Utc>> {
        self.now
    }

    /// Moves the injected clock forward.
    pub fn advance(&mut self, seconds: i64) {
        self.now = Some(self.now() + TimeDelta::seconds(seconds));
    }

    /// Use the real clock.
    pub fn real_clock(&mut self) {
        self.now = None;
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.into(), value.into()));
    }

    pub fn station(&mut self, name: &str) -> &mut Self {
        self.station = name.into();
        self
    }

    /// The binary with a scrubbed environment pointing at this installation.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_otpd"));
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("XDG_DATA_HOME", self.home().join(".local/share"))
            .env("XDG_STATE_HOME", self.home().join(".local/state"))
            .env("NO_COLOR", "1")
            .env("TZ", "UTC")
            .env("OTPD_CONFIG", self.config_path())
            .env("OTPD_DB", self.db_value())
            .env("OTPD_DELIVERY", "outbox")
            .env("OTPD_OUTBOX", self.outbox_path())
            .env("OTPD_SECRET_FILE", self.secret_path())
            .env("OTPD_STATION", &self.station)
            .stdin(Stdio::null());
        if let Some(now) = self.now {
            c.env("OTPD_FAKE_NOW", now.to_rfc3339());
        }
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    /// Runs otpd with `args` (each word one argument).
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().expect("spawn otpd"))
    }

    /// Runs otpd with the words of `line` as arguments (split on spaces).
    pub fn sh(&self, line: &str) -> Run {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.run(&args)
    }

    /// Every message in the outbox, oldest first.
    pub fn outbox(&self) -> Vec<serde_json::Value> {
        match std::fs::read_to_string(self.outbox_path()) {
            Ok(text) => text
                .lines()
                .map(|l| serde_json::from_str(l).expect("outbox line is JSON"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The newest code delivered to `e164`.
    #[track_caller]
    pub fn last_code(&self, e164: &str) -> String {
        self.outbox()
            .iter()
            .rev()
            .find(|m| m["to"] == e164)
            .and_then(|m| m["code"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no code for {e164} in the outbox"))
    }

    /// A read-only connection to the database, for assertions on rows.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open db")
    }

    /// The audit events' names, oldest first.
    pub fn audit_events(&self) -> Vec<String> {
        self.query_strings("SELECT event FROM audit_events ORDER BY id")
    }

    /// A code that is certainly not the one delivered to `e164`.
    pub fn wrong_code(&self, e164: &str) -> String {
        let right = self.last_code(e164);
        let first = right.as_bytes()[0];
        let flipped = if first == b'9' {
            '0'
        } else {
            char::from(first + 1)
        };
        format!("{flipped}{}", &right[1..])
    }
}

/// Reads every file under `dir` (database, WAL, outbox…) as bytes.
pub fn all_bytes_under(dir: &Path, skip: &[&Path]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if skip.iter().any(|s| *s == p) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

impl Env {
    /// The command of [`Env::command`] for a pseudo-terminal: same program and environment, but
    /// stdin left alone (the pty provides it) and a terminal type rustyline knows.
    pub fn pty_command(&self, args: &[&str]) -> Command {
        let base = self.command();
        let mut c = Command::new(base.get_program());
        c.env_clear();
        for (k, v) in base.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        c.env("TERM", "xterm").args(args);
        c
    }

    /// Runs otpd with `args` and `input` piped to its stdin.
    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn otpd");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait for otpd");
        let _ = writer.join();
        Run::from(out)
    }
}

impl Run {
    /// Every stdout line as JSON (for the JSON-lines protocol).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
            .collect()
    }
}

/// Polls `condition` (a state of the database server, not the passing of time) for up to
/// 20 seconds.
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
