//! The reliability proof of `reliability_core.rs` (one-shot core commands) extended to what is
//! built around the core: the prompt (piped, on a terminal, the kiosk), Twilio, the audit review
//! and the limits — secrets across every command, races and a full disk with the prompt
//! running, hostile provider texts and prompt lines, and SIGTERM to a running prompt. Same
//! structure as `reliability_core.rs` (whose shared checks it reuses): short variants in `cargo test`, long ones behind `#[ignore]`:
//!
//! ```text
//! cargo test --release --test it -- --ignored reliability
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use rexpect::session::{PtySession, spawn_command};

use crate::fake_twilio::*;
use crate::harness::*;
use crate::reliability_core::{
    LONG, SHORT, assert_consistent, env_secrets, error_lines, hostile, private_mounts,
};

const AC: &str = "AC0123456789abcdef0123456789abcdef";
const SK: &str = "SK0123456789abcdef0123456789abcdef";
const SM: &str = "SM0123456789abcdef0123456789abcdef";
const FROM: &str = "+14155550100";

/// Sentinels for every secret otpd handles. They share the word SENTINEL so a partial leak of
/// any of them is caught too.
const S_SECRET: &str = "SENTINEL-pepper-4b1d-never-shown-0123456789abcdef";
const S_TOKEN: &str = "SENTINEL-token-91ce";
const S_API_SECRET: &str = "SENTINEL-apisecret-7d20";

const TIMEOUT_MS: u64 = 10_000;

/// Runs otpd on a pseudo-terminal: a person at the prompt, so the history file is written.
fn pty(env: &Env, args: &[&str]) -> PtySession {
    spawn_command(env.pty_command(args), Some(TIMEOUT_MS)).expect("spawn otpd in a pty")
}

#[track_caller]
fn expect(p: &mut PtySession, text: &str) -> String {
    let latin1: String = text.bytes().map(char::from).collect();
    match p.exp_string(&latin1) {
        Ok(before) => before,
        Err(e) => panic!("expected {text:?} on the screen: {e}"),
    }
}

fn type_line(p: &mut PtySession, line: &str) {
    p.send(line).unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
}

