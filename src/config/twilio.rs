//! The `[twilio]` settings: read from the TOML file and the environment names Twilio's own
//! tools use, validated at start-up with messages that name exactly what is missing, and with
//! the credentials held as redacted secrets that come only from the environment or 0600 files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::ConfigError;
use super::env::TwilioEnv;
use crate::domain::Channel;

/// Twilio's production API.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";
pub const DEFAULT_TIMEOUT_SECONDS: i64 = 10;
pub const DEFAULT_RETRY_BASE_MS: i64 = 500;

/// `[twilio]` as written in the file. Secrets have no key here: only file names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTwilio {
    account_sid: Option<String>,
    api_key: Option<String>,
    api_secret_file: Option<PathBuf>,
    auth_token_file: Option<PathBuf>,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    whatsapp_from: Option<String>,
    api_base: Option<String>,
    timeout_seconds: Option<i64>,
    retry_base_ms: Option<i64>,
    status_callback_url: Option<String>,
}

/// How otpd authenticates to Twilio (HTTP Basic). `Debug` never shows the secret.
#[derive(Clone)]
pub enum Credentials {
    /// An API key (`SK…`) and its secret: preferred, because it can be revoked on its own.
    ApiKey {
        key: String,
        secret: SecretString,
        source: String,
    },
    /// The account's auth token.
    AuthToken { token: SecretString, source: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ApiKey { key, source, .. } => f
                .debug_struct("ApiKey")
                .field("key", key)
                .field("secret", &"[redacted]")
                .field("source", source)
                .finish(),
            Credentials::AuthToken { source, .. } => f
                .debug_struct("AuthToken")
                .field("token", &"[redacted]")
                .field("source", source)
                .finish(),
        }
    }
}

impl Credentials {
    /// The Basic-auth user name: the API key SID, or the account SID with an auth token.
    pub fn username<'a>(&'a self, account_sid: &'a str) -> &'a str {
        match self {
            Credentials::ApiKey { key, .. } => key,
            Credentials::AuthToken { .. } => account_sid,
        }
    }

    /// The Basic-auth password. Only the HTTP client may call this.
    pub fn password(&self) -> &str {
        match self {
            Credentials::ApiKey { secret, .. } => secret.expose_secret(),
            Credentials::AuthToken { token, .. } => token.expose_secret(),
        }
    }

    /// What `otpd config` shows: the kind and where the secret came from, never the secret.
    pub fn describe(&self) -> String {
        match self {
            Credentials::ApiKey { key, source, .. } => {
                format!("API key {key}, secret (set, redacted) from {source}")
            }
            Credentials::AuthToken { source, .. } => {
                format!("auth token (set, redacted) from {source}")
            }
        }
    }
}

/// The validated `[twilio]` settings.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub credentials: Credentials,
    /// A Twilio phone number (E.164) or an alphanumeric sender ID.
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    /// The WhatsApp sender number in E.164, without the `whatsapp:` prefix.
    pub whatsapp_from: Option<String>,
    /// No trailing slash.
    pub api_base: String,
    pub timeout: Duration,
    pub retry_base: Duration,
    /// The public URL of `otpd serve`'s `POST /otpd/v1/twilio/status`, sent as `StatusCallback`.
    pub status_callback_url: Option<String>,
    /// The auth token Twilio signs its callbacks with (given even beside an API key).
    pub callback_token: Option<SecretString>,
}

/// Whether `s` is a Twilio SID: the two-letter `prefix` and 32 hexadecimal digits.
pub fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `+` and 8 to 15 digits, the first not 0.
fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

