//! Terminals without secrets (issue 14): the one-shot commands, the prompt (piped and in a
//! pseudo-terminal) and the kiosk with `--server`, against a real `otpd serve` on
//! `127.0.0.1:0`. The terminal's own directory never gets a database or a master key; its words,
//! JSON and exit statuses are compared with the same commands run against a local database.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::harness::{Env, US, US_E164, US2, on_both_stores};
use crate::repl::{expect, prompt, type_line};
use crate::serve::{Key, Server, assert_error, key};

/// A terminal installation that works through `server` with `key`: no database, no secret.
fn terminal_with(server: &Server, key: &Key, extra: &str) -> Env {
    let mut t = Env::with_config(extra);
    t.set_env("OTPD_SERVER", &server.base);
    t.set_env("OTPD_API_KEY", &key.sid);
    t.set_env("OTPD_API_SECRET", &key.secret);
    t
}

fn terminal(server: &Server, key: &Key) -> Env {
    terminal_with(server, key, "")
}

/// Nothing local was opened or created: no database, no master key, no outbox.
#[track_caller]
fn holds_nothing(t: &Env) {
    for p in [t.db_path(), t.secret_path(), t.outbox_path()] {
        assert!(!p.exists(), "{} was created on the terminal", p.display());
    }
}

/// The same command against the local installation and through the server: same stdout,
/// same exit status.
#[track_caller]
fn same(local: &Env, term: &Env, args: &[&str]) -> String {
    let l = local.run(args);
    let r = term.run(args);
    assert_eq!(
        (r.code, &r.stdout),
        (l.code, &l.stdout),
        "{args:?}\nlocal: {l:?}\nremote: {r:?}"
    );
    r.stdout
}

on_both_stores! {
    /// The server on either store; the local installation on the same kind of store.
    fn one_shot_commands_read_the_same_through_the_server(store) {
    let local = Env::new_on(store);
    let served = Env::new_on(store);
    let k = key(&served, "desk-1", "station");
    let server = Server::start(&served);
    let term = terminal(&server, &k);

    let sent = same(&local, &term, &["send", US]);
    assert!(
        sent.contains("Sent a 6-digit code by SMS to +1 •••-•••-2671"),
        "{sent}"
    );
    let status = same(&local, &term, &["--json", "status"]);
    assert!(status.contains("\"station\":\"desk-1\""), "{status}");
    same(&local, &term, &["resend"]);
    same(&local, &term, &["--json", "send", US2]);
    same(&local, &term, &["status"]);
    // Two pending: a verify without a number is refused alike (exit 2).
    let required = same(&local, &term, &["--json", "verify", "123456"]);
    assert!(required.contains("phone_required"), "{required}");
    let (lw, tw) = (local.wrong_code(US_E164), served.wrong_code(US_E164));
    let l = local.run(&["verify", &lw, "--phone", US]);
    let r = term.run(&["verify", &tw, "--phone", US]);
    assert_eq!((r.code, &r.stdout), (l.code, &l.stdout), "{r:?}");
    assert!(r.stdout.contains("4 attempts left"), "{r:?}");
    let l = local.run(&["--json", "verify", &local.last_code(US_E164), "--phone", US]);
    let r = term.run(&[
        "--json",
        "verify",
        &served.last_code(US_E164),
        "--phone",
        US,
    ]);
    assert_eq!((r.code, &r.stdout), (l.code, &l.stdout), "{r:?}");
    assert_eq!(r.outcome(), "approved");
    same(&local, &term, &["limits"]);
    // A number's counters and its lock are an operator's: a station key is refused by the
    // server's use case, and the terminal says so as an outcome (exit 1), nothing done.
    assert_eq!(local.run(&["--json", "limits", US]).outcome(), "limits");
    for (args, privilege) in [
        (["--json", "limits", US], "read_limits"),
        (["--json", "unlock", US], "unlock"),
        (["--json", "limits", "resume"], "resume_sending"),
    ] {
        let r = term.run(&args);
        assert_eq!(r.code, 1, "{args:?} {r:?}");
        let j = r.json();
        assert_eq!(
            (j["outcome"].as_str(), j["privilege"].as_str()),
            (Some("forbidden"), Some(privilege)),
            "{args:?} {r:?}"
        );
    }
    let text = term.run(&["unlock", US]);
    assert_eq!(
        text.stdout.trim(),
        "This key may not unlock a number (otpd unlock); nothing was done. Ask an operator with an admin key.",
        "{text:?}"
    );
    let cancelled = same(&local, &term, &["cancel", US2]);
    assert!(cancelled.contains("Cancelled"), "{cancelled}");
    same(&local, &term, &["--json", "status"]);
    // Bad words are answered by the terminal itself, alike.
    same(&local, &term, &["--json", "send", "+1 555 0100"]);

    holds_nothing(&term);
    // The server did the work, as the key's station, and audited it.
    let events = served.audit_events();
    for e in ["sent", "invalid", "approved", "cancelled"] {
        assert!(events.iter().any(|x| x == e), "{e} in {events:?}");
    }
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    assert!(!log.contains(US_E164) && !log.contains(&k.secret), "{log}");
}
}

