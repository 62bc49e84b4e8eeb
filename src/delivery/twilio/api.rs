//! Twilio's REST API as pure functions: the form fields of a message or a call, the TwiML that
//! reads a code aloud, parsing of created resources, the one mapping from an error response to
//! a typed error and an operator's sentence, and the retry schedule. No I/O, so all of it is
//! tested with case tables.

use std::time::Duration;

use crate::delivery::{Message, ProviderStatus};
use crate::domain::{Channel, PhoneNumber};
use crate::sanitize::{sanitize, truncate};

use crate::config::twilio::{TwilioConfig, is_sid};

/// Twilio's accepted range for `ValidityPeriod` (CreateMessageRequest in Twilio's OpenAPI).
pub const VALIDITY_PERIOD: std::ops::RangeInclusive<i64> = 1..=36_000;

/// Requests per delivery, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// The longest `Retry-After` otpd honours; a longer one ends the delivery (the person at the
/// desk should not wait minutes, and the code would be close to expiry anyway).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15);

/// The largest response body otpd reads (Twilio's are a few KiB).
pub const MAX_BODY: u64 = 64 * 1024;

/// Which collection a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Messages,
    Calls,
}

impl Resource {
    pub fn for_channel(channel: Channel) -> Resource {
        match channel {
            Channel::Sms | Channel::Whatsapp => Resource::Messages,
            Channel::Call => Resource::Calls,
        }
    }

    /// The resource a stored SID belongs to: `CA…` is a call; `SM…`/`MM…` a message.
    pub fn for_sid(sid: &str) -> Option<Resource> {
        if is_sid(sid, "CA") {
            Some(Resource::Calls)
        } else if is_sid(sid, "SM") || is_sid(sid, "MM") {
            Some(Resource::Messages)
        } else {
            None
        }
    }

    fn path(self) -> &'static str {
        match self {
            Resource::Messages => "Messages",
            Resource::Calls => "Calls",
        }
    }
}

/// `{base}/2010-04-01/Accounts/{AccountSid}/Messages.json` (or `Calls.json`).
pub fn list_url(cfg: &TwilioConfig, r: Resource) -> String {
    format!(
        "{}/2010-04-01/Accounts/{}/{}.json",
        cfg.api_base,
        cfg.account_sid,
        r.path()
    )
}

/// `{base}/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`; `sid` must be a checked SID.
pub fn instance_url(cfg: &TwilioConfig, r: Resource, sid: &str) -> String {
    format!(
        "{}/2010-04-01/Accounts/{}/{}/{sid}.json",
        cfg.api_base,
        cfg.account_sid,
        r.path()
    )
}

