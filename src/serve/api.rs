//! The endpoints' work, run on a pool worker with its own [`App`]: authenticate the key, parse
//! the form's fields into typed values, run the use case for the key's [`Caller`] (which decides
//! what that station and role may see and do), and answer with Twilio's resource shapes or error
//! codes. No rule about stations or roles lives here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::Value;
use zeroize::Zeroizing;

use super::errors::ApiError;
use super::metrics::Metrics;
use super::shapes::{self, Base};
use crate::app::App;
use crate::domain::{Caller, Challenge, Channel, Outcome, PhoneNumber};
use crate::request::Request;
use crate::store::ApiKey;

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

/// An outcome that is not the answer asked for, as Twilio's error (a refusal the use case
/// decided, "not found" for nothing pending).
fn refused(o: &Outcome) -> ApiError {
    ApiError::from_outcome(o).unwrap_or_else(ApiError::internal)
}

/// `POST /v2/Services/{ServiceSid}/Verifications`: send a code (or a new one, if this station
/// has one pending for this number: a resend).
pub fn create(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    let caller = key.caller();
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
    // Twilio's programmable rate limits: a JSON map of rate limit names to the values this
    // create is counted under (the core refuses an unknown name and a full bucket).
    let keys = match call.form.get("RateLimits") {
        Some(json) => crate::domain::rate_limits::parse_keys(json).map_err(ApiError::invalid)?,
        None => Vec::new(),
    };
    let request = Request::Send {
        phone: to.clone(),
        channel: Some(channel),
        locale,
        app_hash,
    };
    let outcome = core(app.run_keyed(&caller, &request, &keys))?.0;
    call.metrics.send(outcome.name());
    if let Some(e) = ApiError::from_outcome(&outcome) {
        return Err(e);
    }
    let ch = core(app.own_latest(&caller, &to))?.ok_or_else(ApiError::internal)?;
    let sid = core(app.verification_sid(ch.id))?;
    let now = app.now();
    Ok((
        StatusCode::CREATED,
        shapes::verification(&call.base, &sid, &ch, now),
    ))
}

/// The verification a path `{Sid}` names, as this caller may see it.
fn by_sid(app: &mut App, caller: &Caller, sid: &str) -> Result<Challenge, ApiError> {
    let not_found = || ApiError::not_found(&format!("/Verifications/{sid}"));
    if !is_sid(sid, "VE") {
        return Err(not_found());
    }
    match core(app.verification(caller, sid))? {
        Ok(Some(ch)) => Ok(ch),
        Ok(None) => Err(not_found()),
        Err(o) => Err(refused(&o)),
    }
}

/// `POST /v2/Services/{ServiceSid}/VerificationCheck`: `Code` with `To` or `VerificationSid`.
/// Whatever the caller may not see — an unknown number or SID, another station's — is checked
/// against a decoy hash and answered "not found", so neither the answer nor its timing differ.
pub fn check(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    let caller = key.caller();
    let code =
        crate::domain::Code::parse_len(field(&call.form, "Code")?, app.config().policy.code_length)
            .map_err(|_| ApiError::invalid("Code must be the digits that were sent"))?;
    let started = Instant::now();
    let (outcome, settled) = match (call.form.get("VerificationSid"), call.form.get("To")) {
        (Some(sid), _) => core(app.verify_sid(&caller, sid, &code))?,
        (None, Some(to)) => {
            let request = Request::Verify {
                code,
                phone: Some(phone(to, "To")?),
            };
            core(app.run(&caller, &request))?
        }
        (None, None) => return Err(ApiError::invalid("To or VerificationSid is required")),
    };
    call.metrics.check(outcome.name(), started.elapsed());
    let approved = match &outcome {
        Outcome::Approved { .. } => true,
        Outcome::Invalid { .. } => false,
        o => return Err(refused(o)),
    };
    // The verification the use case settled, not one read before it ran: a create for the
    // same number may have landed in between.
    let id = settled.ok_or_else(ApiError::internal)?;
    let sid = core(app.verification_sid(id))?;
    let now_row = by_sid(app, &caller, &sid)?;
    Ok((
        StatusCode::OK,
        shapes::check(&call.base, &sid, &now_row, approved),
    ))
}

/// `GET /v2/Services/{ServiceSid}/Verifications/{Sid}`.
pub fn fetch(app: &mut App, key: &ApiKey, sid: &str, call: &Call) -> Answer {
    let ch = by_sid(app, &key.caller(), sid)?;
    let now = app.now();
    Ok((
        StatusCode::OK,
        shapes::verification(&call.base, sid, &ch, now),
    ))
}

/// `POST /v2/Services/{ServiceSid}/Verifications/{Sid}`: `Status=canceled`, or (admin keys
/// only, audited as a manual approval) `Status=approved`.
pub fn update(app: &mut App, key: &ApiKey, sid: &str, call: &Call) -> Answer {
    let caller = key.caller();
    let status = field(&call.form, "Status")?;
    let gone = || ApiError::not_found(&format!("/Verifications/{sid}"));
    if !is_sid(sid, "VE") {
        return Err(gone());
    }
    let outcome = match status {
        "canceled" => core(app.cancel_sid(&caller, sid))?,
        "approved" => core(app.approve_sid(&caller, sid))?,
        _ => return Err(ApiError::invalid("Status must be canceled or approved")),
    };
    match outcome {
        Outcome::Cancelled { .. } | Outcome::Approved { .. } => {}
        Outcome::NoPending { .. } => return Err(gone()),
        o => return Err(refused(&o)),
    }
    let ch = by_sid(app, &caller, sid)?;
    let now = app.now();
    Ok((
        StatusCode::OK,
        shapes::verification(&call.base, sid, &ch, now),
    ))
}
