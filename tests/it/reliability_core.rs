//! Proof that the core holds under pressure — the one-shot commands (send, verify, resend,
//! cancel, status), each its own process: racing terminals, crashes, damaged storage, hostile
//! input, secret hygiene and signals — each claim a test that can fail. The front-ends built on
//! the core (prompt, kiosk, Twilio, audit review, limits) are in `reliability_front_ends.rs`,
//! which reuses the shared checks defined here.
//!
//! Every scenario runs twice: a short variant in plain `cargo test` (CI: 2 cores, seconds), and a
//! long variant behind `#[ignore]`, run with
//!
//! ```text
//! cargo test --release --test it -- --ignored reliability
//! ```
//!
//! The scenarios are sized by a [`Scale`]; the shared checks ([`assert_consistent`],
//! [`verify_chain`]) are what every later feature (prompt, Twilio, audit, limits) should call
//! after its own crash or race scenario. Tests never sleep to wait for otpd; the only sleeps are
//! the seeded random delays before a deliberate kill.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use otpd::crypto::Secrets;
use otpd::store::audit::{GENESIS_MAC, row_mac};
use otpd::store::sqlite::audit::rows_after;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::harness::*;

/// How hard a run pushes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    /// Processes started at once in a race.
    pub(crate) racers: usize,
    /// Independent rounds of each race.
    pub(crate) rounds: usize,
    /// SIGKILL cycles.
    pub(crate) crash_cycles: usize,
    /// SIGTERM cycles.
    pub(crate) term_cycles: usize,
    /// Generated strings per property.
    pub(crate) strings: u32,
}

pub(crate) const SHORT: Scale = Scale {
    racers: 16,
    rounds: 3,
    crash_cycles: 20,
    term_cycles: 5,
    strings: 2_000,
};

pub(crate) const LONG: Scale = Scale {
    racers: 64,
    rounds: 20,
    crash_cycles: 200,
    term_cycles: 50,
    strings: 100_000,
};

/// The seed of every random choice, so a failing cycle can be replayed; override with
/// `OTPD_TEST_SEED`.
pub(crate) fn seed() -> u64 {
    std::env::var("OTPD_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x07bd_2026)
}

// ---------------------------------------------------------------------------------------------
// Shared checks
// ---------------------------------------------------------------------------------------------

/// The secrets an [`Env`] runs with: `OTPD_SECRET` if given, else its key file.
pub(crate) fn env_secrets(env: &Env, env_secret: Option<&str>) -> Secrets {
    Secrets::load(env_secret, &env.secret_path()).expect("load the test's secrets")
}

/// A read-write connection: like the next otpd process, it recovers a WAL left by a killed one.
pub(crate) fn open_rw(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(db).expect("open db");
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c
}

/// Walks the whole audit chain with the library's own MAC and returns how many rows it has.
/// Fails on a gap in the ids, a `prev_mac` that is not the previous row's MAC, or a wrong MAC.
#[track_caller]
pub(crate) fn verify_chain(db: &Path, secrets: &Secrets) -> usize {
    let c = open_rw(db);
    let mut prev = GENESIS_MAC.to_string();
    let mut after = 0i64;
    let mut count = 0usize;
    loop {
        let rows = rows_after(&c, after, 1000).expect("read audit rows");
        if rows.is_empty() {
            break;
        }
        for row in rows {
            assert_eq!(row.id, after + 1, "gap in the audit ids before {}", row.id);
            assert_eq!(row.prev_mac, prev, "row {} does not chain", row.id);
            assert_eq!(
                row.mac,
                row_mac(secrets, &prev, &row),
                "row {} has a wrong MAC",
                row.id
            );
            prev = row.mac.clone();
            after = row.id;
            count += 1;
        }
    }
    count
}

/// Everything that must hold after any crash, race or signal: the file is sound, no code was
/// accepted twice, no budget was overrun, and the audit chain verifies.
#[track_caller]
pub(crate) fn assert_consistent(env: &Env, env_secret: Option<&str>) {
    if env.db_path().exists() {
        assert_consistent_db(&env.db_path(), &env_secrets(env, env_secret));
    }
}

/// [`assert_consistent`] for a database at any path.
#[track_caller]
pub(crate) fn assert_consistent_db(db: &Path, secrets: &Secrets) {
    let c = open_rw(db);
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let tables: i64 = c
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('challenges', 'audit_events')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if tables < 2 {
        // Killed before the first migration committed: nothing to check yet.
        return;
    }
    check_rows(&c);
    drop(c);
    verify_chain(db, secrets);
}

/// The row-level invariants of [`assert_consistent`].
#[track_caller]
fn check_rows(c: &rusqlite::Connection) {
    let q = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        q("SELECT count(*) FROM challenges WHERE attempts > max_attempts"),
        0,
        "an attempt counter exceeds its budget"
    );
    assert_eq!(
        q("SELECT count(*) FROM challenges WHERE (state = 'approved') <> (used_at IS NOT NULL)"),
        0,
        "state and used_at disagree"
    );
    // At most one `approved` event per verification, and exactly the approved ones have one.
    let mut stmt = c
        .prepare(
            "SELECT challenge_id, count(*) FROM audit_events WHERE event = 'approved'
             GROUP BY challenge_id",
        )
        .unwrap();
    let audited: BTreeMap<i64, i64> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, n) in &audited {
        assert_eq!(*n, 1, "challenge {id} was approved {n} times");
    }
    let mut stmt = c
        .prepare("SELECT id FROM challenges WHERE state = 'approved'")
        .unwrap();
    let approved: BTreeSet<i64> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let audited_ids: BTreeSet<i64> = audited.keys().copied().collect();
    assert_eq!(
        approved, audited_ids,
        "approved challenges and approved audit rows differ"
    );
}

