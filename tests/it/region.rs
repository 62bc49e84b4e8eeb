//! Issue 15 through the binary: national numbers read with a default region (`[phone]
//! default_region`, `OTPD_REGION`, `--region`) wherever a phone is read, and the number's type
//! from the plan — premium-rate refused before any delivery, a fixed-line number called.

use crate::fake_twilio::*;
use crate::harness::*;

/// One way to set the region: config text, an environment variable, flags.
type Way<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [&'a str]);

/// The E.164 number the last outbox message went to, and its channel.
fn last_sent(env: &Env) -> (String, String) {
    let out = env.outbox();
    let last = out.last().expect("a message in the outbox");
    (
        last["to"].as_str().unwrap().to_string(),
        last["channel"].as_str().unwrap().to_string(),
    )
}

#[test]
fn national_numbers_are_read_in_the_default_region() {
    // (region, as typed, E.164)
    let cases = [
        ("US", "415 555 2671", "+14155552671"),
        ("US", "(415) 555-2671", "+14155552671"),
        ("GB", "07911 123456", "+447911123456"),
        ("GB", "020 7946 0018", "+442079460018"),
        ("DE", "01512 3456789", "+4915123456789"),
        ("IN", "98765 43210", "+919876543210"),
    ];
    for (region, typed, e164) in cases {
        // The file, the environment and the flag each set it.
        let ways: [Way; 3] = [
            (
                &format!("[phone]\ndefault_region = \"{region}\"\n"),
                None,
                &[],
            ),
            ("", Some(("OTPD_REGION", region)), &[]),
            ("", None, &["--region", region]),
        ];
        for (config, var, flag) in ways {
            let mut env = Env::with_config(config);
            if let Some((k, v)) = var {
                env.set_env(k, v);
            }
            let mut args = flag.to_vec();
            args.extend(["send", "--json", typed]);
            let r = env.run(&args);
            assert_eq!(r.outcome(), "sent", "{region} {typed}: {r:?}");
            assert_eq!(last_sent(&env).0, e164, "{region} {typed}");
        }
    }
}

#[test]
fn every_command_that_names_a_number_reads_it_nationally() {
    let env = Env::with_config("[phone]\ndefault_region = \"US\"\n");
    let r = env.run(&["send", "415", "555", "2671"]);
    assert_eq!(r.code, 0, "{r:?}");
    let status = env.run(&["status", "--json", "(415) 555-2671"]).json();
    assert_eq!(status["pending"][0]["phone"], "+1 •••-•••-2671", "{status}");
    let limits = env.run(&["limits", "--json", "415-555-2671"]).json();
    assert_eq!(limits["number"]["last_hour"]["count"], 1, "{limits}");
    let unlock = env.run(&["unlock", "--json", "415 555 2671"]);
    assert_eq!(unlock.outcome(), "unlocked", "{unlock:?}");
    let code = env.last_code(US_E164);
    let verify = env.run(&["verify", "--json", &code, "415", "555", "2671"]);
    assert_eq!(verify.outcome(), "approved", "{verify:?}");
    // An international number still works, whatever the region.
    let other = env.run(&["send", "--json", UK]);
    assert_eq!(other.outcome(), "sent", "{other:?}");
    assert_eq!(last_sent(&env).0, UK_E164);
}

#[test]
fn the_prompt_takes_a_bare_national_number_and_a_bare_code() {
    let env = Env::with_config("[phone]\ndefault_region = \"GB\"\n");
    let r = env.run_stdin(&["--json", "repl"], b"07911 123456\n");
    assert_eq!(r.json_lines()[0]["outcome"], "sent", "{r:?}");
    assert_eq!(last_sent(&env).0, UK_E164);
    let code = env.last_code(UK_E164);
    let r = env.run_stdin(&["--json", "repl"], format!("{code}\n").as_bytes());
    let lines = r.json_lines();
    assert_eq!(lines.last().unwrap()["outcome"], "approved", "{r:?}");
}

#[test]
fn without_a_region_a_national_number_is_refused_with_the_hint() {
    let env = Env::new();
    let r = env.run(&["send", "--json", "415 555 2671"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.outcome(), "invalid_phone");
    let error = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("no country code") && error.contains("+1 415 555 2671"),
        "{error}"
    );
    assert!(env.outbox().is_empty());
}

#[test]
fn a_bad_region_is_one_line_naming_what_is_accepted() {
    let cases: [(&str, Option<&str>, &[&str], &str); 3] = [
        (
            "[phone]\ndefault_region = \"USA\"\n",
            None,
            &[],
            "phone.default_region = \"USA\"",
        ),
        ("", Some("UK"), &[], "OTPD_REGION = \"UK\""),
        ("", None, &["--region", "X1"], "--region = \"X1\""),
    ];
    for (config, var, flag, names) in cases {
        let mut env = Env::with_config(config);
        if let Some(v) = var {
            env.set_env("OTPD_REGION", v);
        }
        let mut args = flag.to_vec();
        args.extend(["send", US]);
        let r = env.run(&args);
        assert_eq!(r.code, 2, "{r:?}");
        let errors: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| !l.contains("warning"))
            .collect();
        assert_eq!(errors.len(), 1, "{r:?}");
        assert!(
            errors[0].contains(names)
                && errors[0].contains("ISO 3166")
                && errors[0].contains("e.g. US, GB"),
            "{r:?}"
        );
        assert!(env.outbox().is_empty());
    }
}

