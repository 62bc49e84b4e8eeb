//! The interactive prompt and the kiosk, driven like people and programs use them: through a
//! pseudo-terminal (rexpect) and through piped stdin with `--json`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;

use rexpect::process::{Signal, WaitStatus};
use rexpect::session::{PtySession, spawn_command};

use crate::harness::{Env, US, US_E164, US2};

/// How long any one expected screen may take to appear.
const TIMEOUT_MS: u64 = 10_000;

pub(crate) fn prompt(env: &Env, args: &[&str]) -> PtySession {
    spawn_command(env.pty_command(args), Some(TIMEOUT_MS)).expect("spawn otpd in a pty")
}

/// Waits for `text` on the screen. rexpect reads the terminal byte by byte as Latin-1, so
/// the expected UTF-8 text is compared in that form.
#[track_caller]
pub(crate) fn expect(p: &mut PtySession, text: &str) {
    let latin1: String = text.bytes().map(char::from).collect();
    if let Err(e) = p.exp_string(&latin1) {
        panic!("expected {text:?} on the screen: {e}");
    }
}

/// Types a line and presses Enter, the way a terminal sends it.
pub(crate) fn type_line(p: &mut PtySession, line: &str) {
    p.send(line).unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
}

fn alive(p: &PtySession) -> bool {
    matches!(p.process().status(), Some(WaitStatus::StillAlive))
}

#[test]
fn the_prompt_conversation_masks_numbers_counts_attempts_and_keeps_codes_out_of_history() {
    let env = Env::new();
    let mut p = prompt(&env, &[]);
    expect(
        &mut p,
        "otpd 0.1.0 — phone verification. Delivery: outbox (file). Station: desk-1. Type help.",
    );
    expect(&mut p, "otpd> ");
    type_line(&mut p, "send +1 415 555 2671");
    expect(
        &mut p,
        "Sent a 6-digit code by SMS to +1 •••-•••-2671. It expires at 10:05 (in 5 min).",
    );
    expect(&mut p, "otpd +1•••2671> ");
    let wrong = env.wrong_code(US_E164);
    type_line(&mut p, &format!("verify {} {}", &wrong[..3], &wrong[3..]));
    expect(&mut p, "That code is not right. 4 attempts left.");
    expect(&mut p, "otpd +1•••2671> ");
    let code = env.last_code(US_E164);
    type_line(&mut p, &code);
    expect(&mut p, "Verified +1 •••-•••-2671. ✔");
    expect(&mut p, "otpd> ");
    type_line(&mut p, &code);
    expect(
        &mut p,
        "That code was already used: +1 •••-•••-2671 is verified.",
    );
    type_line(&mut p, "quit");
    expect(&mut p, "Bye.");
    p.exp_eof().unwrap();
    assert_eq!(
        env.audit_events(),
        ["sent", "delivered", "invalid", "approved", "already_used"]
    );

    // The history is private and holds no code.
    let history = env.home().join(".local/state/otpd/history");
    let mode = std::fs::metadata(&history).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&history).unwrap();
    // Nor a full number: only the challenges table holds one (issue 24).
    assert!(text.contains("send +1 •••-•••-2671"), "{text}");
    assert!(!text.contains("415 555"), "{text}");
    assert!(text.contains("verify ******"), "{text}");
    assert!(
        !text.contains(&code) && !text.contains(&wrong[..3]),
        "{text}"
    );
}

#[test]
fn tab_completes_commands_and_channels() {
    let env = Env::new();
    let mut p = prompt(&env, &["repl"]);
    expect(&mut p, "otpd> ");
    p.send("sen\t+1 202 555 0123 wh\t\r").unwrap();
    p.flush().unwrap();
    expect(
        &mut p,
        "Sent a 6-digit code on WhatsApp to +1 •••-•••-0123.",
    );
    assert_eq!(env.outbox()[0]["channel"], "whatsapp");
    p.send("stat\t\r").unwrap();
    p.flush().unwrap();
    expect(&mut p, "+1 •••-•••-0123 — code sent on WhatsApp");
}

