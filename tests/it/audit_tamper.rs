//! The audit log against an insider who can write the database but holds no secret: tampering
//! followed by `prune` must not launder the evidence, a deleted tail must show against the
//! configured head file by default, and text planted in the database must reach no terminal,
//! file or spreadsheet raw. The insider is played by SQL the test runs on the store, on both
//! stores.

use crate::harness::*;

/// One master secret for every installation here.
const SECRET: &str = "audit-tamper-tests-master-secret-0123456789";

fn env_with(store: Store, extra: &str) -> Env {
    let mut env = Env::with_config_on(store, extra);
    env.set_env("OTPD_SECRET", SECRET);
    env
}

fn count(env: &Env, table: &str) -> i64 {
    env.query_i64(&format!("SELECT count(*) FROM {table}"))
}

/// A little real activity: 9 audit rows, one of them `invalid` (row 3).
fn activity(env: &mut Env) {
    env.run(&["send", US]).ok(); // 1 sent, 2 delivered
    let wrong = env.wrong_code(US_E164);
    assert_eq!(env.run(&["verify", &wrong, "--phone", US]).code, 1); // 3 invalid
    let code = env.last_code(US_E164);
    env.run(&["verify", &code, "--phone", US]).ok(); // 4 approved
    env.run(&["send", US2]).ok(); // 5 sent, 6 delivered
    env.run(&["cancel", US2]).ok(); // 7 cancelled
    env.run(&["send", UK]).ok(); // 8 sent, 9 delivered
}

/// `audit verify --json` (plus `extra`) → (exit status, first bad row, problem, the object).
fn verdict(env: &Env, extra: &[&str]) -> (i32, Option<i64>, String, serde_json::Value) {
    let mut args = vec!["audit", "verify", "--json"];
    args.extend_from_slice(extra);
    let r = env.run(&args);
    let v = r.json();
    (
        r.code,
        v["row"].as_i64(),
        v["problem"].as_str().unwrap_or_default().to_string(),
        v,
    )
}

/// An installation with retention: rows 1–9 on day 0, rows 10–11 on day 20, and the clock at
/// day 35, so a prune would remove rows 1–9 and keep row 10 on.
fn retained(store: Store) -> Env {
    let mut env = env_with(store, "[audit]\nretention_days = 30\n");
    activity(&mut env);
    env.advance(20 * 86_400);
    env.run(&["send", US2]).ok(); // 10 sent, 11 delivered
    env.advance(15 * 86_400);
    assert_eq!(count(&env, "audit_events"), 11);
    env
}

on_both_stores! {
    fn tamper_then_prune_is_refused_and_verify_still_names_the_row(store) {
        let forged = crate::audit::forged_approval_at(4);
        let cases: &[(&str, &str, i64, &str)] = &[
            (
                "edit: a wrong code becomes an approval",
                "UPDATE audit_events SET event = 'approved', outcome = 'ok' WHERE id = 3",
                3,
                "changed",
            ),
            (
                "deletion of the wrong code",
                "DELETE FROM audit_events WHERE id = 3",
                3,
                "deleted",
            ),
            (
                "insertion of a forged approval",
                &forged,
                4,
                "inserted",
            ),
            (
                "whole-table rewrite",
                "UPDATE audit_events SET at = 0, detail = 'x'",
                1,
                "changed",
            ),
            (
                "a recent row forged, then dated back so retention would take it",
                "UPDATE audit_events SET event = 'approved', outcome = 'ok' WHERE id = 10;
                 UPDATE audit_events SET at = 0 WHERE id <= 10;",
                1,
                "changed",
            ),
        ];
        for (what, tamper, row, problem) in cases {
            let env = retained(store);
            env.execute(tamper);
            let rows = count(&env, "audit_events");
            let challenges = count(&env, "challenges");

            let r = env.run(&["prune", "--older-than", "1d"]);
            assert_eq!(r.code, 1, "{what}: prune must refuse: {r:?}");
            assert!(
                r.stdout.contains("NOT intact") && r.stdout.contains(&format!("row {row}")),
                "{what}: {r:?}"
            );
            assert!(r.stdout.contains("Nothing was pruned"), "{what}: {r:?}");
            assert_eq!(count(&env, "audit_events"), rows, "{what}: no row removed");
            assert_eq!(count(&env, "audit_anchor"), 0, "{what}: no anchor sealed");
            assert_eq!(
                count(&env, "challenges"),
                challenges,
                "{what}: nothing pruned"
            );

            let j = env.run(&["prune", "--older-than", "1d", "--json"]);
            assert_eq!(j.code, 1, "{what}: {j:?}");
            let v = j.json();
            assert_eq!(v["outcome"], "prune_refused", "{what}: {v}");
            assert_eq!(
                (v["row"].as_i64(), v["problem"].as_str()),
                (Some(*row), Some(*problem))
            );

            let (code, got_row, got_problem, v) = verdict(&env, &[]);
            assert_eq!(
                (code, got_row, got_problem.as_str()),
                (1, Some(*row), *problem),
                "{what}: verify after the refused prune: {v}"
            );
            // The refusal speaks verify's words.
            let text = env.run(&["audit", "verify"]);
            let verify_says = text
                .stdout
                .lines()
                .next()
                .unwrap()
                .split(". (")
                .next()
                .unwrap();
            assert!(r.stdout.contains(verify_says), "{what}: {r:?} vs {text:?}");
        }
    }
}

