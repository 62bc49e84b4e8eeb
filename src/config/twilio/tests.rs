//! Validation of the `[twilio]` settings: defaults, precedence, missing pieces named together,
//! malformed values naming their key, and secrets that never show.

use super::*;
use std::os::unix::fs::PermissionsExt;

const AC: &str = "AC0123456789abcdef0123456789abcdef";
const SK: &str = "SK0123456789abcdef0123456789abcdef";
const MG: &str = "MG0123456789abcdef0123456789abcdef";
const SENTINEL: &str = "sentinel-secret-value-7f3a";

fn raw(toml: &str) -> RawTwilio {
    toml::from_str(toml).unwrap()
}

fn load(toml: &str, env: &TwilioEnv, channel: Channel) -> Result<TwilioConfig, ConfigError> {
    TwilioConfig::load(raw(toml), env, &|p| p, channel)
}

fn token_env() -> TwilioEnv {
    TwilioEnv {
        auth_token: Some(SecretString::from(SENTINEL)),
        ..TwilioEnv::default()
    }
}

#[test]
fn a_complete_configuration_loads_with_defaults() {
    let c = load(
        &format!("account_sid = \"{AC}\"\nfrom = \"+14155550100\""),
        &token_env(),
        Channel::Sms,
    )
    .unwrap();
    assert_eq!(c.api_base, DEFAULT_API_BASE);
    assert_eq!(c.timeout, Duration::from_secs(10));
    assert_eq!(c.retry_base, Duration::from_millis(500));
    assert_eq!(c.credentials.username(&c.account_sid), AC);
    assert_eq!(c.credentials.password(), SENTINEL);
}

#[test]
fn the_api_key_pair_is_preferred_over_the_auth_token() {
    let env = TwilioEnv {
        api_key: Some(SK.into()),
        api_secret: Some(SecretString::from("key-secret")),
        ..token_env()
    };
    let c = load(
        &format!("account_sid = \"{AC}\"\nmessaging_service_sid = \"{MG}\""),
        &env,
        Channel::Sms,
    )
    .unwrap();
    assert_eq!(c.credentials.username(AC), SK);
    assert_eq!(c.credentials.password(), "key-secret");
}

#[test]
fn the_environment_beats_the_file() {
    let env = TwilioEnv {
        account_sid: Some(AC.into()),
        from: Some("+14155550199".into()),
        api_base: Some("http://127.0.0.1:9/".into()),
        ..token_env()
    };
    let c = load(
        "account_sid = \"ACnope\"\nfrom = \"+14155550100\"\napi_base = \"https://example.com\"",
        &env,
        Channel::Sms,
    )
    .unwrap();
    assert_eq!(c.account_sid, AC);
    assert_eq!(c.from.as_deref(), Some("+14155550199"));
    assert_eq!(c.api_base, "http://127.0.0.1:9");
}

#[test]
fn missing_pieces_are_named_together() {
    let cases: [(&str, TwilioEnv, Channel, &[&str]); 6] = [
        (
            "",
            TwilioEnv::default(),
            Channel::Sms,
            &["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"],
        ),
        (
            &format!("account_sid = \"{AC}\""),
            token_env(),
            Channel::Sms,
            &["a sender", "messaging_service_sid"],
        ),
        (
            &format!("account_sid = \"{AC}\"\nfrom = \"+14155550100\""),
            token_env(),
            Channel::Whatsapp,
            &["whatsapp_from"],
        ),
        (
            &format!("account_sid = \"{AC}\"\nmessaging_service_sid = \"{MG}\""),
            token_env(),
            Channel::Call,
            &["voice-capable", "TWILIO_FROM"],
        ),
        (
            &format!("account_sid = \"{AC}\"\nfrom = \"+14155550100\"\napi_key = \"{SK}\""),
            TwilioEnv::default(),
            Channel::Sms,
            &["TWILIO_API_SECRET", SK],
        ),
        (
            &format!("account_sid = \"{AC}\"\nfrom = \"+14155550100\""),
            TwilioEnv::default(),
            Channel::Sms,
            &["credentials", "TWILIO_API_KEY"],
        ),
    ];
    for (toml, env, channel, words) in cases {
        let err = load(toml, &env, channel).unwrap_err().to_string();
        for w in words {
            assert!(err.contains(w), "{toml:?} → {err} (wanted {w})");
        }
        assert!(!err.contains(SENTINEL));
    }
}

#[test]
fn malformed_values_name_the_key() {
    let base = format!("account_sid = \"{AC}\"\nfrom = \"+14155550100\"\n");
    let cases = [
        ("account_sid = \"AC123\"".to_string(), "twilio.account_sid"),
        (format!("{base}api_key = \"AK1\""), "twilio.api_key"),
        (
            format!("{base}messaging_service_sid = \"MG1\""),
            "twilio.messaging_service_sid",
        ),
        (
            format!("{base}whatsapp_from = \"whatsapp:12\""),
            "twilio.whatsapp_from",
        ),
        (
            "account_sid = \"AC0123456789abcdef0123456789abcdef\"\nfrom = \"not a number!\""
                .to_string(),
            "twilio.from",
        ),
        (
            format!("{base}api_base = \"http://api.twilio.com\""),
            "twilio.api_base",
        ),
        (
            format!("{base}api_base = \"https://u:p@api.twilio.com\""),
            "twilio.api_base",
        ),
        (
            format!("{base}timeout_seconds = 0"),
            "twilio.timeout_seconds",
        ),
        (format!("{base}retry_base_ms = 0"), "twilio.retry_base_ms"),
    ];
    for (toml, key) in cases {
        let err = load(&toml, &token_env(), Channel::Sms)
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{toml:?} → {err}");
    }
}

#[test]
fn secret_files_must_be_private_and_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{SENTINEL}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let toml = format!(
        "account_sid = \"{AC}\"\nfrom = \"+14155550100\"\nauth_token_file = \"{}\"",
        path.display()
    );
    let err = load(&toml, &TwilioEnv::default(), Channel::Sms)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("chmod 600") && err.contains("twilio.auth_token_file"),
        "{err}"
    );
    assert!(!err.contains(SENTINEL));

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = load(&toml, &TwilioEnv::default(), Channel::Sms).unwrap();
    assert_eq!(c.credentials.password(), SENTINEL);
    let shown = format!("{c:?} {}", c.credentials.describe());
    assert!(!shown.contains(SENTINEL), "{shown}");
    assert!(shown.contains("redacted"));
}
