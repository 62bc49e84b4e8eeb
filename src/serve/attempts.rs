//! Verify's Attempts resources (issue 26) — `GET /v2/Attempts`, `/v2/Attempts/{VL}` and
//! `/v2/Attempts/Summary` — over the core's reading of the audit log: Twilio's filters parsed
//! into a query, each attempt in Twilio's shape with its `VL…` SID (the one the Verification
//! resource lists in `send_code_attempts`), the list paged in Twilio's `meta`.

use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::api::{Answer, Call, Form};
use super::errors::ApiError;
use super::resources;
use crate::app::App;
use crate::domain::{Channel, PhoneNumber};
use crate::service::attempts::{Attempt, AttemptQuery};
use crate::store::ApiKey;

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An attempt's `VL…` SID: for a verification with a `VE…` SID, the one its
/// `send_code_attempts` shows (`shapes::verification`); else one of its own.
pub fn attempt_sid(a: &Attempt) -> String {
    let seed = match &a.verification_sid {
        Some(sid) => format!("{sid}:{}", a.index),
        None => format!("otpd attempt:{}:{}", a.challenge_id, a.index),
    };
    let digest = Sha256::digest(seed);
    format!("VL{}", hex::encode(&digest[..16]))
}

fn shape(call: &Call, a: &Attempt) -> Value {
    let sid = attempt_sid(a);
    json!({
        "sid": sid,
        "account_sid": call.base.account_sid(),
        "service_sid": call.base.service_sid,
        "verification_sid": a.verification_sid,
        "date_created": date(a.at),
        "date_updated": date(a.converted_at.unwrap_or(a.at)),
        "conversion_status": if a.converted { "converted" } else { "unconverted" },
        "channel": a.channel.as_str(),
        "price": null,
        "channel_data": {
            "verification_sid": a.verification_sid,
            "to": a.phone_masked,
            "status": if a.converted { "confirmed" } else { "unconfirmed" },
            "country": a.country,
            "station": a.station,
        },
        "url": format!("{}/v2/Attempts/{sid}", call.base.origin),
    })
}

fn time(form: &Form, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    form.get(name)
        .map(|v| {
            DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::invalid(format!(
                        "{name} must be a date and time in ISO 8601, e.g. 2026-11-28T10:00:00Z"
                    ))
                })
        })
        .transpose()
}

/// The query Twilio's filters ask for; `None` when they select nothing otpd can hold (another
/// service, a channel otpd never sends on).
fn query(form: &Form, service_sid: &str) -> Result<Option<AttemptQuery>, ApiError> {
    let mut q = AttemptQuery {
        created_after: time(form, "DateCreatedAfter")?,
        created_before: time(form, "DateCreatedBefore")?,
        ..AttemptQuery::default()
    };
    if let Some(to) = form.get("ChannelData.To") {
        q.phone = Some(PhoneNumber::parse(to).map_err(|_| {
            ApiError::invalid(
                "ChannelData.To is not a valid phone number; use E.164, e.g. +14155552671",
            )
        })?);
    }
    if let Some(c) = form.get("Country") {
        let c = c.trim().to_ascii_uppercase();
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ApiError::invalid(
                "Country must be a two-letter ISO 3166 code, e.g. US",
            ));
        }
        q.country = Some(c);
    }
    if let Some(ch) = form.get("Channel") {
        match ch.as_str() {
            "sms" => q.channel = Some(Channel::Sms),
            "call" => q.channel = Some(Channel::Call),
            "whatsapp" => q.channel = Some(Channel::Whatsapp),
            "email" | "rbm" => return Ok(None),
            _ => {
                return Err(ApiError::invalid(
                    "Channel must be sms, call, whatsapp, email or rbm",
                ));
            }
        }
    }
    if let Some(s) = form.get("Status") {
        q.converted = Some(match s.as_str() {
            "converted" => true,
            "unconverted" => false,
            _ => return Err(ApiError::invalid("Status must be converted or unconverted")),
        });
    }
    if form
        .get("VerifyServiceSid")
        .is_some_and(|s| s != service_sid)
    {
        return Ok(None);
    }
    q.verification_sid = form.get("VerificationSid").cloned();
    Ok(Some(q))
}

fn run(app: &mut App, key: &ApiKey, q: Option<AttemptQuery>) -> Result<Vec<Attempt>, ApiError> {
    let Some(q) = q else {
        return Ok(Vec::new());
    };
    match app.attempts(&key.caller(), &q) {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(p)) => Err(ApiError::forbidden(crate::render::outcome::privilege(p))),
        Err(e) => Err(ApiError::from_error(&e)),
    }
}

/// The list's URL with its filters, for `meta`'s page URLs.
fn filtered_url(call: &Call, path: &str, names: &[&str]) -> String {
    let mut url = format!("{}{path}", call.base.origin);
    let mut q = form_urlencoded::Serializer::new(String::new());
    for n in names {
        if let Some(v) = call.form.get(*n) {
            q.append_pair(n, v);
        }
    }
    let q = q.finish();
    if !q.is_empty() {
        url.push('?');
        url.push_str(&q);
    }
    url
}

/// `GET /v2/Attempts`.
pub fn list(app: &mut App, key: &ApiKey, call: &Call, _: &[String]) -> Answer {
    let q = query(&call.form, &call.base.service_sid)?;
    resources::paging(&call.form)?;
    let items = run(app, key, q)?.iter().map(|a| shape(call, a)).collect();
    let url = filtered_url(call, "/v2/Attempts", super::params::ATTEMPT_FILTERS);
    resources::list("attempts", &url, items, &call.form)
}

/// `GET /v2/Attempts/{VL}`.
pub fn fetch(app: &mut App, key: &ApiKey, call: &Call, path: &[String]) -> Answer {
    let sid = path.first().map(String::as_str).unwrap_or_default();
    let not_found = || ApiError::not_found("/Attempts (no attempt has this SID)");
    // Read first, so a key that may not read attempts is refused whatever the SID.
    let all = run(app, key, Some(AttemptQuery::default()))?;
    if !super::api::is_sid(sid, "VL") {
        return Err(not_found());
    }
    let a = all
        .iter()
        .find(|a| attempt_sid(a) == sid)
        .ok_or_else(not_found)?;
    Ok((StatusCode::OK, shape(call, a)))
}

/// `GET /v2/Attempts/Summary`.
pub fn summary(app: &mut App, key: &ApiKey, call: &Call, _: &[String]) -> Answer {
    let q = query(&call.form, &call.base.service_sid)?;
    let found = run(app, key, q)?;
    let total = found.len();
    let converted = found.iter().filter(|a| a.converted).count();
    let rate = if total == 0 {
        "0".to_string()
    } else {
        let r = format!("{:.9}", converted as f64 * 100.0 / total as f64);
        r.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    Ok((
        StatusCode::OK,
        json!({
            "total_attempts": total,
            "total_converted": converted,
            "total_unconverted": total - converted,
            "conversion_rate_percentage": rate,
            "url": format!("{}/v2/Attempts/Summary", call.base.origin),
        }),
    ))
}
