//! Delivery through Twilio, against the fake Twilio: the exact requests (checked against
//! Twilio's own OpenAPI description), the mapping of every error Twilio documents for this
//! call, safe retries, timeouts that are never retried, the provider's delivery status, start-up
//! checks, and credentials that never leak.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::fake_twilio::*;
use crate::harness::*;

const AC: &str = "AC0123456789abcdef0123456789abcdef";
const SK: &str = "SK0123456789abcdef0123456789abcdef";
const MG: &str = "MG0123456789abcdef0123456789abcdef";
const SM: &str = "SM0123456789abcdef0123456789abcdef";
const CA: &str = "CA0123456789abcdef0123456789abcdef";
const FROM: &str = "+14155550100";
const WA_FROM: &str = "+14155550111";
/// Stand-ins for the auth token and the API secret: must never be shown or stored.
const TOKEN: &str = "tok-SENTINEL-2f9c81d0";
const API_SECRET: &str = "sec-SENTINEL-77ab0e13";

/// The provider timeout of every test whose fake answers: long enough that an answer the fake
/// gives is never taken for a timeout, however loaded the machine (the fake answers at once; a
/// busy machine delays it by far less than this).
const ANSWERED_TIMEOUT_SECONDS: u32 = 30;

/// The provider timeout of the tests whose fake never answers ([`Reply::Hang`]): short, and safe
/// however loaded the machine, since no answer can beat it.
const SILENT_TIMEOUT_SECONDS: u32 = 1;

/// An installation that delivers through `fake`, authenticated with the auth token.
fn env_for(fake: &FakeTwilio, extra: &str) -> Env {
    env_timing_out(fake, ANSWERED_TIMEOUT_SECONDS, extra)
}

/// [`env_for`] with the provider timeout `seconds`.
fn env_timing_out(fake: &FakeTwilio, seconds: u32, extra: &str) -> Env {
    let mut env = Env::with_config(&format!(
        "[twilio]\naccount_sid = \"{AC}\"\nfrom = \"{FROM}\"\nwhatsapp_from = \"{WA_FROM}\"\napi_base = \"{}\"\ntimeout_seconds = {seconds}\nretry_base_ms = 1\n{extra}",
        fake.base_url()
    ));
    env.set_env("OTPD_DELIVERY", "twilio");
    env.set_env("TWILIO_AUTH_TOKEN", TOKEN);
    env
}

/// One row of the challenge for `US`: (state, delivery_status, provider_ref).
fn challenge(env: &Env) -> (String, String, Option<String>) {
    env.db()
        .query_row(
            "SELECT state, delivery_status, provider_ref FROM challenges ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

/// The detail of the last audit event named `event`.
fn audit_detail(env: &Env, event: &str) -> String {
    env.db()
        .query_row(
            "SELECT detail FROM audit_events WHERE event = ?1 ORDER BY id DESC LIMIT 1",
            [event],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("no {event} event: {e}"))
}

#[test]
fn sms_posts_the_spec_form_with_basic_auth_and_records_the_sid() {
    let fake = FakeTwilio::start();
    fake.reply(created(SM, "queued", US_E164));
    let env = env_for(&fake, "");
    let r = env.run(&["send", "--json", US]);
    assert_eq!(r.code, 0, "{r:?}");
    let j = r.json();
    assert_eq!(j["outcome"], "sent");
    assert_eq!(j["provider_ref"], SM);
    assert_eq!(j["delivery"], "twilio");

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let q = &reqs[0];
    assert_conforms_to_create_message(q);
    assert_eq!(q.path, format!("/2010-04-01/Accounts/{AC}/Messages.json"));
    assert_eq!(q.basic_auth(), Some((AC.to_string(), TOKEN.to_string())));
    assert_eq!(
        q.header("user-agent"),
        Some(concat!("otpd/", env!("CARGO_PKG_VERSION")))
    );
    let keys: Vec<String> = q.form().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["To", "From", "Body", "ValidityPeriod"]);
    assert_eq!(q.field("To").as_deref(), Some(US_E164));
    assert_eq!(q.field("From").as_deref(), Some(FROM));
    assert_eq!(q.field("ValidityPeriod").as_deref(), Some("300"));
    let code = q.code();
    assert_eq!(code.len(), 6);

    assert_eq!(
        challenge(&env),
        ("pending".into(), "queued".into(), Some(SM.into()))
    );
    let detail = audit_detail(&env, "delivered");
    assert!(
        detail.contains(SM) && detail.contains("HTTP 201"),
        "{detail}"
    );
    // The code that went to Twilio is the one that verifies.
    let ok = env.run(&["verify", "--json", &code, "--phone", US]);
    assert_eq!(ok.outcome(), "approved", "{ok:?}");
}

#[test]
fn plain_http_to_a_local_twilio_never_goes_through_a_proxy_from_the_environment() {
    let fake = FakeTwilio::start();
    fake.reply(created(SM, "queued", US_E164));
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let mut env = env_for(&fake, "");
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    for var in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] {
        env.set_env(var, &proxy_url);
    }
    let r = env.run(&["--json", "send", US]);
    assert_eq!(r.outcome(), "sent", "{r:?}");
    assert_eq!(fake.requests().len(), 1);
    assert!(proxy.accept().is_err(), "the credentials went to the proxy");
}