#[test]
fn ctrl_c_cancels_the_line_and_ctrl_d_exits() {
    let env = Env::new();
    let mut p = prompt(&env, &[]);
    expect(&mut p, "otpd> ");
    p.send("send +1 415 555 2671").unwrap();
    p.flush().unwrap();
    p.send_control('c').unwrap();
    expect(&mut p, "otpd> ");
    type_line(&mut p, "status");
    expect(&mut p, "No verification is pending.");
    assert!(env.outbox().is_empty(), "the cancelled line must not run");
    assert!(alive(&p));
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    assert!(matches!(
        p.process_mut().wait().unwrap(),
        WaitStatus::Exited(_, 0)
    ));
}

#[test]
fn a_killed_prompt_resumes_the_pending_code() {
    let env = Env::new();
    let mut p = prompt(&env, &[]);
    expect(&mut p, "otpd> ");
    type_line(&mut p, US);
    expect(&mut p, "Sent a 6-digit code");
    p.process_mut().kill(Signal::SIGKILL).unwrap();

    let mut p = prompt(&env, &[]);
    expect(
        &mut p,
        "Resuming: code pending for +1 •••-•••-2671, expires in 5 min.",
    );
    expect(&mut p, "otpd +1•••2671> ");
    type_line(&mut p, &env.last_code(US_E164));
    expect(&mut p, "Verified +1 •••-•••-2671. ✔");
}

// ── Piped stdin and --json ──────────────────────────────────────────────────────────────────

#[test]
fn a_json_script_gets_one_object_per_command() {
    let env = Env::new();
    // The code is only known once sent: run the script in two halves, like a front-end would.
    let first = env.run_stdin(&["--json"], b"send +1 415 555 2671\nstatus\nhelp\nresnd\n");
    assert_eq!(first.code, 0, "{first:?}");
    let outcomes: Vec<_> = first
        .json_lines()
        .iter()
        .map(|j| j["outcome"].clone())
        .collect();
    assert_eq!(outcomes, ["sent", "status", "help", "unknown_command"]);
    assert_eq!(first.json_lines()[3]["suggestion"], "resend");
    assert!(!first.stdout.contains("4155552671"));

    let code = env.last_code(US_E164);
    let wrong = env.wrong_code(US_E164);
    let script = format!(
        "verify {wrong} {US}\n\n{code}\n{code}\nsend +1 555 555 0000\ncancel\nquit\nstatus\n"
    );
    let second = env.run_stdin(&["repl", "--json"], script.as_bytes());
    let lines = second.json_lines();
    let outcomes: Vec<_> = lines
        .iter()
        .map(|j| j["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "invalid",
            "approved",
            "already_used",
            "invalid_phone",
            "no_pending",
            "bye"
        ],
        "{second:?}"
    );
    assert_eq!(lines[0]["attempts_left"], 4);
}

#[test]
fn bad_lines_are_refused_one_by_one_and_the_loop_goes_on() {
    let env = Env::new();
    let mut script = Vec::new();
    script.extend_from_slice(format!("send {}\n", "1".repeat(300)).as_bytes());
    script.extend_from_slice(b"verify 12\x0034 56\n");
    script.extend_from_slice(b"send \xff\xfe+1\n");
    script.extend_from_slice(b"\x1b[31msend +1 415 555 2671\n");
    script.extend_from_slice("٤٨٢٩١٣\n".as_bytes());
    script.extend_from_slice(b"status\n");
    let r = env.run_stdin(&["--json"], &script);
    let lines = r.json_lines();
    let outcomes: Vec<_> = lines
        .iter()
        .map(|j| j["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "invalid_input",
            "invalid_input",
            "invalid_input",
            "invalid_input",
            "invalid_input",
            "status"
        ],
        "{r:?}"
    );
    let errors: Vec<_> = lines
        .iter()
        .map(|j| j["error"].as_str().unwrap_or(""))
        .collect();
    assert!(errors[0].contains("too long (305 bytes)"), "{errors:?}");
    assert!(errors[1].contains("control characters"), "{errors:?}");
    assert!(errors[2].contains("not valid UTF-8"), "{errors:?}");
    assert!(errors[3].contains("control characters"), "{errors:?}");
    assert!(errors[4].contains("digits as 0-9"), "{errors:?}");
    assert!(!r.stdout.contains('\x1b'), "nothing echoed raw");
    assert!(env.outbox().is_empty());

    // Plain text mode: one line each, too.
    let r = env.run_stdin(&[], &script);
    assert_eq!(r.stdout.lines().count(), 6, "{r:?}");
    assert_eq!(r.stdout.lines().last(), Some("No verification is pending."));
}

