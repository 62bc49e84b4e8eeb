//! Numbers locked by wrong codes are shown first: anyone can lock a victim's number by typing
//! wrong codes for it, so `otpd limits` leads with them and the prompt says so on start.

use rexpect::session::spawn_command;

use super::send;
use crate::harness::*;

/// Two wrong codes lock a number for an hour here (the default is ten).
const QUICK_LOCK: &str = "[policy]\nmax_attempts = 10\n[limits]\nmax_failures_per_number = 2\nfailures_before_unlock = 4\n";

fn lock(env: &Env, phone: &str, e164: &str, wrong_codes: usize) {
    assert_eq!(send(env, phone)["outcome"], "sent");
    let wrong = env.wrong_code(e164);
    for _ in 0..wrong_codes {
        env.run(&["verify", "--json", &wrong, "--phone", phone]);
    }
}

/// US locked until 11:00, US2 until 11:01 (the latest lock is listed first).
fn two_locked() -> Env {
    let mut env = Env::with_config(QUICK_LOCK);
    lock(&env, US, US_E164, 2);
    env.advance(60);
    lock(&env, US2, US2_E164, 2);
    env
}

const LOCKED_LINE: &str = "2 numbers are locked by wrong codes: +1 •••-•••-0123 until 11:01 (2 wrong codes), +1 •••-•••-2671 until 11:00 (2 wrong codes). Sends to them are refused too;";

#[test]
fn limits_leads_with_the_locked_numbers() {
    let env = two_locked();
    let r = env.run(&["limits"]);
    let first = r.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!("{LOCKED_LINE} `otpd unlock PHONE` lifts a lock."),
        "{r:?}"
    );
    assert!(!r.stdout.contains("4155552671"), "{r:?}");
    let j = env.run(&["limits", "--json"]).json();
    assert_eq!(j["locked_numbers"].as_array().unwrap().len(), 2, "{j}");
    env.run(&["unlock", US]).ok();
    env.run(&["unlock", US2]).ok();
    let r = env.run(&["limits"]);
    assert!(r.stdout.starts_with("No number is locked.\n"), "{r:?}");
}

#[test]
fn the_prompt_says_which_numbers_are_locked_when_it_starts() {
    let env = two_locked();
    let mut p = spawn_command(env.pty_command(&[]), Some(10_000)).expect("spawn otpd in a pty");
    let latin1 = |t: &str| -> String { t.bytes().map(char::from).collect() };
    let want = format!("{LOCKED_LINE} `unlock PHONE` lifts a lock.");
    if let Err(e) = p.exp_string(&latin1(&want)) {
        panic!("expected {want:?} on the screen: {e}");
    }
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
    // Without locked numbers the banner goes straight to the prompt.
    let env = Env::new();
    let mut p = spawn_command(env.pty_command(&[]), Some(10_000)).expect("spawn otpd in a pty");
    let screen = p.exp_string("otpd> ").unwrap();
    assert!(!screen.contains("locked"), "{screen:?}");
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
}