/// The fields of one request. They hold the code (in the body or the TwiML): the values are
/// wiped when the form is dropped, right after sending. Reads as a slice of (name, value);
/// deliberately not `Debug`.
pub struct Form(Vec<(&'static str, String)>);

impl std::ops::Deref for Form {
    type Target = [(&'static str, String)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Drop for Form {
    fn drop(&mut self) {
        for (_, value) in &mut self.0 {
            zeroize::Zeroize::zeroize(value);
        }
    }
}

/// The Create Message form for SMS or WhatsApp, or the Create Call form for voice.
/// `valid_for_seconds` is the code's remaining lifetime. Errors are operator sentences about
/// a missing sender (nothing is sent).
pub fn form(cfg: &TwilioConfig, m: &Message<'_>, valid_for_seconds: i64) -> Result<Form, String> {
    let to = m.to.e164();
    match m.channel {
        Channel::Sms => {
            let sender = match (&cfg.messaging_service_sid, &cfg.from) {
                (Some(mg), _) => ("MessagingServiceSid", mg.clone()),
                (None, Some(from)) => ("From", from.clone()),
                (None, None) => {
                    return Err("SMS needs a sender: set TWILIO_FROM, twilio.from or twilio.messaging_service_sid; nothing was sent".into());
                }
            };
            Ok(with_callback(
                cfg,
                vec![
                    ("To", to.to_string()),
                    sender,
                    ("Body", m.body().expose().to_string()),
                    ("ValidityPeriod", validity_period(valid_for_seconds)),
                ],
            ))
        }
        Channel::Whatsapp => {
            let sender = match (&cfg.whatsapp_from, &cfg.messaging_service_sid) {
                (Some(from), _) => ("From", format!("whatsapp:{from}")),
                (None, Some(mg)) => ("MessagingServiceSid", mg.clone()),
                (None, None) => {
                    return Err("WhatsApp needs a sender: set twilio.whatsapp_from or twilio.messaging_service_sid; nothing was sent".into());
                }
            };
            Ok(with_callback(
                cfg,
                vec![
                    ("To", format!("whatsapp:{to}")),
                    sender,
                    ("Body", m.body().expose().to_string()),
                    ("ValidityPeriod", validity_period(valid_for_seconds)),
                ],
            ))
        }
        Channel::Call => {
            let Some(from) = cfg.from.as_ref().filter(|f| f.starts_with('+')) else {
                return Err("voice calls need a Twilio phone number: set TWILIO_FROM or twilio.from (a messaging service or sender ID cannot call); nothing was sent".into());
            };
            Ok(with_callback(
                cfg,
                vec![
                    ("To", to.to_string()),
                    ("From", from.clone()),
                    ("Twiml", m.body().expose().to_string()),
                ],
            ))
        }
    }
}

/// The form with `StatusCallback` (`[twilio] status_callback_url`) when one is set: Twilio then
/// posts each status change of the message or call to otpd serve.
fn with_callback(cfg: &TwilioConfig, mut fields: Vec<(&'static str, String)>) -> Form {
    if let Some(url) = &cfg.status_callback_url {
        fields.push(("StatusCallback", url.clone()));
    }
    Form(fields)
}

/// The code's remaining lifetime, within Twilio's accepted range.
pub fn validity_period(valid_for_seconds: i64) -> String {
    valid_for_seconds
        .clamp(*VALIDITY_PERIOD.start(), *VALIDITY_PERIOD.end())
        .to_string()
}

/// What a 2xx answer to a create call said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The resource's SID, when it is one (never trusted blindly: it goes to the database).
    pub sid: Option<String>,
    pub status: Option<String>,
}

/// A status word as Twilio writes them (`queued`, `no-answer`, `partially_delivered`).
fn status_word(v: &serde_json::Value) -> Option<String> {
    v.as_str()
        .filter(|s| {
            (1..=32).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
        })
        .map(str::to_string)
}

/// An error code, as a number or a numeric string.
fn error_code(v: &serde_json::Value) -> Option<u32> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .filter(|&n| n != 0)
}

/// Parses the Message (or Call) resource of a `201`.
pub fn parse_created(body: &str) -> Created {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let sid = v["sid"]
        .as_str()
        .filter(|s| Resource::for_sid(s).is_some())
        .map(str::to_string);
    Created {
        sid,
        status: status_word(&v["status"]),
    }
}

/// Parses a fetched Message or Call resource.
pub fn parse_status(body: &str) -> Option<ProviderStatus> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    Some(ProviderStatus {
        status: status_word(&v["status"])?,
        error_code: error_code(&v["error_code"]),
    })
}

/// What kind of refusal an error response is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 20003 / HTTP 401: the credentials are wrong.
    Authentication,
    /// 21211, 21614, 21635: the number cannot receive this message.
    InvalidNumber,
    /// 21408: the destination's country is not enabled in the account.
    RegionDisabled,
    /// 21610: the recipient replied STOP to this sender.
    OptedOut,
    /// 20429 / HTTP 429.
    TooManyRequests,
    /// HTTP 5xx.
    ServerError,
    Other,
}

/// A non-2xx answer from Twilio, from its JSON error body (`code`, `message`, `more_info`,
/// `status`) and the `Retry-After` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub http_status: u16,
    pub code: Option<u32>,
    /// Twilio's own text, sanitised and with the recipient's number masked.
    pub message: Option<String>,
    pub more_info: Option<String>,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// The one place that turns an error response into a typed error. `to` masks the number
    /// in Twilio's text (it quotes the submitted number back); without it the text is dropped.
    pub fn from_response(
        http_status: u16,
        retry_after: Option<&str>,
        body: &str,
        to: Option<&PhoneNumber>,
    ) -> ApiError {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let text = |v: &serde_json::Value, to: Option<&PhoneNumber>| {
            let s = v.as_str().filter(|s| !s.trim().is_empty())?;
            let s = to.map_or_else(|| s.to_string(), |to| mask_number(s, to));
            Some(truncate(&sanitize(&s), 300))
        };
        ApiError {
            http_status,
            code: error_code(&v["code"]),
            message: to.and_then(|to| text(&v["message"], Some(to))),
            more_info: text(&v["more_info"], None)
                .filter(|u| u.starts_with("https://") && !u.contains(char::is_whitespace)),
            retry_after: retry_after.and_then(parse_retry_after),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match (self.code, self.http_status) {
            (Some(20003), _) | (None, 401) => ErrorKind::Authentication,
            (Some(21211 | 21614 | 21635), _) => ErrorKind::InvalidNumber,
            (Some(21408), _) => ErrorKind::RegionDisabled,
            (Some(21610), _) => ErrorKind::OptedOut,
            (Some(20429), _) | (_, 429) => ErrorKind::TooManyRequests,
            (_, 500..=599) => ErrorKind::ServerError,
            _ => ErrorKind::Other,
        }
    }

    /// Safe to send again: nothing was accepted, and waiting may help.
    pub fn retryable(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::TooManyRequests | ErrorKind::ServerError
        )
    }

    /// A few words for the audit log.
    pub fn short(&self) -> &'static str {
        match self.kind() {
            ErrorKind::Authentication => "authentication failed",
            ErrorKind::InvalidNumber => "not a valid mobile number",
            ErrorKind::RegionDisabled => "region not enabled",
            ErrorKind::OptedOut => "recipient opted out",
            ErrorKind::TooManyRequests => "rate limited",
            ErrorKind::ServerError => "Twilio server error",
            ErrorKind::Other => "refused",
        }
    }

    /// "Twilio error 21614, HTTP 400".
    pub fn codes(&self) -> String {
        match self.code {
            Some(c) => format!("Twilio error {c}, HTTP {}", self.http_status),
            None => format!("HTTP {}", self.http_status),
        }
    }

    /// The operator's sentence: what happened, Twilio's code, and what to do.
    /// `attempts` is how many requests were made.
    pub fn operator_message(&self, to: &PhoneNumber, attempts: u32) -> String {
        let codes = self.codes();
        let tries = if attempts > 1 {
            format!(" after {attempts} attempts")
        } else {
            String::new()
        };
        match self.kind() {
            ErrorKind::Authentication => format!(
                "Twilio rejected otpd's credentials ({codes}): check TWILIO_ACCOUNT_SID and the API key and secret (or auth token)"
            ),
            ErrorKind::InvalidNumber => format!(
                "Twilio says {} is not a valid mobile number ({codes}): check the number, or use another channel",
                to.masked()
            ),
            ErrorKind::RegionDisabled => format!(
                "sending to this region is not enabled in the Twilio account ({codes}): enable the country in Twilio's geographic permissions"
            ),
            ErrorKind::OptedOut => format!(
                "the recipient replied STOP to this sender ({codes}): they must reply START before they can receive codes, or use another channel"
            ),
            ErrorKind::TooManyRequests => {
                let wait = match self.retry_after {
                    Some(w) if w > MAX_RETRY_AFTER => {
                        format!("; Twilio asked to wait {} s", w.as_secs())
                    }
                    _ => String::new(),
                };
                format!(
                    "Twilio says too many requests ({codes}){tries}{wait}: try again in a minute"
                )
            }
            ErrorKind::ServerError => format!(
                "Twilio had a server error ({codes}){tries}: nothing was sent; try again later"
            ),
            ErrorKind::Other => {
                let mut s = format!("Twilio refused the request ({codes})");
                if let Some(m) = &self.message {
                    s.push_str(&format!(": {m}"));
                }
                if let Some(u) = &self.more_info {
                    s.push_str(&format!(" (see {u})"));
                }
                s
            }
        }
    }
}

