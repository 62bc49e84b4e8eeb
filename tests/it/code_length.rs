//! A "code" whose length cannot match (issue 21): 8 digits where codes have 6, or a mistyped
//! number taken for a code. Everywhere it is an input error that spends no attempt and writes
//! no audit event — the prompt, JSON lines, one-shot `verify` (argument and stdin), the kiosk,
//! a remote terminal, and the HTTP `VerificationCheck`.

use crate::harness::{Env, US, US_E164, US2};
use crate::serve::{Server, assert_error, key};

/// `env` with a code sent to US; the audit events so far.
fn sent(env: &Env) -> Vec<String> {
    env.run(&["send", US]).ok();
    env.audit_events()
}

/// Nothing was spent or recorded since `before`.
#[track_caller]
fn untouched(env: &Env, before: &[String]) {
    assert_eq!(env.query_i64("SELECT attempts FROM challenges"), 0);
    assert_eq!(env.audit_events(), before);
}

#[test]
fn the_prompt_and_json_lines_refuse_a_code_of_the_wrong_length() {
    let env = Env::new();
    let before = sent(&env);
    let script = format!("verify 12345678 {US}\n1234 5678\n415 555 267\nverify 12345\n");
    let r = env.run_stdin(&["--json"], script.as_bytes());
    let lines = r.json_lines();
    assert_eq!(lines.len(), 4, "{r:?}");
    for line in &lines {
        assert_eq!(line["outcome"], "invalid_input", "{r:?}");
        let error = line["error"].as_str().unwrap();
        assert!(error.contains("codes here have 6 digits"), "{error}");
        assert_eq!(error.matches(". ").count(), 0, "one sentence: {error}");
    }
    // Bare digits: neither a code nor a number, and the line says so.
    let bare = lines[2]["error"].as_str().unwrap();
    assert!(bare.contains("nor a phone number"), "{bare}");
    untouched(&env, &before);

    let r = env.run_stdin(&[], b"12345678\n");
    assert!(
        r.stdout
            .contains("8 digits are neither a code (codes here have 6 digits)"),
        "{r:?}"
    );
    untouched(&env, &before);
}

#[test]
fn one_shot_verify_refuses_a_code_of_the_wrong_length_with_status_2() {
    let env = Env::new();
    let before = sent(&env);
    let r = env.run(&["verify", "12345678", "--phone", US]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stdout.contains("codes here have 6 digits; that was 8"),
        "{r:?}"
    );
    let r = env.run_stdin(&["--json", "verify", "--phone", US], b"1234567\n");
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.json()["outcome"], "invalid_input", "{r:?}");
    untouched(&env, &before);
}

#[test]
fn the_kiosk_tells_a_visitor_how_many_digits_a_code_has() {
    let env = Env::with_config("[kiosk]\nidle_seconds = 60\nlocales = [\"en\", \"es\"]\n");
    let r = env.run_stdin(&["kiosk"], format!("1\n{US}\n12345678\n").as_bytes());
    assert!(r.stdout.contains("Our codes have 6 digits."), "{r:?}");
    let r = env.run_stdin(&["kiosk"], format!("2\n{US2}\n1234\n").as_bytes());
    assert!(
        r.stdout.contains("Nuestros códigos tienen 6 cifras."),
        "{r:?}"
    );
    assert_eq!(env.query_i64("SELECT SUM(attempts) FROM challenges"), 0);
    let events = env.audit_events();
    assert!(
        events.iter().all(|e| e == "sent" || e == "delivered"),
        "{events:?}"
    );
}

#[test]
fn the_server_refuses_a_code_of_the_wrong_length_from_the_api_and_from_terminals() {
    let mut served = Env::new();
    served.station("desk-1");
    let k = key(&served, "desk-1", "station");
    let before = sent(&served);
    let server = Server::start(&served);
    assert_error(&server.check(&k, US_E164, "12345678"), 400, 60200);
    untouched(&served, &before);

    let mut term = Env::new();
    term.set_env("OTPD_SERVER", &server.base);
    term.set_env("OTPD_API_KEY", &k.sid);
    term.set_env("OTPD_API_SECRET", &k.secret);
    let r = term.run(&["--json", "verify", "12345678", "--phone", US]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.json()["outcome"], "invalid_input", "{r:?}");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("codes here have 6 digits"),
        "{r:?}"
    );
    untouched(&served, &before);
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
}

#[test]
fn a_kiosk_through_a_server_reads_codes_against_the_servers_length() {
    // The server's codes have 8 digits; the terminal's own config says nothing (6).
    let mut served = Env::with_config("[policy]\ncode_length = 8\n");
    served.station("kiosk-lobby");
    let k = key(&served, "kiosk-lobby", "station");
    let server = Server::start(&served);
    let mut term = Env::with_config("[kiosk]\nidle_seconds = 60\n");
    term.set_env("OTPD_SERVER", &server.base);
    term.set_env("OTPD_API_KEY", &k.sid);
    term.set_env("OTPD_API_SECRET", &k.secret);
    let r = term.run_stdin(&["kiosk"], format!("{US}\n123456\n").as_bytes());
    assert!(r.stdout.contains("Sent a 8-digit code"), "{r:?}");
    assert!(r.stdout.contains("Our codes have 8 digits."), "{r:?}");
    assert_eq!(served.query_i64("SELECT attempts FROM challenges"), 0);
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
}