fn occurrences(hay: &[u8], needle: &str) -> usize {
    hay.windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

/// An installation delivering through `fake` with the sentinel auth token and pepper.
fn twilio_env(fake: &FakeTwilio, extra: &str) -> Env {
    let mut env = Env::with_config(&format!(
        "[policy]\ncode_length = 10\nresend_cooldown_seconds = 0\n[audit]\nhead_every = 1\n\
         [twilio]\naccount_sid = \"{AC}\"\nfrom = \"{FROM}\"\napi_base = \"{}\"\n\
         timeout_seconds = 30\nretry_base_ms = 1\n{extra}",
        fake.base_url()
    ));
    env.set_env("OTPD_DELIVERY", "twilio");
    env.set_env("OTPD_SECRET", S_SECRET);
    env.set_env("TWILIO_AUTH_TOKEN", S_TOKEN);
    env
}

// ---------------------------------------------------------------------------------------------
// 1. Secrets, across every feature
// ---------------------------------------------------------------------------------------------

/// Every command of every feature, in text and `--json`, one-shot and at the prompt (piped, on
/// a terminal with its history file, the kiosk), through the outbox and through Twilio
/// (success, 401/20003, bad credentials, a loose secret file): the pepper, the auth token and
/// the API secret appear 0 times in any output or any file (database, WAL, history, audit head
/// file, outbox); the codes only in the outbox.
#[test]
fn secrets_appear_nowhere_across_every_feature() {
    let mut runs: Vec<Run> = Vec::new();
    let mut screens: Vec<String> = Vec::new();
    let mut codes: Vec<String> = Vec::new();

    // ── Outbox delivery, every one-shot command ──
    let mut env = Env::with_config(
        "[policy]\ncode_length = 10\nresend_cooldown_seconds = 0\n[audit]\nhead_every = 1\n\
         [limits]\nmax_failures_per_number = 2\n",
    );
    env.set_env("OTPD_SECRET", S_SECRET);
    // Twilio credentials in the environment are read even when another delivery is chosen.
    env.set_env("TWILIO_AUTH_TOKEN", S_TOKEN);
    env.set_env("TWILIO_API_SECRET", S_API_SECRET);
    let both = |env: &Env, runs: &mut Vec<Run>, args: &[&str]| {
        runs.push(env.run(args));
        runs.push(env.run(&[&["--json"], args].concat()));
    };
    both(&env, &mut runs, &["send", US]);
    codes.push(env.last_code(US_E164));
    both(&env, &mut runs, &["status"]);
    both(&env, &mut runs, &["resend"]);
    let code = env.last_code(US_E164);
    codes.push(code.clone());
    both(&env, &mut runs, &["verify", &codes[0], "--phone", US]);
    both(&env, &mut runs, &["verify", &code, "--phone", US]);
    both(&env, &mut runs, &["verify", &code, "--phone", US]);
    both(&env, &mut runs, &["send", US2]);
    codes.push(env.last_code(US2_E164));
    both(&env, &mut runs, &["cancel", US2]);
    for args in [
        &["config"][..],
        &["limits"],
        &["limits", US],
        &["unlock", US],
        &["limits", "resume"],
        &["audit"],
        &["audit", "list", "--event", "approved"],
        &["audit", "verify"],
        &["audit", "verify", "--head-file"],
        &["audit", "head"],
        &["audit", "stats"],
        &["audit", "export"],
        &["audit", "export", "--format", "json"],
        &["audit", "--since", "2h"],
        &["prune", "--older-than", "1h"],
        &["send", "+1 555 555 0100"],
        &["send", US, "--channel", "pigeon"],
        &["audit", "--event", "nonsense"],
        &["verify", "12"],
        &["bogus"],
    ] {
        both(&env, &mut runs, args);
    }

    // ── The prompt over a pipe, text and JSON ──
    env.advance(60);
    let script = format!(
        "send {UK}\nstatus\nverify 0000000000\naudit verify\naudit head\naudit --event sent\n\
         audit stats\nhelp\nbogus\nresend\ncancel\nquit\n"
    );
    runs.push(env.run_stdin(&[], script.as_bytes()));
    codes.push(env.last_code(UK_E164));
    runs.push(env.run_stdin(&["--json"], script.as_bytes()));
    codes.push(env.last_code(UK_E164));

    // ── The prompt on a terminal: its history file is written ──
    env.advance(60);
    let mut p = pty(&env, &[]);
    expect(&mut p, "> ");
    type_line(&mut p, &format!("send {US2}"));
    expect(&mut p, "Sent a 10-digit code");
    let tty_code = env.last_code(US2_E164);
    codes.push(tty_code.clone());
    type_line(&mut p, &format!("verify {tty_code}"));
    expect(&mut p, "Verified");
    type_line(&mut p, "audit verify");
    expect(&mut p, "intact");
    type_line(&mut p, "quit");
    screens.push(p.exp_eof().unwrap_or_default());
    let history = env.home().join(".local/state/otpd/history");
    assert!(history.exists(), "the prompt wrote no history file");

    // ── The kiosk (after the resend back-off's quiet period) ──
    env.advance(7200);
    let mut k = pty(&env, &["kiosk"]);
    expect(&mut k, "Enter your mobile number");
    type_line(&mut k, UK);
    expect(&mut k, "Enter the code we sent");
    let kiosk_code = env.last_code(UK_E164);
    codes.push(kiosk_code.clone());
    type_line(&mut k, &env.wrong_code(UK_E164));
    expect(&mut k, "That code is not right");
    type_line(&mut k, &kiosk_code);
    screens.push(expect(&mut k, "Verified"));
    let _ = k.process_mut().kill(rexpect::process::Signal::SIGTERM);

    // ── Twilio: success, provider status, 401/20003, API key and secret ──
    let fake = FakeTwilio::start();
    fake.reply(created(SM, "queued", US_E164))
        .reply(Reply::json(200, serde_json::json!({"status": "delivered"})))
        .reply(Reply::error(401, 20003, "Authenticate"))
        .reply(Reply::error(401, 20003, "Authenticate"))
        .reply(created(SM, "queued", UK_E164))
        .reply(Reply::error(401, 20003, "Authenticate"));
    let mut tw = twilio_env(&fake, "");
    runs.push(tw.run(&["send", US]));
    runs.push(tw.run(&["status", "--json"]));
    runs.push(tw.run(&["send", US2]));
    runs.push(tw.run(&["--json", "send", US2]));
    runs.push(tw.run(&["config"]));
    runs.push(tw.run(&["audit"]));
    runs.push(tw.run(&["audit", "export"]));
    runs.push(tw.run_stdin(&["--json"], format!("send {UK}\nsend {US}\n").as_bytes()));
    tw.set_env("TWILIO_API_KEY", SK);
    tw.set_env("TWILIO_API_SECRET", S_API_SECRET);
    runs.push(tw.run(&["config"]));
    runs.push(tw.run(&["--json", "config"]));
    for q in fake.requests() {
        if q.field("Body").is_some() || q.field("Twiml").is_some() {
            codes.push(q.code());
        }
    }
    let auths: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|q| q.basic_auth().map(|(_, p)| p))
        .collect();
    assert!(auths.iter().any(|p| p == S_TOKEN), "the token was used");

    // ── Bad credentials: a key without its secret, a secret file looser than 0600 ──
    let mut nokey = twilio_env(&fake, "");
    nokey.set_env("TWILIO_AUTH_TOKEN", "");
    nokey.set_env("TWILIO_API_KEY", SK);
    runs.push(nokey.run(&["send", US]));
    runs.push(nokey.run(&["--json", "config"]));
    let loose = twilio_env(
        &fake,
        &format!("api_key = \"{SK}\"\napi_secret_file = \"api.secret\"\n"),
    );
    let loose_file = loose.path("api.secret");
    std::fs::write(&loose_file, S_API_SECRET).unwrap();
    std::fs::set_permissions(&loose_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut loose = loose;
    loose.set_env("TWILIO_AUTH_TOKEN", "");
    let refused = loose.run(&["send", US]);
    assert_eq!(
        refused.code, 2,
        "a 0644 secret file must be refused: {refused:?}"
    );
    assert!(refused.stderr.contains("chmod 600"), "{refused:?}");
    runs.push(refused);
    runs.push(loose.run_stdin(&["--json"], format!("send {US}\n").as_bytes()));
    let requests_before = fake.requests().len();

    // ── Check every output and every file ──
    assert_eq!(
        fake.requests().len(),
        requests_before,
        "refused credentials sent nothing"
    );
    let secrets = [S_SECRET, S_TOKEN, S_API_SECRET, "SENTINEL"];
    for r in &runs {
        for s in secrets
            .iter()
            .chain(codes.iter().map(|c| c.as_str()).collect::<Vec<_>>().iter())
        {
            assert_eq!(
                occurrences(r.stdout.as_bytes(), s),
                0,
                "{s} on stdout: {r:?}"
            );
            assert_eq!(
                occurrences(r.stderr.as_bytes(), s),
                0,
                "{s} on stderr: {r:?}"
            );
        }
    }
    // The terminal and kiosk screens showed no secret. (Codes are not checked there: a
    // terminal echoes what the person types.)
    for screen in &screens {
        assert_eq!(occurrences(screen.as_bytes(), "SENTINEL"), 0, "{screen}");
    }

    let mut files_seen = Vec::new();
    for e in [&env, &tw, &nokey, &loose] {
        let outbox = e.outbox_path();
        for (path, bytes) in all_bytes_under(e.dir.path(), &[loose_file.as_path()]) {
            files_seen.push(path.clone());
            assert_eq!(
                occurrences(&bytes, "SENTINEL"),
                0,
                "a secret in {}",
                path.display()
            );
            if path != outbox {
                for c in &codes {
                    assert_eq!(occurrences(&bytes, c), 0, "code {c} in {}", path.display());
                }
            }
        }
    }
    let names: Vec<String> = files_seen
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for wanted in [
        "otpd.db",
        "otpd.db-wal",
        "history",
        "audit-head.log",
        "outbox.jsonl",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} was not checked: {names:?}"
        );
    }
    assert!(occurrences(&std::fs::read(env.outbox_path()).unwrap(), &code) >= 1);
    assert_consistent(&env, Some(S_SECRET));
    assert_consistent(&tw, Some(S_SECRET));
}