#[test]
fn the_validity_period_is_the_codes_remaining_lifetime() {
    let fake = FakeTwilio::start();
    fake.reply(created(SM, "queued", US_E164));
    let env = env_for(&fake, "[policy]\nttl_seconds = 120\n");
    env.run(&["send", US]).ok();
    let q = &fake.requests()[0];
    assert_conforms_to_create_message(q);
    assert_eq!(q.field("ValidityPeriod").as_deref(), Some("120"));
}

#[test]
fn a_messaging_service_replaces_from() {
    let fake = FakeTwilio::start();
    fake.reply(created(SM, "accepted", US_E164));
    let env = env_for(&fake, &format!("messaging_service_sid = \"{MG}\"\n"));
    env.run(&["send", US]).ok();
    let q = &fake.requests()[0];
    assert_conforms_to_create_message(q);
    assert_eq!(q.field("MessagingServiceSid").as_deref(), Some(MG));
    assert_eq!(q.field("From"), None);
}

#[test]
fn whatsapp_uses_channel_addresses_and_the_api_key() {
    let fake = FakeTwilio::start();
    fake.reply(created(SM, "queued", &format!("whatsapp:{US_E164}")));
    let mut env = env_for(&fake, "");
    env.set_env("TWILIO_API_KEY", SK);
    env.set_env("TWILIO_API_SECRET", API_SECRET);
    let r = env.run(&["send", "--json", US, "--channel", "whatsapp"]);
    assert_eq!(r.outcome(), "sent", "{r:?}");
    let q = &fake.requests()[0];
    assert_conforms_to_create_message(q);
    // The API key pair is preferred over the auth token.
    assert_eq!(
        q.basic_auth(),
        Some((SK.to_string(), API_SECRET.to_string()))
    );
    assert_eq!(q.field("To"), Some(format!("whatsapp:{US_E164}")), "{q:?}");
    assert_eq!(q.field("From"), Some(format!("whatsapp:{WA_FROM}")));
    assert!(q.field("Body").unwrap().contains(&q.code()));
}

#[test]
fn a_voice_call_reads_the_code_digit_by_digit_twice() {
    let fake = FakeTwilio::start();
    fake.reply(Reply::json(
        201,
        serde_json::json!({"sid": CA, "status": "queued", "to": US_E164, "from": FROM}),
    ));
    let env = env_for(&fake, "");
    let r = env.run(&["send", "--json", US, "--channel", "call"]);
    assert_eq!(r.outcome(), "sent", "{r:?}");
    assert_eq!(r.json()["provider_ref"], CA);
    let q = &fake.requests()[0];
    assert_eq!(q.method, "POST");
    assert_eq!(q.path, format!("/2010-04-01/Accounts/{AC}/Calls.json"));
    assert_eq!(q.basic_auth(), Some((AC.to_string(), TOKEN.to_string())));
    let keys: Vec<String> = q.form().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["To", "From", "Twiml"]);
    assert_eq!(q.field("To").as_deref(), Some(US_E164));
    assert_eq!(q.field("From").as_deref(), Some(FROM));
    let code = q.code();
    let spoken: Vec<String> = code.chars().map(String::from).collect();
    let spoken = format!("<Say language=\"en-US\">{}.</Say>", spoken.join(", "));
    let twiml = q.field("Twiml").unwrap();
    assert!(twiml.starts_with("<Response>") && twiml.ends_with("</Response>"));
    assert_eq!(twiml.matches(&spoken).count(), 2, "{twiml}");
    assert!(twiml.contains("<Pause"), "{twiml}");
    assert_eq!(env.run(&["verify", "--json", &code]).outcome(), "approved");
}

