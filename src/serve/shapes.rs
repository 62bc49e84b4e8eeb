//! The JSON bodies of Twilio Verify's Verification and VerificationCheck resources, built from a
//! stored verification (`verify-v2.openapi.json`: `VE…`/`VA…`/`AC…` SIDs, RFC 3339 dates, an
//! absolute `url`, `send_code_attempts`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::domain::{Challenge, State};

/// Where the resources live, for their `url`s.
#[derive(Clone)]
pub struct Base {
    /// `http://host:port` as the client addressed the server.
    pub origin: String,
    pub service_sid: String,
}

impl Base {
    /// A stable `AC…` SID for the account field: otpd has no accounts, so it is derived from
    /// the service SID.
    pub fn account_sid(&self) -> String {
        let digest = Sha256::digest(format!("otpd account:{}", self.service_sid));
        format!("AC{}", hex::encode(&digest[..16]))
    }

    pub fn verification_url(&self, sid: &str) -> String {
        format!(
            "{}/v2/Services/{}/Verifications/{sid}",
            self.origin, self.service_sid
        )
    }
}

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Twilio's status word for a verification as it stands at `now`.
pub fn status(ch: &Challenge, now: DateTime<Utc>) -> &'static str {
    match ch.state {
        State::Approved => "approved",
        State::Cancelled => "canceled",
        State::Failed => "failed",
        State::Pending if ch.is_expired(now) => "expired",
        State::Pending if ch.is_locked() => "max_attempts_reached",
        State::Pending => "pending",
    }
}

fn updated(ch: &Challenge) -> DateTime<Utc> {
    ch.used_at.unwrap_or(ch.sent_at)
}

/// A Verification resource.
pub fn verification(base: &Base, sid: &str, ch: &Challenge, now: DateTime<Utc>) -> Value {
    let status = status(ch, now);
    // One entry per code sent: the first at creation, the resends up to the last.
    let attempts: Vec<Value> = (0..=ch.resends)
        .map(|i| {
            let at = if i == 0 { ch.created_at } else { ch.sent_at };
            let digest = Sha256::digest(format!("{sid}:{i}"));
            json!({
                "attempt_sid": format!("VL{}", hex::encode(&digest[..16])),
                "channel": ch.channel.as_str(),
                "time": date(at),
            })
        })
        .collect();
    json!({
        "sid": sid,
        "service_sid": base.service_sid,
        "account_sid": base.account_sid(),
        "to": ch.phone.e164(),
        "channel": ch.channel.as_str(),
        "status": status,
        "valid": status == "approved",
        "lookup": { "carrier": null },
        "amount": null,
        "payee": null,
        "send_code_attempts": attempts,
        "date_created": date(ch.created_at),
        "date_updated": date(updated(ch)),
        "sna": null,
        "url": base.verification_url(sid),
    })
}

/// A VerificationCheck resource: `status` is `approved` (and `valid`) or, for a wrong code,
/// `pending`.
pub fn check(base: &Base, sid: &str, ch: &Challenge, approved: bool) -> Value {
    json!({
        "sid": sid,
        "service_sid": base.service_sid,
        "account_sid": base.account_sid(),
        "to": ch.phone.e164(),
        "channel": ch.channel.as_str(),
        "status": if approved { "approved" } else { "pending" },
        "valid": approved,
        "amount": null,
        "payee": null,
        "date_created": date(ch.created_at),
        "date_updated": date(updated(ch)),
        "sna_attempts_error_codes": [],
    })
}

impl Base {
    /// `…/v2/Services/{VA}` and what lies under it.
    pub fn service_url(&self, tail: &str) -> String {
        format!("{}/v2/Services/{}{tail}", self.origin, self.service_sid)
    }
}

/// A RateLimit resource (`verify.v2.service.rate_limit`).
pub fn rate_limit(base: &Base, r: &crate::domain::rate_limits::RateLimit) -> Value {
    let url = base.service_url(&format!("/RateLimits/{}", r.sid));
    json!({
        "sid": r.sid,
        "service_sid": base.service_sid,
        "account_sid": base.account_sid(),
        "unique_name": r.unique_name,
        "description": r.description,
        "date_created": date(r.created_at),
        "date_updated": date(r.updated_at),
        "url": url,
        "links": { "buckets": format!("{url}/Buckets") },
    })
}

/// A Bucket resource (`verify.v2.service.rate_limit.bucket`).
pub fn bucket(base: &Base, b: &crate::domain::rate_limits::Bucket) -> Value {
    json!({
        "sid": b.sid,
        "rate_limit_sid": b.rate_limit_sid,
        "service_sid": base.service_sid,
        "account_sid": base.account_sid(),
        "max": b.max,
        "interval": b.interval,
        "date_created": date(b.created_at),
        "date_updated": date(b.updated_at),
        "url": base.service_url(&format!("/RateLimits/{}/Buckets/{}", b.rate_limit_sid, b.sid)),
    })
}

/// One page of a list in Twilio's shape: the items under `key`, and `meta` with the URLs of
/// this page, the first and the next (`null` at the end). `url` is the list's URL with its
/// filters (no paging parameters); `page` counts from 0.
pub fn page(
    key: &str,
    url: &str,
    items: Vec<Value>,
    page: usize,
    size: usize,
    more: bool,
) -> Value {
    let sep = if url.contains('?') { '&' } else { '?' };
    let at = |n: usize| format!("{url}{sep}PageSize={size}&Page={n}");
    json!({
        key: items,
        "meta": {
            "page": page,
            "page_size": size,
            "first_page_url": at(0),
            "previous_page_url": if page > 0 { Value::String(at(page - 1)) } else { Value::Null },
            "url": at(page),
            "next_page_url": if more { Value::String(at(page + 1)) } else { Value::Null },
            "key": key,
        },
    })
}

/// The Service resource (`verify.v2.service`): the settings otpd applies; the features it does
/// not have (PSD2, custom codes, push, TOTP, passkeys, templates) are off or `null`.
pub fn service(base: &Base, v: &crate::service::settings::ServiceView) -> Value {
    json!({
        "sid": base.service_sid,
        "account_sid": base.account_sid(),
        "friendly_name": v.friendly_name,
        "code_length": v.code_length,
        // Every send looks the number's type up (offline, from the numbering plan).
        "lookup_enabled": true,
        "psd2_enabled": false,
        "skip_sms_to_landlines": v.skip_sms_to_landlines,
        "dtmf_input_required": false,
        "tts_name": null,
        "do_not_share_warning_enabled": false,
        "custom_code_enabled": false,
        "push": null,
        "totp": null,
        "default_template_sid": null,
        "whatsapp": null,
        "passkeys": null,
        "verify_event_subscription_enabled": false,
        "date_created": null,
        "date_updated": v.updated_at.map(date),
        "url": base.service_url(""),
        "links": {
            "verifications": base.service_url("/Verifications"),
            "verification_checks": base.service_url("/VerificationCheck"),
            "rate_limits": base.service_url("/RateLimits"),
        },
    })
}