/// The lines of `text` that are not the cheap-hashing warning every test config triggers.
pub(crate) fn error_lines(text: &str) -> Vec<&str> {
    text.trim()
        .lines()
        .filter(|l| !l.starts_with("otpd: warning: argon2id parameters"))
        .collect()
}

/// The number of audit rows with this event name.
pub(crate) fn count_events(env: &Env, event: &str) -> i64 {
    count_events_at(&env.db_path(), event)
}

pub(crate) fn count_events_at(db: &Path, event: &str) -> i64 {
    open_rw(db)
        .query_row(
            "SELECT count(*) FROM audit_events WHERE event = ?1",
            [event],
            |r| r.get(0),
        )
        .unwrap()
}

/// Starts `n` copies of otpd with `args` as close together as possible and collects them.
pub(crate) fn race(env: &Env, n: usize, args: &[&str]) -> Vec<Run> {
    let children: Vec<Child> = (0..n)
        .map(|_| {
            env.command()
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn otpd")
        })
        .collect();
    children.into_iter().map(finish).collect()
}

pub(crate) fn finish(c: Child) -> Run {
    to_run(c.wait_with_output().expect("wait for otpd"))
}

pub(crate) fn to_run(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Outcome name → how many runs had it. Every run must have printed exactly one JSON object
/// and nothing on stderr (no "database is locked", no busy error).
#[track_caller]
fn tally(runs: &[Run]) -> BTreeMap<String, usize> {
    let mut t = BTreeMap::new();
    for r in runs {
        assert!(
            error_lines(&r.stderr).is_empty(),
            "stderr must stay empty: {r:?}"
        );
        *t.entry(r.outcome()).or_insert(0) += 1;
    }
    t
}

// ---------------------------------------------------------------------------------------------
// 1. Races
// ---------------------------------------------------------------------------------------------

/// N processes verify the same right code: one approves, every other sees `already_used`.
fn races_right_code(s: Scale) {
    for round in 0..s.rounds {
        let env = Env::with_config("[policy]\nmax_attempts = 100\n");
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        let runs = race(&env, s.racers, &["verify", "--json", &code, "--phone", US]);
        let t = tally(&runs);
        assert_eq!(t.get("approved"), Some(&1), "round {round}: {t:?}");
        assert_eq!(
            t.get("already_used"),
            Some(&(s.racers - 1)),
            "round {round}: {t:?}"
        );
        assert_eq!(count_events(&env, "approved"), 1);
        assert_eq!(count_events(&env, "already_used"), s.racers as i64 - 1);
        assert_consistent(&env, None);
    }
}

/// With the default budget of 5 the losers may also find the verification locked.
fn races_right_code_default_budget(s: Scale) {
    for round in 0..s.rounds {
        let env = Env::new();
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        let runs = race(&env, s.racers, &["verify", "--json", &code, "--phone", US]);
        let t = tally(&runs);
        assert_eq!(t.get("approved"), Some(&1), "round {round}: {t:?}");
        let others: usize = t
            .iter()
            .filter(|(k, _)| *k == "already_used" || *k == "locked")
            .map(|(_, v)| v)
            .sum();
        assert_eq!(others, s.racers - 1, "round {round}: {t:?}");
        assert_consistent(&env, None);
    }
}

/// N processes send wrong codes: exactly the budget is spent and hashed, the rest are locked
/// without a hash (one `invalid` audit row per hash computed).
fn races_wrong_codes(s: Scale) {
    for round in 0..s.rounds {
        let env = Env::new();
        env.run(&["send", US]).ok();
        let wrong = env.wrong_code(US_E164);
        let runs = race(&env, s.racers, &["verify", "--json", &wrong, "--phone", US]);
        let t = tally(&runs);
        let budget = 5usize;
        assert_eq!(t.get("invalid"), Some(&budget), "round {round}: {t:?}");
        assert_eq!(
            t.get("locked"),
            Some(&(s.racers - budget)),
            "round {round}: {t:?}"
        );
        let attempts: i64 = env
            .db()
            .query_row("SELECT attempts FROM challenges", [], |r| r.get(0))
            .unwrap();
        assert_eq!(attempts, budget as i64, "round {round}");
        assert_eq!(
            count_events(&env, "invalid"),
            budget as i64,
            "round {round}"
        );
        assert_consistent(&env, None);
    }
}

#[test]
fn races_one_right_code_many_processes_approve_exactly_once() {
    races_right_code(SHORT);
}

#[test]
fn races_one_right_code_with_the_default_budget_approves_once_then_used_or_locked() {
    races_right_code_default_budget(SHORT);
}

#[test]
fn races_wrong_codes_spend_exactly_the_budget_and_hash_no_more() {
    races_wrong_codes(SHORT);
}

#[test]
#[ignore = "long: cargo test --release --test it -- --ignored reliability"]
fn long_races() {
    races_right_code(LONG);
    races_right_code_default_budget(LONG);
    races_wrong_codes(LONG);
}

// ---------------------------------------------------------------------------------------------
// 2. Crashes (SIGKILL) and 6. signals (SIGTERM)
// ---------------------------------------------------------------------------------------------

/// Enough argon2 work that a kill can land during the hash, not only around it.
const KILL_CONFIG: &str = "[hashing]\nmemory_kib = 4096\niterations = 2\nparallelism = 1\n\
     [policy]\nresend_cooldown_seconds = 0\n\
     [limits]\nper_number_per_hour = 1000000\nper_number_per_day = 1000000\n\
     per_prefix_per_hour = 1000000\nper_station_per_hour = 1000000\nglobal_per_hour = 1000000\n\
     min_conversion = 0\n";

const PHONES: [(&str, &str); 3] = [(US, US_E164), (US2, US2_E164), (UK, UK_E164)];

/// One random piece of work for a crash cycle: the words of a one-shot command, or (about one
/// job in four) a prompt reading a short `--json` script from a pipe, killed mid-script.
struct Job {
    args: Vec<String>,
    script: Option<String>,
}

/// One random command in prompt syntax (`verify CODE PHONE`), and its one-shot words.
fn random_words(env: &Env, rng: &mut StdRng) -> Vec<String> {
    let (phone, e164) = PHONES[rng.random_range(0..PHONES.len())];
    let code = env
        .outbox()
        .iter()
        .rev()
        .find(|m| m["to"] == e164)
        .and_then(|m| m["code"].as_str().map(str::to_string));
    let words: Vec<&str> = match (rng.random_range(0..10u8), &code) {
        (0..=2, _) | (_, None) => vec!["send", phone],
        (3..=5, Some(c)) => vec!["verify", c, "--phone", phone],
        (6..=7, Some(_)) => vec!["verify", "000000", "--phone", phone],
        (8, _) => vec!["resend", phone],
        _ => vec!["cancel", phone],
    };
    words.iter().map(|w| w.to_string()).collect()
}

fn random_job(env: &Env, rng: &mut StdRng) -> Job {
    if rng.random_range(0..4u8) == 0 {
        let mut script = String::new();
        for _ in 0..rng.random_range(2..=4u8) {
            let line = random_words(env, rng).join(" ").replace(" --phone", "");
            script.push_str(&line);
            script.push('\n');
        }
        return Job {
            args: vec!["--json".into()],
            script: Some(script),
        };
    }
    let mut args = vec!["--json".to_string()];
    args.extend(random_words(env, rng));
    Job { args, script: None }
}

/// How long one uncontended verify takes here (debug or release), so kill delays spread over
/// the whole life of a process.
fn typical_run(env: &Env) -> Duration {
    env.run(&["send", US]).ok();
    let code = env.last_code(US_E164);
    let start = Instant::now();
    env.run(&["verify", &code, "--phone", US]).ok();
    start.elapsed()
}

/// Starts a few jobs at once, kills them at a seeded random moment, then checks everything.
fn kill_cycles(cycles: usize, signal: i32, seed: u64) {
    let mut env = Env::with_raw_config(KILL_CONFIG);
    let life = typical_run(&env);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut killed_mid_run = 0usize;
    let mut scale = 1.0f64;
    let mut started = 0usize;
    let mut approved_total = 0i64;
    let mut repl_jobs = 0usize;
    let mut repl_killed = 0usize;
    for cycle in 0..cycles {
        env.advance(31);
        let before_approved = if env.db_path().exists() {
            count_events(&env, "approved")
        } else {
            0
        };
        let before_delivered = count_events(&env, "delivered");
        let jobs = if signal == libc::SIGKILL {
            rng.random_range(1..=3usize)
        } else {
            1
        };
        let mut is_prompt: Vec<bool> = Vec::new();
        let children: Vec<Child> = (0..jobs)
            .map(|_| {
                let job = if signal == libc::SIGKILL {
                    random_job(&env, &mut rng)
                } else {
                    // SIGTERM: always a verify of the right, fresh code, caught mid-flight.
                    let (phone, e164) = PHONES[rng.random_range(0..PHONES.len())];
                    env.run(&["send", phone]).ok();
                    let code = env.last_code(e164);
                    Job {
                        args: ["--json", "verify", &code, "--phone", phone]
                            .map(String::from)
                            .to_vec(),
                        script: None,
                    }
                };
                let mut cmd = env.command();
                cmd.args(&job.args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                is_prompt.push(job.script.is_some());
                if job.script.is_some() {
                    cmd.stdin(Stdio::piped());
                    repl_jobs += 1;
                }
                let mut child = cmd.spawn().expect("spawn otpd");
                if let (Some(script), Some(mut stdin)) = (job.script, child.stdin.take()) {
                    use std::io::Write;
                    // A few short lines fit the pipe's buffer; closing it lets the prompt end
                    // at EOF if the kill comes late.
                    let _ = stdin.write_all(script.as_bytes());
                }
                child
            })
            .collect();
        started += children.len();
        // Concurrent runs share the cores, so the window grows with the number of jobs; `scale`
        // follows the machine's load so kills keep landing both mid-run and after the end.
        let delay = life.mul_f64(scale * rng.random_range(0.0..1.2) * (jobs as f64 + 1.0));
        std::thread::sleep(delay);
        for c in &children {
            // SAFETY: kill(2) on our own child's pid; it may already have exited (then it is a
            // zombie until waited for, so the pid cannot have been reused).
            unsafe {
                libc::kill(c.id() as libc::pid_t, signal);
            }
        }
        let runs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().expect("wait"))
            .collect();
        let mut approved_printed = 0i64;
        let mut sent_printed = 0i64;
        let killed_now = runs.iter().filter(|o| o.status.code().is_none()).count();
        killed_mid_run += killed_now;
        repl_killed += runs
            .iter()
            .zip(&is_prompt)
            .filter(|(o, p)| **p && o.status.code().is_none())
            .count();
        if killed_now == runs.len() {
            scale = (scale * 1.25).min(20.0);
        } else if killed_now == 0 {
            scale = (scale / 1.25).max(0.05);
        }
        for o in &runs {
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert!(
                !stderr.contains("panicked") && !stderr.contains("internal error"),
                "cycle {cycle}: {stderr}"
            );
            for line in stdout.lines() {
                let v: serde_json::Value = match serde_json::from_str(line) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                match v["outcome"].as_str() {
                    Some("approved") => approved_printed += 1,
                    Some("sent") => sent_printed += 1,
                    _ => {}
                }
            }
        }
        assert_consistent(&env, None);
        // And the binary's own verdict on the chain, as an operator would ask for it.
        let verdict = env.run(&["--json", "audit", "verify"]);
        assert_eq!(verdict.code, 0, "cycle {cycle}: audit verify: {verdict:?}");
        assert_eq!(verdict.outcome(), "audit_intact", "cycle {cycle}");
        approved_total += approved_printed;
        if approved_printed + sent_printed > 0 {
            let approved_now = count_events(&env, "approved");
            let delivered_now = count_events(&env, "delivered");
            assert!(
                approved_now - before_approved >= approved_printed,
                "cycle {cycle}: {approved_printed} approved printed, {} audited",
                approved_now - before_approved
            );
            assert!(
                delivered_now - before_delivered >= sent_printed,
                "cycle {cycle}: {sent_printed} sent printed, {} delivered audited",
                delivered_now - before_delivered
            );
        }
    }
    eprintln!(
        "signal {signal}: {cycles} cycles, {started} processes ({repl_jobs} prompts, \
         {repl_killed} of them killed mid-script), \
         {killed_mid_run} killed mid-run, {approved_total} approvals printed, {} audit rows \
         (one run ~{life:?})",
        verify_chain(&env.db_path(), &env_secrets(&env, None))
    );
    // The loop must actually have interrupted work, or it proved nothing.
    assert!(
        killed_mid_run > 0,
        "no process was killed mid-run in {cycles} cycles"
    );
    assert!(
        repl_jobs < 3 || repl_killed > 0,
        "no prompt was killed mid-script in {cycles} cycles"
    );
    // And after all that, otpd still works.
    env.advance(31);
    let r = env.run(&["send", "--json", UK]);
    assert!(
        matches!(r.outcome().as_str(), "sent" | "rate_limited"),
        "{r:?}"
    );
    assert_consistent(&env, None);
}

#[test]
fn crashes_sigkill_at_random_moments_leave_a_consistent_database() {
    kill_cycles(SHORT.crash_cycles, libc::SIGKILL, seed());
}

#[test]
fn signals_sigterm_mid_verify_leaves_a_consistent_database() {
    kill_cycles(SHORT.term_cycles, libc::SIGTERM, seed() ^ 0x5157);
}

#[test]
#[ignore = "long: cargo test --release --test it -- --ignored reliability"]
fn long_crashes_and_signals() {
    kill_cycles(LONG.crash_cycles, libc::SIGKILL, seed());
    kill_cycles(LONG.term_cycles, libc::SIGTERM, seed() ^ 0x5157);
}

// ---------------------------------------------------------------------------------------------
// 3. Damaged storage
// ---------------------------------------------------------------------------------------------

/// How this machine can give one process a private mount namespace (to mount a read-only bind
/// or a tiny tmpfs without touching the host): `unshare -m` as root, `unshare -rm` (a user
/// namespace) otherwise. `None` when neither works.
pub(crate) fn private_mounts() -> Option<Vec<&'static str>> {
    let root = unsafe { libc::geteuid() } == 0;
    let prefix: Vec<&'static str> = if root {
        vec!["unshare", "-m"]
    } else {
        vec!["unshare", "-rm"]
    };
    let ok = Command::new(prefix[0])
        .args(&prefix[1..])
        .args([
            "sh",
            "-c",
            "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs \"$d\" && umount \"$d\"; \
             r=$?; rmdir \"$d\"; exit $r",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(prefix)
}

/// Why a test that needs a private mount namespace cannot run here (it fails rather than pass
/// having proved nothing).
pub(crate) const NO_NAMESPACE: &str = "no private mount namespace here (unshare -m / -rm failed): this test cannot run on this machine";

/// The unprivileged user (uid and gid) root hands an installation to, so permission bits bind.
const NOBODY: u32 = 65534;

/// Hands every file under `dir` (and `dir`) to `id`.
fn chown_tree(dir: &Path, id: u32) {
    std::os::unix::fs::chown(dir, Some(id), Some(id)).unwrap();
    for (p, _) in all_bytes_under(dir, &[]) {
        std::os::unix::fs::chown(&p, Some(id), Some(id)).unwrap();
    }
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            chown_tree(&entry.path(), id);
        }
    }
}