#[test]
fn the_audit_review_works_through_the_server_for_auditor_keys_only() {
    let served = Env::new();
    let desk = key(&served, "desk-1", "station");
    let auditor = key(&served, "back-office", "auditor");
    let server = Server::start(&served);
    let at_desk = terminal(&server, &desk);
    at_desk.run(&["send", US]).ok();

    let review = terminal(&server, &auditor);
    for args in [
        &["audit", "--json", "--limit", "5"][..],
        &["audit", "verify"],
        &["audit", "--event", "sent"],
        &["audit", "stats", "--json"],
        &["audit", "export"],
        &["audit", "export", "--format", "json"],
    ] {
        let (l, r) = (served.run(args), review.run(args));
        assert_eq!(
            (r.code, untimed(&r.stdout)),
            (l.code, untimed(&l.stdout)),
            "{args:?}: {r:?}"
        );
    }
    assert!(
        review
            .run(&["audit", "verify"])
            .stdout
            .contains("Audit log intact")
    );
    // The export is the log's rows, as on the server's machine.
    let csv = review.run(&["audit", "export"]);
    assert!(csv.stdout.lines().count() >= 3, "{csv:?}");
    // A key reads the log, not the server's files.
    let r = review.run(&["audit", "verify", "--head-file", "/etc/passwd"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("would name a file on the server"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("root:"), "{r:?}");
    // A station key may not read the log; an auditor key may not send.
    let r = at_desk.run(&["audit"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("may not read the audit log"), "{r:?}");
    // The server's use case refuses the auditor's send: an outcome, exit 1, nothing sent.
    let r = review.run(&["--json", "send", US2]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.json()["outcome"], "forbidden", "{r:?}");
    assert_eq!(r.json()["privilege"], "run_verifications", "{r:?}");
    holds_nothing(&review);
}

#[test]
fn the_audit_review_through_a_server_shows_and_reads_times_in_the_terminals_zone() {
    // The server runs in UTC (the harness's TZ); the auditor's terminal is in Paris (UTC+1 in
    // November). The send is audited at 10:00 UTC = 11:00 in Paris.
    let mut served = Env::new();
    let auditor = key(&served, "back-office", "auditor");
    let server = Server::start(&served);
    served.run(&["send", US]).ok();
    let mut review = terminal(&server, &auditor);
    review.set_env("TZ", "Europe/Paris");
    let through = review.run(&["audit", "--event", "sent"]);
    assert!(
        through.stdout.contains("2026-11-28 11:00:00"),
        "{through:?}"
    );
    // The same words as a local review on a machine in Paris.
    served.set_env("TZ", "Europe/Paris");
    let local = served.run(&["audit", "--event", "sent"]);
    assert_eq!(through.stdout, local.stdout);
    // Dates are read in Paris too: 10:30 there is 09:30 UTC, before the send.
    for (since, listed) in [("2026-11-28 10:30", true), ("2026-11-28 11:30", false)] {
        let r = review.run(&["audit", "--json", "--event", "sent", "--since", since]);
        assert_eq!(r.code, 0, "{r:?}");
        assert_eq!(
            r.stdout.lines().count(),
            usize::from(listed),
            "{since}: {r:?}"
        );
    }
    // Over HTTP the zone is the `TimeZone` field; a name that is not a zone is a 60200.
    let url = format!("{}/otpd/v1/audit", server.base);
    let since = |tz: Option<&'static str>| {
        let mut form = vec![("Args", "--event sent --since 2026-11-28T18:30")];
        form.extend(tz.map(|tz| ("TimeZone", tz)));
        let r = server.post(&url, Some(&auditor), &form);
        assert_eq!(r.status, 200, "{r:?}");
        r.body["lines"].as_array().map(Vec::len)
    };
    // 18:30 in Tokyo is 09:30 UTC, before the send; 18:30 in the server's UTC is after it.
    assert_eq!(since(Some("Asia/Tokyo")), Some(1));
    assert_eq!(since(None), Some(0));
    let form = [("Args", "--event sent"), ("TimeZone", "Mars/Olympus_Mons")];
    let r = server.post(&url, Some(&auditor), &form);
    assert_error(&r, 400, 60200);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("is not a time zone this server knows"),
        "{r:?}"
    );
}

/// `audit verify` says how long it took: the one word that differs between two runs.
fn untimed(stdout: &str) -> String {
    match stdout.split_once("verified in ") {
        Some((before, after)) => {
            let rest = after.split_once(" s").map_or("", |(_, rest)| rest);
            format!("{before}verified in … s{rest}")
        }
        None => stdout.to_string(),
    }
}

#[test]
fn a_revoked_key_is_refused_with_one_clear_line() {
    let served = Env::new();
    let k = key(&served, "kiosk-3", "station");
    let server = Server::start(&served);
    let term = terminal(&server, &k);
    term.run(&["status"]).ok();
    served.run(&["keys", "revoke", &k.sid]).ok();

    let r = term.run(&["send", US]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "one line: {r:?}");
    assert!(
        r.stderr
            .contains("refused this terminal's API key (unknown, revoked or wrong secret)"),
        "{r:?}"
    );
    assert!(!r.stderr.contains(&k.secret), "{r:?}");
    assert!(served.outbox().is_empty(), "nothing was sent");
    let r = term.run(&["--json", "status"]);
    assert_eq!(
        (r.code, r.json()["exit_code"].as_u64()),
        (2, Some(2)),
        "{r:?}"
    );
}

#[test]
fn an_unreachable_server_is_exit_3_within_the_timeouts() {
    // A closed port: refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut t = Env::new();
    t.set_env("OTPD_SERVER", &url);
    t.set_env("OTPD_API_KEY", &format!("SK{}", "ab".repeat(16)));
    t.set_env("OTPD_API_SECRET", "not-a-real-secret");
    let started = Instant::now();
    let r = t.run(&["send", US]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("cannot reach the otpd server at {url}")),
        "{r:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let r = t.run(&["--json", "status"]);
    assert_eq!(
        (r.code, r.json()["error"].as_str()),
        (3, Some("server_unreachable")),
        "{r:?}"
    );

    // A server that accepts and never answers: the request timeout ends it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let mut t = Env::with_config("[remote]\nconnect_timeout_ms = 300\nrequest_timeout_ms = 500\n");
    t.set_env("OTPD_SERVER", &url);
    t.set_env("OTPD_API_KEY", &format!("SK{}", "ab".repeat(16)));
    t.set_env("OTPD_API_SECRET", "not-a-real-secret");
    let started = Instant::now();
    let r = t.run(&["verify", "123456", "--phone", US]);
    let took = started.elapsed();
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("no answer in time"), "{r:?}");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "{took:?}"
    );
    holds_nothing(&t);
    drop(silent);
}