#[test]
fn every_201_example_in_twilios_spec_is_understood() {
    let spec = spec();
    let examples = created_examples(&spec);
    assert_eq!(examples.len(), 7);
    let fake = FakeTwilio::start();
    // Seven sends to one number: no cooldown, no per-number caps.
    let env = env_for(
        &fake,
        "[policy]\nresend_cooldown_seconds = 0\n[limits]\nper_number_per_hour = 0\nper_number_per_day = 0\nper_prefix_per_hour = 0\n",
    );
    for (name, example) in examples {
        fake.reply(Reply::json(201, example.clone()));
        let r = env.run(&["send", "--json", US]);
        assert_eq!(r.outcome(), "sent", "{name}: {r:?}");
        assert_eq!(r.json()["provider_ref"], example["sid"], "{name}");
        let (_, status, sid) = challenge(&env);
        assert_eq!(Some(status.as_str()), example["status"].as_str(), "{name}");
        assert_eq!(sid.as_deref(), example["sid"].as_str(), "{name}");
    }
}

#[test]
fn each_twilio_error_is_explained_with_its_code_and_the_code_is_unusable() {
    // (HTTP status, Twilio code, words in the reason, requests made)
    let cases = [
        (401, 20003, "credentials", 1),
        (400, 21211, "not a valid mobile number", 1),
        (400, 21614, "not a valid mobile number", 1),
        (400, 21635, "not a valid mobile number", 1),
        (400, 21408, "region is not enabled", 1),
        (400, 21610, "replied STOP", 1),
        (429, 20429, "too many requests", 3),
        (500, 20500, "server error", 3),
    ];
    for (status, code, words, requests) in cases {
        let fake = FakeTwilio::start();
        for _ in 0..requests {
            fake.reply(Reply::error(
                status,
                code,
                &format!("The 'To' number {US_E164} is not what Twilio wanted"),
            ));
        }
        let env = env_for(&fake, "");
        let r = env.run(&["send", "--json", US]);
        assert_eq!(r.code, 4, "{code}: {r:?}");
        let j = r.json();
        assert_eq!(j["outcome"], "delivery_failed", "{code}");
        assert_eq!(j["provider_code"], code, "{code}");
        let reason = j["reason"].as_str().unwrap();
        assert!(reason.contains(words), "{code}: {reason}");
        assert!(reason.contains(&format!("Twilio error {code}")), "{reason}");
        assert!(reason.contains(&format!("HTTP {status}")), "{reason}");
        assert!(!r.stdout.contains("4155552671"), "number unmasked: {r:?}");
        let reqs = fake.requests();
        assert_eq!(reqs.len(), requests, "{code}: retried wrongly");

        let (state, delivery, _) = challenge(&env);
        assert_eq!((state.as_str(), delivery.as_str()), ("failed", "failed"));
        let detail = audit_detail(&env, "delivery_failed");
        assert!(
            detail.contains(&format!("HTTP {status}")) && detail.contains(&format!("error {code}")),
            "{detail}"
        );
        assert_eq!(detail.matches("attempt ").count(), requests, "{detail}");
        // The code that went to Twilio can never be used.
        let v = env.run(&["verify", "--json", &reqs[0].code(), "--phone", US]);
        assert_ne!(v.outcome(), "approved", "{code}: {v:?}");
    }
}

#[test]
fn the_text_output_says_what_to_do() {
    let fake = FakeTwilio::start();
    fake.reply(Reply::error(401, 20003, "Authenticate"));
    let env = env_for(&fake, "");
    let r = env.run(&["send", US]);
    assert_eq!(r.code, 4);
    assert!(
        r.stdout
            .contains("Could not deliver the code to +1 •••-•••-2671")
            && r.stdout.contains("Twilio error 20003")
            && r.stdout.contains("check TWILIO_ACCOUNT_SID")
            && r.stdout.contains("That code cannot be used"),
        "{r:?}"
    );
}