/// Makes `c` run as `id` (uid and gid, no supplementary groups). Needs root.
fn run_as(c: &mut Command, id: u32) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(id) != 0
                || libc::setuid(id) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Caps the size of any file `c` writes at `bytes` (RLIMIT_FSIZE), with SIGXFSZ ignored so a
/// write past the cap fails (short write or EFBIG) instead of killing the process: the disk, as
/// otpd sees it, is full. Runs everywhere, no privilege needed.
pub(crate) fn limit_file_size(c: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR
                || libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Writes refused by the storage (every file capped at 4 KiB, below the write-ahead log's
/// first frame): a storage error (exit 3) in one line, in text and JSON; no SMS; a verify of
/// the right code does not approve; once writes succeed again the database is intact and works.
#[test]
fn damaged_writes_refused_by_a_file_size_cap_are_a_storage_error_and_send_nothing() {
    let mut env = Env::new();
    let data = env.path("data");
    env.set_env("OTPD_DB", data.join("otpd.db").to_str().unwrap());
    env.run(&["send", US]).ok();
    let code = env.last_code(US_E164);
    let capped = |args: &[&str]| {
        let mut c = env.command();
        c.args(args);
        limit_file_size(&mut c, 4096);
        to_run(c.output().expect("spawn otpd"))
    };
    let json = capped(&["--json", "send", US2]);
    assert_eq!(json.code, 3, "{json:?}");
    assert_eq!(json.json()["error"], "storage_error", "{json:?}");
    let text = capped(&["send", US2]);
    assert_eq!(text.code, 3, "{text:?}");
    assert!(text.stdout.is_empty(), "{text:?}");
    let errors = error_lines(&text.stderr);
    assert_eq!(errors.len(), 1, "one line: {text:?}");
    assert!(errors[0].contains("otpd.db"), "says where: {text:?}");
    let verify = capped(&["--json", "verify", &code, "--phone", US]);
    assert_eq!(
        verify.code, 3,
        "an attempt that cannot be counted must not approve: {verify:?}"
    );
    assert_eq!(env.outbox().len(), 1, "no SMS while writes fail");
    let status = env.run(&["--json", "status"]);
    assert_eq!(status.code, 0, "{status:?}");
    let db = data.join("otpd.db");
    assert_eq!(count_events_at(&db, "approved"), 0);
    assert_consistent_db(&db, &env_secrets(&env, None));
    let again = env.run(&["--json", "verify", &code, "--phone", US]);
    assert_eq!(again.outcome(), "approved", "{again:?}");
}

/// Runs `script` under `sh -c` in a private mount namespace with the env's variables; `$OTPD` is
/// the binary and `$1…` are `args`.
pub(crate) fn run_in_namespace(env: &Env, prefix: &[&str], script: &str, args: &[&str]) -> Run {
    let base = env.command();
    let mut c = Command::new(prefix[0]);
    c.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.env("OTPD", env!("CARGO_BIN_EXE_otpd"))
        .args(&prefix[1..])
        .args(["sh", "-c", script, "sh"])
        .args(args)
        .stdin(Stdio::null());
    to_run(c.output().expect("spawn unshare"))
}

/// Every file in `dir`, name → bytes.
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    all_bytes_under(dir, &[]).into_iter().collect()
}

/// A database whose folder cannot be written: a clear storage error (exit 3), nothing sent,
/// nothing approved. The folder's permission bits say so; root, whom they do not stop, runs otpd
/// as an unprivileged user (the installation is handed to that user first).
#[test]
fn damaged_read_only_database_folder_is_a_clear_error_and_sends_nothing() {
    let mut env = Env::new();
    let data = env.path("data");
    env.set_env("OTPD_DB", data.join("otpd.db").to_str().unwrap());
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        chown_tree(env.dir.path(), NOBODY);
    }
    let run = |args: &[&str]| {
        let mut c = env.command();
        c.args(args);
        if root {
            run_as(&mut c, NOBODY);
        }
        to_run(c.output().expect("spawn otpd"))
    };
    let first = run(&["send", US]);
    first.ok();
    let code = env.last_code(US_E164);
    let before = snapshot(&data);

    use std::os::unix::fs::PermissionsExt;
    let set =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    for f in before.keys() {
        set(f, 0o444);
    }
    set(&data, 0o555);
    let runs = vec![
        ("send", run(&["send", US2])),
        ("verify", run(&["verify", &code, "--phone", US])),
        ("send --json", run(&["--json", "send", US2])),
    ];
    set(&data, 0o755);
    for f in before.keys() {
        set(f, 0o644);
    }
    for (what, r) in &runs {
        assert_eq!(r.code, 3, "{what}: {r:?}");
        let text = format!("{}{}", r.stdout, r.stderr);
        assert!(
            text.contains("read-only") && text.contains("otpd.db"),
            "{what}: the error must say what is wrong and where: {r:?}"
        );
        assert_eq!(error_lines(&text).len(), 1, "{what}: one line: {r:?}");
    }
    assert_eq!(env.outbox().len(), 1, "nothing was sent");
    assert_eq!(snapshot(&data), before, "the database was not changed");
    let db = data.join("otpd.db");
    assert_eq!(count_events_at(&db, "approved"), 0);
    if root {
        // The key file belongs to the user otpd ran as; otpd reads only its own key files.
        chown_tree(env.dir.path(), 0);
    }
    assert_consistent_db(&db, &env_secrets(&env, None));
}