/// Lines of a child's stdout, as they come.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads lines until one contains `text`; returns it.
#[track_caller]
fn wait_for(rx: &Receiver<String>, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains(text) => return line,
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                panic!("{text:?} never came; saw {seen:#?}")
            }
        }
    }
}

fn spawn_piped(t: &Env, args: &[&str]) -> Child {
    t.command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn otpd")
}

#[test]
fn the_piped_prompt_works_through_the_server_and_follows_the_number() {
    let served = Env::new();
    let k = key(&served, "desk-1", "station");
    let server = Server::start(&served);
    let term = terminal(&server, &k);
    let mut child = spawn_piped(&term, &["--json"]);
    let rx = lines_of(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "send {US}").unwrap();
    let sent = wait_for(&rx, "\"outcome\"");
    assert!(
        sent.contains("\"outcome\":\"sent\"") && sent.contains("+1 •••-•••-2671"),
        "{sent}"
    );
    assert!(
        !sent.contains(US_E164),
        "the terminal prints the number masked: {sent}"
    );
    // No number: the prompt's current one, which came back from the server.
    writeln!(stdin, "verify {}", served.wrong_code(US_E164)).unwrap();
    assert!(wait_for(&rx, "\"outcome\"").contains("\"invalid\""));
    writeln!(stdin, "{}", served.last_code(US_E164)).unwrap();
    assert!(wait_for(&rx, "\"outcome\"").contains("\"approved\""));
    writeln!(stdin, "audit").unwrap();
    let refused = wait_for(&rx, "\"outcome\"");
    assert!(refused.contains("may not read the audit log"), "{refused}");
    writeln!(stdin, "quit").unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    holds_nothing(&term);
}

