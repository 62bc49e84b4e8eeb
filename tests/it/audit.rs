//! The audit log from the outside: tampering with a copy of the database is caught at the right
//! row, concurrent writers keep one chain, filters and formats (CSV read back with a CSV reader),
//! per-day statistics, the head file, prune and audit retention — on both stores
//! (`on_both_stores!`) but for the bit-by-bit flipping, which edits SQLite's bytes.

use std::process::Stdio;

use crate::harness::*;

/// One master secret for every installation here, so copies of a database verify.
const SECRET: &str = "audit-tests-master-secret-0123456789abcdef";

pub(crate) fn env_with(store: Store, extra: &str) -> Env {
    let mut env = Env::with_config_on(store, extra);
    env.set_env("OTPD_SECRET", SECRET);
    env
}

/// A little real activity on two stations: 11 audit rows.
pub(crate) fn activity(env: &mut Env) {
    env.run(&["send", US]).ok(); // 1 sent, 2 delivered
    let wrong = env.wrong_code(US_E164);
    assert_eq!(env.run(&["verify", &wrong, "--phone", US]).code, 1); // 3 invalid
    let code = env.last_code(US_E164);
    env.run(&["verify", &code, "--phone", US]).ok(); // 4 approved
    env.station("desk-2");
    env.run(&["send", US2]).ok(); // 5 sent, 6 delivered
    env.run(&["cancel", US2]).ok(); // 7 cancelled
    env.run(&["send", UK]).ok(); // 8 sent, 9 delivered
    assert_eq!(env.run(&["send", UK]).code, 1); // 10 rate_limited (cooldown)
    assert_eq!(env.run(&["verify", "123456", "--phone", US2]).code, 1); // 11 no_pending
    env.station("desk-1");
}

fn rows(env: &Env) -> i64 {
    env.query_i64("SELECT count(*) FROM audit_events")
}

/// A fresh installation (on the same kind of store) holding a copy of `base`'s database:
/// SQLite's own byte copy, `otpd store copy` on PostgreSQL.
fn copy_of(base: &Env) -> Env {
    let env = env_with(base.store(), "");
    match base.store() {
        Store::Sqlite => {
            let target = env.db_path();
            base.db()
                .execute("VACUUM INTO ?1", [target.to_str().unwrap()])
                .unwrap();
        }
        Store::Postgres => {
            let to = env.db_value();
            let r = base.run(&["store", "copy", "--to", to.to_str().unwrap()]);
            assert_eq!(r.code, 0, "{r:?}");
        }
    }
    env
}

/// The insider's SQL that slips a forged approval in as row `at` (a copy of row `at - 1`'s
/// fields, its MAC as both links), renumbering the rows from `at` on.
pub(crate) fn forged_approval_at(at: i64) -> String {
    format!(
        "UPDATE audit_events SET id = id + 1000 WHERE id >= {at};
         UPDATE audit_events SET id = id - 999 WHERE id >= 1000;
         INSERT INTO audit_events
           (id, at, station, event, outcome, phone_masked, phone_key, challenge_id,
            detail, prev_mac, mac)
         SELECT {at}, at, station, 'approved', 'ok', phone_masked, phone_key,
                challenge_id, 'attempt 1', mac, mac
         FROM audit_events WHERE id = {};",
        at - 1
    )
}

/// `audit verify --json` → (exit status, row, problem).
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