/// A full disk (a 1 MiB tmpfs filled to the brim): a clear error naming the full disk, exit 3,
/// no SMS, and the database intact afterwards. Needs a private mount namespace (root, or user
/// namespaces), so it is not in the default run; the file-size-limit test below proves the
/// same refusal everywhere, without the "full" wording.
#[test]
#[ignore = "needs a private mount namespace (root or user namespaces); run with --ignored damaged_full_disk"]
fn damaged_full_disk_is_a_clear_error_and_sends_nothing() {
    let prefix = private_mounts().expect(NO_NAMESPACE);
    let mut env = Env::new();
    let data = env.path("data");
    let copy = env.path("copy");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&copy).unwrap();
    env.set_env("OTPD_DB", data.join("otpd.db").to_str().unwrap());
    // $1 data dir, $2 copy dir, $3 outbox.
    let script = r#"
        mount -t tmpfs -o size=1m tmpfs "$1" || exit 99
        "$OTPD" --json send "+1 415 555 2671" > "$2/send1.out" 2>&1 || exit 98
        code=$(sed -n 's/.*"code":"\([0-9]*\)".*/\1/p' "$3" | tail -n 1)
        dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null
        "$OTPD" --json send "+1 202 555 0123" > "$2/send2.out" 2> "$2/send2.err"; echo $? > "$2/send2.rc"
        "$OTPD" send "+1 202 555 0123" > "$2/send3.out" 2> "$2/send3.err"; echo $? > "$2/send3.rc"
        "$OTPD" --json verify "$code" --phone "+1 415 555 2671" > "$2/verify.out" 2> "$2/verify.err"; echo $? > "$2/verify.rc"
        rm -f "$1/fill"
        "$OTPD" --json status > "$2/status.out" 2>&1; echo $? > "$2/status.rc"
        cp "$1"/otpd.db* "$2"/
    "#;
    let r = run_in_namespace(
        &env,
        &prefix,
        script,
        &[
            data.to_str().unwrap(),
            copy.to_str().unwrap(),
            env.outbox_path().to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "setup failed: {r:?}");
    let read = |name: &str| std::fs::read_to_string(copy.join(name)).unwrap_or_default();
    assert!(
        read("send1.out").contains("\"sent\""),
        "{}",
        read("send1.out")
    );
    // JSON mode: one error object on stdout, exit 3.
    assert_eq!(
        read("send2.rc").trim(),
        "3",
        "{}{}",
        read("send2.out"),
        read("send2.err")
    );
    let j: serde_json::Value = serde_json::from_str(read("send2.out").trim()).unwrap();
    assert_eq!(j["error"], "storage_error", "{j}");
    assert!(j["message"].as_str().unwrap().contains("full"), "{j}");
    // Text mode: one line on stderr naming the problem.
    assert_eq!(read("send3.rc").trim(), "3");
    assert!(
        read("send3.err").contains("disk holding"),
        "{}",
        read("send3.err")
    );
    assert_eq!(error_lines(&read("send3.err")).len(), 1);
    // The verify on a full disk cannot count its attempt, so it must not approve.
    assert_eq!(read("verify.rc").trim(), "3", "{}", read("verify.out"));
    // Only the first code reached the outbox.
    let outbox = env.outbox();
    assert_eq!(
        outbox.len(),
        1,
        "no SMS while the disk was full: {outbox:?}"
    );
    // With space again, the database is intact and still works.
    assert_eq!(read("status.rc").trim(), "0", "{}", read("status.out"));
    let db = copy.join("otpd.db");
    assert!(db.exists(), "the database was copied out of the tmpfs");
    assert_consistent_db(&db, &env_secrets(&env, None));
    assert_eq!(count_events_at(&db, "approved"), 0);
}

