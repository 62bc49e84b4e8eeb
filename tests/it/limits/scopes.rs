//! The conversion guard by scope, through the binary with several `--station`s on one
//! database: a collapsing station or prefix is paused on its own and the other desks go on
//! sending; only a collapse spread across stations pauses the installation. Each pause is
//! audited with its scope (a prefix only masked) and `limits resume` lifts them all.

use serde_json::Value;

use super::{GB, details, same_prefix};
use crate::harness::*;

const GUARD: &str = "[policy]\nresend_cooldown_seconds = 0\n[limits]\nmin_sends_for_conversion = 5\nmin_conversion = 0.5\n";

fn send_from(env: &Env, station: &str, phone: &str) -> Value {
    env.run(&["send", "--json", "--station", station, phone])
        .json()
}

#[track_caller]
fn assert_conversion_refusal(j: &Value, scope: &str) {
    assert_eq!(j["outcome"], "rate_limited", "{j}");
    assert_eq!(j["limit"], "limits.min_conversion", "{j}");
    assert_eq!(j["scope"], scope, "{j}");
    assert_eq!(j["retry_after_seconds"], 0, "{j}");
    assert_eq!(j["operator_action"], "otpd limits resume", "{j}");
}

#[test]
fn a_kiosk_whose_codes_are_never_typed_back_pauses_itself_not_the_desk() {
    let env = Env::with_config(GUARD);
    // The desk verifies 3 of 3.
    for (phone, e164) in [(US2, US2_E164), (UK, UK_E164), (GB, "+447400123456")] {
        assert_eq!(send_from(&env, "desk", phone)["outcome"], "sent");
        let code = env.last_code(e164);
        let r = env.run(&[
            "verify",
            "--json",
            "--station",
            "desk",
            &code,
            "--phone",
            phone,
        ]);
        assert_eq!(r.outcome(), "approved", "{r:?}");
    }
    // The kiosk sends five codes nobody types back (3 of 7 overall: 43% < 50%, which paused
    // every station before), then its sixth is refused for the kiosk alone.
    for i in 0..5 {
        let j = send_from(&env, "kiosk", &same_prefix(i));
        assert_eq!(j["outcome"], "sent", "kiosk send {}: {j}", i + 1);
    }
    let j = send_from(&env, "kiosk", &same_prefix(5));
    assert_conversion_refusal(&j, "station");
    assert!(
        j["reason"].as_str().unwrap().contains("from this station"),
        "{j}"
    );
    // The desk still sends, even to the kiosk's prefix; the kiosk stays paused for any number.
    assert_eq!(send_from(&env, "desk", US)["outcome"], "sent");
    assert_conversion_refusal(&send_from(&env, "kiosk", GB), "station");
    assert_eq!(env.outbox().len(), 3 + 5 + 1);
    let paused = details(&env, "limits_paused");
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert!(
        paused[0].starts_with("station kiosk: only 0 of 5"),
        "{paused:?}"
    );
    assert!(
        details(&env, "rate_limited")[0].contains("station kiosk"),
        "{:?}",
        details(&env, "rate_limited")
    );

    // `limits` lists the pause by scope; only the kiosk's view says it is paused.
    let desk = env.run(&["limits", "--json", "--station", "desk"]).json();
    assert_eq!(desk["pauses"][0]["scope"], "station", "{desk}");
    assert_eq!(desk["pauses"][0]["name"], "kiosk", "{desk}");
    assert!(desk["paused_at"].is_null(), "{desk}");
    assert_eq!(desk["station_conversion"]["converted"], 3, "{desk}");
    let kiosk = env.run(&["limits", "--json", "--station", "kiosk"]).json();
    assert!(kiosk["paused_at"].is_string(), "{kiosk}");
    let text = env.run(&["limits", "--station", "desk"]);
    assert!(
        text.stdout
            .contains("Sending is PAUSED for station kiosk since"),
        "{text:?}"
    );

    let r = env.run(&["limits", "resume", "--json"]).json();
    assert_eq!(r["was_paused"], true, "{r}");
    assert_eq!(r["lifted"][0]["scope"], "station", "{r}");
    assert_eq!(r["lifted"][0]["name"], "kiosk", "{r}");
    assert!(details(&env, "limits_resumed")[0].contains("station kiosk"));
    assert_eq!(send_from(&env, "kiosk", GB)["outcome"], "sent");
}

#[test]
fn a_collapsing_prefix_is_paused_for_every_station_and_only_that_prefix() {
    let env = Env::with_config(GUARD);
    // Five stations each send one code into +1 415 555 …; nobody types one back.
    for i in 0..5 {
        let j = send_from(&env, &format!("desk-{i}"), &same_prefix(i));
        assert_eq!(j["outcome"], "sent", "{j}");
    }
    let j = send_from(&env, "desk-5", &same_prefix(5));
    assert_conversion_refusal(&j, "prefix");
    // Another prefix goes out from the same station; the prefix is refused from any station.
    assert_eq!(send_from(&env, "desk-5", US2)["outcome"], "sent");
    assert_conversion_refusal(&send_from(&env, "desk-0", &same_prefix(7)), "prefix");
    assert_eq!(send_from(&env, "desk-0", UK)["outcome"], "sent");
    let paused = details(&env, "limits_paused");
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert!(paused[0].starts_with("prefix +1 415•••: "), "{paused:?}");
    // The audit log names the prefix only masked, never a number or the whole block.
    let db = env.db();
    let leaked: i64 = db
        .query_row(
            "SELECT count(*) FROM audit_events WHERE detail LIKE '%415555%' OR detail LIKE '%415 555%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaked, 0);
    let text = env.run(&["limits"]);
    assert!(
        text.stdout
            .contains("Sending is PAUSED for numbers in prefix +1 415••• since"),
        "{text:?}"
    );
    let r = env.run(&["limits", "resume"]);
    assert!(
        r.stdout
            .starts_with("Sending resumed for numbers in prefix +1 415••• (paused since"),
        "{r:?}"
    );
}

#[test]
fn many_stations_collapsing_together_pause_the_installation() {
    // Ten national digits: every number is its own prefix, so no prefix can trip alone.
    let env = Env::with_config(&format!("{GUARD}prefix_digits = 10\n"));
    for i in 0..6 {
        let j = send_from(&env, &format!("desk-{i}"), &same_prefix(i));
        assert_eq!(j["outcome"], "sent", "{j}");
    }
    assert_conversion_refusal(&send_from(&env, "desk-6", &same_prefix(6)), "global");
    assert_conversion_refusal(&send_from(&env, "desk-0", UK), "global");
    let paused = details(&env, "limits_paused");
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert!(
        paused[0].starts_with("global: only 0 of 6 verifications across stations"),
        "{paused:?}"
    );
    let j = env.run(&["limits", "--json"]).json();
    assert_eq!(j["pauses"][0]["scope"], "global", "{j}");
    assert!(j["paused_at"].is_string(), "{j}");
    env.run(&["limits", "resume"]).ok();
    assert_eq!(send_from(&env, "desk-0", UK)["outcome"], "sent");
}