on_both_stores! {
    fn an_intact_log_verifies_with_its_row_count_and_head(store) {
        let mut env = env_with(store, "");
        activity(&mut env);
        let r = env.run(&["audit", "verify"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stdout.contains("Audit log intact: 11 rows (#1–#11)"),
            "{r:?}"
        );
        let head = env.run(&["audit", "head"]);
        let line = head.stdout.trim();
        assert!(line.starts_with("11:") && line.len() == 3 + 64, "{head:?}");
        let (code, _, _, v) = verdict(&env, &["--head", line]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["head"]["status"], "matches");
        assert_eq!(v["rows"], 11);
        // A head that is not ID:MAC is bad input.
        let r = env.run(&["audit", "verify", "--head", "eleven"]);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(r.stderr.contains("ID:MAC"), "{r:?}");
    }
}

on_both_stores! {
fn every_kind_of_tampering_is_found_at_the_right_row(store) {
        let mut base = env_with(store, "");
        activity(&mut base);
        let head = base.run(&["audit", "head"]).stdout.trim().to_string();

        // The insider's SQL, run on the store outside otpd: plain SQL both stores accept, but
        // for the bit flip, spelt in each dialect.
        let flip_detail = match store {
            Store::Sqlite => {
                // No XOR operator in SQLite: (a | 1) - (a & 1) flips the low bit.
                "UPDATE audit_events
                 SET detail = char((unicode(detail) | 1) - (unicode(detail) & 1)) || substr(detail, 2)
                 WHERE id = 3"
            }
            Store::Postgres => {
                "UPDATE audit_events SET detail = chr(ascii(detail) # 1) || substr(detail, 2)
                 WHERE id = 3"
            }
        };
        let cols = "at, station, event, outcome, phone_masked, phone_key, challenge_id, detail, prev_mac, mac";
        let swap_contents = format!(
            "CREATE TEMP TABLE t AS SELECT * FROM audit_events WHERE id IN (3, 8);
             UPDATE audit_events SET ({cols}) = (SELECT {cols} FROM t WHERE t.id = 8) WHERE id = 3;
             UPDATE audit_events SET ({cols}) = (SELECT {cols} FROM t WHERE t.id = 3) WHERE id = 8;"
        );
        let insert_forged = forged_approval_at(6);
        let cases: &[(&str, &str, i64, &str)] = &[
            (
                "update a field",
                "UPDATE audit_events SET station = 'desk-9' WHERE id = 5",
                5,
                "changed",
            ),
            ("flip one bit of detail", flip_detail, 3, "changed"),
            (
                "change an outcome to hide a refusal",
                "UPDATE audit_events SET outcome = 'ok' WHERE id = 10",
                10,
                "changed",
            ),
            (
                "delete a row",
                "DELETE FROM audit_events WHERE id = 4",
                4,
                "deleted",
            ),
            (
                "delete a row and renumber the rest",
                "DELETE FROM audit_events WHERE id = 4;
                 UPDATE audit_events SET id = id + 1000 WHERE id > 4;
                 UPDATE audit_events SET id = id - 1001 WHERE id > 1000;",
                4,
                "deleted",
            ),
            (
                "insert a row",
                &insert_forged,
                6,
                "inserted",
            ),
            (
                "swap two rows",
                "UPDATE audit_events SET id = -2 WHERE id = 2;
                 UPDATE audit_events SET id = 2 WHERE id = 7;
                 UPDATE audit_events SET id = 7 WHERE id = -2;",
                2,
                "reordered",
            ),
            ("swap two rows' contents", &swap_contents, 3, "reordered"),
        ];
        for (what, tamper, row, problem) in cases {
            let env = copy_of(&base);
            assert_eq!(verdict(&env, &[]).0, 0, "{what}: the copy verifies first");
            env.execute(tamper);
            let (code, got_row, got_problem, v) = verdict(&env, &[]);
            assert_eq!(code, 1, "{what}: {v}");
            assert_eq!(
                (got_row, got_problem.as_str()),
                (Some(*row), *problem),
                "{what}: {v}"
            );
            let text = env.run(&["audit", "verify"]);
            assert_eq!(text.code, 1);
            assert!(
                text.stdout.contains("NOT intact") && text.stdout.contains(&format!("row {row}")),
                "{what}: {text:?}"
            );
        }

        // Truncating the tail leaves a valid shorter chain: only a recorded head reveals it.
        let env = copy_of(&base);
        env.execute("DELETE FROM audit_events WHERE id >= 9");
        assert_eq!(verdict(&env, &[]).0, 0);
        let (code, row, problem, v) = verdict(&env, &["--head", &head]);
        assert_eq!(
            (code, row, problem.as_str()),
            (1, Some(9), "truncated"),
            "{v}"
        );
        let text = env.run(&["audit", "verify", "--head", &head]);
        assert!(text.stdout.contains("ends at row 8"), "{text:?}");
    }
}

/// SQLite only: it flips every bit of every stored byte, and SQLite keeps any bytes in a text
/// column, while PostgreSQL refuses a flip that makes invalid UTF-8 or a NUL, so there the
/// test would cover a different, smaller set of flips. The kinds of tampering above (a field
/// changed, a bit of a field flipped, rows deleted, inserted, swapped) run on both stores.
#[test]
fn a_single_flipped_bit_anywhere_in_any_row_is_caught_at_that_row() {
    use otpd::audit::verify::verify;
    let mut base = env_with(Store::Sqlite, "");
    activity(&mut base);
    let env = copy_of(&base);
    let secrets = otpd::crypto::Secrets::load(Some(SECRET), &env.secret_path()).unwrap();
    let mut store = otpd::store::sqlite::SqliteStore::open(&env.db_path()).unwrap();
    store
        .connection()
        .execute_batch("PRAGMA synchronous = OFF")
        .unwrap();
    let text_cols = [
        "station",
        "event",
        "outcome",
        "phone_masked",
        "phone_key",
        "detail",
        "prev_mac",
        "mac",
    ];
    let mut checked = 0;
    for id in 1..=rows(&env) {
        for col in text_cols {
            let c = store.connection();
            let original: Option<Vec<u8>> = c
                .query_row(
                    &format!("SELECT CAST({col} AS BLOB) FROM audit_events WHERE id = ?1"),
                    [id],
                    |r| r.get(0),
                )
                .unwrap();
            let Some(original) = original else { continue };
            for i in 0..original.len() {
                let mut b = original.clone();
                b[i] ^= 0x01;
                let set = format!("UPDATE audit_events SET {col} = CAST(?1 AS TEXT) WHERE id = ?2");
                store
                    .connection()
                    .execute(&set, rusqlite::params![b, id])
                    .unwrap();
                let r = verify(&mut store, &secrets, None).unwrap();
                let broken = r
                    .broken
                    .unwrap_or_else(|| panic!("row {id} {col}[{i}] not caught"));
                assert_eq!(broken.row, id, "row {id} {col}[{i}]: {broken:?}");
                store
                    .connection()
                    .execute(&set, rusqlite::params![original, id])
                    .unwrap();
                checked += 1;
            }
        }
        for col in ["at", "challenge_id"] {
            let original: Option<i64> = store
                .connection()
                .query_row(
                    &format!("SELECT {col} FROM audit_events WHERE id = ?1"),
                    [id],
                    |r| r.get(0),
                )
                .unwrap();
            let Some(original) = original else { continue };
            for byte in 0..8 {
                let set = format!("UPDATE audit_events SET {col} = ?1 WHERE id = ?2");
                let flipped = original ^ (1i64 << (8 * byte));
                store
                    .connection()
                    .execute(&set, rusqlite::params![flipped, id])
                    .unwrap();
                let r = verify(&mut store, &secrets, None).unwrap();
                assert_eq!(
                    r.broken.map(|b| b.row),
                    Some(id),
                    "row {id} {col} byte {byte}"
                );
                store
                    .connection()
                    .execute(&set, rusqlite::params![original, id])
                    .unwrap();
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    assert!(verify(&mut store, &secrets, None).unwrap().broken.is_none());
}

on_both_stores! {
    fn concurrent_writers_in_many_processes_keep_one_unbroken_chain(store) {
        let env = env_with(store, "[policy]\nresend_cooldown_seconds = 0\n");
        env.run(&["send", US]).ok();
        let jobs: Vec<Vec<&str>> = vec![
            vec!["send", US2],
            vec!["send", UK],
            vec!["send", US],
            vec!["verify", "111111", "--phone", US],
            vec!["verify", "222222", "--phone", US],
            vec!["resend", US],
            vec!["status"],
            vec!["verify", "333333", "--phone", UK],
        ];
        for _round in 0..2 {
            let children: Vec<_> = jobs
                .iter()
                .map(|args| {
                    env.command()
                        .args(args)
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            for c in children {
                let o = c.wait_with_output().unwrap();
                let err = String::from_utf8_lossy(&o.stderr);
                assert!(!err.contains("busy") && !err.contains("error"), "{err}");
            }
        }
        let n = rows(&env);
        assert!(n >= 20, "{n}");
        let max = env.query_i64("SELECT max(id) FROM audit_events");
        assert_eq!(max, n, "ids are contiguous");
        let (code, _, _, v) = verdict(&env, &[]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["rows"], n);
    }
}

fn json_lines(r: &Run) -> Vec<serde_json::Value> {
    assert_eq!(r.code, 0, "{r:?}");
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn ids(lines: &[serde_json::Value]) -> Vec<i64> {
    lines.iter().map(|v| v["id"].as_i64().unwrap()).collect()
}

on_both_stores! {
    fn filters_select_the_right_rows_newest_first(store) {
        let mut env = env_with(store, "");
        activity(&mut env);
        env.advance(3 * 3600);
        env.run(&["send", US]).ok(); // 12 sent, 13 delivered, three hours later

        let all = json_lines(&env.run(&["audit", "--format", "json"]));
        assert_eq!(ids(&all), (1..=13).rev().collect::<Vec<_>>());

        let us = json_lines(&env.run(&[
            "audit", "--phone", "+1", "(415)", "555-2671", "--format", "json",
        ]));
        assert_eq!(ids(&us), [13, 12, 4, 3, 2, 1]);
        assert!(us.iter().all(|v| v["phone"] == "+1 •••-•••-2671"));

        let desk2 = json_lines(&env.run(&["audit", "--station", "desk-2", "--format", "json"]));
        assert_eq!(ids(&desk2), [11, 10, 9, 8, 7, 6, 5]);

        let events = json_lines(&env.run(&[
            "audit",
            "--event",
            "approved",
            "--event",
            "rate_limited",
            "--json",
        ]));
        assert_eq!(ids(&events), [10, 4]);

        let recent = json_lines(&env.run(&["audit", "--since", "2h", "--format", "json"]));
        assert_eq!(ids(&recent), [13, 12]);
        let older = json_lines(&env.run(&[
            "audit",
            "--until",
            "1h",
            "--format",
            "json",
            "--station",
            "desk-1",
        ]));
        assert_eq!(ids(&older), [4, 3, 2, 1]);
        let day = json_lines(&env.run(&[
            "audit",
            "--since",
            "2026-11-28",
            "--until",
            "2026-11-28T12:00:00Z",
            "--json",
        ]));
        assert_eq!(ids(&day).len(), 11);
        let none = json_lines(&env.run(&["audit", "--since", "2026-11-29", "--json"]));
        assert!(none.is_empty());

        // Keyset pages.
        let page1 = env.run(&["audit", "--limit", "5"]);
        assert!(page1.stdout.contains("--before 9"), "{page1:?}");
        let page2 = json_lines(&env.run(&["audit", "--limit", "5", "--before", "9", "--json"]));
        assert_eq!(ids(&page2), [8, 7, 6, 5, 4]);

        // The table: local time, station, event, masked number, outcome, detail.
        let table = env.run(&["audit", "--phone", US]).ok().stdout.clone();
        for want in [
            "2026-11-28 10:00:00",
            "desk-1",
            "approved",
            "+1 •••-•••-2671",
            "refused",
            "attempt 1 of 5",
        ] {
            assert!(table.contains(want), "{want}: {table}");
        }
        assert!(!table.contains("desk-2"), "{table}");

        // Bad filters are bad input, said in one line.
        for (args, says) in [
            (vec!["audit", "--event", "sending"], "rate_limited"),
            (vec!["audit", "--since", "yesterday"], "--since"),
            (vec!["audit", "--phone", "+1 555 0100"], "--phone"),
            (vec!["audit", "--since", "1h", "--until", "2h"], "earlier"),
        ] {
            let r = env.run(&args);
            assert_eq!(r.code, 2, "{args:?}: {r:?}");
            assert!(r.stderr.contains(says), "{args:?}: {r:?}");
        }
    }
}

on_both_stores! {
    fn csv_and_json_exports_parse_and_never_hold_a_full_number(store) {
        let mut env = env_with(store, "");
        activity(&mut env);
        let csv_out = env
            .run(&["audit", "export", "--format", "csv"])
            .ok()
            .stdout
            .clone();
        let mut rdr = csv::Reader::from_reader(csv_out.as_bytes());
        let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            headers,
            [
                "id",
                "at",
                "station",
                "event",
                "outcome",
                "phone",
                "phone_key",
                "challenge_id",
                "detail",
                "prev_mac",
                "mac"
            ]
        );
        let records: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 11);
        assert_eq!(&records[0][0], "1", "oldest first");
        assert_eq!(&records[0][1], "2026-11-28T10:00:00.000Z");
        assert_eq!(&records[2][3], "invalid");
        assert_eq!(&records[2][8], "attempt 1 of 5");
        assert_eq!(&records[0][9], &"0".repeat(64));
        assert_eq!(&records[1][9], &records[0][10], "prev_mac links");
        // A masked number starts with +, which a spreadsheet would evaluate: quoted with '.
        assert_eq!(&records[0][5], "'+1 •••-•••-2671");
        assert!(
            records
                .iter()
                .all(|r| r[5].is_empty() || r[5].starts_with("'+"))
        );

        let json = json_lines(&env.run(&[
            "audit",
            "export",
            "--format",
            "json",
            "--since",
            "2026-11-28T10:00:00Z",
        ]));
        assert_eq!(json.len(), 11);
        assert_eq!(json[9]["event"], "rate_limited");

        let list_csv = env
            .run(&["audit", "--format", "csv", "--limit", "3"])
            .ok()
            .stdout
            .clone();
        let n = csv::Reader::from_reader(list_csv.as_bytes())
            .records()
            .count();
        assert_eq!(n, 3);

        for out in [&csv_out, &env.run(&["audit", "--limit", "100"]).stdout] {
            for full in [US_E164, US2_E164, UK_E164, "4155552671", "7911123456"] {
                assert!(!out.contains(full), "{full} leaked");
            }
        }
        for code in env.outbox().iter().filter_map(|m| m["code"].as_str()) {
            assert!(!csv_out.contains(code), "a code leaked into the audit log");
        }
    }
}

on_both_stores! {
    fn stats_count_each_day_and_flag_low_conversion(store) {
        let mut env = env_with(store, "[policy]\nmax_attempts = 2\n");
        // 2026-11-25: two sends, two approvals.
        env.advance(-3 * 86_400);
        for (phone, e164) in [(US, US_E164), (US2, US2_E164)] {
            env.run(&["send", phone]).ok();
            let code = env.last_code(e164);
            env.run(&["verify", &code, "--phone", phone]).ok();
        }
        // 2026-11-26: three sends, one resend, no approvals: two wrong codes lock UK, one
        // rate-limited send, one expired code.
        env.advance(86_400);
        env.run(&["send", US]).ok();
        env.run(&["send", US2]).ok();
        env.run(&["send", UK]).ok();
        assert_eq!(env.run(&["send", UK]).code, 1); // rate_limited
        let wrong = env.wrong_code(UK_E164);
        env.run(&["verify", &wrong, "--phone", UK]);
        env.run(&["verify", &wrong, "--phone", UK]);
        env.run(&["verify", &wrong, "--phone", UK]); // locked
        env.advance(60);
        env.run(&["resend", US2]).ok();
        env.advance(600);
        let code = env.last_code(US_E164);
        assert_eq!(env.run(&["verify", &code, "--phone", US]).code, 1); // expired
        // 2026-11-27: nothing. 2026-11-28: one send, one approval.
        env.advance(2 * 86_400 - 660);
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        env.run(&["verify", &code, "--phone", US]).ok();

        let days = json_lines(&env.run(&["audit", "stats", "--json"]));
        let row = |d: &serde_json::Value| {
            (
                d["day"].as_str().unwrap().to_string(),
                d["sends"].as_i64().unwrap(),
                d["approvals"].as_i64().unwrap(),
                d["failures"].as_i64().unwrap(),
                d["lockouts"].as_i64().unwrap(),
                d["rate_limited"].as_i64().unwrap(),
                d["low_conversion"].as_bool().unwrap(),
            )
        };
        let got: Vec<_> = days.iter().map(row).collect();
        assert_eq!(
            got,
            [
                ("2026-11-25".to_string(), 2, 2, 0, 0, 0, false),
                ("2026-11-26".to_string(), 4, 0, 3, 1, 1, true),
                ("2026-11-27".to_string(), 0, 0, 0, 0, 0, false),
                ("2026-11-28".to_string(), 1, 1, 0, 0, 0, false),
            ]
        );
        assert_eq!(days[0]["conversion"], 1.0);
        assert_eq!(days[1]["conversion"], 0.0);
        assert!(days[2]["conversion"].is_null());

        let since = json_lines(&env.run(&["audit", "stats", "--json", "--since", "2026-11-26"]));
        assert_eq!(since.len(), 3);

        let table = env.run(&["audit", "stats"]).ok().stdout.clone();
        assert!(table.contains("Thu 2026-11-26"), "{table}");
        assert!(table.contains("0% ⚠"), "{table}");
        assert!(table.contains("100%"), "{table}");
        assert!(
            table.contains(&"░".repeat(24)),
            "the busiest day has the full bar: {table}"
        );
        assert!(
            table.contains(&format!("┆ {} ", "█".repeat(12))),
            "half as many sends, all approved: {table}"
        );
        assert!(table.contains("1 day below 20% conversion"), "{table}");
        assert!(
            table.contains("Total: 7 sends, 3 approved (43% conversion)"),
            "{table}"
        );
    }
}

on_both_stores! {
    fn the_head_file_records_the_head_every_n_events_and_catches_a_deleted_tail(store) {
        let mut env = env_with(store, "[audit]\nhead_every = 4\nhead_file = \"heads/audit.log\"\n");
        activity(&mut env);
        let log = std::fs::read_to_string(env.path("heads/audit.log")).unwrap();
        let heads: Vec<i64> = log
            .lines()
            .map(|l| l.split(':').next().unwrap().parse().unwrap())
            .collect();
        // 11 rows: the multiples 4 and 8 were crossed; each copy is the head right after.
        assert_eq!(heads.len(), 2, "{log}");
        assert!(heads[0] >= 4 && heads[0] < 8 && heads[1] >= 8, "{log}");
        assert!(log.lines().all(|l| l.ends_with("Z")), "{log}");
        let (code, _, _, v) = verdict(&env, &["--head-file"]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["head"]["id"], heads[1]);

        env.execute(&format!("DELETE FROM audit_events WHERE id >= {}", heads[1]));
        // The chain alone is consistent; the configured head file (consulted by default) is not.
        assert_eq!(verdict(&env, &["--no-head-file"]).0, 0);
        let (code, row, problem, v) = verdict(&env, &[]);
        assert_eq!(
            (code, row, problem.as_str()),
            (1, Some(heads[1]), "truncated"),
            "{v}"
        );
        let (code, row, problem, v) = verdict(
            &env,
            &["--head-file", env.path("heads/audit.log").to_str().unwrap()],
        );
        assert_eq!(
            (code, row, problem.as_str()),
            (1, Some(heads[1]), "truncated"),
            "{v}"
        );

        // A head file that cannot be written is a warning, not a failed verification.
        let env = env_with(store, "[audit]\nhead_every = 1\nhead_file = \"otpd.toml/heads.log\"\n");
        let r = env.run(&["send", US]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stderr.contains("could not record the audit head"),
            "{r:?}"
        );
    }
}

fn challenges(env: &Env) -> Vec<(String, String)> {
    env.query_strings("SELECT phone || ' ' || state FROM challenges ORDER BY id")
        .iter()
        .map(|s| {
            let (phone, state) = s.split_once(' ').unwrap();
            (phone.to_string(), state.to_string())
        })
        .collect()
}

on_both_stores! {
    fn prune_deletes_only_old_finished_verifications_and_keeps_the_chain(store) {
        let mut env = env_with(store, "");
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        env.run(&["verify", &code, "--phone", US]).ok(); // approved
        env.run(&["send", US2]).ok(); // pending, will expire
        env.advance(31 * 86_400);
        env.run(&["send", UK]).ok(); // live
        let before = rows(&env);

        let r = env.run(&["prune", "--older-than", "30d"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stdout.contains("Removed 2 finished verifications"),
            "{r:?}"
        );
        assert_eq!(
            challenges(&env),
            [(UK_E164.to_string(), "pending".to_string())]
        );
        assert_eq!(
            rows(&env),
            before + 1,
            "audit rows are kept, prune is audited"
        );
        let last = json_lines(&env.run(&["audit", "--limit", "1", "--json"]));
        assert_eq!(last[0]["event"], "pruned");
        assert!(
            last[0]["detail"].as_str().unwrap().contains("removed 2"),
            "{last:?}"
        );
        assert_eq!(verdict(&env, &[]).0, 0);

        // A live code is never pruned, however small the age.
        let r = env.run(&["prune", "--older-than", "0d", "--json"]);
        assert_eq!(r.json()["challenges"], 0, "{r:?}");
        assert_eq!(challenges(&env).len(), 1);
        let r = env.run(&["prune", "--older-than", "soon"]);
        assert_eq!(r.code, 2, "{r:?}");
    }
}

on_both_stores! {
    fn retention_removes_an_old_prefix_and_verify_continues_from_the_sealed_anchor(store) {
        let mut env = env_with(store, "[audit]\nretention_days = 30\n");
        activity(&mut env); // 11 rows at day 0
        let old_head = env.run(&["audit", "head"]).stdout.trim().to_string();
        let older_head = format!("5:{}", "0".repeat(64));
        env.advance(20 * 86_400);
        env.run(&["send", US]).ok(); // rows 12, 13 at day 20
        env.advance(15 * 86_400);
        let r = env.run(&["prune", "--older-than", "30d"]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(
            r.stdout.contains("removed 11 audit rows up to #11"),
            "{r:?}"
        );
        let (code, _, _, v) = verdict(&env, &[]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["anchor_last_id"], 11);
        assert_eq!(v["first_id"], 12);
        let events = json_lines(&env.run(&["audit", "--json"]));
        let names: Vec<&str> = events
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["pruned", "audit_truncated", "delivered", "sent"]);
        assert!(
            events[1]["detail"]
                .as_str()
                .unwrap()
                .contains("up to row 11"),
            "{events:?}"
        );
        let text = env.run(&["audit", "verify"]);
        assert!(text.stdout.contains("removed by retention"), "{text:?}");
        // A head from before the anchor is vouched for by it (or contradicts it).
        let (code, _, _, v) = verdict(&env, &["--head", &old_head]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["head"]["status"], "before_anchor");
        assert_eq!(verdict(&env, &["--head", &older_head]).0, 0);
        let wrong = format!("11:{}", "0".repeat(64));
        let (code, row, problem, _) = verdict(&env, &["--head", &wrong]);
        assert_eq!(
            (code, row, problem.as_str()),
            (1, Some(11), "head_mismatch")
        );
        // A row slipped in below the anchor is not part of the chain.
        let copy = copy_of(&env);
        copy.execute(
            "INSERT INTO audit_events (id, at, station, event, outcome, detail, prev_mac, mac)
             SELECT 3, at, station, event, outcome, detail, prev_mac, mac FROM audit_events WHERE id = 12",
        );
        let (code, row, problem, _) = verdict(&copy, &[]);
        assert_eq!((code, row, problem.as_str()), (1, Some(3), "inserted"));

        // Removing more of the prefix by hand is caught; so is moving the anchor.
        let copy = copy_of(&env);
        copy.execute("DELETE FROM audit_events WHERE id = 12");
        let (code, row, problem, _) = verdict(&copy, &[]);
        assert_eq!((code, row, problem.as_str()), (1, Some(12), "deleted"));
        let copy = copy_of(&env);
        copy.execute(
            "DELETE FROM audit_events WHERE id = 12;
             UPDATE audit_anchor SET last_id = 12, last_mac = (SELECT prev_mac FROM audit_events WHERE id = 13);",
        );
        let (code, row, problem, _) = verdict(&copy, &[]);
        assert_eq!(
            (code, row, problem.as_str()),
            (1, Some(13), "anchor_changed")
        );

        // Everything old: the whole table goes, and new rows continue from the anchor.
        env.advance(40 * 86_400);
        env.run(&["prune", "--older-than", "30d"]).ok();
        assert_eq!(rows(&env), 2, "audit_truncated and pruned");
        env.run(&["send", US2]).ok();
        let (code, _, _, v) = verdict(&env, &[]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["first_id"], 16);
    }
}
