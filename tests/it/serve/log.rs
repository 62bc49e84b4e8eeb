//! `otpd serve`'s log on stderr: the start-up summary (store, delivery — a warning on console,
//! which sends nothing —, usable keys with a hint when there are none, head file, TLS), and
//! the access lines: an RFC 3339 time, a request id the client also gets (`X-Request-Id`),
//! the client address, and for a 5xx the reason, which the client's answer never carries;
//! `--log-format json` for log shippers. SQLite only: the log is the front-end's, not a store's.

use super::{Server, key};
use crate::harness::{Env, US_E164, US2_E164};

/// The line of the log that carries request `id`.
fn line_of<'a>(log: &'a str, id: &str) -> &'a str {
    log.lines()
        .find(|l| l.contains(id))
        .unwrap_or_else(|| panic!("no line for {id}: {log}"))
}

#[test]
fn access_lines_carry_time_request_id_client_and_a_5xx_reason_the_client_never_sees() {
    let env = Env::new();
    let k = key(&env, "desk-1", "station");
    let server = Server::start(&env);
    let http = reqwest::blocking::Client::new();
    let create = |to: &str| {
        http.post(server.url("/Verifications"))
            .basic_auth(&k.sid, Some(&k.secret))
            .form(&[("To", to), ("Channel", "sms")])
            .send()
            .unwrap()
    };
    let ok = create(US_E164);
    assert_eq!(ok.status().as_u16(), 201);
    let ok_id = ok.headers()["x-request-id"].to_str().unwrap().to_string();

    // The database refuses every new verification from now on: a failure of the server's.
    rusqlite::Connection::open(env.db_path())
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON challenges BEGIN SELECT RAISE(FAIL, 'disk trouble'); END;",
        )
        .unwrap();
    let failed = create(US2_E164);
    assert_eq!(failed.status().as_u16(), 500);
    let failed_id = failed.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(failed_id, ok_id);
    let body = failed.text().unwrap();
    assert!(body.contains("the server's log says more"), "{body}");
    assert!(!body.contains("disk trouble"), "{body}");

    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    let line = line_of(&log, &ok_id);
    let time = line.split(' ').next().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{line}");
    assert!(line.contains(" 201 "), "{line}");
    assert!(line.contains(" client=127.0.0.1"), "{line}");
    assert!(!line.contains("reason="), "{line}");
    let line = line_of(&log, &failed_id);
    assert!(line.contains(" 500 "), "{line}");
    assert!(
        line.contains("reason=") && line.contains("disk trouble"),
        "{line}"
    );

    // The start-up summary, before the first request.
    for fact in [
        "otpd serve: store ",
        "delivery outbox",
        "1 API key",
        "audit head file ",
        "no TLS",
    ] {
        assert!(log.contains(fact), "no {fact:?} in {log}");
    }
    assert!(!log.contains("NOTHING IS SENT"), "{log}");
    assert!(!log.contains(&k.secret), "{log}");
}

#[test]
fn json_log_lines_and_a_console_server_without_keys_says_so() {
    let mut env = Env::new();
    env.set_env("OTPD_DELIVERY", "console");
    let server = Server::start_args(&env, &["--log-format", "json"]);
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/healthz", server.base))
        .send()
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    // Every line is JSON, the configuration's warnings (cheap test hashing) included.
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(
        lines.iter().any(|v| v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("otpd: warning: argon2id parameters"))),
        "{log}"
    );
    let access = lines
        .iter()
        .find(|v| v["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(access["route"], "/healthz", "{access}");
    assert_eq!(access["client"], "127.0.0.1", "{access}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(access["time"].as_str().unwrap()).is_ok(),
        "{access}"
    );
    let said: Vec<&str> = lines.iter().filter_map(|v| v["message"].as_str()).collect();
    assert!(said.iter().any(|m| m.contains("NOTHING IS SENT")), "{log}");
    assert!(
        said.iter()
            .any(|m| m.contains("0 API keys") && m.contains("otpd keys create")),
        "{log}"
    );
}

#[test]
fn a_head_file_the_server_cannot_write_is_said_at_start_up() {
    // A file stands where the head file's folder should be: nothing can be written there,
    // whoever runs the test.
    let env = Env::with_config("[audit]\nhead_file = \"blocked/heads.log\"\n");
    std::fs::write(env.path("blocked"), "a file, not a folder\n").unwrap();
    let server = Server::start(&env);
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    assert!(
        log.contains("blocked/heads.log cannot be written") && log.contains("[audit] head_file"),
        "{log}"
    );
    // A writable one is simply named.
    let env = Env::new();
    let server = Server::start(&env);
    let (_, log) = server.stop();
    assert!(log.contains("audit head file "), "{log}");
    assert!(!log.contains("cannot be written"), "{log}");
}

#[test]
fn with_json_logs_an_error_that_stops_the_server_is_one_json_line_too() {
    let env = Env::new();
    let r = env.run(&["serve", "--log-format", "json", "--listen", "192.0.2.1:0"]);
    assert_eq!(r.code, 2, "{r:?}");
    let lines: Vec<serde_json::Value> = r
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let last = lines.last().unwrap_or_else(|| panic!("{r:?}"));
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("refusing to listen on 192.0.2.1:0 without TLS")),
        "{r:?}"
    );
}
