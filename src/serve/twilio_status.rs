//! `POST /otpd/v1/twilio/status`: Twilio's status callbacks (the `StatusCallback` otpd passes
//! with each message and call). Authenticated by Twilio's signature, not by a key: a request
//! whose `X-Twilio-Signature` is missing or wrong is refused (403) and counted; a signed one
//! updates the verification's delivery status at once (and queues its event), so a kiosk or
//! a `status` sees `undelivered` without polling Twilio — polling stays the fallback.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};

use super::errors::ApiError;
use super::metrics::Metrics;
use super::pool::{Refused, WorkerPool};
use crate::crypto::signatures::twilio_valid;
use crate::service::Reported;

/// Where Twilio posts (`[twilio] status_callback_url`) and the auth token it signs with.
#[derive(Clone)]
pub struct Callbacks {
    pub url: String,
    pub token: SecretString,
}

impl Callbacks {
    /// The callbacks this configuration takes, if any.
    pub fn of(config: &crate::config::Config) -> Option<Callbacks> {
        let t = config.twilio.as_ref()?;
        Some(Callbacks {
            url: t.status_callback_url.clone()?,
            token: t.callback_token.clone()?,
        })
    }
}

/// The fields of a callback otpd acts on: the message's or call's SID, its status, and the
/// error code Twilio gives with a failure.
fn fields(body: &[u8]) -> Option<(String, String, Option<u32>)> {
    let mut sid = None;
    let mut status = None;
    let mut code = None;
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "MessageSid" | "CallSid" if sid.is_none() => sid = Some(v.into_owned()),
            "MessageStatus" | "CallStatus" if status.is_none() => status = Some(v.into_owned()),
            "ErrorCode" => code = v.parse().ok(),
            _ => {}
        }
    }
    let sid = sid.filter(|s| s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric()))?;
    let status = status.filter(|s| {
        !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
    })?;
    Some((sid, status, code))
}

/// The server's parts a callback uses.
pub struct Ctx<'a> {
    pub callbacks: Option<&'a Callbacks>,
    pub metrics: &'a Metrics,
    pub pool: &'a WorkerPool,
    pub body_timeout: Duration,
    pub body_limit: usize,
}

pub async fn callback(s: Ctx<'_>, headers: HeaderMap, body: Body) -> Response {
    let Some(cb) = s.callbacks else {
        return ApiError::callbacks_off().into_response();
    };
    let read = axum::body::to_bytes(body, s.body_limit);
    let bytes = match tokio::time::timeout(s.body_timeout, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return ApiError::too_large(s.body_limit).into_response(),
        Err(_) => return ApiError::invalid("the body was too slow to arrive").into_response(),
    };
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !twilio_valid(
        cb.token.expose_secret().as_bytes(),
        &cb.url,
        &bytes,
        signature,
    ) {
        s.metrics.callback("forbidden");
        return ApiError::bad_twilio_signature()
            .because("a Twilio status callback without a valid signature")
            .into_response();
    }
    let Some((sid, status, code)) = fields(&bytes) else {
        s.metrics.callback("invalid");
        return ApiError::invalid(
            "a status callback names MessageSid and MessageStatus, or CallSid and CallStatus",
        )
        .into_response();
    };
    let done = s
        .pool
        .run(move |app| app.delivery_report(&sid, &status, code))
        .await;
    match done {
        Ok(Ok(Reported::Unknown)) => {
            s.metrics.callback("unknown");
            StatusCode::OK.into_response()
        }
        Ok(Ok(_)) => {
            s.metrics.callback("accepted");
            StatusCode::OK.into_response()
        }
        Ok(Err(e)) => ApiError::from_error(&e).into_response(),
        Err(Refused::Saturated) => ApiError::saturated().into_response(),
        Err(Refused::Lost) => ApiError::internal()
            .because("the worker running this request stopped before answering")
            .into_response(),
    }
}
