//! Unit tests of the Twilio API client: request forms, response parsing and error mapping.
use super::*;
use crate::domain::Code;
use chrono::Utc;

fn us() -> PhoneNumber {
    PhoneNumber::parse("+1 415 555 2671").unwrap()
}

fn cfg() -> TwilioConfig {
    TwilioConfig {
        account_sid: "AC0123456789abcdef0123456789abcdef".into(),
        credentials: crate::config::twilio::Credentials::AuthToken {
            token: "t".into(),
            source: "test".into(),
        },
        from: Some("+14155550100".into()),
        messaging_service_sid: None,
        whatsapp_from: Some("+14155550111".into()),
        api_base: "http://127.0.0.1:1".into(),
        timeout: Duration::from_secs(1),
        retry_base: Duration::from_millis(1),
        status_callback_url: None,
        callback_token: None,
    }
}

fn err(status: u16, code: Option<u32>, retry_after: Option<&str>) -> ApiError {
    let body = match code {
        Some(c) => format!(
            r#"{{"code": {c}, "message": "The 'To' number +14155552671 is not valid", "more_info": "https://www.twilio.com/docs/errors/{c}", "status": {status}}}"#
        ),
        None => "<html>oops</html>".into(),
    };
    ApiError::from_response(status, retry_after, &body, Some(&us()))
}

#[test]
fn error_codes_map_to_kinds_and_keep_the_code() {
    let cases = [
        (
            401,
            Some(20003),
            ErrorKind::Authentication,
            false,
            "credentials",
        ),
        (401, None, ErrorKind::Authentication, false, "credentials"),
        (
            400,
            Some(21211),
            ErrorKind::InvalidNumber,
            false,
            "not a valid mobile number",
        ),
        (
            400,
            Some(21614),
            ErrorKind::InvalidNumber,
            false,
            "not a valid mobile number",
        ),
        (
            400,
            Some(21635),
            ErrorKind::InvalidNumber,
            false,
            "not a valid mobile number",
        ),
        (400, Some(21408), ErrorKind::RegionDisabled, false, "region"),
        (400, Some(21610), ErrorKind::OptedOut, false, "STOP"),
        (
            429,
            Some(20429),
            ErrorKind::TooManyRequests,
            true,
            "too many requests",
        ),
        (
            429,
            None,
            ErrorKind::TooManyRequests,
            true,
            "too many requests",
        ),
        (503, None, ErrorKind::ServerError, true, "server error"),
        (
            500,
            Some(20500),
            ErrorKind::ServerError,
            true,
            "server error",
        ),
        (400, Some(21602), ErrorKind::Other, false, "refused"),
    ];
    for (status, code, kind, retry, words) in cases {
        let e = err(status, code, None);
        assert_eq!(e.kind(), kind, "{status} {code:?}");
        assert_eq!(e.retryable(), retry, "{status} {code:?}");
        let msg = e.operator_message(&us(), 1);
        assert!(msg.contains(words), "{msg}");
        assert!(msg.contains(&format!("HTTP {status}")), "{msg}");
        if let Some(c) = code {
            assert!(msg.contains(&format!("Twilio error {c}")), "{msg}");
        }
        assert!(!msg.contains("4155552671"), "full number leaked: {msg}");
    }
}

#[test]
fn provider_text_is_sanitised_and_masked() {
    let body = "{\"code\": 21602, \"message\": \"bad \\u001b[31m +14155552671\", \"more_info\": \"javascript:x\"}";
    let e = ApiError::from_response(400, None, body, Some(&us()));
    let m = e.message.clone().unwrap();
    assert!(!m.contains('\u{1b}') && !m.contains("4155552671"), "{m}");
    assert!(m.contains("2671"));
    assert_eq!(e.more_info, None);
}

#[test]
fn retry_schedule() {
    let base = Duration::from_millis(100);
    let long = Duration::from_secs(300);
    let cases = [
        // (status, retry-after, attempt, jitter, expected)
        (503, None, 1, 0.0, Some(50)),
        (503, None, 1, 0.999_999, Some(99)),
        (503, None, 2, 0.0, Some(100)),
        (503, None, 3, 0.0, None),
        (429, Some("2"), 1, 0.0, Some(2000)),
        (429, Some("15"), 2, 0.0, Some(15_000)),
        (429, Some("16"), 1, 0.0, None),
        (429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), 1, 0.0, Some(50)),
        (400, None, 1, 0.0, None),
        (401, None, 1, 0.0, None),
    ];
    for (status, ra, attempt, jitter, want) in cases {
        let e = err(status, None, ra);
        let got = next_wait(&e, attempt, base, jitter, long).map(|d| d.as_millis() as u64);
        assert_eq!(got, want, "{status} {ra:?} attempt {attempt}");
    }
    // Never past the code's lifetime.
    let e = err(429, None, Some("10"));
    assert_eq!(next_wait(&e, 1, base, 0.0, Duration::from_secs(5)), None);
}

