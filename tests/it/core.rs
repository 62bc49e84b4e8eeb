//! The core promise, end to end across processes, on both stores (`on_both_stores!`): codes are
//! single-use, attempt-limited, expire, survive restarts, stay secret at rest, and refuse bad
//! input clearly.

use std::process::Stdio;

use crate::harness::*;

on_both_stores! {
    fn send_then_verify_in_another_process_then_reuse_is_already_used(store) {
        let env = Env::new_on(store);
        let sent = env.run(&["send", "+1", "415", "555", "2671"]);
        assert_eq!(sent.code, 0, "{sent:?}");
        assert!(
            sent.stdout
                .contains("Sent a 6-digit code by SMS to +1 •••-•••-2671"),
            "{sent:?}"
        );
        assert!(
            !sent.stdout.contains("4155552671"),
            "full number must be masked"
        );
        let code = env.last_code(US_E164);
        assert_eq!(code.len(), 6);

        let ok = env.run(&["verify", &code, "--phone", US]);
        assert_eq!(ok.code, 0, "{ok:?}");
        assert_eq!(ok.stdout.trim(), "Verified +1 •••-•••-2671. ✔");

        let again = env.run(&["verify", "--json", &code, "--phone", US]);
        assert_eq!(again.code, 1);
        assert_eq!(again.outcome(), "already_used");
        assert_eq!(
            env.audit_events(),
            ["sent", "delivered", "approved", "already_used"]
        );
    }
}

on_both_stores! {
    fn verify_without_phone_uses_the_stations_single_pending_code(store) {
        let env = Env::new_on(store);
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        let r = env.run(&["verify", "--json", &code]);
        assert_eq!(r.outcome(), "approved", "{r:?}");
        // Another station does not see this station's pending code without the phone.
        let mut other = Env::new_on(store);
        other.station("desk-2");
        assert_eq!(
            other.run(&["verify", "--json", "123456"]).outcome(),
            "no_pending"
        );
    }
}

on_both_stores! {
    fn two_pending_codes_need_the_phone_named(store) {
        let env = Env::new_on(store);
        env.run(&["send", US]).ok();
        env.run(&["send", US2]).ok();
        let r = env.run(&["verify", "--json", "123456"]);
        assert_eq!(r.code, 2);
        assert_eq!(r.outcome(), "phone_required");
        assert_eq!(r.json()["pending"], 2);
        let code = env.last_code(US2_E164);
        assert_eq!(
            env.run(&["verify", "--json", &code, "--phone", US2])
                .outcome(),
            "approved"
        );
    }
}

on_both_stores! {
    fn wrong_codes_count_down_then_lock_even_the_right_code(store) {
        let env = Env::new_on(store);
        env.run(&["send", US]).ok();
        let wrong = env.wrong_code(US_E164);
        for left in (1..=4).rev() {
            let r = env.run(&["verify", "--json", &wrong, "--phone", US]);
            assert_eq!(r.code, 1);
            assert_eq!(r.outcome(), "invalid");
            assert_eq!(r.json()["attempts_left"], left, "{r:?}");
        }
        let fifth = env.run(&["verify", &wrong, "--phone", US]);
        assert!(fifth.stdout.contains("No attempts left"), "{fifth:?}");
        let right = env.last_code(US_E164);
        let locked = env.run(&["verify", "--json", &right, "--phone", US]);
        assert_eq!(locked.outcome(), "locked");
        assert_eq!(locked.code, 1);
        let attempts = env.query_i64("SELECT attempts FROM challenges");
        assert_eq!(attempts, 5, "a locked verification counts no more attempts");
    }
}

on_both_stores! {
    fn an_expired_code_is_expired_even_with_the_right_digits(store) {
        let mut env = Env::new_on(store);
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        env.advance(299);
        let status = env.run(&["status", "--json"]);
        assert_eq!(status.json()["pending"][0]["expires_in_seconds"], 1);
        env.advance(1);
        let r = env.run(&["verify", "--json", &code, "--phone", US]);
        assert_eq!(r.outcome(), "expired", "{r:?}");
        assert_eq!(r.code, 1);
        assert!(
            env.run(&["verify", &code, "--phone", US])
                .stdout
                .contains("expired")
        );
    }
}

