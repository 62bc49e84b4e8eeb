//! otpd's own extension under `/otpd/v1/`, for what Verify has no word for: the key's station's
//! pending verifications, the limits, and unlocking a number. Answers are the same JSON objects
//! `otpd --json` prints, so a remote terminal can render them exactly like local ones.

use axum::http::StatusCode;

use super::api::{Answer, Call};
use super::errors::ApiError;
use crate::app::App;
use crate::domain::PhoneNumber;
use crate::request::Request;
use crate::store::{ApiKey, Role};

fn operator(key: &ApiKey) -> Result<(), ApiError> {
    match key.role {
        Role::Station | Role::Admin => Ok(()),
        Role::Auditor => Err(ApiError::forbidden("use the operator's commands")),
    }
}

fn phone(call: &Call) -> Result<Option<PhoneNumber>, ApiError> {
    match call.form.get("Phone").filter(|p| !p.trim().is_empty()) {
        None => Ok(None),
        Some(p) => PhoneNumber::parse(p).map(Some).map_err(|_| {
            ApiError::invalid("Phone is not a valid phone number; use E.164, e.g. +14155552671")
        }),
    }
}

fn run(app: &mut App, key: &ApiKey, request: &Request) -> Answer {
    let outcome = app
        .execute_as(&key.station, request)
        .map_err(|e| ApiError::from_error(&e))?;
    let json =
        serde_json::from_str(&crate::render::json(&outcome)).map_err(|_| ApiError::internal())?;
    Ok((StatusCode::OK, json))
}

/// `GET /otpd/v1/status`: the key's station's pending verifications.
pub fn status(app: &mut App, key: &ApiKey, _call: &Call) -> Answer {
    operator(key)?;
    run(app, key, &Request::Status { phone: None })
}

/// `GET|POST /otpd/v1/limits` (`Phone` optional): the counters and what would be refused.
pub fn limits(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    operator(key)?;
    let phone = phone(call)?;
    run(app, key, &Request::Limits { phone })
}

/// `POST /otpd/v1/unlock` with `Phone`: lifts a number's lock-out.
pub fn unlock(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    operator(key)?;
    let phone = phone(call)?.ok_or_else(|| ApiError::invalid("Phone is required"))?;
    run(app, key, &Request::Unlock { phone })
}
