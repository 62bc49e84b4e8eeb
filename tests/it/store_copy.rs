//! `otpd store copy --to PATH|URL` from the outside: every row of every table arrives with its id,
//! the copy's audit chain (retention anchor included) verifies against the original's head
//! file and head, a target holding data is refused and left as it was, and a store cannot be
//! copied onto itself.

use std::path::Path;

use rusqlite::types::Value;

use crate::harness::*;

/// One master secret, so the copy verifies with the original's audit key.
const SECRET: &str = "store-copy-tests-master-secret-0123456789ab";

const TABLES: [&str; 7] = [
    "challenges",
    "audit_events",
    "audit_anchor",
    "limit_sends",
    "limit_numbers",
    "limit_pause",
    "limit_pauses",
];

/// Every row of `table` at `db`, in key order.
fn dump(db: &Path, table: &str) -> Vec<Vec<Value>> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut stmt = c
        .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
        .unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// An installation with history: verifications in every state, the limits' ledger, a retention
/// cut (an anchor, rows from the middle of the chain on) and a head file.
fn with_history() -> Env {
    let mut env = Env::with_config(
        "[audit]\nretention_days = 30\nhead_every = 4\nhead_file = \"heads/audit.log\"\n",
    );
    env.set_env("OTPD_SECRET", SECRET);
    env.run(&["send", US]).ok();
    let code = env.last_code(US_E164);
    env.run(&["verify", &code, "--phone", US]).ok();
    env.run(&["send", US2]).ok();
    env.run(&["cancel", US2]).ok();
    env.advance(20 * 86_400);
    env.run(&["send", UK]).ok();
    env.advance(15 * 86_400);
    env.run(&["prune", "--older-than", "1d"]).ok();
    env.run(&["send", US]).ok();
    let wrong = env.wrong_code(US_E164);
    assert_eq!(env.run(&["verify", &wrong, "--phone", US]).code, 1);
    env
}