/// No option accepts a secret on the command line (where `ps` and shell history would show
/// it): not in `otpd --help`, not in any subcommand's.
#[test]
fn no_command_line_option_takes_a_secret() {
    let env = Env::new();
    let commands: [&[&str]; 19] = [
        &[],
        &["send"],
        &["resend"],
        &["verify"],
        &["status"],
        &["cancel"],
        &["limits"],
        &["limits", "resume"],
        &["unlock"],
        &["config"],
        &["audit"],
        &["audit", "list"],
        &["audit", "verify"],
        &["audit", "head"],
        &["audit", "stats"],
        &["audit", "export"],
        &["prune"],
        &["repl"],
        &["kiosk"],
    ];
    let mut options = std::collections::BTreeSet::new();
    for words in commands {
        let r = env.run(&[words, &["--help"]].concat());
        assert_eq!(r.code, 0, "{words:?}: {r:?}");
        for word in r
            .stdout
            .split(|c: char| c.is_whitespace() || c == ',' || c == '[')
        {
            if let Some(name) = word.strip_prefix("--") {
                let name = name.split(['=', '<', ']']).next().unwrap_or_default();
                options.insert(name.to_ascii_lowercase());
            }
        }
    }
    assert!(
        options.contains("db") && options.contains("head-file"),
        "{options:?}"
    );
    for name in &options {
        for bad in [
            "secret", "token", "password", "pass", "pepper", "key", "auth", "cred",
        ] {
            assert!(!name.contains(bad), "--{name} looks like it takes a secret");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Races across features
// ---------------------------------------------------------------------------------------------

/// Limits out of the way of scenarios that send many codes to the same numbers (release builds
/// run on the real clock, so `Env::advance` does not age the caps out there).
const NO_CAPS: &str = "[limits]\nper_number_per_hour = 1000000\nper_number_per_day = 1000000\n\
     per_prefix_per_hour = 1000000\nper_station_per_hour = 1000000\nglobal_per_hour = 1000000\n\
     min_conversion = 0\n";

/// Prompts reading scripts and one-shot commands write at the same time: one audit chain, and
/// `otpd audit verify` (the binary, as an operator runs it) accepts it.
fn mixed_writers(prompts: usize, one_shots: usize) {
    let env = Env::with_config(&format!(
        "[policy]\nresend_cooldown_seconds = 0\n[audit]\nhead_every = 3\n{NO_CAPS}"
    ));
    let phones = [US, US2, UK];
    let mut children: Vec<Child> = Vec::new();
    for i in 0..prompts {
        let mut c = env
            .command()
            .arg("--json")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn otpd");
        let p = phones[i % 3];
        let script = format!(
            "send {p}\nverify 000000 {p}\nstatus\nresend {p}\naudit head\ncancel {p}\nsend {p}\n"
        );
        let mut stdin = c.stdin.take().unwrap();
        // A prompt that died at start-up closes its end: its output tells why (checked below).
        let _ = stdin.write_all(script.as_bytes());
        drop(stdin);
        children.push(c);
    }
    for i in 0..one_shots {
        let p = phones[i % 3];
        let args: Vec<&str> = match i % 4 {
            0 => vec!["--json", "send", p],
            1 => vec!["--json", "verify", "000000", "--phone", p],
            2 => vec!["--json", "cancel", p],
            _ => vec!["--json", "resend", p],
        };
        children.push(
            env.command()
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn otpd"),
        );
    }
    let runs: Vec<Run> = children
        .into_iter()
        .map(crate::reliability_core::finish)
        .collect();
    for r in &runs {
        assert!(error_lines(&r.stderr).is_empty(), "{r:?}");
        assert!(!r.stdout.contains("storage_error"), "{r:?}");
    }
    let v = env.run(&["--json", "audit", "verify", "--head-file"]);
    assert_eq!(v.code, 0, "{v:?}");
    assert_eq!(v.outcome(), "audit_intact", "{v:?}");
    assert!(
        v.json()["rows"].as_i64().unwrap() >= (prompts * 5) as i64,
        "{v:?}"
    );
    assert_consistent(&env, None);
}

#[test]
fn races_prompts_and_one_shot_commands_keep_one_audit_chain() {
    mixed_writers(4, 12);
}

#[test]
#[ignore = "long: cargo test --release --test it -- --ignored reliability"]
fn long_races_prompts_and_one_shot_commands() {
    for _ in 0..10 {
        mixed_writers(16, 48);
    }
}

/// Many terminals starting at once on a database that does not exist yet: every one of them
/// opens it (creating it, switching it to WAL, migrating it) and answers — none reports the
/// database busy.
fn first_start(processes: usize, rounds: usize) {
    for round in 0..rounds {
        let env = Env::new();
        let runs = crate::reliability_core::race(&env, processes, &["--json", "status"]);
        for r in &runs {
            assert_eq!(r.code, 0, "round {round}: {r:?}");
            assert_eq!(r.outcome(), "status", "round {round}: {r:?}");
        }
        assert_consistent(&env, None);
    }
}

#[test]
fn races_many_processes_creating_the_database_at_once_all_open_it() {
    first_start(SHORT.racers * 2, SHORT.rounds * 3);
}

#[test]
#[ignore = "long: cargo test --release --test it -- --ignored reliability"]
fn long_races_many_processes_creating_the_database_at_once() {
    first_start(LONG.racers, LONG.rounds * 5);
}

/// The per-number cap under a race, at the long scale: the short variant is
/// `limits::twelve_processes_sending_to_one_number_never_pass_the_cap` (same helper).
#[test]
#[ignore = "long: cargo test --release --test it -- --ignored reliability"]
fn long_races_many_processes_never_pass_the_per_number_cap() {
    for round in 0..10 {
        let env = Env::with_raw_config(&format!(
            "{}[policy]\nresend_cooldown_seconds = 0\n[limits]\nper_number_per_hour = 3\n",
            crate::limits::RACE_HASHING
        ));
        let phones: Vec<String> = (0..64).map(|_| US.to_string()).collect();
        let outcomes = crate::limits::race(&env, &phones);
        let sent = outcomes.iter().filter(|o| *o == "sent").count();
        assert_eq!(sent, 3, "round {round}: {outcomes:?}");
        assert!(
            outcomes.iter().all(|o| o == "sent" || o == "rate_limited"),
            "round {round}: {outcomes:?}"
        );
        assert_eq!(env.outbox().len(), 3, "round {round}");
        assert_consistent(&env, None);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. A full disk while the prompt is running
// ---------------------------------------------------------------------------------------------

/// The prompt runs on a 1 MiB tmpfs (a private mount namespace); the test fills the disk
/// through `/proc/PID/root` (which sees the namespace's mounts) between two commands: the send
/// on the full disk is one clear error, nothing is delivered, and the prompt answers the next
/// commands — and sends again once there is room.
#[test]
#[ignore = "needs a private mount namespace (root or user namespaces); run with --ignored damaged_full_disk"]
fn damaged_full_disk_with_the_prompt_running_one_error_and_the_prompt_stays() {
    let prefix = private_mounts().expect(crate::reliability_core::NO_NAMESPACE);
    let mut env = Env::new();
    let data = env.path("data");
    std::fs::create_dir_all(&data).unwrap();
    env.set_env("OTPD_DB", data.join("otpd.db").to_str().unwrap());
    let base = env.command();
    let mut c = Command::new(prefix[0]);
    c.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let script = r#"mount -t tmpfs -o size=1m tmpfs "$1" || exit 99
        "$OTPD" --json
        echo "exit $?"
        cp "$1"/otpd.db* "$2"/"#;
    let copy = env.path("copy");
    std::fs::create_dir_all(&copy).unwrap();
    let mut child = c
        .env("OTPD", env!("CARGO_BIN_EXE_otpd"))
        .args(&prefix[1..])
        .args(["sh", "-c", script, "sh"])
        .args([data.to_str().unwrap(), copy.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn unshare");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ask = |line: &str| -> serde_json::Value {
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        let mut answer = String::new();
        stdout.read_line(&mut answer).unwrap();
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{line}: {answer:?}: {e}"))
    };
    assert_eq!(ask(&format!("send {US}"))["outcome"], "sent");
    // The namespace's view of the data folder, from outside it.
    let inside = Path::new("/proc")
        .join(child.id().to_string())
        .join("root")
        .join(data.strip_prefix("/").unwrap());
    let fill = inside.join("fill");
    {
        let mut f = std::fs::File::create(&fill).expect("create the filler in the tmpfs");
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
    }
    let full = ask(&format!("send {US2}"));
    assert_eq!(full["error"], "storage_error", "{full}");
    assert!(full["message"].as_str().unwrap().contains("full"), "{full}");
    assert_eq!(env.outbox().len(), 1, "no SMS while the disk is full");
    // The prompt is still up and answers.
    assert_eq!(ask("help")["outcome"], "help");
    std::fs::remove_file(&fill).unwrap();
    assert_eq!(ask(&format!("send {UK}"))["outcome"], "sent");
    assert_eq!(ask("quit")["outcome"], "bye");
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{rest} {err}");
    assert!(rest.contains("exit 0"), "{rest}");
    assert!(error_lines(&err).is_empty(), "no stray lines: {err}");
    let sent: Vec<_> = env.outbox().iter().map(|m| m["to"].clone()).collect();
    assert_eq!(sent, [US_E164, UK_E164]);
    crate::reliability_core::assert_consistent_db(&copy.join("otpd.db"), &env_secrets(&env, None));
}

/// The same as the full-disk test above, runnable everywhere: the running prompt's file sizes
/// are capped from outside (prlimit(2) on its pid, SIGXFSZ ignored from its start) between two
/// commands, then uncapped. One storage error line, no SMS, the prompt stays and answers, and
/// sends again once writes succeed; the database passes the shared checks.
#[test]
fn damaged_writes_refused_with_the_prompt_running_one_error_and_the_prompt_stays() {
    let mut env = Env::new();
    let data = env.path("data");
    env.set_env("OTPD_DB", data.join("otpd.db").to_str().unwrap());
    let mut c = env.command();
    c.arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: only an async-signal-safe call between fork and exec.
        unsafe {
            c.pre_exec(|| {
                if libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = c.spawn().expect("spawn otpd");
    let pid = child.id() as libc::pid_t;
    let cap = |bytes: libc::rlim_t| {
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: a plain system call on our own child, with a valid pointer.
        let r = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &limit, std::ptr::null_mut()) };
        assert_eq!(r, 0, "prlimit: {}", std::io::Error::last_os_error());
    };
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ask = |line: &str| -> serde_json::Value {
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        let mut answer = String::new();
        stdout.read_line(&mut answer).unwrap();
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{line}: {answer:?}: {e}"))
    };
    assert_eq!(ask(&format!("send {US}"))["outcome"], "sent");
    cap(4096);
    let full = ask(&format!("send {US2}"));
    assert_eq!(full["error"], "storage_error", "{full}");
    assert!(
        full["message"].as_str().unwrap().contains("otpd.db"),
        "{full}"
    );
    assert_eq!(env.outbox().len(), 1, "no SMS while writes fail");
    assert_eq!(ask("help")["outcome"], "help", "the prompt is still up");
    cap(libc::RLIM_INFINITY);
    assert_eq!(ask(&format!("send {UK}"))["outcome"], "sent");
    assert_eq!(ask("quit")["outcome"], "bye");
    drop(stdin);
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(error_lines(&err).is_empty(), "no stray lines: {err}");
    let sent: Vec<_> = env.outbox().iter().map(|m| m["to"].clone()).collect();
    assert_eq!(sent, [US_E164, UK_E164]);
    crate::reliability_core::assert_consistent_db(&data.join("otpd.db"), &env_secrets(&env, None));
}

// ---------------------------------------------------------------------------------------------
// 4. Hostile input: prompt lines, audit arguments and times, provider error texts
// ---------------------------------------------------------------------------------------------

mod props {
    use otpd::delivery::twilio::api::ApiError;
    use otpd::domain::PhoneNumber;
    use otpd::grammar::{Line, parse_line};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    use super::hostile::{forbidden, hostile_text};

    fn runner(cases: u32) -> TestRunner {
        TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        })
    }

    fn clean(s: &str) -> bool {
        !s.chars().any(forbidden)
    }

    /// Prompt lines: command words, phone and code shapes, and hostile text, up to 300 chars.
    fn line() -> impl Strategy<Value = String> {
        let word = prop_oneof![
            3 => hostile_text(),
            2 => prop::sample::select(vec![
                "send", "verify", "resend", "status", "cancel", "audit", "help", "quit", "?",
                "sms", "whatsapp", "call", "+1", "415", "555", "2671", "+44", "00", "123456",
                "--since", "--event", "verify", "--head", "export",
            ]).prop_map(String::from),
        ];
        prop::collection::vec(word, 0..8).prop_map(|w| w.join(" "))
    }

    /// `grammar::parse_line`: never panics; a line with a control character is refused; any
    /// text it produces for people is clean.
    pub fn prompt_lines(cases: u32) {
        runner(cases)
            .run(&line(), |s| {
                let parsed = parse_line(&s);
                if s.chars().any(forbidden) {
                    prop_assert!(matches!(parsed, Line::Invalid(_)), "{s:?}: {parsed:?}");
                }
                match &parsed {
                    Line::Invalid(e) => {
                        let o = e.clone().outcome();
                        prop_assert!(clean(&otpd::render::text(&o)), "{s:?}");
                    }
                    Line::Unknown { input, .. } => prop_assert!(clean(input)),
                    Line::Words { command, error } => {
                        let shown = otpd::render::error::prompt_line(command, error);
                        prop_assert!(clean(&shown), "{shown:?}")
                    }
                    _ => {}
                }
                Ok(())
            })
            .unwrap();
    }

    /// The audit time parser and the audit arguments (the prompt's and the command line's
    /// definitions): no panic, and every message clean.
    pub fn audit_inputs(cases: u32) {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let time = prop_oneof![
            hostile_text(),
            "[0-9]{1,20}[smhdw]?[a-z]{0,5}",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?(Z|[+-][0-9]{2}:[0-9]{2})?",
        ];
        runner(cases)
            .run(&time, |s| {
                if let Err(e) = otpd::audit::when::parse_instant(&s, now, otpd::audit::Zone::Local)
                {
                    prop_assert!(clean(&e), "{e:?}");
                }
                if let Err(e) = otpd::audit::when::parse_age(&s) {
                    prop_assert!(clean(&e), "{e:?}");
                }
                Ok(())
            })
            .unwrap();
        let words = prop::collection::vec(
            prop_oneof![
                2 => hostile_text(),
                3 => prop::sample::select(vec![
                    "list", "verify", "head", "stats", "export", "--since", "--until", "--event",
                    "--phone", "--station", "--limit", "--head", "--head-file", "--format",
                    "csv", "jsonl", "sent", "approved", "2h", "7d", "-1", "99999999999999999999",
                    "--help", "-h", "--",
                ]).prop_map(String::from),
            ],
            0..6,
        );
        runner(cases)
            .run(&words, |w| {
                let argv = std::iter::once("audit".to_string()).chain(w.iter().cloned());
                if let Err(e) = <otpd::audit::AuditArgs as clap::Parser>::try_parse_from(argv) {
                    let line = otpd::render::error::prompt_line("audit", &e);
                    prop_assert!(clean(&line), "{line:?}");
                    let all = otpd::render::clap_message(&e.render().to_string());
                    prop_assert!(!all.chars().any(|c| c != '\n' && forbidden(c)), "{all:?}");
                }
                Ok(())
            })
            .unwrap();
    }

    /// Provider error texts: Twilio's JSON error body with hostile `message` / `more_info`,
    /// through the one mapping function and the operator's sentence: no panic, nothing unsafe,
    /// the recipient's full number never quoted.
    pub fn provider_errors(cases: u32) {
        let to = PhoneNumber::parse("+1 415 555 2671").unwrap();
        let body = (
            hostile_text(),
            hostile_text(),
            prop::sample::select(vec![20003u32, 21211, 21408, 21610, 20429, 30008, 21999]),
            prop::sample::select(vec![400u16, 401, 404, 429, 500, 503]),
            any::<bool>(),
        );
        runner(cases)
            .run(&body, |(message, info, code, status, quote)| {
                let message = if quote {
                    format!("{message} +14155552671 {message}")
                } else {
                    message
                };
                let json = serde_json::json!({
                    "code": code, "message": message, "more_info": info, "status": status,
                })
                .to_string();
                for text in [json.as_str(), message.as_str()] {
                    let e = ApiError::from_response(status, Some(&info), text, Some(&to));
                    for attempts in [1, 3] {
                        let m = e.operator_message(&to, attempts);
                        prop_assert!(clean(&m), "{m:?}");
                        prop_assert!(!m.contains("4155552671"), "{m:?}");
                    }
                    prop_assert!(clean(e.short()));
                    prop_assert!(clean(&otpd::sanitize::sanitize(&message)));
                }
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn hostile_prompt_lines_audit_arguments_and_provider_errors_are_safe() {
    props::prompt_lines(SHORT.strings);
    props::audit_inputs(SHORT.strings / 2);
    props::provider_errors(SHORT.strings);
}

#[test]
#[ignore = "long: cargo test --release --test it -- --ignored reliability"]
fn long_hostile_prompt_lines_audit_arguments_and_provider_errors() {
    props::prompt_lines(LONG.strings);
    props::audit_inputs(LONG.strings / 2);
    props::provider_errors(LONG.strings);
}

/// Twilio answers with an error whose `message` holds ESC, BEL, C1 (CSI), bidi overrides and
/// isolates: neither the one-shot command (text, JSON) nor the prompt nor the audit listing lets
/// any of it through.
#[test]
fn hostile_provider_error_texts_never_reach_the_terminal() {
    let nasty = "Refused\u{1b}[2J\u{1b}]0;owned\u{7} \u{9b}31m red \u{202e}txet\u{202c} \
                 \u{2066}iso\u{2069} \u{85}next\u{200f} for +14155552671";
    let fake = FakeTwilio::start();
    for _ in 0..4 {
        fake.reply(Reply::error(400, 21999, nasty));
    }
    let env = twilio_env(&fake, "");
    let runs = [
        env.run(&["send", US]),
        env.run(&["--json", "send", US]),
        env.run_stdin(&[], format!("send {US}\n").as_bytes()),
        env.run_stdin(&["--json"], format!("send {US}\n").as_bytes()),
        env.run(&["audit"]),
        env.run(&["--json", "audit"]),
        env.run(&["audit", "export"]),
    ];
    for r in &runs {
        let text = format!("{}{}", r.stdout, r.stderr);
        let bad: Vec<char> = text
            .chars()
            .filter(|c| *c != '\n' && hostile::forbidden(*c))
            .collect();
        assert!(bad.is_empty(), "{bad:?} reached the terminal: {text:?}");
        assert!(!text.contains("4155552671"), "unmasked: {text}");
    }
    assert!(runs[0].stdout.contains("Twilio refused"), "{:?}", runs[0]);
    assert!(
        runs[0].stdout.contains("Refused"),
        "the text is shown, made safe: {:?}",
        runs[0]
    );
}

/// clap's own parse errors quote the offending word: an unknown argument, a bad `--event` or
/// `--format` value, an unknown subcommand. With C1 controls (CSI), bidi overrides, BEL and a
/// 100 KiB word: exit 2, nothing unsafe, nothing echoed whole.
#[test]
fn hostile_words_in_command_line_parse_errors_are_sanitised() {
    let env = Env::new();
    let nasty = "a\u{9b}31m\u{202e}b\u{7}\u{1b}]0;t\u{2066}c";
    let long = format!("x{}", "\u{9b}".repeat(50_000));
    let bogus = format!("--bogus{nasty}");
    let cases: Vec<Vec<&str>> = vec![
        vec!["audit", "--event", nasty],
        vec!["audit", "--event", &long],
        vec!["audit", "export", "--format", nasty],
        vec!["audit", &bogus],
        vec!["send", US, &bogus],
        vec![nasty],
        vec![&long],
        vec!["prune", "--older-than", nasty],
    ];
    for args in cases {
        let r = env.run(&args);
        assert_eq!(r.code, 2, "{r:?}");
        let text = format!("{}{}", r.stdout, r.stderr);
        let bad: Vec<char> = text
            .chars()
            .filter(|c| *c != '\n' && hostile::forbidden(*c))
            .collect();
        assert!(bad.is_empty(), "{bad:?} in {text:?}");
        assert!(text.len() < 4_000, "echoed {} bytes", text.len());
    }
}

/// A 1 MiB line (and one of 64 KiB with NULs) into the piped prompt: refused with one short
/// line each, and the loop goes on. (NUL bytes and invalid UTF-8 in short lines:
/// `repl::bad_lines_are_refused_one_by_one_and_the_loop_goes_on`.)
#[test]
fn hostile_one_mib_line_into_the_prompt_is_refused_and_the_loop_goes_on() {
    let env = Env::new();
    let mut script = Vec::new();
    script.extend_from_slice(b"send ");
    script.extend(std::iter::repeat_n(b'7', 1 << 20));
    script.push(b'\n');
    script.extend(std::iter::repeat_n(b'\0', 1 << 16));
    script.push(b'\n');
    script.extend_from_slice(b"status\n");
    let r = env.run_stdin(&["--json"], &script);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.len() < 2_000, "echoed {} bytes", r.stdout.len());
    let outcomes: Vec<String> = r
        .json_lines()
        .iter()
        .map(|j| j["outcome"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        outcomes,
        ["invalid_input", "invalid_input", "status"],
        "{r:?}"
    );
    assert!(env.outbox().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 6. SIGTERM to a running prompt
// ---------------------------------------------------------------------------------------------

/// Polls the database until the newest verification of `US` has counted an attempt: the
/// verify is then under way (the attempt is counted before the hash).
fn wait_until_verifying(env: &Env) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let counted = || -> rusqlite::Result<bool> {
        env.db()
            .query_row(
                "SELECT attempts FROM challenges ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
    };
    while !counted().unwrap_or(false) {
        assert!(
            std::time::Instant::now() < deadline,
            "the verify never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// SIGTERM to a prompt reading a script — while it waits for its next line, or in the middle
/// of a verify (argon2 at 16 MiB, the attempt already counted) — ends it with exit 143: a
/// command under way finishes first (its answer printed and audited), nothing after it runs.
/// The database passes `integrity_check` and `otpd audit verify`.
fn sigterm_prompts(rounds: usize) {
    let mut env = Env::with_raw_config(&format!(
        "[hashing]\nmemory_kib = 16384\niterations = 2\nparallelism = 1\n\
         [policy]\nresend_cooldown_seconds = 0\nmax_attempts = 100\n{NO_CAPS}"
    ));
    let mut mid_command = 0;
    for round in 0..rounds {
        env.advance(31);
        let mut child = env
            .command()
            .arg("--json")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn otpd");
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdin.write_all(format!("send {US}\n").as_bytes()).unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.contains("\"sent\""), "{line}");
        let code = env.last_code(US_E164);
        let busy = round % 2 == 1;
        if busy {
            stdin
                .write_all(format!("verify {code}\nstatus\n").as_bytes())
                .unwrap();
            stdin.flush().unwrap();
            wait_until_verifying(&env);
        }
        // SAFETY: kill(2) on our own, not yet waited-for child.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        let status = child.wait().unwrap();
        drop(stdin);
        assert_eq!(status.code(), Some(143), "round {round}: {status:?} {rest}");
        let outcomes: Vec<String> = rest
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["outcome"].as_str().unwrap_or_default().to_string()
            })
            .collect();
        if busy {
            mid_command += 1;
            // The verify finished and answered; the `status` after it never ran.
            assert_eq!(outcomes, ["approved"], "round {round}");
            assert_eq!(
                crate::reliability_core::count_events(&env, "approved"),
                mid_command,
                "round {round}"
            );
        } else {
            assert!(outcomes.is_empty(), "round {round}: {outcomes:?}");
        }
        assert_consistent(&env, None);
        let v = env.run(&["--json", "audit", "verify"]);
        assert_eq!(v.code, 0, "round {round}: {v:?}");
        assert_eq!(v.outcome(), "audit_intact");
    }
    eprintln!("SIGTERM to a prompt: {rounds} rounds, {mid_command} mid-verify, all exit 143");
    // Still works afterwards.
    env.advance(31);
    env.run(&["send", US2]).ok();
}

#[test]
fn signals_sigterm_to_a_running_prompt_leaves_a_consistent_database() {
    sigterm_prompts(4);
}

#[test]
#[ignore = "long: cargo test --release --test it -- --ignored reliability"]
fn long_signals_sigterm_to_a_running_prompt() {
    sigterm_prompts(50);
}