/// Alphanumeric sender IDs: 1 to 11 letters, digits and spaces, at least one letter.
fn is_alphanumeric_sender(s: &str) -> bool {
    (1..=11).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

fn shown(v: &str) -> String {
    format!(
        "\"{}\"",
        crate::sanitize::truncate(&crate::sanitize::sanitize(v), 48)
    )
}

fn bad(key: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError::Value {
        key,
        value: shown(value),
        expected: expected.into(),
    }
}

/// Like [`bad`], for identifiers a secret is easily pasted into by mistake (an auth token is 32
/// hexadecimal characters, like a SID without its prefix): the value is described, never shown.
fn bad_hidden(key: &'static str, value: &str, expected: &str) -> ConfigError {
    let len = value.chars().count();
    let hex = len > 0 && value.bytes().all(|b| b.is_ascii_hexdigit());
    let value = if hex && len == 32 {
        "(not shown: 32 hexadecimal characters, the shape of an auth token or API secret)".into()
    } else {
        format!(
            "(not shown: {len} character{})",
            if len == 1 { "" } else { "s" }
        )
    };
    ConfigError::Value {
        key,
        value,
        expected: expected.into(),
    }
}

/// Reads a secret file: a regular file of the running user, not a link, readable by its owner
/// only (checked on the open file), holding one line.
pub(super) fn read_secret_file(
    key: &'static str,
    path: &Path,
) -> Result<SecretString, ConfigError> {
    let secret_err = |detail: String| ConfigError::SecretFile {
        key,
        path: path.to_path_buf(),
        detail,
    };
    let file = crate::secret_file::open_read(path).map_err(|e| secret_err(e.to_string()))?;
    let bytes =
        crate::secret_file::read_capped(file, 4096).map_err(|e| secret_err(e.to_string()))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| secret_err("it must hold the secret alone, as text".into()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(secret_err("it is empty".into()));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(secret_err(
            "it must hold the secret alone, on one line, without spaces".into(),
        ));
    }
    Ok(SecretString::from(value))
}

/// Validates a secret given in the environment without ever echoing it.
pub(super) fn env_secret(var: &'static str, s: &SecretString) -> Result<SecretString, ConfigError> {
    let v = s.expose_secret().trim();
    if v.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(SecretString::from(v))
    } else {
        Err(ConfigError::Value {
            key: var,
            value: "(set, redacted)".into(),
            expected: "the secret alone, without spaces or control characters".into(),
        })
    }
}

/// The API base URL: https, or plain http only to this machine (a local fake Twilio).
fn api_base(key: &'static str, raw: &str) -> Result<String, ConfigError> {
    let expected = "an https:// URL such as https://api.twilio.com (plain http only for 127.0.0.1, ::1 or localhost), without user, query or fragment";
    // A URL with user information may carry a password: described, not shown.
    let bad = |key, raw: &str, expected| match raw.contains('@') {
        true => bad_hidden(key, raw, expected),
        false => bad(key, raw, expected),
    };
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| bad(key, raw, expected))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok
        || url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(bad(key, raw, expected));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn ranged(
    key: &'static str,
    value: Option<i64>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    unit: &str,
) -> Result<u64, ConfigError> {
    let v = value.unwrap_or(default);
    if range.contains(&v) {
        Ok(v.unsigned_abs())
    } else {
        Err(ConfigError::Value {
            key,
            value: v.to_string(),
            expected: format!("use {}..={} {unit}", range.start(), range.end()),
        })
    }
}

impl TwilioConfig {
    /// What this set-up lacks for the channels it will use, as one problem: a sender for each
    /// of the kiosk's channels (the default channel's sender is checked when loading), and a
    /// voice-capable number for landlines, which are called by default (a Messaging Service or
    /// a sender ID alone cannot call).
    pub fn missing_senders(
        &self,
        kiosk_channels: &[Channel],
        fixed_line: crate::domain::FixedLineChannel,
    ) -> Option<ConfigError> {
        let mut missing: Vec<String> = Vec::new();
        for ch in kiosk_channels {
            let ok = match ch {
                Channel::Sms => self.from.is_some() || self.messaging_service_sid.is_some(),
                Channel::Whatsapp => {
                    self.whatsapp_from.is_some() || self.messaging_service_sid.is_some()
                }
                Channel::Call => self.from.is_some(),
            };
            if !ok {
                missing.push(format!(
                    "a sender for {ch}, which kiosk.channels offers ({})",
                    match ch {
                        Channel::Sms => "TWILIO_FROM, twilio.from or twilio.messaging_service_sid",
                        Channel::Whatsapp => "twilio.whatsapp_from or twilio.messaging_service_sid",
                        Channel::Call => "a voice-capable number: TWILIO_FROM or twilio.from",
                    }
                ));
            }
        }
        if self.from.is_none() && fixed_line == crate::domain::FixedLineChannel::Call {
            missing.push("a voice-capable Twilio number (TWILIO_FROM or twilio.from) for landlines: an SMS to a fixed-line number is sent as a voice call (delivery.fixed_line_channel = \"call\", the default), and a Messaging Service or sender ID cannot call; or set delivery.fixed_line_channel = \"refuse\" (landlines refused) or \"sms\" (texted anyway; most landlines cannot receive it)".into());
        }
        (!missing.is_empty()).then(|| ConfigError::Missing {
            what: "the twilio delivery".into(),
            missing: missing.join("; "),
        })
    }