on_both_stores! {
    fn resend_replaces_the_code_keeps_attempts_and_respects_the_cooldown(store) {
        let mut env = Env::new_on(store);
        env.run(&["send", US]).ok();
        let first = env.last_code(US_E164);
        let wrong = env.wrong_code(US_E164);
        env.run(&["verify", &wrong, "--phone", US]);
        env.run(&["verify", &wrong, "--phone", US]);

        env.advance(29);
        let early = env.run(&["resend", "--json"]);
        assert_eq!(early.code, 1);
        assert_eq!(early.outcome(), "rate_limited");
        assert_eq!(early.json()["retry_after_seconds"], 1);
        assert_eq!(env.outbox().len(), 1, "a refused resend sends nothing");

        env.advance(1);
        let r = env.run(&["resend", "--json"]);
        assert_eq!(r.outcome(), "sent", "{r:?}");
        assert_eq!(r.json()["resent"], true);
        assert_eq!(
            r.json()["attempts_left"],
            3,
            "resend does not reset attempts"
        );
        let second = env.last_code(US_E164);

        if first != second {
            // The replaced code works until its own expiry ([policy] accept_replaced_code):
            // 300 s from the send, 270 s after this resend.
            env.advance(270);
            let old = env.run(&["verify", "--json", &first, "--phone", US]);
            assert_eq!(
                old.outcome(),
                "invalid",
                "the old code stops working: {old:?}"
            );
        }
        let new = env.run(&["verify", "--json", &second, "--phone", US]);
        assert_eq!(new.outcome(), "approved");
    }
}

on_both_stores! {
    fn send_to_a_number_with_a_live_code_is_a_resend_and_cannot_reset_attempts(store) {
        let mut env = Env::new_on(store);
        env.run(&["send", US]).ok();
        let wrong = env.wrong_code(US_E164);
        env.run(&["verify", &wrong, "--phone", US]);
        assert_eq!(env.run(&["send", "--json", US]).outcome(), "rate_limited");
        env.advance(30);
        let r = env.run(&["send", "--json", US]);
        assert_eq!(r.json()["resent"], true);
        assert_eq!(r.json()["attempts_left"], 4);
    }
}

on_both_stores! {
    fn verification_state_survives_a_restart_minutes_later(store) {
        let mut env = Env::new_on(store);
        env.run(&["send", UK]).ok();
        let code = env.last_code(UK_E164);
        env.advance(240);
        let r = env.run(&["verify", "--json", &code, "--phone", UK]);
        assert_eq!(r.outcome(), "approved", "{r:?}");
    }
}

on_both_stores! {
    fn a_different_or_missing_pepper_makes_stored_codes_fail(store) {
        let env = Env::new_on(store);
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        // Replace the key file: same database, new secret.
        std::fs::remove_file(env.secret_path()).unwrap();
        let r = env.run(&["verify", "--json", &code, "--phone", US]);
        assert_eq!(r.outcome(), "invalid", "{r:?}");

        let mut env2 = Env::new_on(store);
        env2.set_env("OTPD_SECRET", "first-secret-0123456789-0123456789-abcdef");
        env2.run(&["send", US]).ok();
        let code = env2.last_code(US_E164);
        let mut env3 = env2;
        env3.set_env("OTPD_SECRET", "other-secret-0123456789-0123456789-abcdef");
        let r = env3.run(&["verify", "--json", &code, "--phone", US]);
        assert_eq!(r.outcome(), "invalid", "{r:?}");
    }
}