on_both_stores! {
    fn an_intact_chain_is_still_pruned_and_the_first_kept_rows_link_is_checked(store) {
        let env = retained(store);
        let r = env.run(&["prune", "--older-than", "30d"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains("removed 9 audit rows up to #9"), "{r:?}");
        assert_eq!(verdict(&env, &[]).0, 0);

        // Only the first kept row's link is wrong: still refused, nothing removed.
        let env = retained(store);
        env.execute(
            "UPDATE audit_events SET prev_mac = (SELECT prev_mac FROM audit_events WHERE id = 9) WHERE id = 10",
        );
        let r = env.run(&["prune", "--older-than", "30d"]);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stdout.contains("row 10"), "{r:?}");
        assert_eq!(count(&env, "audit_events"), 11);
        let (code, row, _, _) = verdict(&env, &[]);
        assert_eq!((code, row), (1, Some(10)));
    }
}

on_both_stores! {
    fn an_anchor_must_hold_a_well_formed_mac_even_when_sealed(store) {
        use otpd::store::audit::{anchor_mac, row_mac};
        let env = retained(store);
        env.run(&["prune", "--older-than", "30d"]).ok();
        // Someone who could make otpd seal anything (an older otpd sealed whatever the last
        // removed row held) re-anchors the chain on a string that is no MAC, and re-links what
        // follows.
        let secrets = otpd::crypto::Secrets::load(Some(SECRET), &env.secret_path()).unwrap();
        let anchor = |col: &str| env.query_i64(&format!("SELECT {col} FROM audit_anchor"));
        let (last_id, removed, at) = (anchor("last_id"), anchor("removed"), anchor("at"));
        let bogus = "not-a-mac";
        env.execute(&format!(
            "UPDATE audit_anchor SET last_mac = '{bogus}', mac = '{}'",
            anchor_mac(&secrets, last_id, bogus, removed, at)
        ));
        let mut prev = bogus.to_string();
        for mut row in kept_rows(&env) {
            row.prev_mac = prev.clone();
            row.mac = row_mac(&secrets, &prev, &row);
            env.execute(&format!(
                "UPDATE audit_events SET prev_mac = '{}', mac = '{}' WHERE id = {}",
                row.prev_mac, row.mac, row.id
            ));
            prev = row.mac;
        }
        let (code, row, problem, v) = verdict(&env, &[]);
        assert_eq!(
            (code, row, problem.as_str()),
            (1, Some(10), "anchor_changed"),
            "{v}"
        );
    }
}