#[test]
fn the_session_remembers_the_number_for_resend_and_cancel() {
    let mut env = Env::new();
    env.run(&["send", US2]).ok();
    env.run(&["send", US]).ok();
    // Two codes pending on this station: without a current number, resend must ask which.
    let r = env.run_stdin(&["--json"], b"resend\n");
    assert_eq!(r.json_lines()[0]["outcome"], "phone_required", "{r:?}");
    env.advance(60);
    let r = env.run_stdin(
        &["--json"],
        format!("{US}\nresend\ncancel\nstatus\n").as_bytes(),
    );
    let lines = r.json_lines();
    let outcomes: Vec<_> = lines
        .iter()
        .map(|j| j["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["sent", "rate_limited", "cancelled", "status"],
        "{r:?}"
    );
    assert_eq!(lines[1]["phone"], "+1 •••-•••-2671");
    assert_eq!(lines[2]["phone"], "+1 •••-•••-2671");
    assert_eq!(lines[3]["pending"].as_array().unwrap().len(), 1);
    assert_eq!(lines[3]["pending"][0]["phone"], "+1 •••-•••-0123");
}

#[test]
fn audit_at_the_prompt_runs_the_review_commands_and_survives_mistakes() {
    let env = Env::new();
    let r = env.run_stdin(
        &["--json"],
        format!("send {US}\naudit verify\naudit --event nonsense\naudit --limit 5\nstatus\n")
            .as_bytes(),
    );
    let lines = r.json_lines();
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(outcomes[0], "sent", "{r:?}");
    assert_eq!(outcomes[1], "audit_intact", "{r:?}");
    assert_eq!(lines[1]["rows"], 2, "{r:?}");
    assert_eq!(outcomes[2], "error", "a bad filter is one line: {r:?}");
    // `audit --limit 5` in JSON mode lists one object per event, newest first.
    assert_eq!(lines[3]["event"], "delivered", "{r:?}");
    assert_eq!(lines[4]["event"], "sent", "{r:?}");
    assert_eq!(
        *outcomes.last().unwrap(),
        "status",
        "the prompt went on: {r:?}"
    );
}

// ── The kiosk ───────────────────────────────────────────────────────────────────────────────

fn kiosk_env(extra: &str) -> Env {
    Env::with_config(&format!("[kiosk]\n{extra}"))
}

#[test]
fn the_kiosk_refuses_a_delivery_that_shows_codes() {
    let mut env = Env::new();
    env.set_env("OTPD_DELIVERY", "console");
    let r = env.run(&["kiosk"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("never shows codes"), "{r:?}");
}

#[test]
fn the_kiosk_guides_a_visitor_and_resets_after_success() {
    let env = kiosk_env("result_seconds = 1\nidle_seconds = 60\n");
    let mut p = prompt(&env, &["kiosk"]);
    expect(&mut p, "Enter your mobile number");
    type_line(&mut p, "status");
    expect(&mut p, "Please enter a mobile number");
    type_line(&mut p, UK_NUMBER);
    expect(&mut p, "Sent a 6-digit code by SMS to +44 •••• ••3456");
    expect(&mut p, "Enter the code we sent");
    type_line(&mut p, &env.wrong_code(UK_E164));
    expect(&mut p, "That code is not right. 4 attempts left.");
    // Resend is neither offered nor allowed within the cooldown.
    expect(&mut p, "Enter the code we sent:");
    type_line(&mut p, "resend");
    expect(&mut p, "Please wait 30 s before asking for another code.");
    type_line(&mut p, &env.last_code(UK_E164));
    expect(&mut p, "Verified +44 •••• ••3456. ✔");
    expect(&mut p, "Thank you. This screen resets in 1 s.");
    expect(&mut p, "\x1b[H\x1b[2J");
    expect(&mut p, "Enter your mobile number");
}

#[test]
fn the_kiosk_offers_configured_channels_and_resend_after_the_cooldown() {
    let env = Env::with_config(
        "[policy]\nresend_cooldown_seconds = 0\n[kiosk]\nchannels = [\"sms\", \"whatsapp\"]\n",
    );
    let mut p = prompt(&env, &["kiosk"]);
    expect(&mut p, "Enter your mobile number");
    type_line(&mut p, US);
    expect(&mut p, "How should we send the code? Type sms or whatsapp:");
    type_line(&mut p, "call");
    expect(&mut p, "How should we send the code? Type sms or whatsapp:");
    type_line(&mut p, "whatsapp");
    expect(&mut p, "Sent a 6-digit code on WhatsApp to +1 •••-•••-2671");
    expect(
        &mut p,
        "Enter the code we sent (didn't get it? type resend):",
    );
    type_line(&mut p, "resend");
    expect(
        &mut p,
        "Sent a new 6-digit code on WhatsApp to +1 •••-•••-2671",
    );
    let second = env.last_code(US_E164);
    type_line(&mut p, &second);
    expect(&mut p, "Verified +1 •••-•••-2671. ✔");
    assert_eq!(env.outbox().len(), 2);
    assert!(env.outbox().iter().all(|m| m["channel"] == "whatsapp"));
}

const UK_NUMBER: &str = crate::harness::UK;
const UK_E164: &str = crate::harness::UK_E164;

#[test]
fn an_idle_kiosk_starts_over_and_the_code_stays_valid() {
    let env = kiosk_env("idle_seconds = 2\n");
    let mut p = prompt(&env, &["kiosk"]);
    expect(&mut p, "Enter your mobile number");
    type_line(&mut p, US);
    expect(&mut p, "Enter the code we sent");
    // Nobody types: after a second the screen is cleared and the flow starts over.
    // (On a terminal the screen is drawn centred: blank lines and spaces before the text.)
    let (before, _) = p
        .exp_regex(r"\x1b\[H\x1b\[2J\s*Welcome")
        .expect("idle reset");
    assert!(!before.contains("Resuming"));
    expect(&mut p, "Enter your mobile number");
    // Half a line typed, then walked away: it is dropped with the session.
    p.send("+1 41").unwrap();
    p.flush().unwrap();
    p.exp_regex(r"\x1b\[H\x1b\[2J\s*Welcome")
        .expect("idle reset");
    expect(&mut p, "Enter your mobile number");
    type_line(&mut p, US2);
    expect(&mut p, "Sent a 6-digit code by SMS to +1 •••-•••-0123");
    // The first visitor's code was never shown again but still works for its TTL.
    let r = env.run(&["verify", "--json", &env.last_code(US_E164), "--phone", US]);
    assert_eq!(r.outcome(), "approved", "{r:?}");
}

#[test]
fn the_kiosk_ignores_ctrl_c_ctrl_d_and_ctrl_z() {
    let env = kiosk_env("");
    let mut p = prompt(&env, &["kiosk"]);
    expect(&mut p, "Enter your mobile number");
    p.send("+1 4").unwrap();
    p.flush().unwrap();
    p.send_control('c').unwrap(); // drops the half-typed line, nothing else
    p.send_control('z').unwrap();
    p.send_control('\\').unwrap();
    p.send_control('d').unwrap(); // not end-of-file here, and not a character either
    p.send("\r").unwrap();
    p.flush().unwrap();
    // Nothing was typed: the question again, and none of the keys left a mark on the screen.
    let (before, _) = p.exp_regex("Enter your mobile number").unwrap();
    assert!(
        !before.contains('^') && !before.contains("control characters"),
        "{before:?}"
    );
    assert!(alive(&p));
    type_line(&mut p, US);
    expect(&mut p, "Sent a 6-digit code by SMS to +1 •••-•••-2671");
    assert!(alive(&p));
    // Its supervisor can still stop it (cleanly: the screen is cleared, exit 0).
    p.process_mut().signal(Signal::SIGTERM).unwrap();
    assert!(matches!(
        p.process_mut().wait().unwrap(),
        WaitStatus::Exited(_, 0)
    ));
}

// ── Ctrl-C while a command runs ─────────────────────────────────────────────────────────────

/// Makes the outbox a FIFO: delivery then blocks in `open` until the test reads it, so once the
/// `sent` audit event is committed the command is provably half-way (code stored, delivery in
/// flight) until [`drain`] is called. fsync on a FIFO fails, so the delivery ends as
/// `delivery_failed` — a complete, audited outcome all the same.
fn blocking_outbox(env: &Env) {
    let made = std::process::Command::new("mkfifo")
        .arg(env.outbox_path())
        .status()
        .unwrap();
    assert!(made.success());
}

/// Polls the database until the command has stored its code and is about to deliver it.
fn wait_until_delivering(env: &Env) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(TIMEOUT_MS);
    let started = || -> rusqlite::Result<bool> {
        let db = rusqlite::Connection::open_with_flags(
            env.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        db.query_row(
            "SELECT count(*) FROM audit_events WHERE event = 'sent'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
    };
    // The database may not exist yet, or be half-created: both mean "not yet".
    while !started().unwrap_or(false) {
        assert!(
            std::time::Instant::now() < deadline,
            "the send never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Lets the blocked delivery go on; returns what it wrote.
fn drain(env: &Env) -> String {
    let fifo = env.outbox_path();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&fifo) {
            let _ = f.read_to_string(&mut text);
        }
        let _ = tx.send(text);
    });
    rx.recv_timeout(std::time::Duration::from_millis(TIMEOUT_MS))
        .expect("delivery did not finish")
}

#[test]
fn ctrl_c_during_delivery_lets_the_command_finish_then_returns_to_the_prompt() {
    let env = Env::new();
    blocking_outbox(&env);
    let mut p = prompt(&env, &[]);
    expect(&mut p, "otpd> ");
    type_line(&mut p, US);
    wait_until_delivering(&env);
    p.send_control('c').unwrap();
    assert!(drain(&env).contains(US_E164));
    expect(&mut p, "Could not deliver the code to +1 •••-•••-2671");
    expect(&mut p, "otpd> ");
    type_line(&mut p, "help quit");
    expect(&mut p, "quit — leave the prompt");
    assert!(alive(&p));
    assert_eq!(env.audit_events(), ["sent", "delivery_failed"]);
}

fn spawn_script(
    env: &Env,
) -> (
    std::process::Child,
    std::process::ChildStdin,
    BufReader<std::process::ChildStdout>,
) {
    let mut child = env
        .command()
        .arg("--json")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdin, stdout)
}

fn sigint(child: &std::process::Child) {
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
}

#[test]
fn sigint_stops_a_script_only_after_the_running_command() {
    let env = Env::new();
    blocking_outbox(&env);
    let (mut child, mut stdin, mut stdout) = spawn_script(&env);
    stdin
        .write_all(format!("send {US}\nstatus\n").as_bytes())
        .unwrap();
    drop(stdin); // so a wrong implementation ends at EOF instead of waiting for more
    wait_until_delivering(&env);
    sigint(&child);
    assert!(drain(&env).contains(US_E164));
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("\"outcome\":\"delivery_failed\""), "{line}");
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let mut rest = String::new();
    stdout.read_line(&mut rest).unwrap();
    assert_eq!(rest, "", "the next line must not run");
    assert_eq!(env.audit_events(), ["sent", "delivery_failed"]);
}

#[test]
fn sigint_while_a_script_waits_for_input_ends_it_at_once() {
    let env = Env::new();
    let (mut child, mut stdin, mut stdout) = spawn_script(&env);
    stdin.write_all(b"status\n").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("\"outcome\":\"status\""), "{line}");
    sigint(&child);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    drop(stdin);
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let env = Env::new();
    let mut cmd = env.pty_command(&[]);
    cmd.env_remove("NO_COLOR");
    let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).unwrap();
    expect(&mut p, "otpd> ");
    type_line(&mut p, "status");
    expect(&mut p, "\x1b[32mNo verification is pending.\x1b[0m");

    let mut p = prompt(&env, &[]); // NO_COLOR=1
    expect(&mut p, "otpd> ");
    type_line(&mut p, "status");
    let before = p
        .exp_string("No verification is pending.")
        .expect("status answer");
    assert!(!before.ends_with("\x1b[32m"), "{before:?}");
    type_line(&mut p, "quit");
    let rest = p.exp_eof().unwrap();
    assert!(!rest.contains("\x1b[3"), "{rest:?}");
}

