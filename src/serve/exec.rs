//! `POST /otpd/v1/execute`: a remote terminal's typed request (its wire form, JSON in the
//! `Request` field) run as the key's station — the request names no station — and answered
//! with the [`Outcome`](crate::domain::Outcome)'s JSON, numbers in full so the terminal can go
//! on with them (it masks them when it renders; the code is never in an answer). `audit …`
//! answers what it printed and its exit status; `station`, the key's station. The use cases
//! decide what the key's caller may do; a refusal is 403 / 20403, as on every endpoint.

use std::time::Instant;

use axum::http::StatusCode;
use serde_json::json;

use super::api::{Answer, Call};
use super::errors::ApiError;
use crate::app::App;
use crate::request::wire::{Wire, WireAsk};
use crate::store::ApiKey;

pub fn execute(app: &mut App, key: &ApiKey, call: &Call) -> Answer {
    let text = call
        .form
        .get("Request")
        .ok_or_else(|| ApiError::invalid("Request is required"))?;
    let wire: Wire = serde_json::from_str(text)
        .map_err(|_| ApiError::invalid("Request is not a request this otpd understands"))?;
    let asked = wire
        .read()
        .map_err(|field| ApiError::invalid(format!("Request's {field} is not valid")))?;
    match asked {
        WireAsk::Run(request) => {
            let started = Instant::now();
            // A remote terminal does not know this server's code length: digits that cannot
            // match are its input error, as they are at a local terminal (no attempt spent).
            let wrong_length = match &request {
                crate::request::Request::Verify { code, .. } => crate::domain::Code::parse_len(
                    code.expose_digits(),
                    app.config().policy.code_length,
                )
                .err(),
                _ => None,
            };
            let outcome = match wrong_length {
                Some(e) => crate::request::InputError::from(e).outcome(),
                None => app
                    .execute_as(&key.caller(), &request)
                    .map_err(|e| ApiError::from_error(&e))?,
            };
            // 403 / 20403 with Twilio's error object, naming the privilege so the terminal
            // renders the refusal as the outcome it is.
            if let crate::domain::Outcome::Forbidden { privilege } = outcome {
                let e = ApiError::from_outcome(&outcome).unwrap_or_else(ApiError::internal);
                let mut body = e.body();
                body["privilege"] = json!(privilege);
                return Ok((e.status, body));
            }
            match &request {
                crate::request::Request::Send { .. } | crate::request::Request::Resend { .. } => {
                    call.metrics.send(outcome.name())
                }
                crate::request::Request::Verify { .. } => {
                    call.metrics.check(outcome.name(), started.elapsed())
                }
                _ => {}
            }
            let value = serde_json::to_value(crate::request::wire::outcome_to_wire(outcome))
                .map_err(|_| ApiError::internal())?;
            Ok((StatusCode::OK, value))
        }
        WireAsk::Audit { words, json, zone } => audit(app, key, &words, json, zone.as_deref()),
        // With the server's resend cooldown: a kiosk offers "resend" when the server allows it.
        WireAsk::Station => Ok((
            StatusCode::OK,
            json!({
                "station": key.station,
                "role": key.role.as_str(),
                "resend_cooldown_seconds": app.config().policy.resend_cooldown.num_seconds(),
                "code_length": app.config().policy.code_length,
            }),
        )),
    }
}

fn audit(app: &mut App, key: &ApiKey, words: &[String], json: bool, zone: Option<&str>) -> Answer {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let (status, out) = super::ext::run_audit(app, key, &words, json, zone)?;
    Ok((
        StatusCode::OK,
        json!({"exit_status": status, "output": String::from_utf8_lossy(&out)}),
    ))
}