/// Every row of the audit log, read through the store seam (either store).
fn kept_rows(env: &Env) -> Vec<otpd::store::audit::AuditRow> {
    let db = otpd::config::database::target(std::path::Path::new(&env.db_value()), None).unwrap();
    let mut store = otpd::store::any::AnyStore::open(&db).unwrap();
    store
        .backend()
        .snapshot(|tx| {
            let mut rows = Vec::new();
            let Some(first) = tx.audit_min_id()? else {
                return Ok(rows);
            };
            let mut next = tx.audit_row(first)?;
            while let Some(row) = next {
                next = tx.audit_next_row(row.id)?;
                rows.push(row);
            }
            Ok(rows)
        })
        .unwrap()
}

/// An installation whose head file holds the heads after rows 4 and 8 (`head_every = 4`).
fn with_heads(store: Store) -> (Env, i64) {
    let mut env = env_with(
        store,
        "[audit]\nhead_every = 4\nhead_file = \"heads/audit.log\"\n",
    );
    activity(&mut env);
    let log = std::fs::read_to_string(env.path("heads/audit.log")).unwrap();
    let last: i64 = log
        .lines()
        .last()
        .and_then(|l| l.split(':').next())
        .and_then(|id| id.parse().ok())
        .unwrap();
    assert!((8..=9).contains(&last), "{log}");
    (env, last)
}