#[test]
fn an_operator_sees_the_limits_and_unlocks_a_number_at_the_prompt() {
    let env =
        Env::with_config("[limits]\nmax_failures_per_number = 2\nfailures_before_unlock = 2\n");
    let r = env.run_stdin(&["--json"], format!("send {US}\n").as_bytes());
    assert_eq!(r.json_lines()[0]["outcome"], "sent", "{r:?}");
    let wrong = env.wrong_code(US_E164);
    let right = env.last_code(US_E164);
    let script = format!(
        "verify {wrong} {US}\nverify {wrong} {US}\nverify {right} {US}\nlimits {US}\nunlock {US}\nverify {right} {US}\n"
    );
    let r = env.run_stdin(&["--json"], script.as_bytes());
    let outcomes: Vec<String> = r
        .json_lines()
        .iter()
        .map(|l| l["outcome"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        outcomes,
        [
            "invalid",
            "invalid",
            "number_locked",
            "limits",
            "unlocked",
            "approved"
        ],
        "{r:?}"
    );
    assert!(env.audit_events().contains(&"unlocked".to_string()));
}

// ── One grammar ─────────────────────────────────────────────────────────────────────────────

/// The command line and the prompt parse with one grammar: a form works in both, and a word
/// missing its phone number gets the same answer whichever command it is.
#[test]
fn a_word_means_the_same_on_the_command_line_and_at_the_prompt() {
    let env = Env::new();
    // The prompt's `send PHONE CHANNEL` on the command line, and `--channel` at the prompt.
    let r = env.run(&["--json", "send", US2, "whatsapp"]);
    assert_eq!(r.json()["outcome"], "sent", "{r:?}");
    let r = env.run_stdin(
        &["--json"],
        format!("send {US} --channel call\n").as_bytes(),
    );
    assert_eq!(r.json_lines()[0]["outcome"], "sent", "{r:?}");
    let channels: Vec<_> = env.outbox().iter().map(|m| m["channel"].clone()).collect();
    assert_eq!(channels, ["whatsapp", "call"]);
    // `verify CODE --phone PHONE` at the prompt, as on the command line.
    let code = env.last_code(US_E164);
    let r = env.run_stdin(
        &["--json"],
        format!("verify {code} --phone {US}\n").as_bytes(),
    );
    assert_eq!(r.json_lines()[0]["outcome"], "approved", "{r:?}");

    // No phone: `unlock` is answered like `send`, in one sentence.
    let r = env.run_stdin(&["--json"], b"send\nunlock\nlimits resume now\n");
    let lines = r.json_lines();
    assert_eq!(lines[0]["outcome"], "invalid_phone", "{r:?}");
    assert_eq!(lines[1], lines[0], "{r:?}");
    // A stray word is refused as on the command line, naming the command.
    assert_eq!(lines[2]["error"], "usage_error", "{r:?}");
    let message = lines[2]["message"].as_str().unwrap();
    assert!(
        message.starts_with("limits: unexpected argument 'now'"),
        "{message}"
    );
    let cli = env.run(&["limits", "resume", "now"]);
    assert_eq!(cli.code, 2, "{cli:?}");
    assert!(cli.stderr.contains("unexpected argument 'now'"), "{cli:?}");
}