#[test]
fn too_many_requests_with_retry_after_then_success() {
    let fake = FakeTwilio::start();
    fake.reply(Reply::error(429, 20429, "Too Many Requests").header("Retry-After", "1"))
        .reply(created(SM, "queued", US_E164));
    let env = env_for(&fake, "");
    let r = env.run(&["send", "--json", US]);
    assert_eq!(r.outcome(), "sent", "{r:?}");
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs[1].at - reqs[0].at >= Duration::from_secs(1),
        "Retry-After not honoured: {:?}",
        reqs[1].at - reqs[0].at
    );
    // The same message, sent again, with the lifetime that remains.
    for f in ["To", "From", "Body"] {
        assert_eq!(reqs[0].field(f), reqs[1].field(f), "{f}");
    }
    assert_eq!(reqs[0].field("ValidityPeriod").as_deref(), Some("300"));
    let later: i64 = reqs[1].field("ValidityPeriod").unwrap().parse().unwrap();
    assert!((295..300).contains(&later), "{later}");
    let detail = audit_detail(&env, "delivered");
    assert!(
        detail.contains("attempt 1: rate limited, HTTP 429, error 20429, retry in 1000 ms")
            && detail.contains(&format!("attempt 2: accepted (queued), HTTP 201, sid {SM}")),
        "{detail}"
    );
    assert_eq!(challenge(&env).2.as_deref(), Some(SM));
}

#[test]
fn server_errors_three_times_fail_after_exactly_three_requests() {
    let fake = FakeTwilio::start();
    for _ in 0..3 {
        fake.reply(Reply::error(503, 20500, "Service Unavailable"));
    }
    fake.reply(created(SM, "queued", US_E164));
    let env = env_for(&fake, "");
    let r = env.run(&["send", "--json", US]);
    assert_eq!(r.code, 4, "{r:?}");
    assert_eq!(r.outcome(), "delivery_failed");
    assert!(
        r.json()["reason"]
            .as_str()
            .unwrap()
            .contains("after 3 attempts"),
        "{r:?}"
    );
    assert_eq!(fake.requests().len(), 3);
    let detail = audit_detail(&env, "delivery_failed");
    assert_eq!(detail.matches("HTTP 503").count(), 4, "{detail}");
}

#[test]
fn a_silent_server_times_out_once_without_retry_and_the_code_stays_usable() {
    let fake = FakeTwilio::start();
    fake.reply(Reply::Hang)
        .reply(created(SM, "queued", US_E164));
    let env = env_timing_out(&fake, SILENT_TIMEOUT_SECONDS, "");
    let r = env.run(&["send", "--json", US]);
    assert_eq!(r.code, 4, "{r:?}");
    let j = r.json();
    assert_eq!(j["outcome"], "delivery_unknown");
    let reason = j["reason"].as_str().unwrap();
    assert!(
        reason.contains("did not answer within 1 s") && reason.contains("may have been sent"),
        "{reason}"
    );
    let text = env.run(&["status"]);
    assert!(text.stdout.contains("delivery: unknown"), "{text:?}");
    assert_eq!(fake.requests().len(), 1, "a timeout must not be retried");
    assert_eq!(challenge(&env), ("pending".into(), "unknown".into(), None));
    assert!(audit_detail(&env, "delivery_unknown").contains("not retried"));
    // It may have arrived: the code still works.
    let code = fake.requests()[0].code();
    assert_eq!(
        env.run(&["verify", "--json", &code, "--phone", US])
            .outcome(),
        "approved"
    );
}

#[test]
fn connection_refused_is_a_definite_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = Env::with_config(&format!(
        "[twilio]\naccount_sid = \"{AC}\"\nfrom = \"{FROM}\"\napi_base = \"http://127.0.0.1:{port}\"\n"
    ));
    env.set_env("OTPD_DELIVERY", "twilio");
    env.set_env("TWILIO_AUTH_TOKEN", TOKEN);
    let r = env.run(&["send", "--json", US]);
    assert_eq!(r.code, 4);
    assert_eq!(r.outcome(), "delivery_failed");
    assert!(
        r.json()["reason"]
            .as_str()
            .unwrap()
            .contains("nothing was sent"),
        "{r:?}"
    );
    assert_eq!(challenge(&env).0, "failed");
}

