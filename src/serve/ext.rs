//! otpd's own extension under `/otpd/v1/`, for what Verify has no word for: the key's station's
//! pending verifications, the limits, unlocking a number, and the audit review for auditor keys. Answers are the same JSON objects
//! `otpd --json` prints, so a remote terminal can render them exactly like local ones.

use axum::http::StatusCode;
use clap::Parser;

use super::api::{Answer, Call};
use super::errors::ApiError;
use crate::app::App;
use crate::audit::Zone;
use crate::audit::export::{Capped, MAX_EXPORT_BYTES};
use crate::domain::PhoneNumber;
use crate::request::Request;
use crate::store::ApiKey;

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
        .execute_as(&key.caller(), request)
        .map_err(|e| ApiError::from_error(&e))?;
    if let crate::domain::Outcome::Forbidden { .. } = outcome {
        return Err(ApiError::from_outcome(&outcome).unwrap_or_else(ApiError::internal));
    }
    // The outcome's own JSON shape (numbers masked), the object `otpd --json` prints.
    let json = serde_json::to_value(&outcome).map_err(|_| ApiError::internal())?;
    Ok((StatusCode::OK, json))
}

/// `GET /otpd/v1/status`: the key's station's pending verifications.
pub fn status(app: &mut App, key: &ApiKey, _call: &Call) -> Answer {
    run(app, key, &Request::Status { phone: None })
}

/// `GET|POST /otpd/v1/limits` (`Phone` optional): the counters and what would be refused.
pub fn limits(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    let phone = phone(call)?;
    run(app, key, &Request::Limits { phone })
}

/// `POST /otpd/v1/unlock` with `Phone`: lifts a number's lock-out.
pub fn unlock(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    let phone = phone(call)?.ok_or_else(|| ApiError::invalid("Phone is required"))?;
    run(app, key, &Request::Unlock { phone })
}

/// The most events one answer lists (pages go on with `--before`).
const MAX_LIST: u32 = 1000;

/// `otpd audit WORDS` run for a key: what it printed and its exit status, within what one
/// answer carries (`--limit` ≤ 1000, an export ≤ 32 MiB), with times shown and read in `zone`
/// (an IANA name; `None`: the server's). Auditor and admin keys only; the one place
/// `/otpd/v1/audit` and a remote terminal's `audit …` share.
pub(super) fn run_audit(
    app: &mut App,
    key: &ApiKey,
    words: &[&str],
    json: bool,
    zone: Option<&str>,
) -> Result<(u8, Vec<u8>), ApiError> {
    if let Err(p) = key.caller().require(crate::domain::Privilege::ReadAudit) {
        let refused = crate::domain::Outcome::Forbidden { privilege: p };
        return Err(ApiError::from_outcome(&refused).unwrap_or_else(ApiError::internal));
    }
    let bad = |why: &str| ApiError::invalid(format!("audit: {why}"));
    if words.len() > 64 {
        return Err(bad("too many words"));
    }
    let args = crate::audit::AuditArgs::try_parse_from(
        std::iter::once("audit").chain(words.iter().copied()),
    )
    .map_err(|_| bad("these words are not those of otpd audit"))?;
    let limit = match &args.command {
        None => args.list.limit,
        Some(crate::audit::AuditCommand::List(l)) => l.limit,
        // A key reads the log, not the server's files: the configured head file only.
        Some(crate::audit::AuditCommand::Verify(v)) if matches!(v.head_file, Some(Some(_))) => {
            return Err(bad(
                "--head-file PATH would name a file on the server; through a server the server's configured head file is used (or --head ID:MAC)",
            ));
        }
        Some(_) => 0,
    };
    if limit > MAX_LIST {
        return Err(bad(&format!(
            "at most --limit {MAX_LIST} through a server; page on with --before"
        )));
    }
    let zone = match zone {
        None => Zone::Local,
        Some(name) => Zone::named(name).ok_or_else(|| {
            ApiError::invalid(format!(
                "audit: \"{}\" is not a time zone this server knows: use an IANA name such as Europe/Paris or UTC",
                crate::sanitize::sanitize(&crate::sanitize::truncate(name, 64))
            ))
        })?,
    };
    let mut out = Capped::default();
    let status = app.audit_in(&args, json, zone, &mut out);
    if out.over {
        return Err(bad(&format!(
            "the export is over {} MiB through a server; narrow it with --since/--until, or run it on the server's machine",
            MAX_EXPORT_BYTES >> 20
        )));
    }
    let status = status.map_err(|e| ApiError::from_error(&e))?;
    Ok((status, out.buf))
}

/// `GET|POST /otpd/v1/audit` (`Args`: the words after `otpd audit`, e.g. `verify`, `stats`,
/// `--event approved --limit 20`, `export --format csv`; optional `TimeZone`, an IANA name that
/// `--since`/`--until` dates are read in): the lines `otpd audit … --json` prints (an export:
/// its text, in `output`), with its exit status. Auditor and admin keys only.
pub fn audit(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    let words: Vec<&str> = call
        .form
        .get("Args")
        .map(|a| a.split_whitespace().collect())
        .unwrap_or_default();
    let zone = call.form.get("TimeZone").map(String::as_str);
    let (status, out) = run_audit(app, key, &words, true, zone)?;
    let text = String::from_utf8_lossy(&out);
    if words.first() == Some(&"export") {
        return Ok((
            StatusCode::OK,
            serde_json::json!({"exit_status": status, "output": text}),
        ));
    }
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    Ok((
        StatusCode::OK,
        serde_json::json!({"exit_status": status, "lines": lines}),
    ))
}