const PREMIUM: &str = "+44 909 879 0000";
const FIXED: &str = "+44 20 7946 0018";
const FIXED_E164: &str = "+442079460018";

#[test]
fn a_premium_rate_number_is_refused_before_any_delivery() {
    let env = Env::new();
    let r = env.run(&["send", "--json", PREMIUM]);
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(j["outcome"], "number_type_blocked", "{j}");
    assert_eq!(j["number_type"], "premium_rate");
    assert_eq!(j["limit"], "limits.refuse_types");
    assert!(j["reason"].as_str().unwrap().contains("premium"), "{j}");
    assert!(env.outbox().is_empty(), "nothing is sent");
    assert_eq!(env.audit_events(), ["number_type_blocked"]);
    let text = env.run(&["send", PREMIUM]);
    assert_eq!(
        text.stdout.trim(),
        "Not sent to +44 ••• ••• 0000: it is a premium-rate number, and codes are not sent to those here."
    );
    // limits PHONE shows the type and why.
    let limits = env.run(&["limits", PREMIUM]);
    assert!(
        limits.stdout.contains("(GB, premium-rate number)")
            && limits.stdout.contains("Would refuse (limits.refuse_types)"),
        "{limits:?}"
    );
    // An empty list refuses no type.
    let open = Env::with_config("[limits]\nrefuse_types = []\n");
    assert_eq!(open.run(&["send", "--json", PREMIUM]).outcome(), "sent");
    // A typo in the list stops start-up, naming the key.
    let typo = Env::with_config("[limits]\nrefuse_types = [\"premium\"]\n");
    let r = typo.run(&["send", US]);
    assert!(
        r.code == 2 && r.stderr.contains("limits.refuse_types = \"premium\""),
        "{r:?}"
    );
}

#[test]
fn nothing_reaches_twilio_for_a_refused_type() {
    let fake = FakeTwilio::start();
    let mut env = Env::with_config(&format!(
        "[twilio]\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\nfrom = \"+14155550100\"\napi_base = \"{}\"\ntimeout_seconds = 30\n",
        fake.base_url()
    ));
    env.set_env("OTPD_DELIVERY", "twilio");
    env.set_env("TWILIO_AUTH_TOKEN", "tok-test");
    let r = env.run(&["send", "--json", PREMIUM]);
    assert_eq!(r.outcome(), "number_type_blocked", "{r:?}");
    assert!(fake.requests().is_empty());
    // A fixed-line number is called: Twilio sees a Calls request.
    fake.reply(Reply::json(
        201,
        serde_json::json!({"sid": "CA0123456789abcdef0123456789abcdef", "status": "queued"}),
    ));
    let r = env.run(&["send", "--json", FIXED]);
    assert_eq!(r.outcome(), "sent", "{r:?}");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].path.ends_with("/Calls.json"), "{}", reqs[0].path);
    assert_eq!(reqs[0].field("To").as_deref(), Some(FIXED_E164));
}