    /// Validates the settings for `provider = "twilio"`: the environment beats the file;
    /// `relative` resolves file names against the config file's folder; `channel` is the
    /// default channel, whose sender must be configured. A malformed value stops at once;
    /// missing pieces are collected and named together.
    pub fn load(
        raw: RawTwilio,
        env: &TwilioEnv,
        relative: &dyn Fn(PathBuf) -> PathBuf,
        channel: Channel,
    ) -> Result<TwilioConfig, ConfigError> {
        let mut missing: Vec<String> = Vec::new();
        let account_sid = account_sid(&raw, env, &mut missing)?;
        let (credentials, token) = credentials(&raw, env, relative, &mut missing)?;
        let status_callback_url = match raw.status_callback_url.as_deref() {
            Some(v) => Some(callback_url(v)?),
            None => None,
        };
        if status_callback_url.is_some() && token.is_none() {
            missing.push("the auth token Twilio signs its status callbacks with (twilio.status_callback_url needs TWILIO_AUTH_TOKEN or twilio.auth_token_file, even beside an API key)".into());
        }
        let senders = senders(&raw, env, channel, &mut missing)?;

        let api_base = match (&env.api_base, &raw.api_base) {
            (Some(v), _) => api_base("OTPD_TWILIO_API_BASE", v)?,
            (None, Some(v)) => api_base("twilio.api_base", v)?,
            (None, None) => DEFAULT_API_BASE.to_string(),
        };
        let timeout = ranged(
            "twilio.timeout_seconds",
            raw.timeout_seconds,
            DEFAULT_TIMEOUT_SECONDS,
            1..=120,
            "seconds",
        )?;
        let retry_base = ranged(
            "twilio.retry_base_ms",
            raw.retry_base_ms,
            DEFAULT_RETRY_BASE_MS,
            1..=60_000,
            "milliseconds",
        )?;

        match (account_sid, credentials) {
            (Some(account_sid), Some(credentials)) if missing.is_empty() => Ok(TwilioConfig {
                account_sid,
                credentials,
                from: senders.from,
                messaging_service_sid: senders.messaging_service_sid,
                whatsapp_from: senders.whatsapp_from,
                api_base,
                timeout: Duration::from_secs(timeout),
                retry_base: Duration::from_millis(retry_base),
                status_callback_url,
                callback_token: token,
            }),
            _ => Err(ConfigError::Missing {
                what: "the twilio delivery".into(),
                missing: missing.join("; "),
            }),
        }
    }
}

/// The account SID, from `TWILIO_ACCOUNT_SID` or the file.
fn account_sid(
    raw: &RawTwilio,
    env: &TwilioEnv,
    missing: &mut Vec<String>,
) -> Result<Option<String>, ConfigError> {
    let account_sid = match (&env.account_sid, &raw.account_sid) {
        (Some(v), _) => Some(("TWILIO_ACCOUNT_SID", v.trim().to_string())),
        (None, Some(v)) => Some(("twilio.account_sid", v.trim().to_string())),
        (None, None) => None,
    };
    Ok(match account_sid {
        Some((_, v)) if is_sid(&v, "AC") => Some(v),
        Some((key, v)) => {
            return Err(bad_hidden(
                key,
                &v,
                "your Account SID: AC followed by 32 hexadecimal digits (Twilio Console → Account info)",
            ));
        }
        None => {
            missing.push("the account SID (TWILIO_ACCOUNT_SID or twilio.account_sid)".into());
            None
        }
    })
}

/// An API key and its secret (preferred), or the auth token; secrets from the environment or
/// a 0600 file.
fn credentials(
    raw: &RawTwilio,
    env: &TwilioEnv,
    relative: &dyn Fn(PathBuf) -> PathBuf,
    missing: &mut Vec<String>,
) -> Result<(Option<Credentials>, Option<SecretString>), ConfigError> {
    let api_key = match (&env.api_key, &raw.api_key) {
        (Some(v), _) => Some(("TWILIO_API_KEY", v.trim().to_string())),
        (None, Some(v)) => Some(("twilio.api_key", v.trim().to_string())),
        (None, None) => None,
    };
    let api_key = match api_key {
        Some((_, v)) if is_sid(&v, "SK") => Some(v),
        Some((key, v)) => {
            return Err(bad_hidden(
                key,
                &v,
                "an API key SID: SK followed by 32 hexadecimal digits",
            ));
        }
        None => None,
    };
    let api_secret = match (&env.api_secret, &raw.api_secret_file) {
        (Some(s), _) => Some((
            env_secret("TWILIO_API_SECRET", s)?,
            "TWILIO_API_SECRET".to_string(),
        )),
        (None, Some(p)) => {
            let p = relative(p.clone());
            let s = read_secret_file("twilio.api_secret_file", &p)?;
            Some((s, p.display().to_string()))
        }
        (None, None) => None,
    };
    let auth_token = match (&env.auth_token, &raw.auth_token_file) {
        (Some(s), _) => Some((
            env_secret("TWILIO_AUTH_TOKEN", s)?,
            "TWILIO_AUTH_TOKEN".to_string(),
        )),
        (None, Some(p)) => {
            let p = relative(p.clone());
            let s = read_secret_file("twilio.auth_token_file", &p)?;
            Some((s, p.display().to_string()))
        }
        (None, None) => None,
    };
    let token = auth_token.as_ref().map(|(t, _)| t.clone());
    let credentials = match (api_key, api_secret, auth_token) {
        (Some(key), Some((secret, source)), _) => Some(Credentials::ApiKey {
            key,
            secret,
            source,
        }),
        (Some(key), None, _) => {
            missing.push(format!(
                "the secret of API key {key} (TWILIO_API_SECRET or twilio.api_secret_file)"
            ));
            None
        }
        (None, Some(_), _) => {
            missing.push(
                "the API key SID that goes with the API secret (TWILIO_API_KEY or twilio.api_key)"
                    .into(),
            );
            None
        }
        (None, None, Some((token, source))) => Some(Credentials::AuthToken { token, source }),
        (None, None, None) => {
            missing.push(
                "credentials: an API key (TWILIO_API_KEY + TWILIO_API_SECRET, preferred) or the auth token (TWILIO_AUTH_TOKEN), or the files twilio.api_secret_file / twilio.auth_token_file"
                    .into(),
            );
            None
        }
    };
    Ok((credentials, token))
}