/// Bytes that are not a database, and a database with a damaged table page: reported as
/// damaged (exit 3), nothing sent, and the file left byte for byte as it was.
#[test]
fn damaged_corrupt_database_is_reported_and_left_byte_identical() {
    // 1. Not a database at all.
    let env = Env::new();
    let junk: Vec<u8> = (0..16_384u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(env.db_path(), &junk).unwrap();
    for args in [vec!["send", US], vec!["status"], vec!["verify", "123456"]] {
        let r = env.run(&args);
        assert_eq!(r.code, 3, "{args:?}: {r:?}");
        assert!(r.stderr.contains("damaged"), "{args:?}: {r:?}");
        assert_eq!(error_lines(&r.stderr).len(), 1, "{r:?}");
    }
    assert_eq!(std::fs::read(env.db_path()).unwrap(), junk);
    assert!(env.outbox().is_empty());

    // 2. A real otpd database whose `challenges` table page is overwritten.
    let env = Env::new();
    env.run(&["send", US]).ok();
    let code = env.last_code(US_E164);
    {
        let c = open_rw(&env.db_path());
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let (root, page_size): (i64, i64) = {
        let c = env.db();
        let root = c
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'challenges'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let size = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        (root, size)
    };
    let mut bytes = std::fs::read(env.db_path()).unwrap();
    let start = ((root - 1) * page_size) as usize;
    for (i, b) in bytes[start..start + page_size as usize]
        .iter_mut()
        .enumerate()
    {
        *b = 0xA5 ^ (i as u8);
    }
    std::fs::write(env.db_path(), &bytes).unwrap();
    for args in [
        vec!["send", US2],
        vec!["status"],
        vec!["verify", code.as_str(), "--phone", US],
    ] {
        let r = env.run(&args);
        assert_eq!(r.code, 3, "{args:?}: {r:?}");
        assert!(r.stderr.contains("damaged"), "{args:?}: {r:?}");
        assert_eq!(
            std::fs::read(env.db_path()).unwrap(),
            bytes,
            "{args:?} changed the damaged file"
        );
    }
    assert_eq!(
        env.outbox().len(),
        1,
        "nothing sent from a damaged database"
    );
}

/// A database from a newer otpd (schema 99): refused with exit 3, untouched, nothing sent.
#[test]
fn damaged_newer_schema_is_refused() {
    let env = Env::new();
    env.run(&["send", US]).ok();
    {
        let c = open_rw(&env.db_path());
        c.execute_batch("PRAGMA user_version = 99; PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let before = std::fs::read(env.db_path()).unwrap();
    for args in [
        vec!["send", US2],
        vec!["status"],
        vec!["--json", "verify", "123456"],
    ] {
        let r = env.run(&args);
        assert_eq!(r.code, 3, "{args:?}: {r:?}");
        let text = format!("{}{}", r.stdout, r.stderr);
        assert!(text.contains("newer otpd"), "{args:?}: {r:?}");
    }
    assert_eq!(std::fs::read(env.db_path()).unwrap(), before);
    assert_eq!(env.outbox().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// 4. Hostile input
// ---------------------------------------------------------------------------------------------

pub(crate) mod hostile {
    use otpd::domain::{Channel, Code, Outcome, PhoneNumber};
    use otpd::sanitize::sanitize;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    /// Characters that must never reach a terminal. Written out here, independently of
    /// `sanitize::is_dangerous`, so a gap in one is not hidden by the same gap in the other.
    pub fn forbidden(c: char) -> bool {
        let u = c as u32;
        u < 0x20
            || (0x7f..=0x9f).contains(&u)
            || matches!(
                u,
                0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0x2028 | 0x2029
            )
    }

    /// Text weighted towards what breaks terminals and parsers: controls, escapes, bidi,
    /// digits, `+`, separators, other scripts' digits — and anything at all.
    pub fn hostile_text() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            3 => any::<char>(),
            2 => (0u32..0x20).prop_map(|u| char::from_u32(u).unwrap()),
            2 => (0x7fu32..0xa0).prop_map(|u| char::from_u32(u).unwrap()),
            2 => prop::sample::select(vec![
                '\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{200f}',
                '\u{61c}', '\u{feff}', '\u{2028}', '\0',
            ]),
            4 => prop::sample::select(vec![
                '0', '1', '2', '4', '5', '7', '9', '+', ' ', '-', '(', ')', '.', '٣', '４',
            ]),
        ];
        prop::collection::vec(ch, 0..48).prop_map(String::from_iter)
    }

    fn clean(s: &str) -> bool {
        !s.chars().any(forbidden)
    }

    pub fn run_properties(cases: u32) {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&hostile_text(), |s| {
                let out = sanitize(&s);
                prop_assert!(clean(&out), "sanitize let a control through: {out:?}");
                prop_assert_eq!(out.chars().count(), s.chars().count());

                match PhoneNumber::parse(&s) {
                    Ok(p) => {
                        let e = p.e164();
                        prop_assert!(
                            e.starts_with('+') && e[1..].bytes().all(|b| b.is_ascii_digit())
                        );
                        prop_assert!(!p.to_string().contains(&e[1..]), "unmasked: {p}");
                        prop_assert!(clean(p.masked()));
                    }
                    Err(e) => prop_assert!(clean(&e.to_string()), "phone error: {e}"),
                }
                match Code::parse(&s) {
                    Ok(c) => {
                        let d = c.expose_digits();
                        prop_assert!(
                            (6..=10).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit())
                        );
                    }
                    Err(e) => prop_assert!(clean(&e.to_string()), "code error: {e}"),
                }
                if let Err(e) = s.parse::<Channel>() {
                    prop_assert!(clean(&e.to_string()), "channel error: {e}");
                }
                // Whatever an error says, the renderer's text and JSON stay clean.
                let o = Outcome::InvalidInput { error: s.clone() };
                prop_assert!(clean(&otpd::render::text(&o)));
                for u in [
                    otpd::error::Usage::BadValue {
                        flag: "--phone",
                        detail: s.clone(),
                    },
                    otpd::error::Usage::NotAHead { given: s.clone() },
                    otpd::error::Usage::BadCaFile { detail: s.clone() },
                ] {
                    let e = otpd::error::Error::Usage(u);
                    prop_assert!(clean(&otpd::render::error_text(&e)));
                }
                Ok(())
            })
            .unwrap();
    }

    /// Whole-line inputs to the phone parser: real-looking numbers with noise.
    pub fn run_phone_shapes(cases: u32) {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let shape = ("(00|\\+)?[0-9]{1,3}[ -]?[0-9 ()-]{0,20}", any::<bool>());
        runner
            .run(&shape, |(s, trailing)| {
                let s = if trailing { format!("{s}\u{1b}[2J") } else { s };
                match PhoneNumber::parse(&s) {
                    Ok(p) => prop_assert!(PhoneNumber::parse(p.e164()).is_ok_and(|q| q == p)),
                    Err(e) => prop_assert!(clean(&e.to_string())),
                }
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn hostile_strings_never_panic_and_never_reach_the_terminal_raw() {
    hostile::run_properties(SHORT.strings);
    hostile::run_phone_shapes(SHORT.strings / 4);
}

#[test]
#[ignore = "long: cargo test --release --test it -- --ignored reliability"]
fn long_hostile_strings() {
    hostile::run_properties(LONG.strings);
    hostile::run_phone_shapes(LONG.strings / 4);
}

/// The longest single argument Linux passes to a program (`MAX_ARG_STRLEN` less the NUL).
const MAX_ARG: usize = 128 * 1024 - 1;

/// Huge arguments (one at the kernel's 128 KiB limit; 1 MiB spread over several words) and
/// invalid UTF-8 on the command line: exit 2, one short clear line, no panic, nothing sent, the
/// input never echoed back whole. (A NUL byte cannot be passed in argv at all.)
#[test]
fn hostile_arguments_are_refused_with_one_clear_line() {
    let env = Env::new();
    let digits = "7".repeat(MAX_ARG);
    let letters = "x".repeat(MAX_ARG);
    let mib = |word: &str| -> Vec<OsString> { (0..8).map(|_| OsString::from(word)).collect() };
    let with = |head: &[&str], tail: Vec<OsString>| -> Vec<OsString> {
        head.iter().map(OsString::from).chain(tail).collect()
    };
    let cases: Vec<(Vec<OsString>, &str)> = vec![
        (with(&["send"], vec![digits.clone().into()]), "too long"),
        (with(&["send"], mib(&digits)), "too long"),
        (with(&["send"], vec![letters.clone().into()]), "too long"),
        (with(&["verify"], vec![digits.clone().into()]), "digits"),
        (with(&["verify"], mib(&digits)), "digits"),
        (with(&["verify"], mib(&letters)), "digits"),
        (
            with(&["verify", "123456", "--phone"], mib(&digits)),
            "too long",
        ),
        (
            with(&["send", US, "--channel"], vec![letters.clone().into()]),
            "not a channel",
        ),
        (
            with(
                &["verify"],
                vec![OsString::from_vec(b"12\xff3456".to_vec())],
            ),
            "UTF-8",
        ),
        (
            with(
                &["send"],
                vec![OsString::from_vec(b"+1 415 \xc3\x28 2671".to_vec())],
            ),
            "UTF-8",
        ),
    ];
    for (args, says) in cases {
        let total: usize = args.iter().map(|a| a.len()).sum();
        let r = to_run(env.command().args(&args).output().expect("spawn otpd"));
        let what = format!("{} word(s), {total} bytes, {:?}…", args.len(), &args[0]);
        assert_eq!(r.code, 2, "{what}: {r:?}");
        let text = format!("{}{}", r.stdout, r.stderr);
        assert!(!text.contains("panicked"), "{what}: {text}");
        assert!(text.len() < 2_000, "{what}: echoed {} bytes", text.len());
        let lines = error_lines(&text);
        assert!(
            lines.first().is_some_and(|l| l.contains(says)),
            "{what}: first line {lines:?}"
        );
        assert!(
            !text.chars().filter(|c| *c != '\n').any(hostile::forbidden),
            "{what}: {text:?}"
        );
    }
    assert!(env.outbox().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 5. Secrets
// ---------------------------------------------------------------------------------------------

const SENTINEL_SECRET: &str = "SENTINEL-secret-7f3a9c-do-not-print-0123456789";

/// Every core command and failure path with a sentinel secret and a known code: the secret
/// appears nowhere (stdout, stderr, database, WAL, outbox), the code only in the outbox.
#[test]
fn secrets_appear_nowhere_and_the_code_only_in_the_outbox() {
    let mut env = Env::with_config("[policy]\ncode_length = 10\nresend_cooldown_seconds = 0\n");
    env.set_env("OTPD_SECRET", SENTINEL_SECRET);
    let mut runs: Vec<Run> = Vec::new();
    let mut go = |env: &Env, args: &[&str]| {
        runs.push(env.run(args));
        runs.push(env.run(&[&["--json"], args].concat()));
    };
    go(&env, &["send", US]);
    let first = env.last_code(US_E164);
    go(&env, &["status"]);
    go(&env, &["resend"]);
    let code = env.last_code(US_E164);
    go(&env, &["verify", &first, "--phone", US]); // replaced code: invalid
    go(&env, &["verify", "+1 415 555 2671"]); // not a code
    go(&env, &["send", "+1 555 555 0100"]); // bad phone
    go(&env, &["send", US, "--channel", "pigeon"]);
    go(&env, &["config"]);
    go(&env, &["verify", &code, "--phone", US]); // approved
    go(&env, &["verify", &code, "--phone", US]); // already used
    go(&env, &["send", US2]);
    go(&env, &["cancel"]);
    go(&env, &["status", US2]);
    // Failure paths.
    let mut bad = Env::with_config("[policy]\nttl_seconds = 9000\n");
    bad.set_env("OTPD_SECRET", SENTINEL_SECRET);
    go(&bad, &["send", US]);
    let mut short = Env::new();
    short.set_env("OTPD_SECRET", "SENTINEL-short");
    go(&short, &["send", US]);
    let loose = Env::new();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(loose.secret_path(), SENTINEL_SECRET).unwrap();
        std::fs::set_permissions(loose.secret_path(), std::fs::Permissions::from_mode(0o640))
            .unwrap();
    }
    go(&loose, &["send", US]);
    go(&loose, &["verify", &code, "--phone", US]);
    // The panic hook prints where, never what (debug builds can be told to panic).
    let mut boom = Env::new();
    boom.set_env("OTPD_DEBUG_PANIC", SENTINEL_SECRET);
    let panicked = boom.run(&["status"]);
    if cfg!(debug_assertions) {
        assert_eq!(panicked.code, 101, "{panicked:?}");
        assert!(panicked.stderr.contains("internal error"), "{panicked:?}");
    }
    runs.push(panicked);

    let count = |hay: &[u8], needle: &str| -> usize {
        hay.windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count()
    };
    for r in &runs {
        for (what, needle) in [
            ("secret", SENTINEL_SECRET),
            ("secret", "SENTINEL"),
            ("code", code.as_str()),
            ("code", first.as_str()),
        ] {
            assert_eq!(
                count(r.stdout.as_bytes(), needle),
                0,
                "{what} on stdout: {r:?}"
            );
            assert_eq!(
                count(r.stderr.as_bytes(), needle),
                0,
                "{what} on stderr: {r:?}"
            );
        }
    }
    let outbox = env.outbox_path();
    for e in [&env, &bad, &short, &loose, &boom] {
        let key = e.secret_path();
        for (path, bytes) in all_bytes_under(e.dir.path(), &[key.as_path()]) {
            assert_eq!(count(&bytes, "SENTINEL"), 0, "secret in {}", path.display());
            if path != outbox {
                assert_eq!(count(&bytes, &code), 0, "code in {}", path.display());
                assert_eq!(count(&bytes, &first), 0, "code in {}", path.display());
            }
        }
    }
    assert!(count(&std::fs::read(&outbox).unwrap(), &code) >= 1);
    assert_consistent(&env, Some(SENTINEL_SECRET));
}
