//! How `limits` and a refused `resend` read to an operator (issue 24): a config edit is not
//! shown as a command to run, the pause's remedy is said once, and a resend refused on a locked
//! verification does not advise what was just refused.

use super::{GB, send};
use crate::harness::*;

#[test]
fn limits_words_a_config_edit_as_an_edit_not_a_command() {
    let env = Env::with_config("[limits]\nallowed_countries = [\"GB\"]\n");
    let text = env.run(&["limits", US]);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        !text.stdout.contains("run `add") && !text.stdout.contains("run `remove"),
        "a config edit is not a command: {text:?}"
    );
    assert!(
        text.stdout
            .contains("add the country to limits.allowed_countries in the config file"),
        "{text:?}"
    );
    let sent = env.run(&["send", US]);
    assert!(!sent.stdout.contains("run `add"), "{sent:?}");
    assert_eq!(send(&env, GB)["outcome"], "sent");
}

#[test]
fn a_paused_station_is_told_to_run_limits_resume_once() {
    let env = Env::with_config("[limits]\nmin_sends_for_conversion = 2\nmin_conversion = 0.5\n");
    send(&env, US);
    send(&env, US2);
    assert_eq!(send(&env, UK)["outcome"], "rate_limited");
    let text = env.run(&["limits"]);
    assert!(text.stdout.contains("PAUSED"), "{text:?}");
    assert_eq!(
        text.stdout.matches("otpd limits resume").count(),
        1,
        "said once: {text:?}"
    );
}

#[test]
fn resend_on_a_locked_verification_says_to_start_a_new_one() {
    let mut env = Env::new();
    send(&env, US);
    let wrong = env.wrong_code(US_E164);
    for _ in 0..5 {
        env.run(&["verify", &wrong, "--phone", US]);
    }
    let r = env.run(&["resend", US]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        !r.stdout.contains("Send a new code") && r.stdout.contains("Start a new one with send"),
        "{r:?}"
    );
    // What it advises works: a send (after the cooldown) starts a new verification.
    env.advance(30);
    let j = send(&env, US);
    assert_eq!(j["outcome"], "sent", "{j}");
    assert_eq!(j["attempts_left"], 5, "{j}");
}