#[test]
fn a_fixed_line_number_is_called_instead_of_texted() {
    let env = Env::new();
    let r = env.run(&["send", "--json", FIXED]);
    let j = r.json();
    assert_eq!(j["outcome"], "sent", "{j}");
    assert_eq!(j["channel"], "call");
    assert_eq!(j["instead_of"], "sms");
    assert_eq!(
        last_sent(&env),
        (FIXED_E164.to_string(), "call".to_string())
    );
    let text = env.run(&["send", "--channel", "call", FIXED]);
    assert!(
        !text.stdout.contains("instead"),
        "asked for a call: {text:?}"
    );
    // A mobile number keeps its SMS.
    assert_eq!(env.run(&["send", "--json", UK]).json()["channel"], "sms");
    assert!(
        env.run(&["send", "--json", UK])
            .json()
            .get("instead_of")
            .is_none()
    );

    let sms = Env::with_config("[delivery]\nfixed_line_channel = \"sms\"\n");
    let j = sms.run(&["send", "--json", FIXED]).json();
    assert_eq!(
        (j["channel"].as_str(), j.get("instead_of")),
        (Some("sms"), None)
    );

    let refuse = Env::with_config("[delivery]\nfixed_line_channel = \"refuse\"\n");
    let r = refuse.run(&["send", "--json", FIXED]);
    assert_eq!(r.code, 1);
    let j = r.json();
    assert_eq!(j["outcome"], "number_type_blocked");
    assert_eq!(j["number_type"], "fixed_line");
    assert_eq!(j["limit"], "delivery.fixed_line_channel");
    assert!(refuse.outbox().is_empty());
    assert_eq!(refuse.audit_events(), ["number_type_blocked"]);
}

#[test]
fn the_fixed_line_text_says_it_was_called() {
    let env = Env::new();
    let r = env.run(&["send", FIXED]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("by a voice call")
            && r.stdout.contains(
                "fixed-line number, so the code is read out by a voice call instead of sent by SMS"
            ),
        "{r:?}"
    );
}

#[test]
fn the_kiosk_asks_for_a_national_number_with_its_region_s_example() {
    // (region, example shown, a national number typed, where it went)
    let cases = [
        ("US", "(201) 555-0123", "415 555 2671", "+1 •••-•••-2671"),
        ("GB", "07400 123456", "07911 123456", "+44 •••• ••3456"),
    ];
    for (region, example, typed, masked) in cases {
        let env = Env::with_config(&format!("[phone]\ndefault_region = \"{region}\"\n"));
        let r = env.run_stdin(&["kiosk"], format!("hello\n{typed}\n").as_bytes());
        assert_eq!(r.code, 0, "{r:?}");
        let s = &r.stdout;
        let ask = format!("Enter your mobile number (e.g. {example}):");
        assert!(s.contains(&ask), "{region}: {s}");
        // Neither question nor refusal asks for a + the visitor does not need.
        assert!(
            s.contains("> Please enter a mobile number.\n"),
            "{region}: {s}"
        );
        assert!(!s.contains("starting with +"), "{region}: {s}");
        assert!(
            s.contains(&format!("code by SMS to {masked}")),
            "{region}: {s}"
        );
    }
    // Without a region the kiosk keeps asking for the country code.
    let env = Env::new();
    let r = env.run_stdin(&["kiosk"], b"hello\n");
    assert!(
        r.stdout
            .contains("Please enter a mobile number, starting with + and the country code."),
        "{r:?}"
    );
}

#[test]
fn audit_phone_reads_national_numbers_with_the_region() {
    let env = Env::new();
    env.run(&["send", US]).ok();
    env.run(&["send", US2]).ok();
    let listed = env.run(&[
        "audit",
        "--json",
        "--region",
        "US",
        "--phone",
        "415 555 2671",
    ]);
    assert_eq!(listed.code, 0, "{listed:?}");
    let rows = listed.json_lines();
    assert!(!rows.is_empty(), "{listed:?}");
    assert!(
        rows.iter().all(|r| r["phone"] == "+1 •••-•••-2671"),
        "only that number's events: {listed:?}"
    );
    // Without a region a national number is still refused, in one line saying why.
    let refused = env.run(&["audit", "--phone", "415 555 2671"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--phone"), "{refused:?}");
}
