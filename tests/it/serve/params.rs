//! Verify parameters otpd does not act on (`CustomCode`, `TemplateSid`, `DeviceIp`, …) are
//! refused with 60200 naming them, never ignored (issue 21); the list comes from Twilio's OpenAPI
//! description, so a parameter Twilio adds is covered without editing the test.
//!
//! SQLite only: the refusal comes before any store work; the accepted ones run on both stores in
//! `serve::flow`.

use serde_json::Value;

use super::{Server, assert_error, key};
use crate::harness::{Env, US_E164};

/// What otpd reads on create and on check (src/serve/params.rs).
const CREATE: &[&str] = &["To", "Channel", "Locale", "AppHash", "RateLimits"];
const CHECK: &[&str] = &["Code", "To", "VerificationSid"];

/// The form parameters Twilio's description lists for `POST` on `path`.
fn documented(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/twilio/verify-v2.openapi.json"
    ))
    .unwrap();
    let spec: Value = serde_json::from_str(&text).unwrap();
    let props = &spec["paths"][path]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        ["schema"]["properties"];
    props.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn verify_parameters_otpd_does_not_support_are_refused_by_name() {
    let env = Env::new();
    let k = key(&env, "desk-1", "station");
    let server = Server::in_process(&env);

    let create = documented("/v2/Services/{ServiceSid}/Verifications");
    let check = documented("/v2/Services/{ServiceSid}/VerificationCheck");
    // The description names what otpd reads, so the lists below are Twilio's words.
    for p in CREATE {
        assert!(create.iter().any(|c| c == p), "{p} not in {create:?}");
    }
    for p in CHECK {
        assert!(check.iter().any(|c| c == p), "{p} not in {check:?}");
    }
    let refused_create: Vec<&String> = create
        .iter()
        .filter(|p| !CREATE.contains(&p.as_str()))
        .collect();
    let refused_check: Vec<&String> = check
        .iter()
        .filter(|p| !CHECK.contains(&p.as_str()))
        .collect();
    for p in [
        "CustomCode",
        "CustomFriendlyName",
        "TemplateSid",
        "DeviceIp",
    ] {
        assert!(refused_create.iter().any(|c| *c == p), "{p}");
    }
    assert!(refused_check.len() >= 3, "{refused_check:?}");

    for p in &refused_create {
        let r = server.post(
            &server.url("/Verifications"),
            Some(&k),
            &[("To", US_E164), ("Channel", "sms"), (p.as_str(), "x")],
        );
        assert_error(&r, 400, 60200);
        let msg = r.body["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("{p} is not supported by otpd")),
            "{p}: {msg}"
        );
    }
    // Nothing was sent for any of them.
    assert!(env.outbox().is_empty(), "{:?}", env.outbox());

    // Every supported one at once is accepted.
    let created = server.post(
        &server.url("/Verifications"),
        Some(&k),
        &[
            ("To", US_E164),
            ("Channel", "sms"),
            ("Locale", "fr"),
            ("AppHash", "FA+9qCX9VSu"),
        ],
    );
    assert_eq!(created.status, 201, "{created:?}");
    let sid = created.body["sid"].as_str().unwrap().to_string();
    let code = env.last_code(US_E164);
    let wrong = if code == "000000" { "111111" } else { "000000" };

    for p in &refused_check {
        let r = server.post(
            &server.url("/VerificationCheck"),
            Some(&k),
            &[("To", US_E164), ("Code", wrong), (p.as_str(), "x")],
        );
        assert_error(&r, 400, 60200);
        let msg = r.body["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("{p} is not supported by otpd")),
            "{p}: {msg}"
        );
    }
    // None of those spent an attempt: the wrong code by `To`, then the right one by SID, pass.
    let r = server.check(&k, US_E164, wrong);
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &"pending".into()),
        "{r:?}"
    );
    let r = server.post(
        &server.url("/VerificationCheck"),
        Some(&k),
        &[("VerificationSid", &sid), ("Code", &code)],
    );
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &"approved".into()),
        "{r:?}"
    );

    // The update route takes `Status` only.
    let r = server.post(
        &server.url(&format!("/Verifications/{sid}")),
        Some(&k),
        &[("Status", "canceled"), ("FriendlyName", "x")],
    );
    assert_error(&r, 400, 60200);

    // Credentials are still checked first: a wrong key learns nothing from its parameters.
    let r = server.post(
        &server.url("/Verifications"),
        None,
        &[
            ("To", US_E164),
            ("Channel", "sms"),
            ("CustomCode", "123456"),
        ],
    );
    assert_error(&r, 401, 20003);
}