/// A server, and a kiosk terminal (station `kiosk-lobby`) that works through it.
fn kiosk_through_a_server(served: &Env) -> (Server, Env) {
    let k = key(served, "kiosk-lobby", "station");
    let server = Server::start(served);
    let term = terminal_with(
        &server,
        &k,
        "[kiosk]\nresult_seconds = 1\nidle_seconds = 60\n",
    );
    (server, term)
}

/// A piped kiosk on `term`, where a visitor has typed the number and been sent a code.
fn piped_kiosk_sent_a_code(term: &Env) -> (Child, Receiver<String>, std::process::ChildStdin) {
    let mut child = spawn_piped(term, &["kiosk"]);
    let rx = lines_of(&mut child);
    let mut stdin = child.stdin.take().unwrap();
    wait_for(&rx, "Enter your mobile number");
    writeln!(stdin, "{US}").unwrap();
    wait_for(&rx, "Sent a 6-digit code by SMS to +1 •••-•••-2671");
    (child, rx, stdin)
}

#[test]
fn the_kiosk_works_through_the_server() {
    let served = Env::new();
    let (_server, term) = kiosk_through_a_server(&served);
    let (mut child, rx, mut stdin) = piped_kiosk_sent_a_code(&term);
    writeln!(stdin, "{}", served.wrong_code(US_E164)).unwrap();
    wait_for(&rx, "That code is not right. 4 attempts left.");
    writeln!(stdin, "{}", served.last_code(US_E164)).unwrap();
    wait_for(&rx, "Verified +1 •••-•••-2671. ✔");
    wait_for(&rx, "Enter your mobile number");
    drop(stdin);
    assert!(child.wait().unwrap().success());
    holds_nothing(&term);
    let stations =
        served.query_strings("SELECT DISTINCT station FROM audit_events WHERE event = 'sent'");
    assert_eq!(stations, ["kiosk-lobby"]);
}

#[test]
fn the_kiosk_through_a_server_offers_resend_on_the_servers_cooldown() {
    // The server lets a code be resent at once; the terminal's own config says 60 s (the
    // default) and its clock stands still, so only the server's word can make the offer.
    let served = Env::with_config("[policy]\nresend_cooldown_seconds = 0\n");
    let (_server, term) = kiosk_through_a_server(&served);
    let (mut child, rx, mut stdin) = piped_kiosk_sent_a_code(&term);
    wait_for(&rx, "didn't get it? type resend");
    writeln!(stdin, "resend").unwrap();
    wait_for(&rx, "Sent a new 6-digit code");
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert_eq!(served.outbox().len(), 2);
}

#[test]
fn the_kiosk_in_a_terminal_works_through_the_server_and_ignores_control_keys() {
    let served = Env::new();
    let (_server, term) = kiosk_through_a_server(&served);
    let mut p = prompt(&term, &["kiosk"]);
    expect(&mut p, "Enter your mobile number");
    // A visitor's stray keys: Ctrl-C, Ctrl-\ and Ctrl-D end nothing.
    p.send_control('c').unwrap();
    p.send_control('\\').unwrap();
    p.send_control('d').unwrap();
    type_line(&mut p, US);
    expect(&mut p, "Sent a 6-digit code by SMS to +1 •••-•••-2671");
    type_line(&mut p, &served.wrong_code(US_E164));
    expect(&mut p, "That code is not right. 4 attempts left.");
    type_line(&mut p, &served.last_code(US_E164));
    expect(&mut p, "Verified +1 •••-•••-2671. ✔");
    // Back at the start for the next visitor.
    expect(&mut p, "Enter your mobile number");
    holds_nothing(&term);
    let stations = served.query_strings(
        "SELECT DISTINCT station FROM audit_events WHERE event IN ('sent', 'approved')",
    );
    assert_eq!(stations, ["kiosk-lobby"]);
}

#[test]
fn the_prompt_in_a_terminal_resumes_the_stations_pending_code_from_the_server() {
    let served = Env::new();
    // The terminal calls itself desk-1; the key says desk-9, and the key wins.
    let k = key(&served, "desk-9", "station");
    let server = Server::start(&served);
    let term = terminal(&server, &k);
    // Sent from one process (say, before the terminal restarted)…
    term.run(&["send", US]).ok();
    // …and picked up by the next prompt, from the server.
    let mut p = prompt(&term, &[]);
    expect(
        &mut p,
        &format!("Delivery: through {}. Station: desk-9.", server.base),
    );
    expect(
        &mut p,
        "Resuming: code pending for +1 •••-•••-2671, expires in 5 min.",
    );
    expect(&mut p, "otpd +1•••2671> ");
    type_line(&mut p, &served.last_code(US_E164));
    expect(&mut p, "Verified +1 •••-•••-2671. ✔");
    expect(&mut p, "otpd> ");
    type_line(&mut p, "quit");
    p.exp_eof().unwrap();
    holds_nothing(&term);
}

