//! The kiosk as the public meets it (issue 24): a line the keyboard dropped is wiped from the
//! screen too, its supervisor's SIGTERM or SIGHUP leaves a clear screen, a pipe gets no escape
//! codes, and every line a visitor reads is in visitor words (no `start with +` after a
//! refused number, no "wait 48 min" for a limit on other people's sends, an answer to an
//! unknown language choice, an example number of the region it names).

use rexpect::process::{Signal, WaitStatus};

use crate::harness::{Env, US, US2};
use crate::limits::same_prefix;
use crate::repl::{expect, prompt, type_line};

/// What the kiosk clears a terminal with.
const CLEAR: &str = "\x1b[H\x1b[2J";

#[test]
fn a_line_the_keyboard_dropped_is_wiped_from_the_screen() {
    let env = Env::with_config("[kiosk]\nidle_seconds = 60\n");
    let mut p = prompt(&env, &["kiosk"]);
    for key in ['c', 'z'] {
        expect(&mut p, "Enter your mobile number");
        p.send("+1 415").unwrap();
        p.flush().unwrap();
        expect(&mut p, "+1 415");
        // The terminal drops the half-typed line: the question is drawn again without it.
        p.send_control(key).unwrap();
        expect(&mut p, CLEAR);
    }
    expect(&mut p, "Enter your mobile number");
    type_line(&mut p, US);
    expect(&mut p, "Sent a 6-digit code by SMS to +1 •••-•••-2671");
    p.process_mut().signal(Signal::SIGTERM).unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn sigterm_and_sighup_end_the_kiosk_on_a_clear_screen() {
    let env = Env::with_config("[kiosk]\nidle_seconds = 60\n");
    for (signal, number) in [(Signal::SIGTERM, US), (Signal::SIGHUP, US2)] {
        let mut p = prompt(&env, &["kiosk"]);
        expect(&mut p, "Enter your mobile number");
        type_line(&mut p, number);
        expect(&mut p, "Enter the code we sent");
        p.process_mut().signal(signal).unwrap();
        let rest = p.exp_eof().unwrap();
        assert!(
            rest.ends_with(CLEAR),
            "{signal:?}: the code step is left on the screen: {rest:?}"
        );
        assert!(
            matches!(p.process_mut().wait().unwrap(), WaitStatus::Exited(_, 0)),
            "{signal:?}"
        );
    }
}

#[test]
fn a_piped_kiosk_writes_no_escape_codes() {
    let env = Env::new();
    let r = env.run_stdin(&["kiosk"], format!("{US}\n").as_bytes());
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Sent a 6-digit code"), "{r:?}");
    assert!(!r.stdout.contains('\x1b'), "{r:?}");
}

#[test]
fn every_line_a_visitor_reads_is_in_visitor_words() {
    // Without a region the example is a number of Great Britain (+44 7911 is Guernsey), and a
    // national number gets what is accepted, not the parser's reason.
    let env = Env::with_config(
        "[limits]\nper_prefix_per_hour = 1\n[kiosk]\nlocales = [\"en\", \"es\"]\n",
    );
    // Another number of the prefix had the prefix's one code this hour.
    env.run(&["send", &same_prefix(1)]).ok();
    let mut input = b"klingon\n1\n415 555 2671\n\xff\xfe\n".to_vec();
    input.extend(format!("+44 909 879 0000\n{US}\n").bytes());
    let r = env.run_stdin(&["kiosk"], &input);
    assert_eq!(r.code, 0, "{r:?}");
    let said = &r.stdout;
    assert!(
        said.contains("Please type the number of your language from the list."),
        "an unknown language is answered: {said}"
    );
    assert!(said.contains("(e.g. +44 7400 123456)"), "{said}");
    assert!(!said.contains("7911"), "{said}");
    assert!(
        said.contains("Please enter a mobile number, starting with + and the country code."),
        "{said}"
    );
    assert!(
        said.contains("Sorry, we cannot send codes to this number here."),
        "a refused number type: {said}"
    );
    // The prefix's hourly cap is spent by other people's sends: nothing to wait out.
    assert!(
        said.contains("Sorry, codes cannot be sent from this kiosk right now."),
        "{said}"
    );
    for operator in [
        "otpd can use",
        "start with +",
        "premium",
        "UTF-8",
        "Wait ",
        "wait 5",
        "min before",
    ] {
        assert!(
            !said.contains(operator),
            "{operator:?} shown to the public: {said}"
        );
    }
    assert_eq!(env.outbox().len(), 1, "{said}");
}

#[test]
fn a_code_the_provider_could_not_deliver_gets_the_visitor_a_call() {
    // The kiosk offers SMS and calls; the SMS's delivery status turns undelivered while the
    // visitor waits (what a Twilio status callback stores at once).
    // The call is a new send, held to the send limits: no resend cooldown here.
    let env = Env::with_config(
        "[policy]\nresend_cooldown_seconds = 0\n[kiosk]\nidle_seconds = 60\nchannels = [\"sms\", \"call\"]\n",
    );
    let mut p = prompt(&env, &["kiosk"]);
    expect(&mut p, "Enter your mobile number");
    type_line(&mut p, &format!("{US} sms"));
    expect(&mut p, "Enter the code we sent");
    env.execute("UPDATE challenges SET delivery_status = 'undelivered'");
    // (The screen wraps the sentence after "with a".)
    expect(
        &mut p,
        "We could not deliver the code by SMS. Type call and we will call you with a",
    );
    type_line(&mut p, "call");
    expect(&mut p, "by a voice call to +1 •••-•••-2671");
    let last = env.outbox().last().unwrap().clone();
    assert_eq!(last["channel"], "call", "{last}");
    // The code the call read out is the one that works.
    let code = env.last_code(crate::harness::US_E164);
    type_line(&mut p, &code);
    expect(&mut p, "Verified");
    p.process_mut().signal(Signal::SIGTERM).unwrap();
    p.exp_eof().unwrap();
}