/// `twilio.status_callback_url`: where Twilio posts delivery statuses (this server's
/// `/otpd/v1/twilio/status`, as the world reaches it).
fn callback_url(raw: &str) -> Result<String, ConfigError> {
    let expected = "the public http(s) URL of this server's /otpd/v1/twilio/status, e.g. https://otpd.example.com/otpd/v1/twilio/status, without user or fragment";
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|_| bad("twilio.status_callback_url", raw, expected))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
    {
        return Err(bad("twilio.status_callback_url", raw, expected));
    }
    Ok(url.to_string())
}

/// Who messages come from.
struct Senders {
    from: Option<String>,
    messaging_service_sid: Option<String>,
    whatsapp_from: Option<String>,
}

/// The senders, and whether the default `channel` has one.
fn senders(
    raw: &RawTwilio,
    env: &TwilioEnv,
    channel: Channel,
    missing: &mut Vec<String>,
) -> Result<Senders, ConfigError> {
    let from = match (&env.from, &raw.from) {
        (Some(v), _) => Some(("TWILIO_FROM", v.trim().to_string())),
        (None, Some(v)) => Some(("twilio.from", v.trim().to_string())),
        (None, None) => None,
    };
    let from = match from {
        Some((_, v)) if is_e164(&v) || is_alphanumeric_sender(&v) => Some(v),
        Some((key, v)) => {
            return Err(bad_hidden(
                key,
                &v,
                "a Twilio phone number in E.164 form such as +14155550100, or an alphanumeric sender ID of up to 11 characters",
            ));
        }
        None => None,
    };
    let messaging_service_sid = match raw
        .messaging_service_sid
        .as_ref()
        .map(|v| v.trim().to_string())
    {
        Some(v) if is_sid(&v, "MG") => Some(v),
        Some(v) => {
            return Err(bad_hidden(
                "twilio.messaging_service_sid",
                &v,
                "a Messaging Service SID: MG followed by 32 hexadecimal digits",
            ));
        }
        None => None,
    };
    let whatsapp_from = match raw.whatsapp_from.as_ref().map(|v| v.trim().to_string()) {
        Some(v) => {
            let number = v.strip_prefix("whatsapp:").unwrap_or(&v).to_string();
            if !is_e164(&number) {
                return Err(bad_hidden(
                    "twilio.whatsapp_from",
                    &v,
                    "your WhatsApp sender number in E.164 form, e.g. +14155550100 (the whatsapp: prefix is optional)",
                ));
            }
            Some(number)
        }
        None => None,
    };
    match channel {
        Channel::Sms if from.is_none() && messaging_service_sid.is_none() => missing.push(
            "a sender: a Twilio number (TWILIO_FROM or twilio.from) or twilio.messaging_service_sid"
                .into(),
        ),
        Channel::Whatsapp if whatsapp_from.is_none() && messaging_service_sid.is_none() => {
            missing.push(
                "the WhatsApp sender (twilio.whatsapp_from or twilio.messaging_service_sid), because [delivery] channel = \"whatsapp\""
                    .into(),
            )
        }
        Channel::Call if from.is_none() => missing.push(
            "a voice-capable Twilio number (TWILIO_FROM or twilio.from), because [delivery] channel = \"call\""
                .into(),
        ),
        _ => {}
    }
    Ok(Senders {
        from,
        messaging_service_sid,
        whatsapp_from,
    })
}

#[cfg(test)]
mod tests;