on_both_stores! {
    fn a_plain_verify_consults_the_configured_head_file(store) {
        let (env, head) = with_heads(store);
        let r = env.run(&["audit", "verify"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stdout.contains("head file") && r.stdout.contains(&format!("#{head}")),
            "{r:?}"
        );
        let (_, _, _, v) = verdict(&env, &[]);
        assert_eq!(v["head"]["id"], head, "{v}");
        assert!(
            v["head_file"]
                .as_str()
                .unwrap()
                .ends_with("heads/audit.log"),
            "{v}"
        );

        // The newest rows, fewer than head_every, deleted: a truncation by default.
        let rows = count(&env, "audit_events");
        assert!(rows - head + 1 < 4);
        env.execute(&format!("DELETE FROM audit_events WHERE id >= {head}"));
        let (code, row, problem, v) = verdict(&env, &[]);
        assert_eq!(
            (code, row, problem.as_str()),
            (1, Some(head), "truncated"),
            "{v}"
        );
        let text = env.run(&["audit", "verify"]);
        assert_eq!(text.code, 1);
        assert!(text.stdout.contains("truncated"), "{text:?}");
        // Opting out says so and checks the chain alone.
        let r = env.run(&["audit", "verify", "--no-head-file"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains("intact"), "{r:?}");
        let r = env.run(&["audit", "verify", "--no-head-file", "--head-file"]);
        assert_eq!(r.code, 2, "contradictory options are bad input: {r:?}");

        // Every row deleted, a head on record: not intact.
        env.execute("DELETE FROM audit_events");
        let (code, _, problem, v) = verdict(&env, &[]);
        assert_eq!((code, problem.as_str()), (1, "truncated"), "{v}");
        let text = env.run(&["audit", "verify"]);
        assert!(text.stdout.contains("NOT intact"), "{text:?}");
    }
}

on_both_stores! {
    fn without_a_head_file_verify_says_the_tail_is_unchecked(store) {
        let mut env = env_with(store, "[audit]\nhead_every = 50\nhead_file = \"heads/audit.log\"\n");
        activity(&mut env);
        let r = env.run(&["audit", "verify"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.contains("no head file"), "{r:?}");
    }
}

/// Plants ESC, BEL, CSI and a formula in text columns of row `id`.
fn plant(env: &Env, id: i64) {
    // SQLite spells a code point char(n), PostgreSQL chr(n); the rest is the same SQL.
    let sql = format!(
        "UPDATE audit_events SET
           event = 'sent' || char(27) || ']0;pwned' || char(7),
           outcome = char(27) || '[2J' || 'ok',
           phone_masked = '+1 ' || char(155) || '2J',
           station = '=cmd|'' /C calc''!A0',
           detail = '@SUM(1+1)',
           prev_mac = char(13) || 'x',
           mac = char(27) || '[2J' || substr(mac, 1, 60)
         WHERE id = {id}"
    );
    env.execute(&match env.store() {
        Store::Sqlite => sql,
        Store::Postgres => sql.replace("char(", "chr("),
    });
}

fn assert_clean(what: &str, s: &str) {
    for (i, c) in s.chars().enumerate() {
        let control = c.is_control() && c != '\n';
        assert!(!control, "{what}: control {c:?} at char {i}: {s:?}");
    }
}

on_both_stores! {
    fn text_planted_in_the_database_reaches_no_terminal_file_or_spreadsheet_raw(store) {
        let env = env_with(
            store,
            "[audit]\nhead_every = 1\nhead_file = \"heads/audit.log\"\n",
        );
        env.run(&["send", US]).ok(); // 1 sent, 2 delivered
        plant(&env, 2);
        for args in [
            &["audit"][..],
            &["audit", "--format", "json"],
            &["audit", "--format", "csv"],
            &["audit", "head"],
            &["audit", "head", "--json"],
            &["audit", "export"],
            &["audit", "export", "--format", "json"],
            &["audit", "verify"],
        ] {
            let r = env.run(args);
            assert_clean(&format!("{args:?} stdout"), &r.stdout);
            assert_clean(&format!("{args:?} stderr"), &r.stderr);
        }
        let head = env.run(&["audit", "head"]);
        assert!(head.stdout.starts_with("2:\u{FFFD}[2J"), "{head:?}");

        // Chaining onto the planted MAC is refused (a storage error, nothing written), and the
        // refusal, like the head file written before, carries no raw control text.
        let r = env.run(&["send", UK]);
        assert_eq!(r.code, 3, "{r:?}");
        assert_clean("refused send stderr", &r.stderr);
        let log = std::fs::read_to_string(env.path("heads/audit.log")).unwrap();
        assert_clean("head file", &log);

        // CSV: formula cells are neutralised, in the export and in the listing.
        for args in [&["audit", "export"][..], &["audit", "--format", "csv"]] {
            let out = env.run(args).ok().stdout.clone();
            let mut rdr = csv::Reader::from_reader(out.as_bytes());
            let rec = rdr
                .records()
                .map(Result::unwrap)
                .find(|r| &r[0] == "2")
                .unwrap();
            assert_eq!(&rec[2], "'=cmd|' /C calc'!A0", "{args:?}");
            assert_eq!(&rec[8], "'@SUM(1+1)", "{args:?}");
            assert_eq!(&rec[9], "'\u{FFFD}x", "{args:?}");
            assert_eq!(&rec[5], "'+1 \u{FFFD}2J", "{args:?}");
            assert!(rec[3].starts_with("sent\u{FFFD}]0;pwned"), "{args:?}");
        }
        // JSON lines are not spreadsheets: the text is sanitised but not prefixed.
        let json = env
            .run(&["audit", "export", "--format", "json"])
            .ok()
            .stdout
            .clone();
        let row2: serde_json::Value = serde_json::from_str(json.lines().nth(1).unwrap()).unwrap();
        assert_eq!(row2["station"], "=cmd|' /C calc'!A0");
    }
}

on_both_stores! {
    fn append_refuses_to_chain_onto_a_newest_row_whose_mac_is_no_mac(store) {
        // Each would have otpd MAC bytes the insider chose; the last is the real MAC in capitals.
        for bad in [
            "x".repeat(64),
            "ab".repeat(31),
            "0".repeat(65),
            "\u{1b}]0;pwned\u{7}".into(),
        ] {
            let env = env_with(store, "");
            env.run(&["send", US]).ok(); // rows 1 sent, 2 delivered
            env.execute(&format!("UPDATE audit_events SET mac = '{bad}' WHERE id = 2"));
            let before = (count(&env, "audit_events"), count(&env, "challenges"));
            let sent = env.outbox().len();
            let r = env.run(&["send", UK]);
            assert_eq!(r.code, 3, "{bad:?}: {r:?}");
            assert!(r.stderr.contains("audit row 2"), "{r:?}");
            assert!(
                !r.stderr.contains('\u{1b}'),
                "the stored bytes are not echoed: {r:?}"
            );
            assert_eq!(
                (count(&env, "audit_events"), count(&env, "challenges")),
                before,
                "{bad:?}: nothing written"
            );
            assert_eq!(env.outbox().len(), sent, "{bad:?}: nothing delivered");
        }
        let env = env_with(store, "");
        env.run(&["send", US]).ok();
        env.execute("UPDATE audit_events SET mac = upper(mac) WHERE id = 2");
        assert_eq!(env.run(&["send", UK]).code, 3);
    }
}

/// The chain of `scripts/audit-chain-vector.py` (computed with Python's `hmac` from the written
/// format, not with otpd): its master secret and its three rows, MACs included.
const VECTOR_SECRET: &str = "otpd-audit-known-answer-master-secret-0001";
const VECTOR_ROWS: &str = "INSERT INTO audit_events
    (id, at, station, event, outcome, phone_masked, phone_key, challenge_id, detail, prev_mac, mac)
    VALUES
    (1, 1765152000000, 'desk-1', 'sent', 'ok', '+1 •••-•••-2671', '3cb94f37c8f2be84837dcd166642ad6c', 1, 'sms',
     '0000000000000000000000000000000000000000000000000000000000000000',
     '112644b2dfd28c2afb342e4ae87bc5c5185164fd4fb6940e415d5df6557609d2'),
    (2, 1765152000250, 'desk-1', 'delivered', 'ok', '+1 •••-•••-2671', '3cb94f37c8f2be84837dcd166642ad6c', 1, 'outbox',
     '112644b2dfd28c2afb342e4ae87bc5c5185164fd4fb6940e415d5df6557609d2',
     '2435e4af2f91728de83b4abaeda93a830df93253886aceb0015fe2a11adc0346'),
    (3, 1765152061000, 'kiosk é', 'invalid', 'refused', NULL, NULL, NULL, '',
     '2435e4af2f91728de83b4abaeda93a830df93253886aceb0015fe2a11adc0346',
     'f00cb214743207b8d21b3d1e634f882fd885262528b75f41bb8bca26860ced76')";

on_both_stores! {
    fn the_binary_accepts_the_known_answer_chain_and_catches_an_edit_of_each_column_alone(store) {
        let mut env = Env::new_on(store);
        env.set_env("OTPD_SECRET", VECTOR_SECRET);
        assert_eq!(env.run(&["limits"]).code, 0, "creates the installation, writes no audit row");
        assert_eq!(count(&env, "audit_events"), 0);
        env.execute(VECTOR_ROWS);
        let (code, _, _, v) = verdict(&env, &["--no-head-file"]);
        assert_eq!(code, 0, "the chain computed outside otpd verifies: {v}");
        assert_eq!(v["rows"], 3, "{v}");
        // Each column of row 2 alone, edited and put back: every one is caught, at row 2 (or,
        // for the id, where the moved row now sits).
        let edits = [
            ("id", "id = 7", Some(2)),
            ("at", "at = at + 1", Some(2)),
            ("station", "station = 'desk-2'", Some(2)),
            ("event", "event = 'approved'", Some(2)),
            ("outcome", "outcome = 'failed'", Some(2)),
            ("phone_masked", "phone_masked = '+1 •••-•••-0123'", Some(2)),
            ("phone_key", "phone_key = NULL", Some(2)),
            ("challenge_id", "challenge_id = 2", Some(2)),
            ("detail", "detail = 'outbox '", Some(2)),
            ("prev_mac", "prev_mac = mac", Some(2)),
            ("mac", "mac = prev_mac", Some(2)),
        ];
        for (column, set, row) in edits {
            env.execute(&format!("UPDATE audit_events SET {set} WHERE id = 2"));
            let (code, bad, problem, v) = verdict(&env, &["--no-head-file"]);
            assert_ne!(code, 0, "{column}: an edit went unseen: {v}");
            assert_eq!(bad, row, "{column}: {problem}: {v}");
            env.execute("DELETE FROM audit_events");
            env.execute(VECTOR_ROWS);
            assert_eq!(verdict(&env, &["--no-head-file"]).0, 0, "{column}: put back");
        }
    }
}