#[test]
fn a_kiosk_whose_server_is_gone_or_key_revoked_stops_at_start() {
    let served = Env::new();
    let k = key(&served, "kiosk-lobby", "station");
    let server = Server::start(&served);
    let term = terminal(&server, &k);
    served.run(&["keys", "revoke", &k.sid]).ok();
    let r = term.run(&["kiosk"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.is_empty(), "no welcome screen: {r:?}");
    assert!(
        r.stderr.contains("refused this terminal's API key"),
        "{r:?}"
    );
    let (status, _) = server.stop();
    assert_eq!(status, 0);
    let r = term.run(&["kiosk"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.is_empty(), "no welcome screen: {r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    assert!(r.stderr.contains("cannot reach the otpd server"), "{r:?}");
}

#[test]
fn the_execute_endpoint_acts_only_as_the_keys_station() {
    let served = Env::new();
    let k = key(&served, "desk-7", "station");
    let server = Server::start(&served);
    let url = format!("{}/otpd/v1/execute", server.base);
    let post = |req: &str| server.post(&url, Some(&k), &[("Request", req)]);
    // The request cannot name a station; the key's is used.
    assert_error(
        &post(r#"{"request":"status","station":"desk-1"}"#),
        400,
        60200,
    );
    assert_error(&post(r#"{"request":"verify","code":"12 34"}"#), 400, 60200);
    assert_error(
        &server.post(&url, None, &[("Request", r#"{"request":"status"}"#)]),
        401,
        20003,
    );
    let r = post(&format!(r#"{{"request":"send","phone":"{US_E164}"}}"#));
    assert_eq!(
        (r.status, &r.body["outcome"]),
        (200, &"sent".into()),
        "{r:?}"
    );
    // The answer carries the number for the terminal to go on with; never the code.
    assert_eq!(r.body["phone"], US_E164);
    assert!(!r.body.to_string().contains(&served.last_code(US_E164)));
    let stations = served.query_strings("SELECT station FROM audit_events WHERE event = 'sent'");
    assert_eq!(stations, ["desk-7"]);
}

#[test]
fn the_api_secret_file_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let served = Env::new();
    let k = key(&served, "desk-1", "station");
    let server = Server::start(&served);
    let mut t = Env::with_config(&format!(
        "[remote]\nurl = \"{}\"\napi_key = \"{}\"\napi_secret_file = \"api-secret\"\n",
        server.base, k.sid
    ));
    let file = t.config_path().with_file_name("api-secret");
    std::fs::write(&file, format!("{}\n", k.secret)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = t.run(&["status"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("remote.api_secret_file") && r.stderr.contains("chmod 600"),
        "{r:?}"
    );
    assert!(!r.stderr.contains(&k.secret), "{r:?}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = t.run(&["--json", "status"]);
    assert_eq!(r.outcome(), "status", "{r:?}");
    // The flag beats the file's url.
    t.set_env("OTPD_SERVER", "http://127.0.0.1:1");
    assert_eq!(t.run(&["status"]).code, 3);
    holds_nothing(&t);
}

#[test]
fn commands_of_the_database_refuse_to_run_through_a_server() {
    let served = Env::new();
    let k = key(&served, "desk-1", "station");
    let server = Server::start(&served);
    let term = terminal(&server, &k);
    for args in [
        &["keys", "list"][..],
        &["prune"],
        &["store", "copy", "--to", "x.db"],
    ] {
        let r = term.run(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains("not through a server"), "{r:?}");
    }
    let r = term.run(&["config"]);
    assert_eq!(r.code, 0, "{r:?}");
    holds_nothing(&term);
}

#[test]
fn a_kiosk_whose_server_is_gone_tells_the_visitor_in_visitor_words() {
    let served = Env::new();
    let (server, term) = kiosk_through_a_server(&served);
    let (child, rx, mut stdin) = piped_kiosk_sent_a_code(&term);
    drop(server);
    writeln!(stdin, "{}", served.last_code(US_E164)).unwrap();
    let said = wait_for(&rx, "right now");
    assert!(
        said.contains("Sorry, codes cannot be sent from this kiosk right now."),
        "{said}"
    );
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("otpd kiosk: "),
        "the operator's reason is logged: {log}"
    );
}