/// Replaces the full number (with or without `+`) in provider text with its masked form.
pub fn mask_number(text: &str, to: &PhoneNumber) -> String {
    let e164 = to.e164();
    text.replace(e164, to.masked())
        .replace(e164.trim_start_matches('+'), to.masked())
}

/// `Retry-After` in seconds (Twilio's form). HTTP dates are ignored: the backoff applies.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// How long to wait before attempt `attempt + 1`, or `None` to stop: only retryable errors,
/// at most [`MAX_ATTEMPTS`] requests, a `Retry-After` of at most [`MAX_RETRY_AFTER`], and
/// never so long that the code expires first. `jitter` is uniform in `[0, 1)`: the backoff is
/// `base · 2^(attempt-1)`, scaled into its upper half ("equal jitter"), and at least the
/// `Retry-After` Twilio asked for.
pub fn next_wait(
    e: &ApiError,
    attempt: u32,
    base: Duration,
    jitter: f64,
    valid_for: Duration,
) -> Option<Duration> {
    if !e.retryable() || attempt >= MAX_ATTEMPTS {
        return None;
    }
    if e.retry_after.is_some_and(|r| r > MAX_RETRY_AFTER) {
        return None;
    }
    let backoff = base
        .saturating_mul(1 << (attempt - 1).min(16))
        .mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    let wait = e.retry_after.map_or(backoff, |r| r.max(backoff));
    (wait < valid_for).then_some(wait)
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
