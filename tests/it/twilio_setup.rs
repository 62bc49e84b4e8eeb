//! What a Twilio set-up needs for every channel it will use, checked at start-up: landlines
//! are called by default, so a set-up that cannot call (a Messaging Service alone) stops with
//! one line saying so and how to choose otherwise — not on the first landline. And the
//! outbox records what a voice call says, not the SMS text.

use crate::fake_twilio::{FakeTwilio, Reply};
use crate::harness::*;

const AC: &str = "AC0123456789abcdef0123456789abcdef";
const MG: &str = "MG0123456789abcdef0123456789abcdef";
/// A London number in the range kept for drama: a landline.
const LANDLINE: &str = "+44 20 7946 0018";

fn messaging_service_only(fake: &FakeTwilio, extra: &str) -> Env {
    let mut env = Env::with_config(&format!(
        "[twilio]\naccount_sid = \"{AC}\"\nmessaging_service_sid = \"{MG}\"\napi_base = \"{}\"\ntimeout_seconds = 1\n{extra}",
        fake.base_url()
    ));
    env.set_env("OTPD_DELIVERY", "twilio");
    env.set_env("TWILIO_AUTH_TOKEN", "tok-SENTINEL-42");
    env
}

#[test]
fn a_messaging_service_alone_stops_at_start_up_unless_landlines_are_refused() {
    let fake = FakeTwilio::start();
    fake.always(Reply::json(
        201,
        serde_json::json!({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}),
    ));
    let env = messaging_service_only(&fake, "");
    for args in [&["send", US][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
        let r = env.run(args);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(
            r.stderr.contains("TWILIO_FROM")
                && r.stderr.contains("delivery.fixed_line_channel")
                && r.stderr.contains("landline"),
            "{r:?}"
        );
        assert!(!r.stderr.contains("SENTINEL"), "{r:?}");
    }
    assert!(fake.requests().is_empty());

    // Landlines refused: the Messaging Service is enough, and a landline is refused before
    // anything reaches Twilio.
    let env = messaging_service_only(&fake, "[delivery]\nfixed_line_channel = \"refuse\"\n");
    let r = env.run(&["send", "--json", US]);
    assert_eq!(r.outcome(), "sent", "{r:?}");
    assert_eq!(fake.requests().len(), 1);
    let r = env.run(&["send", "--json", LANDLINE]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn the_outbox_records_what_a_call_says() {
    let env = Env::new();
    for args in [
        &["send", "--json", US, "--channel", "call"][..],
        &["send", "--json", LANDLINE][..],
    ] {
        let r = env.run(args);
        assert_eq!(r.outcome(), "sent", "{r:?}");
        let line = env.outbox().pop().unwrap();
        assert_eq!(line["channel"], "call", "{line}");
        let code = line["code"].as_str().unwrap();
        let spoken: Vec<String> = code.chars().map(String::from).collect();
        let spoken = spoken.join(", ");
        let body = line["body"].as_str().unwrap();
        assert_eq!(
            body,
            format!("Your verification code is {spoken}. Again, your code is {spoken}. Goodbye."),
            "{line}"
        );
    }
}

/// Through `otpd serve`, `Channel=sms` to a landline answers with the channel it became.
#[test]
fn through_the_server_an_sms_to_a_landline_answers_with_the_call_it_became() {
    let env = Env::new();
    let k = crate::serve::key(&env, "desk-1", "station");
    let server = crate::serve::Server::start(&env);
    let r = server.create(&k, "+442079460018");
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["channel"], "call", "{r:?}");
    assert_eq!(env.outbox().pop().unwrap()["channel"], "call");
}

/// The kiosk's channels are configured channels too: one without its sender stops start-up
/// with every gap named at once.
#[test]
fn a_kiosk_channel_without_its_sender_is_named_at_start_up() {
    let fake = FakeTwilio::start();
    let env = messaging_service_only(&fake, "[kiosk]\nchannels = [\"sms\", \"call\"]\n");
    let r = env.run(&["send", US]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("kiosk.channels") && r.stderr.contains("delivery.fixed_line_channel"),
        "{r:?}"
    );
    assert_eq!(
        r.stderr.lines().filter(|l| !l.contains("warning")).count(),
        1,
        "{r:?}"
    );
    // With a number that can call, the same set-up starts.
    let mut env = messaging_service_only(&fake, "[kiosk]\nchannels = [\"sms\", \"call\"]\n");
    env.set_env("TWILIO_FROM", "+14155550100");
    assert_eq!(env.run(&["config"]).code, 0);
}
