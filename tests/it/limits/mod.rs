//! The abuse and cost limits end to end, with the fixed clock: each limit's boundary (the Nth
//! send allowed, the next refused), its reset and its audit event; nothing is delivered when a
//! limit refuses; and many processes racing one cap never get past it.

use std::process::Stdio;

use serde_json::Value;

use crate::harness::*;

mod locks;
mod scopes;
mod wording;

/// A Great Britain mobile number (+44 7911 … is Guernsey in the numbering plan).
pub(crate) const GB: &str = "+44 7400 123456";

/// Sends with no resend cooldown, so a test of one cap sees only that cap.
const NO_COOLDOWN: &str = "[policy]\nresend_cooldown_seconds = 0\n";

/// Numbers sharing the prefix +1 415 555 (6 national digits) with `US`.
pub(crate) fn same_prefix(i: usize) -> String {
    format!("+1 415 555 26{i:02}")
}

pub(crate) fn details(env: &Env, event: &str) -> Vec<String> {
    let db = env.db();
    let mut stmt = db
        .prepare("SELECT detail FROM audit_events WHERE event = ?1 ORDER BY id")
        .unwrap();
    stmt.query_map([event], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

pub(crate) fn send(env: &Env, phone: &str) -> Value {
    env.run(&["send", "--json", phone]).json()
}

#[track_caller]
fn assert_refused(j: &Value, limit: &str, retry_after: i64) {
    assert_eq!(j["outcome"], "rate_limited", "{j}");
    assert_eq!(j["limit"], limit, "{j}");
    assert_eq!(j["retry_after_seconds"], retry_after, "{j}");
}

#[test]
fn per_number_per_hour_allows_the_fifth_refuses_the_sixth_until_the_first_ages_out() {
    let mut env = Env::with_config(NO_COOLDOWN);
    for _ in 0..5 {
        assert_eq!(send(&env, US)["outcome"], "sent");
        env.advance(60);
    }
    // 300 s after the first send: 3300 s until it leaves the hour.
    let sixth = env.run(&["send", "--json", US]);
    assert_eq!(sixth.code, 1);
    assert_refused(&sixth.json(), "limits.per_number_per_hour", 3300);
    assert_eq!(env.outbox().len(), 5, "a refused send delivers nothing");
    // The operator reads what to do; `limits PHONE` has the why and the key.
    let text = env.run(&["send", US]);
    assert_eq!(
        text.stdout.trim(),
        "Wait 55 min before sending another code to this number.",
        "{text:?}"
    );
    let why = env.run(&["limits", US]);
    assert!(
        why.stdout
            .contains("Would refuse (limits.per_number_per_hour): 5 of 5 sends to this number in the last hour"),
        "{why:?}"
    );
    let d = details(&env, "rate_limited");
    assert!(
        d[0].contains("limits.per_number_per_hour") && d[0].contains("retry after 3300 s"),
        "{d:?}"
    );
    // Other numbers are not affected.
    assert_eq!(send(&env, US2)["outcome"], "sent");
    env.advance(3299);
    assert_refused(&send(&env, US), "limits.per_number_per_hour", 1);
    env.advance(1);
    assert_eq!(send(&env, US)["outcome"], "sent");
}

#[test]
fn per_number_per_day_counts_24_hours() {
    let mut env = Env::with_config(
        "[policy]\nresend_cooldown_seconds = 0\n[limits]\nper_number_per_day = 3\n",
    );
    for _ in 0..3 {
        assert_eq!(send(&env, US)["outcome"], "sent");
        env.advance(3600);
    }
    assert_refused(
        &send(&env, US),
        "limits.per_number_per_day",
        86_400 - 3 * 3600,
    );
    let d = details(&env, "rate_limited");
    assert!(
        d[0].contains("3 of 3 sends to this number in the last 24 hours")
            && d[0].contains("limits.per_number_per_day"),
        "{d:?}"
    );
    env.advance(86_400 - 3 * 3600);
    assert_eq!(send(&env, US)["outcome"], "sent");
    assert_eq!(env.outbox().len(), 4);
}

#[test]
fn per_prefix_cap_stops_sequential_numbers_but_not_other_prefixes() {
    let mut env = Env::with_config(
        "[policy]\nresend_cooldown_seconds = 0\n[limits]\nper_prefix_per_hour = 3\n",
    );
    for i in 0..3 {
        assert_eq!(send(&env, &same_prefix(i))["outcome"], "sent");
    }
    env.advance(10);
    assert_refused(
        &send(&env, &same_prefix(3)),
        "limits.per_prefix_per_hour",
        3590,
    );
    assert_refused(&send(&env, US), "limits.per_prefix_per_hour", 3590);
    assert_eq!(
        send(&env, US2)["outcome"],
        "sent",
        "+1 202 555 is another prefix"
    );
    assert_eq!(env.outbox().len(), 4);
    let d = details(&env, "rate_limited");
    assert_eq!(d.len(), 2);
    assert!(d[0].contains("limits.per_prefix_per_hour"), "{d:?}");
    env.advance(3590);
    assert_eq!(send(&env, &same_prefix(3))["outcome"], "sent");
}

#[test]
fn per_station_and_global_caps() {
    let mut env = Env::with_config("[limits]\nper_station_per_hour = 2\nglobal_per_hour = 3\n");
    assert_eq!(send(&env, US)["outcome"], "sent");
    assert_eq!(send(&env, US2)["outcome"], "sent");
    assert_refused(&send(&env, UK), "limits.per_station_per_hour", 3600);
    env.station("desk-2");
    assert_eq!(send(&env, UK)["outcome"], "sent");
    env.station("desk-3");
    env.advance(600);
    assert_refused(&send(&env, GB), "limits.global_per_hour", 3000);
    assert_eq!(env.outbox().len(), 3);
    env.advance(3000);
    assert_eq!(send(&env, GB)["outcome"], "sent");
    assert!(details(&env, "rate_limited")[1].contains("limits.global_per_hour"));
}

#[test]
fn the_country_allow_list_refuses_before_any_delivery() {
    let env = Env::with_config("[limits]\nallowed_countries = [\"gb\"]\n");
    let r = env.run(&["send", "--json", US]);
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(j["outcome"], "country_blocked");
    assert_eq!(j["country"], "US");
    // +44 7911 is Guernsey (GG) in the numbering plan: not Great Britain.
    assert_eq!(send(&env, UK)["outcome"], "country_blocked");
    assert!(env.outbox().is_empty(), "nothing delivered");
    let text = env.run(&["send", US]);
    assert!(
        text.stdout.contains("not in the allowed countries (GB)")
            && text.stdout.contains("Nothing was sent"),
        "{text:?}"
    );
    assert_eq!(
        env.audit_events(),
        ["country_blocked", "country_blocked", "country_blocked"]
    );
    let rows: i64 = env
        .db()
        .query_row("SELECT count(*) FROM challenges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
    assert_eq!(send(&env, GB)["outcome"], "sent");
}

#[test]
fn the_resend_cooldown_doubles_and_a_success_resets_it() {
    let mut env = Env::with_config("[limits]\nper_number_per_hour = 10\n");
    send(&env, US);
    // (seconds to advance, then expect sent or this retry_after)
    let steps = [
        (29, Some(1)),
        (1, None),
        (59, Some(1)),
        (1, None),
        (119, Some(1)),
        (1, None),
    ];
    for (advance, refused) in steps {
        env.advance(advance);
        let j = send(&env, US);
        match refused {
            Some(wait) => assert_refused(&j, "policy.resend_cooldown_seconds", wait),
            None => assert_eq!(j["outcome"], "sent", "{j}"),
        }
    }
    env.advance(1);
    assert_refused(&send(&env, US), "policy.resend_cooldown_seconds", 239);
    assert_eq!(env.outbox().len(), 4);
    let code = env.last_code(US_E164);
    assert_eq!(env.run(&["verify", "--json", &code]).outcome(), "approved");
    // Success resets the back-off: a new verification may start at once, and the next
    // cooldown is the base one again.
    assert_eq!(send(&env, US)["outcome"], "sent");
    env.advance(29);
    assert_refused(&send(&env, US), "policy.resend_cooldown_seconds", 1);
}

#[test]
fn the_back_off_resets_after_a_quiet_period() {
    let mut env = Env::with_config("[limits]\nbackoff_reset_seconds = 600\n");
    send(&env, US);
    env.advance(30);
    send(&env, US);
    env.advance(60);
    send(&env, US);
    // The cooldown is now 120 s; after 10 quiet minutes it starts again at 30 s.
    env.advance(600);
    assert_eq!(send(&env, US)["outcome"], "sent");
    env.advance(29);
    assert_refused(&send(&env, US), "policy.resend_cooldown_seconds", 1);
    env.advance(1);
    assert_eq!(send(&env, US)["outcome"], "sent");
}

#[test]
fn ten_wrong_codes_across_resends_lock_the_number_without_hashing() {
    let mut env = Env::with_config("[policy]\nmax_attempts = 20\n");
    send(&env, US);
    let wrong = env.wrong_code(US_E164);
    for _ in 0..5 {
        assert_eq!(
            env.run(&["verify", "--json", &wrong, "--phone", US])
                .outcome(),
            "invalid"
        );
    }
    env.advance(30);
    assert_eq!(send(&env, US)["resent"], true);
    let wrong = env.wrong_code(US_E164);
    for _ in 0..5 {
        assert_eq!(
            env.run(&["verify", "--json", &wrong, "--phone", US])
                .outcome(),
            "invalid"
        );
    }
    assert_eq!(details(&env, "number_locked").len(), 1);
    assert!(details(&env, "number_locked")[0].contains("10 wrong codes in a row"));
    let right = env.last_code(US_E164);
    env.advance(10);
    let r = env.run(&["verify", "--json", &right, "--phone", US]);
    assert_eq!(r.code, 1);
    let j = r.json();
    assert_eq!(j["outcome"], "number_locked", "{j}");
    assert_eq!(j["consecutive_failures"], 10);
    assert_eq!(j["retry_after_seconds"], 3590);
    let attempts: i64 = env
        .db()
        .query_row("SELECT attempts FROM challenges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        attempts, 10,
        "a locked number counts no attempt (and hashes nothing)"
    );
    assert!(
        details(&env, "locked")
            .last()
            .unwrap()
            .contains("number locked")
    );
    // Sends are refused too: a code that cannot be checked is money spent for nothing.
    assert_refused(&send(&env, US), "limits.max_failures_per_number", 3590);
    assert_eq!(env.outbox().len(), 2);
    // After the lock-out a new code works, and success clears the count.
    env.advance(3590);
    assert_eq!(send(&env, US)["outcome"], "sent");
    let right = env.last_code(US_E164);
    assert_eq!(env.run(&["verify", "--json", &right]).outcome(), "approved");
    let failures: i64 = env
        .db()
        .query_row("SELECT failures FROM limit_numbers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(failures, 0);
}

#[test]
fn the_failure_cap_locks_until_an_operator_unlocks() {
    let mut env = Env::with_config(
        "[policy]\nmax_attempts = 10\n[limits]\nmax_failures_per_number = 2\nfailures_before_unlock = 3\n",
    );
    send(&env, US);
    let wrong = env.wrong_code(US_E164);
    env.run(&["verify", &wrong, "--phone", US]);
    env.run(&["verify", &wrong, "--phone", US]);
    env.advance(3600);
    assert_eq!(send(&env, US)["outcome"], "sent");
    let wrong = env.wrong_code(US_E164);
    assert_eq!(
        env.run(&["verify", "--json", &wrong, "--phone", US])
            .outcome(),
        "invalid"
    );
    env.advance(86_400);
    let j = send(&env, US);
    assert_refused(&j, "limits.failures_before_unlock", 0);
    assert_eq!(j["operator_action"], "otpd unlock PHONE");
    let text = env.run(&["send", US]);
    assert!(
        text.stdout
            .contains("an operator must run `otpd unlock PHONE`"),
        "{text:?}"
    );
    assert_eq!(env.outbox().len(), 2);
    let limits = env.run(&["limits", "--json"]).json();
    assert_eq!(
        limits["locked_numbers"][0]["needs_unlock"], true,
        "{limits}"
    );
    assert_eq!(limits["locked_numbers"][0]["phone"], "+1 •••-•••-2671");

    let r = env.run(&["unlock", "--json", US]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["outcome"], "unlocked");
    assert_eq!(r.json()["was_locked"], true);
    assert!(details(&env, "unlocked")[0].contains("lock lifted after 3 wrong codes"));
    assert_eq!(send(&env, US)["outcome"], "sent");
    let right = env.last_code(US_E164);
    assert_eq!(env.run(&["verify", "--json", &right]).outcome(), "approved");
    let again = env.run(&["unlock", US]);
    assert!(again.stdout.contains("was not locked"), "{again:?}");
}

#[test]
fn the_conversion_guard_pauses_sending_until_resumed() {
    let mut env =
        Env::with_config("[limits]\nmin_sends_for_conversion = 4\nmin_conversion = 0.5\n");
    let numbers = [US, US2, UK, GB];
    for n in numbers {
        assert_eq!(send(&env, n)["outcome"], "sent");
    }
    // One of four verified: 25% < 50%.
    let code = env.last_code(US_E164);
    env.run(&["verify", &code, "--phone", US]).ok();
    let j = send(&env, &same_prefix(1));
    assert_refused(&j, "limits.min_conversion", 0);
    assert_eq!(j["operator_action"], "otpd limits resume");
    assert!(j["reason"].as_str().unwrap().contains("1 of 4"), "{j}");
    assert_eq!(details(&env, "limits_paused").len(), 1);
    env.advance(7200);
    // Still paused hours later, for every number, and paused only once.
    assert_refused(&send(&env, US), "limits.min_conversion", 0);
    assert_eq!(details(&env, "limits_paused").len(), 1);
    assert_eq!(env.outbox().len(), 4);
    let shown = env.run(&["limits"]);
    assert!(shown.stdout.contains("PAUSED"), "{shown:?}");

    let r = env.run(&["limits", "resume", "--json"]);
    assert_eq!(r.json()["outcome"], "resumed");
    assert_eq!(r.json()["was_paused"], true);
    assert_eq!(details(&env, "limits_resumed").len(), 1);
    assert_eq!(send(&env, US)["outcome"], "sent");
    let r = env.run(&["limits", "resume"]);
    assert!(r.stdout.contains("not paused"), "{r:?}");
}

#[test]
fn the_guard_window_restarts_at_resume() {
    let mut env =
        Env::with_config("[limits]\nmin_sends_for_conversion = 2\nmin_conversion = 0.5\n");
    send(&env, US);
    send(&env, US2);
    assert_eq!(send(&env, UK)["outcome"], "rate_limited");
    env.run(&["limits", "resume"]).ok();
    env.advance(1);
    // The two unverified sends before the resume no longer count.
    assert_eq!(send(&env, UK)["outcome"], "sent");
    let code = env.last_code(UK_E164);
    env.run(&["verify", &code, "--phone", UK]).ok();
    assert_eq!(send(&env, GB)["outcome"], "sent");
}

#[test]
fn limits_shows_counters_and_what_would_be_refused() {
    let env = Env::with_config(
        "[policy]\nresend_cooldown_seconds = 0\n[limits]\nper_number_per_hour = 2\n",
    );
    send(&env, US);
    send(&env, US);
    let j = env.run(&["limits", "--json", US]).json();
    assert_eq!(j["outcome"], "limits");
    assert_eq!(j["global_last_hour"]["count"], 2);
    assert_eq!(j["global_last_hour"]["cap"], 100);
    assert_eq!(j["station_last_hour"]["count"], 2);
    assert_eq!(j["number"]["last_hour"]["count"], 2);
    assert_eq!(j["number"]["country"], "US");
    assert_eq!(j["would_refuse"][0]["limit"], "limits.per_number_per_hour");
    assert_eq!(j["would_refuse"][0]["retry_after_seconds"], 3600);
    let other = env.run(&["limits", "--json", US2]).json();
    assert_eq!(
        other["would_refuse"].as_array().unwrap().len(),
        0,
        "{other}"
    );
    let text = env.run(&["limits", US]);
    assert_eq!(text.code, 0);
    assert!(
        text.stdout
            .contains("Would refuse (limits.per_number_per_hour)")
            && text
                .stdout
                .contains("+1 •••-•••-2671 (US, fixed-line or mobile number): 2 of 2 sends")
            && !text.stdout.contains("4155552671"),
        "{text:?}"
    );
    let bare = env.run(&["limits"]);
    assert!(bare.stdout.contains("A send would go out now"), "{bare:?}");
    // Looking changes nothing.
    assert_eq!(env.audit_events().len(), 4);
}

#[test]
fn the_ledger_keeps_no_full_numbers() {
    let env = Env::new();
    send(&env, US);
    let db = env.db();
    let full: i64 = db
        .query_row(
            "SELECT count(*) FROM limit_sends WHERE phone_key LIKE '%4155552671%' OR prefix_key LIKE '%415555%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(full, 0);
    let masked: String = db
        .query_row("SELECT phone_masked FROM limit_numbers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(masked, "+1 •••-•••-2671");
}

pub(crate) fn race(env: &Env, phones: &[String]) -> Vec<String> {
    let children: Vec<_> = phones
        .iter()
        .map(|p| {
            env.command()
                .args(["send", "--json", p])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            let v: Value = serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
            v["outcome"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Real argon2 cost widens the gap between the lock-free pre-check and the issuing
/// transaction, so without the re-check under the lock these races would let sends through.
pub(crate) const RACE_HASHING: &str =
    "[hashing]\nmemory_kib = 19456\niterations = 2\nparallelism = 1\n";

on_both_stores! {
    fn twelve_processes_sending_to_one_prefix_never_pass_the_cap(store) {
        let env = Env::with_raw_config_on(store, &format!(
            "{RACE_HASHING}[limits]\nper_prefix_per_hour = 5\n"
        ));
        let phones: Vec<String> = (0..12).map(same_prefix).collect();
        let outcomes = race(&env, &phones);
        let sent = outcomes.iter().filter(|o| *o == "sent").count();
        assert_eq!(sent, 5, "{outcomes:?}");
        assert!(
            outcomes.iter().all(|o| o == "sent" || o == "rate_limited"),
            "{outcomes:?}"
        );
        assert_eq!(env.outbox().len(), 5);
        let ledger = env.query_i64("SELECT count(*) FROM limit_sends");
        assert_eq!(ledger, 5);
    }
}

on_both_stores! {
    fn twelve_processes_sending_to_one_number_never_pass_the_cap(store) {
        let env = Env::with_raw_config_on(store, &format!(
            "{RACE_HASHING}[policy]\nresend_cooldown_seconds = 0\n[limits]\nper_number_per_hour = 3\n"
        ));
        let phones: Vec<String> = (0..12).map(|_| US.to_string()).collect();
        let outcomes = race(&env, &phones);
        let sent = outcomes.iter().filter(|o| *o == "sent").count();
        assert_eq!(sent, 3, "{outcomes:?}");
        assert_eq!(env.outbox().len(), 3);
    }
}

on_both_stores! {
    fn twelve_processes_with_the_default_back_off_send_once(store) {
        let env = Env::with_raw_config_on(store, RACE_HASHING);
        let phones: Vec<String> = (0..12).map(|_| US.to_string()).collect();
        let outcomes = race(&env, &phones);
        assert_eq!(
            outcomes.iter().filter(|o| *o == "sent").count(),
            1,
            "{outcomes:?}"
        );
        assert_eq!(env.outbox().len(), 1);
    }
}

#[test]
fn bad_limits_configuration_names_the_key() {
    let env = Env::with_config("[limits]\nallowed_countries = [\"ZZ\"]\n");
    let r = env.run(&["send", US]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("limits.allowed_countries"), "{r:?}");
    assert!(env.outbox().is_empty());
}

/// Trying otpd out on console delivery (nothing is sent): the README's examples, again and
/// again, never completing a code. The caps ask the newcomer to wait; nothing pauses their
/// station until an operator resumes it. `outbox`, which hands codes on, is still judged.
#[test]
fn console_delivery_never_pauses_a_station_that_tries_the_examples_many_times() {
    let numbers = [US, US2, UK, GB, "+1 415 555 2672"];
    let tries = |env: &mut Env| -> Vec<Value> {
        (0..30)
            .map(|i| {
                env.advance(40);
                send(env, numbers[i % numbers.len()])
            })
            .collect()
    };
    let mut console = Env::new();
    console.set_env("OTPD_DELIVERY", "console");
    let answers = tries(&mut console);
    assert!(
        answers[..20].iter().all(|j| j["outcome"] == "sent"),
        "{answers:?}"
    );
    for j in &answers {
        assert_ne!(j["limit"], "limits.min_conversion", "{j}");
        assert!(j.get("operator_action").is_none_or(Value::is_null), "{j}");
    }
    assert!(details(&console, "limits_paused").is_empty());
    console.advance(3600);
    assert_eq!(send(&console, US)["outcome"], "sent");
    let shown = console.run(&["limits"]);
    assert!(
        shown.stdout.contains("the conversion guard is off"),
        "{shown:?}"
    );

    let mut outbox = Env::new();
    let answers = tries(&mut outbox);
    assert_refused(&answers[20], "limits.min_conversion", 0);
    assert_eq!(details(&outbox, "limits_paused").len(), 1);
}
