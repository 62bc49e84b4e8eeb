//! otpd's own extension under `/otpd/v1/`, for what Verify has no word for: the key's station's
//! pending verifications, the limits, unlocking a number, and the audit review for auditor keys. Answers are the same JSON objects
//! `otpd --json` prints, so a remote terminal can render them exactly like local ones.

use axum::http::StatusCode;
use clap::Parser;

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

/// The most events one HTTP answer lists (pages go on with `--before`).
const MAX_LIST: u32 = 1000;

/// `GET|POST /otpd/v1/audit` (`Args`: the words after `otpd audit`, e.g. `verify`, `stats`,
/// `--event approved --limit 20`): the lines `otpd audit … --json` prints, with its exit
/// status. Auditor and admin keys only; `export` (a stream) is not offered over HTTP.
pub fn audit(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    if key.role == Role::Station {
        return Err(ApiError::forbidden("read the audit log"));
    }
    let words: Vec<&str> = call
        .form
        .get("Args")
        .map(|a| a.split_whitespace().collect())
        .unwrap_or_default();
    let bad = || {
        ApiError::invalid(format!(
            "Args must be the words of otpd audit: list filters (at most --limit {MAX_LIST}), verify, head or stats"
        ))
    };
    if words.len() > 32 {
        return Err(bad());
    }
    let args = crate::audit::AuditArgs::try_parse_from(std::iter::once("audit").chain(words))
        .map_err(|_| bad())?;
    let limit = match &args.command {
        None => args.list.limit,
        Some(crate::audit::AuditCommand::List(l)) => l.limit,
        Some(crate::audit::AuditCommand::Export(_)) => return Err(bad()),
        Some(_) => 0,
    };
    if limit > MAX_LIST {
        return Err(bad());
    }
    let mut out = Vec::new();
    let status = app
        .audit(&args, true, &mut out)
        .map_err(|e| ApiError::from_error(&e))?;
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Ok((
        StatusCode::OK,
        serde_json::json!({"exit_status": status, "lines": lines}),
    ))
}