fn composer() -> &'static crate::message::Composer {
    static C: std::sync::OnceLock<crate::message::Composer> = std::sync::OnceLock::new();
    C.get_or_init(|| crate::message::Composer::new(&Default::default()).unwrap())
}

fn message<'a>(to: &'a PhoneNumber, code: &'a Code, channel: Channel) -> Message<'a> {
    Message {
        composer: composer(),
        locale: None,
        app_hash: None,
        to,
        channel,
        code,
        expires_at: Utc::now(),
        valid_for_seconds: 300,
        station: "desk",
        challenge_id: 1,
    }
}

#[test]
fn forms_per_channel() {
    let to = us();
    let code = Code::parse("482913").unwrap();
    let f = form(&cfg(), &message(&to, &code, Channel::Sms), 300).unwrap();
    let keys: Vec<_> = f.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["To", "From", "Body", "ValidityPeriod"]);
    assert_eq!(f[0].1, "+14155552671");
    assert!(f[2].1.contains("482913"));
    assert_eq!(f[3].1, "300");

    let f = form(&cfg(), &message(&to, &code, Channel::Whatsapp), 300).unwrap();
    assert_eq!(f[0].1, "whatsapp:+14155552671");
    assert_eq!(f[1], ("From", "whatsapp:+14155550111".to_string()));

    let f = form(&cfg(), &message(&to, &code, Channel::Call), 300).unwrap();
    let keys: Vec<_> = f.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["To", "From", "Twiml"]);
    assert_eq!(f[2].1.matches("4, 8, 2, 9, 1, 3.").count(), 2, "{}", f[2].1);

    let mut mg = cfg();
    mg.messaging_service_sid = Some("MG0123456789abcdef0123456789abcdef".into());
    let f = form(&mg, &message(&to, &code, Channel::Sms), 300).unwrap();
    assert_eq!(f[1].0, "MessagingServiceSid");
    mg.from = None;
    assert!(form(&mg, &message(&to, &code, Channel::Call), 300).is_err());
}

#[test]
fn validity_period_stays_in_twilios_range() {
    let cases = [
        (300, "300"),
        (0, "1"),
        (-5, "1"),
        (1, "1"),
        (99_999, "36000"),
    ];
    for (s, want) in cases {
        assert_eq!(validity_period(s), want);
    }
}

#[test]
fn the_call_speaks_the_message_s_locale() {
    let to = us();
    let code = Code::parse("482913").unwrap();
    let mut m = message(&to, &code, Channel::Call);
    m.locale = Some(crate::message::Locale::get("es").unwrap());
    let f = form(&cfg(), &m, 300).unwrap();
    assert!(
        f[2].1
            .contains("<Say language=\"es-ES\">4, 8, 2, 9, 1, 3.</Say>"),
        "{}",
        f[2].1
    );
}

#[test]
fn created_and_status_parsing() {
    let c = parse_created(r#"{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}"#);
    assert_eq!(c.sid.as_deref(), Some("SM0123456789abcdef0123456789abcdef"));
    assert_eq!(c.status.as_deref(), Some("queued"));
    let c = parse_created(r#"{"sid": "../../etc", "status": "\u001b[2J"}"#);
    assert_eq!(
        c,
        Created {
            sid: None,
            status: None
        }
    );
    let cases = [
        (
            r#"{"status": "delivered", "error_code": null}"#,
            Some(("delivered", None)),
        ),
        (
            r#"{"status": "undelivered", "error_code": 30003}"#,
            Some(("undelivered", Some(30003))),
        ),
        (
            r#"{"status": "failed", "error_code": "30008"}"#,
            Some(("failed", Some(30008))),
        ),
        (r#"{"status": "no-answer"}"#, Some(("no-answer", None))),
        ("not json", None),
    ];
    for (body, want) in cases {
        let got = parse_status(body);
        let got = got.as_ref().map(|s| (s.status.as_str(), s.error_code));
        assert_eq!(got, want, "{body}");
    }
    assert_eq!(
        Resource::for_sid("CA0123456789abcdef0123456789abcdef"),
        Some(Resource::Calls)
    );
    assert_eq!(
        Resource::for_sid("SM0123456789abcdef0123456789abcdef"),
        Some(Resource::Messages)
    );
    assert_eq!(Resource::for_sid("SM01/"), None);
}

#[test]
fn a_status_callback_url_goes_with_every_channel() {
    let to = us();
    let code = Code::parse("482913").unwrap();
    let mut c = cfg();
    let url = "https://otpd.example.com/otpd/v1/twilio/status";
    c.status_callback_url = Some(url.into());
    for channel in Channel::ALL {
        let f = form(&c, &message(&to, &code, channel), 300).unwrap();
        let cb: Vec<_> = f.iter().filter(|(k, _)| *k == "StatusCallback").collect();
        assert_eq!(cb, [&("StatusCallback", url.to_string())], "{channel}");
    }
}