#[test]
fn a_copy_holds_every_row_and_verifies_against_the_originals_head() {
    let env = with_history();
    let anchors = dump(&env.db_path(), "audit_anchor");
    assert_eq!(anchors.len(), 1, "the history includes a retention cut");
    let target = env.path("copy/otpd.db");
    let to = target.to_str().unwrap();

    let r = env.run(&["--json", "store", "copy", "--to", to]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["outcome"], "store_copied", "{v}");
    let mut total = 0;
    for table in TABLES {
        let rows = dump(&env.db_path(), table);
        assert_eq!(dump(&target, table), rows, "{table}");
        assert_eq!(v["tables"][table], rows.len(), "{table}: {v}");
        total += rows.len();
    }
    assert_eq!(v["rows"], total, "{v}");

    // The copy verifies with the original's head file and with its newest head.
    let heads = env.path("heads/audit.log");
    let r = env.run(&[
        "--db",
        to,
        "audit",
        "verify",
        "--json",
        "--head-file",
        heads.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["head"]["status"], "matches", "{v}");
    let Value::Integer(anchored) = anchors[0][1] else {
        panic!("{anchors:?}")
    };
    assert_eq!(v["anchor_last_id"], anchored, "{v}");
    let head = env.run(&["audit", "head"]).stdout.trim().to_string();
    let r = env.run(&["--db", to, "audit", "verify", "--head", &head]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("intact"), "{r:?}");

    // A row changed in the copy breaks that verification: the check above can fail.
    rusqlite::Connection::open(&target)
        .unwrap()
        .execute(
            "UPDATE audit_events SET detail = 'x' WHERE id = (SELECT max(id) FROM audit_events)",
            [],
        )
        .unwrap();
    let r = env.run(&["--db", to, "audit", "verify", "--head", &head]);
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn a_target_holding_data_is_refused_and_left_alone_and_a_store_is_not_copied_onto_itself() {
    let env = with_history();
    let target = env.path("other.db");
    let to = target.to_str().unwrap();
    env.run(&["store", "copy", "--to", to]).ok();
    let before: Vec<_> = TABLES.iter().map(|t| dump(&target, t)).collect();

    env.run(&["send", US2]).ok();
    let r = env.run(&["store", "copy", "--to", to]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("already holds otpd data"), "{r:?}");
    let after: Vec<_> = TABLES.iter().map(|t| dump(&target, t)).collect();
    assert_eq!(after, before, "a refused copy writes nothing");
    let r = env.run(&["--json", "store", "copy", "--to", to]);
    assert_eq!(
        (r.code, r.json()["outcome"].as_str()),
        (1, Some("store_copy_refused"))
    );

    let own = env.db_path();
    let r = env.run(&["store", "copy", "--to", own.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        r.stderr.lines().filter(|l| l.contains("--to")).count(),
        1,
        "{r:?}"
    );
}

#[test]
fn sqlite_to_postgres_and_back_keeps_every_row_ids_and_the_chain() {
    let Some(server) = crate::pg_server::server_or_skip() else {
        return;
    };
    let env = with_history();
    let heads = env.path("heads/audit.log");
    let heads = heads.to_str().unwrap();
    let db = server.fresh_database();
    let url = server.url(&db);
    let r = env.run(&["--json", "store", "copy", "--to", &url]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["outcome"], "store_copied", "{r:?}");
    assert!(!r.stdout.contains("password"), "{r:?}");
    let verify = |db: &str| {
        let r = env.run(&[
            "--db",
            db,
            "audit",
            "verify",
            "--json",
            "--head-file",
            heads,
        ]);
        assert_eq!(r.code, 0, "{db}: {r:?}");
        assert_eq!(r.json()["head"]["status"], "matches", "{db}: {r:?}");
    };
    verify(&url);

    // Back from PostgreSQL into a new SQLite file: the very rows of the original.
    let back = env.path("back/otpd.db");
    let back_s = back.to_str().unwrap();
    let r = env.run(&["--db", &url, "store", "copy", "--to", back_s]);
    assert_eq!(r.code, 0, "{r:?}");
    for table in TABLES {
        assert_eq!(dump(&back, table), dump(&env.db_path(), table), "{table}");
    }
    verify(back_s);

    // The copy is a working store: its sequences were moved past the copied ids.
    let top = env.query_i64("SELECT max(id) FROM challenges");
    let r = env.run(&["--db", &url, "--json", "send", US2]);
    assert_eq!(r.code, 0, "{r:?}");
    let newest: i64 = server
        .connect(&db)
        .query_one("SELECT max(id) FROM challenges", &[])
        .unwrap()
        .get(0);
    assert_eq!(newest, top + 1);

    // A PostgreSQL target holding data is refused.
    let r = env.run(&["store", "copy", "--to", &url]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("already holds otpd data"), "{r:?}");
}

/// Runs the check command a copy printed (between backticks), word by word.
fn run_printed_check(env: &Env, stdout: &str) -> Run {
    let command = stdout
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("{stdout}"));
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], "otpd", "{command}");
    env.run(&words[1..])
}

#[test]
fn the_printed_check_command_passes_with_a_head_file_and_without_one() {
    // With a head file: the command names it.
    let env = with_history();
    let to = env.path("copy-a.db");
    let r = env.run(&["store", "copy", "--to", to.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("heads/audit.log"), "{r:?}");
    let check = run_printed_check(&env, &r.stdout);
    assert_eq!(check.code, 0, "{r:?}\n{check:?}");
    assert!(check.stdout.contains("intact"), "{check:?}");

    // No head file written yet: the command carries the copied head instead.
    let env = Env::new();
    env.run(&["send", US]).ok();
    assert!(!env.path(".local/state/otpd/audit-head.log").exists());
    let to = env.path("copy-b.db");
    let r = env.run(&["--json", "store", "copy", "--to", to.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let command = r.json()["check"].as_str().unwrap().to_string();
    assert!(command.contains("--head "), "{command}");
    let check = run_printed_check(&env, &format!("`{command}`"));
    assert_eq!(check.code, 0, "{command}\n{check:?}");
}

#[test]
fn copying_a_store_a_running_server_writes_to_is_said() {
    let env = with_history();
    let server = crate::serve::Server::start(&env);
    let r = env.run(&[
        "store",
        "copy",
        "--to",
        env.path("live.db").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("otpd serve") && r.stderr.contains("stop it"),
        "{r:?}"
    );
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    // Stopped: no word, and the copy carries no mark of the original's server.
    let r = env.run(&[
        "store",
        "copy",
        "--to",
        env.path("quiet.db").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("otpd serve"), "{r:?}");
    let r = env.run(&[
        "--db",
        env.path("live.db").to_str().unwrap(),
        "store",
        "copy",
        "--to",
        env.path("again.db").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("otpd serve"), "{r:?}");
}
