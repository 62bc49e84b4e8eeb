//! The endpoints' work, run on a pool worker with its own [`App`]: authenticate the key, check
//! its role and station, parse the form's fields into typed values, run the use case as the
//! key's station, and answer with Twilio's resource shapes or error codes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::Value;
use zeroize::Zeroizing;

use super::errors::ApiError;
use super::metrics::Metrics;
use super::shapes::{self, Base};
use crate::app::{App, Approval};
use crate::domain::{Challenge, Channel, Outcome, PhoneNumber};
use crate::request::Request;
use crate::store::{ApiKey, Role};

/// HTTP Basic credentials as sent: a key SID and its secret.
pub struct Creds {
    pub sid: String,
    pub secret: Zeroizing<String>,
}

/// A request's form fields (first value of each name wins).
pub type Form = HashMap<String, String>;

/// An answer: status and JSON body, or a Twilio error.
pub type Answer = Result<(StatusCode, Value), ApiError>;

/// What one request needs on the worker.
pub struct Call {
    pub creds: Option<Creds>,
    pub base: Base,
    pub form: Form,
    pub metrics: Arc<Metrics>,
}

/// The key the credentials name, if they are right and the key is live.
pub fn authorize(app: &mut App, creds: Option<&Creds>) -> Result<ApiKey, ApiError> {
    let c = creds.ok_or_else(ApiError::unauthorized)?;
    if !is_sid(&c.sid, "SK") {
        return Err(ApiError::unauthorized());
    }
    match app.authenticate(&c.sid, &c.secret) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(ApiError::unauthorized()),
        Err(e) => Err(ApiError::from_error(&e)),
    }
}

/// `true` for `prefix` followed by 32 hex digits.
pub fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Station and admin keys run verifications; auditor keys only read the audit log.
fn verifier(key: &ApiKey) -> Result<(), ApiError> {
    match key.role {
        Role::Station | Role::Admin => Ok(()),
        Role::Auditor => Err(ApiError::forbidden("run verifications")),
    }
}

/// A station key sees only its own station's verifications (others are "not found").
fn visible(key: &ApiKey, ch: &Challenge) -> bool {
    key.role == Role::Admin || ch.station == key.station
}

fn core<T>(r: Result<T, crate::error::Error>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::from_error(&e))
}

fn field<'a>(form: &'a Form, name: &str) -> Result<&'a str, ApiError> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::invalid(format!("{name} is required")))
}

fn phone(text: &str, name: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(text).map_err(|_| {
        ApiError::invalid(format!(
            "{name} is not a valid phone number; use E.164, e.g. +14155552671"
        ))
    })
}

/// `POST /v2/Services/{ServiceSid}/Verifications`: send a code (or a new one, if this number
/// has one pending: a resend).
pub fn create(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    verifier(key)?;
    let to = phone(field(&call.form, "To")?, "To")?;
    let channel = match field(&call.form, "Channel")? {
        "sms" => Channel::Sms,
        "whatsapp" => Channel::Whatsapp,
        "call" => Channel::Call,
        _ => return Err(ApiError::invalid("Channel must be sms, whatsapp or call")),
    };
    // Twilio's `Locale` and `AppHash`: the language of this message (the language part of a
    // tag decides; a language otpd has no text for is refused, naming the ones it has) and
    // Android's SMS Retriever hash.
    let locale = match call.form.get("Locale") {
        Some(tag) => Some(
            crate::message::Locale::get(tag)
                .map_err(|e| ApiError::invalid(format!("Locale: {e}")))?,
        ),
        None => None,
    };
    let app_hash = match call.form.get("AppHash") {
        Some(hash) => Some(
            crate::message::AppHash::parse(hash)
                .map_err(|e| ApiError::invalid(format!("AppHash: {e}")))?,
        ),
        None => None,
    };
    let request = Request::Send {
        phone: to.clone(),
        channel: Some(channel),
        locale,
        app_hash,
    };
    let outcome = core(app.execute_as(&key.station, &request))?;
    call.metrics.send(outcome.name());
    if let Some(e) = ApiError::from_outcome(&outcome) {
        return Err(e);
    }
    let ch = core(app.latest_challenge(&to))?.ok_or_else(ApiError::internal)?;
    let sid = core(app.verification_sid(ch.id))?;
    let now = app.now();
    Ok((
        StatusCode::CREATED,
        shapes::verification(&call.base, &sid, &ch, now),
    ))
}

/// The verification a `VerificationSid` (or a path `{Sid}`) names, as this key may see it.
fn by_sid(app: &mut App, key: &ApiKey, sid: &str) -> Result<Challenge, ApiError> {
    let not_found = || ApiError::not_found(&format!("/Verifications/{sid}"));
    if !is_sid(sid, "VE") {
        return Err(not_found());
    }
    match core(app.challenge_by_sid(sid))? {
        Some(ch) if visible(key, &ch) => Ok(ch),
        _ => Err(not_found()),
    }
}