#[test]
fn status_fetches_the_providers_delivery_status() {
    let fake = FakeTwilio::start();
    fake.reply(created(SM, "queued", US_E164))
        .reply(Reply::json(
            200,
            serde_json::json!({"sid": SM, "status": "undelivered", "error_code": 30003}),
        ))
        .reply(Reply::json(
            200,
            serde_json::json!({"sid": SM, "status": "delivered", "error_code": null}),
        ));
    let env = env_for(&fake, "");
    env.run(&["send", US]).ok();

    let r = env.run(&["status", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let p = &r.json()["pending"][0];
    assert_eq!(p["delivery_status"], "undelivered");
    assert!(
        p["delivery_error"].as_str().unwrap().contains("30003"),
        "{p}"
    );
    let text = env.run(&["status"]);
    assert!(text.stdout.contains("delivery: delivered"), "{text:?}");
    // Twilio cannot tell: the stored status stays, with the reason.
    fake.reply(Reply::error(
        404,
        20404,
        "The requested resource was not found",
    ));
    let r = env.run(&["status", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let p = &r.json()["pending"][0];
    assert_eq!(p["delivery_status"], "queued");
    let why = p["delivery_error"].as_str().unwrap();
    assert!(
        why.contains("status unavailable") && why.contains("20404"),
        "{why}"
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 4);
    for q in &reqs[1..] {
        assert_eq!(q.method, "GET");
        assert_eq!(
            q.path,
            format!("/2010-04-01/Accounts/{AC}/Messages/{SM}.json")
        );
        assert_eq!(q.basic_auth(), Some((AC.to_string(), TOKEN.to_string())));
    }
}

#[test]
fn status_of_a_call_reads_the_call_resource() {
    let fake = FakeTwilio::start();
    fake.reply(Reply::json(
        201,
        serde_json::json!({"sid": CA, "status": "queued"}),
    ))
    .reply(Reply::json(
        200,
        serde_json::json!({"sid": CA, "status": "no-answer"}),
    ));
    let env = env_for(&fake, "");
    env.run(&["send", US, "--channel", "call"]).ok();
    let r = env.run(&["status", "--json"]);
    assert_eq!(r.json()["pending"][0]["delivery_status"], "no-answer");
    assert_eq!(
        fake.requests()[1].path,
        format!("/2010-04-01/Accounts/{AC}/Calls/{CA}.json")
    );
}

#[test]
fn missing_or_malformed_configuration_exits_2_naming_what_is_missing() {
    let base = "api_base = \"http://127.0.0.1:9\"\n";
    // (toml [twilio] body, environment, words in the error)
    type Case = (String, Vec<(&'static str, &'static str)>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        (
            format!("from = \"{FROM}\"\n{base}"),
            vec![("TWILIO_AUTH_TOKEN", TOKEN)],
            vec!["TWILIO_ACCOUNT_SID", "twilio.account_sid"],
        ),
        (
            format!("account_sid = \"AC123\"\nfrom = \"{FROM}\"\n{base}"),
            vec![("TWILIO_AUTH_TOKEN", TOKEN)],
            vec!["twilio.account_sid", "AC followed by 32 hexadecimal digits"],
        ),
        (
            format!("from = \"{FROM}\"\n{base}"),
            vec![
                ("TWILIO_ACCOUNT_SID", "ACnothex"),
                ("TWILIO_AUTH_TOKEN", TOKEN),
            ],
            vec!["TWILIO_ACCOUNT_SID", "32 hexadecimal"],
        ),
        (
            format!("account_sid = \"{AC}\"\nfrom = \"{FROM}\"\n{base}"),
            vec![],
            vec!["credentials", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY"],
        ),
        (
            format!("account_sid = \"{AC}\"\n{base}"),
            vec![("TWILIO_AUTH_TOKEN", TOKEN)],
            vec!["a sender", "TWILIO_FROM", "messaging_service_sid"],
        ),
        (
            format!("account_sid = \"{AC}\"\n{base}"),
            vec![],
            vec!["credentials", "a sender"],
        ),
        (
            format!("account_sid = \"{AC}\"\nfrom = \"{FROM}\"\n{base}"),
            vec![("TWILIO_API_KEY", SK)],
            vec!["TWILIO_API_SECRET", SK],
        ),
        (
            format!(
                "account_sid = \"{AC}\"\nfrom = \"{FROM}\"\napi_base = \"http://api.twilio.com\"\n"
            ),
            vec![("TWILIO_AUTH_TOKEN", TOKEN)],
            vec!["twilio.api_base", "https://"],
        ),
    ];
    for (twilio, vars, words) in cases {
        let mut env = Env::with_config(&format!("[twilio]\n{twilio}"));
        env.set_env("OTPD_DELIVERY", "twilio");
        for (k, v) in vars {
            env.set_env(k, v);
        }
        for args in [&["send", US][..], &["config"][..]] {
            let r = env.run(args);
            assert_eq!(r.code, 2, "{twilio}: {r:?}");
            for w in &words {
                assert!(r.stderr.contains(w), "{twilio}: wanted {w}: {r:?}");
            }
            assert!(!r.stderr.contains(TOKEN), "{r:?}");
        }
    }

    // WhatsApp as the default channel needs its sender.
    let mut env = Env::with_config(&format!(
        "[delivery]\nchannel = \"whatsapp\"\n[twilio]\naccount_sid = \"{AC}\"\nfrom = \"{FROM}\"\n"
    ));
    env.set_env("OTPD_DELIVERY", "twilio");
    env.set_env("TWILIO_AUTH_TOKEN", TOKEN);
    let r = env.run(&["send", US]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("twilio.whatsapp_from"), "{r:?}");

    // The same settings are fine for another delivery.
    let mut env = Env::with_config("[twilio]\nfrom = \"+1\"\n");
    env.set_env("OTPD_DELIVERY", "outbox");
    env.run(&["send", US]).ok();
}

#[test]
fn secret_files_must_be_mode_0600() {
    let fake = FakeTwilio::start();
    fake.reply(created(SM, "queued", US_E164));
    let mut env = Env::with_config(&format!(
        "[twilio]\naccount_sid = \"{AC}\"\nfrom = \"{FROM}\"\napi_base = \"{}\"\napi_key = \"{SK}\"\napi_secret_file = \"api.secret\"\n",
        fake.base_url()
    ));
    env.set_env("OTPD_DELIVERY", "twilio");
    let file = env.path("api.secret");
    std::fs::write(&file, format!("{API_SECRET}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let r = env.run(&["send", US]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("twilio.api_secret_file") && r.stderr.contains("chmod 600"),
        "{r:?}"
    );
    assert!(fake.requests().is_empty());

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.run(&["send", US]).ok();
    assert_eq!(
        fake.requests()[0].basic_auth(),
        Some((SK.to_string(), API_SECRET.to_string()))
    );
}

#[test]
fn credentials_never_appear_in_output_the_database_or_the_outbox() {
    let fake = FakeTwilio::start();
    fake.reply(created(SM, "queued", US_E164))
        .reply(Reply::json(200, serde_json::json!({"status": "delivered"})))
        .reply(Reply::error(401, 20003, "Authenticate"))
        .reply(Reply::Hang);
    // The last send meets a silent server: a short timeout, so the test does not wait long; the
    // answered ones before it assert nothing that a late answer could change.
    let mut env = env_timing_out(
        &fake,
        SILENT_TIMEOUT_SECONDS,
        "[policy]\nresend_cooldown_seconds = 0\n",
    );
    let mut runs = vec![
        env.run(&["send", US]),
        env.run(&["status", "--json"]),
        env.run(&["send", US2]),
        env.run(&["send", "--json", UK]),
        env.run(&["config"]),
        env.run(&["--help"]),
        env.run(&["send", "--help"]),
    ];
    env.set_env("TWILIO_API_KEY", SK);
    env.set_env("TWILIO_API_SECRET", API_SECRET);
    runs.push(env.run(&["config"]));
    runs.push(env.run(&["send", "--json", US]));

    // The secrets were really used…
    let auths: Vec<_> = fake
        .requests()
        .iter()
        .filter_map(|q| q.basic_auth())
        .collect();
    assert!(auths.iter().any(|(_, p)| p == TOKEN), "{auths:?}");
    assert!(auths.iter().any(|(_, p)| p == API_SECRET), "{auths:?}");
    let config = &runs[7];
    assert!(config.stdout.contains("(set, redacted)"), "{config:?}");
    assert!(config.stdout.contains(SK), "{config:?}");
    // …and never shown or stored.
    for r in &runs {
        for secret in [TOKEN, API_SECRET] {
            assert!(
                !r.stdout.contains(secret) && !r.stderr.contains(secret),
                "{r:?}"
            );
        }
    }
    for (path, bytes) in all_bytes_under(env.dir.path(), &[]) {
        for secret in [TOKEN, API_SECRET] {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{} holds a secret",
                path.display()
            );
        }
    }
}