#[test]
fn codes_and_full_numbers_never_rest_in_the_database_or_audit() {
    let env = Env::new();
    env.run(&["send", US]).ok();
    let code = env.last_code(US_E164);
    env.run(&["verify", &code, "--phone", US]).ok();
    let outbox = env.outbox_path();
    for (path, bytes) in all_bytes_under(env.dir.path(), &[outbox.as_path()]) {
        assert!(
            !contains(&bytes, code.as_bytes()),
            "code found in {}",
            path.display()
        );
    }
    let db = env.db();
    let audit_full: i64 = db
        .query_row(
            "SELECT count(*) FROM audit_events WHERE detail LIKE '%4155552671%' OR phone_masked LIKE '%4155552671%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audit_full, 0);
    let hash: String = db
        .query_row("SELECT code_hash FROM challenges", [], |r| r.get(0))
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    // The outbox, whose job is to carry the code, is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&outbox).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn bad_phone_numbers_exit_2_with_a_line_naming_the_input() {
    let env = Env::new();
    let cases = [
        ("+1 555 555 0100", "cannot exist"),
        ("415 555 2671", "country code"),
        ("+1 415 CALL NOW", "not a phone number"),
    ];
    for (phone, says) in cases {
        let r = env.run(&["send", phone]);
        assert_eq!(r.code, 2, "{phone}: {r:?}");
        assert!(
            r.stdout.contains(says) && r.stdout.contains(phone),
            "{phone}: {r:?}"
        );
        let j = env.run(&["send", "--json", phone]);
        assert_eq!(j.outcome(), "invalid_phone");
    }
    assert!(env.outbox().is_empty());
    let r = env.run(&["verify", "12ab56"]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("only digits"), "{r:?}");
}

#[test]
fn bad_configuration_exits_2_naming_the_key_and_range() {
    let cases = [
        (
            "[policy]\nttl_seconds = 900\n",
            "policy.ttl_seconds = 900",
            "1..=600",
        ),
        (
            "[policy]\ncode_length = 4\n",
            "policy.code_length = 4",
            "6..=10",
        ),
        ("[policy]\nmax_atempts = 3\n", "max_atempts", ""),
    ];
    for (toml, key, range) in cases {
        let env = Env::with_config(toml);
        let r = env.run(&["send", US]);
        assert_eq!(r.code, 2, "{toml}: {r:?}");
        assert!(
            r.stderr.contains(key) && r.stderr.contains(range),
            "{toml}: {r:?}"
        );
    }
    let mut env = Env::new();
    env.set_env("OTPD_DELIVERY", "pigeon");
    let r = env.run(&["send", US]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("pigeon"), "{r:?}");
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    std::fs::write(
        env.secret_path(),
        "0123456789abcdef0123456789abcdef0123456789abcdef",
    )
    .unwrap();
    std::fs::set_permissions(env.secret_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = env.run(&["send", US]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("chmod 600"), "{r:?}");
    assert!(env.outbox().is_empty());
}

on_both_stores! {
    fn json_output_is_exactly_one_object_for_every_command(store) {
        let env = Env::new_on(store);
        for args in [
            vec!["send", "--json", US],
            vec!["status", "--json"],
            vec!["--json", "verify", "000000", "--phone", US2],
            vec!["cancel", "--json"],
            vec!["resend", "--json"],
        ] {
            let r = env.run(&args);
            let j = r.json();
            assert!(j["outcome"].is_string(), "{args:?}: {r:?}");
        }
    }
}

#[test]
fn json_mode_answers_usage_errors_with_one_object_too() {
    let env = Env::new();
    for args in [
        // (`verify --json` alone is no longer a usage error: it reads the code from stdin.)
        vec!["verify", "--json", "--phone"],
        vec!["send", "--json", "--channel"],
        vec!["--json", "frobnicate"],
    ] {
        let r = env.run(&args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        let j = r.json();
        assert_eq!(j["outcome"], "error", "{args:?}");
        assert_eq!(j["error"], "usage_error", "{args:?}");
        let message = j["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.contains('\n'),
            "{message:?}"
        );
    }
}

on_both_stores! {
    fn cancel_abandons_the_code(store) {
        let env = Env::new_on(store);
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        assert_eq!(env.run(&["cancel", "--json"]).outcome(), "cancelled");
        assert_eq!(
            env.run(&["verify", "--json", &code, "--phone", US])
                .outcome(),
            "no_pending"
        );
        assert!(env.audit_events().contains(&"cancelled".to_string()));
    }
}

#[test]
fn real_owasp_parameters_hash_and_verify() {
    let env = Env::with_raw_config("");
    let r = env.run(&["send", US]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stderr.contains("below the OWASP"), "{r:?}");
    let hash: String = env
        .db()
        .query_row("SELECT code_hash FROM challenges", [], |r| r.get(0))
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let code = env.last_code(US_E164);
    assert_eq!(env.run(&["verify", "--json", &code]).outcome(), "approved");
}

on_both_stores! {
    fn many_processes_racing_one_right_code_approve_exactly_once(store) {
        // A budget larger than the racers, so every loser must see already_used.
        let env = Env::with_config_on(store, "[policy]\nmax_attempts = 100\n");
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        let children: Vec<_> = (0..16)
            .map(|_| {
                env.command()
                    .args(["verify", "--json", &code, "--phone", US])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut outcomes: Vec<String> = children
            .into_iter()
            .map(|c| {
                let o = c.wait_with_output().unwrap();
                let err = String::from_utf8_lossy(&o.stderr).to_string();
                assert!(!err.contains("locked") && !err.contains("busy"), "{err}");
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                v["outcome"].as_str().unwrap().to_string()
            })
            .collect();
        outcomes.sort();
        let approved = outcomes.iter().filter(|o| *o == "approved").count();
        assert_eq!(approved, 1, "{outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|o| o == "approved" || o == "already_used"),
            "{outcomes:?}"
        );
    }
}