/// `POST /v2/Services/{ServiceSid}/VerificationCheck`: `Code` with `To` or `VerificationSid`.
pub fn check(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    verifier(key)?;
    let code =
        crate::domain::Code::parse_len(field(&call.form, "Code")?, app.config().policy.code_length)
            .map_err(|_| ApiError::invalid("Code must be the digits that were sent"))?;
    // With `To` and nothing stored, the use case still hashes (against a decoy) and answers
    // "nothing pending", so timing does not tell an unknown number from a wrong code.
    let by_sid_asked = call.form.contains_key("VerificationSid");
    let (phone, target) = match (call.form.get("VerificationSid"), call.form.get("To")) {
        (Some(sid), _) => {
            let ch = by_sid(app, key, sid)?;
            let latest = core(app.latest_challenge(&ch.phone))?;
            if latest.as_ref().map(|l| l.id) != Some(ch.id) {
                return Err(ApiError::not_found("VerificationCheck"));
            }
            (ch.phone.clone(), Some(ch))
        }
        (None, Some(to)) => {
            let to = phone(to, "To")?;
            match core(app.latest_challenge(&to))? {
                Some(ch) if !visible(key, &ch) => {
                    return Err(ApiError::not_found("VerificationCheck"));
                }
                found => (to, found),
            }
        }
        (None, None) => return Err(ApiError::invalid("To or VerificationSid is required")),
    };
    let started = Instant::now();
    let request = Request::Verify {
        code,
        phone: Some(phone),
    };
    let (outcome, settled) = core(app.verify_as(&key.station, &request))?;
    call.metrics.check(outcome.name(), started.elapsed());
    let approved = match &outcome {
        Outcome::Approved { .. } => true,
        Outcome::Invalid { .. } => false,
        o => return Err(ApiError::from_outcome(o).unwrap_or_else(ApiError::internal)),
    };
    // The verification the use case settled, not the one read before it ran: a create for the
    // same number may have landed in between. By SID, that newer one is not the one asked for.
    let id = settled.ok_or_else(ApiError::internal)?;
    if target.as_ref().is_some_and(|t| by_sid_asked && t.id != id) {
        return Err(ApiError::not_found("VerificationCheck"));
    }
    let sid = core(app.verification_sid(id))?;
    let now_row = core(app.challenge_by_sid(&sid))?.ok_or_else(ApiError::internal)?;
    Ok((
        StatusCode::OK,
        shapes::check(&call.base, &sid, &now_row, approved),
    ))
}

/// `GET /v2/Services/{ServiceSid}/Verifications/{Sid}`.
pub fn fetch(app: &mut App, key: &ApiKey, sid: &str, call: &Call) -> Answer {
    verifier(key)?;
    let ch = by_sid(app, key, sid)?;
    let now = app.now();
    Ok((
        StatusCode::OK,
        shapes::verification(&call.base, sid, &ch, now),
    ))
}

/// `POST /v2/Services/{ServiceSid}/Verifications/{Sid}`: `Status=canceled`, or (admin keys
/// only, audited as a manual approval) `Status=approved`.
pub fn update(app: &mut App, key: &ApiKey, sid: &str, call: &Call) -> Answer {
    verifier(key)?;
    let status = field(&call.form, "Status")?;
    let ch = by_sid(app, key, sid)?;
    let now = app.now();
    let pending = shapes::status(&ch, now) == "pending";
    let latest = core(app.latest_challenge(&ch.phone))?.map(|l| l.id) == Some(ch.id);
    let gone = || ApiError::not_found(&format!("/Verifications/{sid}"));
    match status {
        "canceled" => {
            if !pending || !latest {
                return Err(gone());
            }
            let request = Request::Cancel {
                phone: Some(ch.phone.clone()),
            };
            match core(app.execute_as(&key.station, &request))? {
                Outcome::Cancelled { .. } => {}
                _ => return Err(gone()),
            }
        }
        "approved" => {
            if key.role != Role::Admin {
                return Err(ApiError::forbidden(
                    "approve a verification without its code",
                ));
            }
            if !pending || core(app.approve_manually(&ch, &key.sid))? != Approval::Approved {
                return Err(gone());
            }
        }
        _ => return Err(ApiError::invalid("Status must be canceled or approved")),
    }
    let ch = by_sid(app, key, sid)?;
    let now = app.now();
    Ok((
        StatusCode::OK,
        shapes::verification(&call.base, sid, &ch, now),
    ))
}
