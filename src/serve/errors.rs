//! Twilio's error object (`{code, message, more_info, status}`) and the one place otpd's
//! refusals ([`Outcome`]) and failures ([`Error`]) become Verify's error codes. Messages are
//! fixed sentences: never a phone number, a code or a credential.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::Outcome;
use crate::domain::limits::Limit;
use crate::error::Error;
use crate::store::StoreError;

/// One error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    /// Seconds, sent as `Retry-After`.
    pub retry_after: Option<i64>,
    /// Why the server failed (a 5xx), for its access log only: never sent to the client.
    pub reason: Option<String>,
}

/// A failed request's reason, handed from the answer to the access log line.
#[derive(Debug, Clone)]
pub struct Reason(pub String);

impl ApiError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            reason: None,
        }
    }

    /// The reason the log gives for this answer (made safe to print; never a secret: the
    /// errors' sentences name settings and files, not values).
    pub fn because(mut self, why: impl AsRef<str>) -> ApiError {
        self.reason = Some(crate::sanitize::sanitize(why.as_ref()));
        self
    }

    fn retry(mut self, seconds: i64) -> ApiError {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// 20003: no, malformed, unknown, revoked or wrong credentials (one answer for all).
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            20003,
            "Authenticate: use HTTP Basic with an API key SID and secret (otpd keys create)",
        )
    }

    /// Twilio's error object for this error.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status.as_u16(),
        })
    }

    /// 20403: the key's role may not do this.
    pub fn forbidden(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            20403,
            format!("This key's role may not {what}"),
        )
    }

    /// 20404: unknown resource (also a check after approval, as Twilio answers).
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            20404,
            format!("The requested resource {what} was not found"),
        )
    }

    /// 60200: a parameter is missing or invalid; `why` names it and what is accepted.
    pub fn invalid(why: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            60200,
            format!("Invalid parameter: {}", why.into()),
        )
    }

    /// 20403 for a status callback without Twilio's valid `X-Twilio-Signature`.
    pub fn bad_twilio_signature() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            20403,
            "X-Twilio-Signature is missing or does not match: status callbacks must be signed by Twilio with the account's auth token over twilio.status_callback_url",
        )
    }

    /// 20404 for a status callback when none is configured.
    pub fn callbacks_off() -> ApiError {
        ApiError::not_found(
            "/otpd/v1/twilio/status (this server takes no Twilio status callbacks: set twilio.status_callback_url and the auth token)",
        )
    }

    /// 20429: every worker is busy and the queue is full.
    pub fn saturated() -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            20429,
            "Too many requests: the server is saturated; retry shortly",
        )
        .retry(1)
    }

    /// 413: the body is over the limit.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            20413,
            format!("Request body too large: at most {limit} bytes are accepted"),
        )
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            20405,
            "Method not allowed on this resource",
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal server error; the server's log says more",
        )
        .because("the server could not form its answer")
    }

    /// A failure of the core: storage busy is worth a retry, the rest is the server's.
    pub fn from_error(e: &Error) -> ApiError {
        match e {
            Error::Store(StoreError::Busy { .. }) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                20429,
                "The database is busy; retry shortly",
            )
            .retry(1)
            .because(e.to_string()),
            _ => ApiError::internal().because(e.to_string()),
        }
    }

    /// The refusal an outcome stands for; `None` for outcomes that are answers (sent,
    /// approved, a wrong code, cancelled, …).
    pub fn from_outcome(o: &Outcome) -> Option<ApiError> {
        let too_many = StatusCode::TOO_MANY_REQUESTS;
        Some(match o {
            Outcome::RateLimited {
                limit: Some(Limit::Paused | Limit::Conversion),
                ..
            }
            | Outcome::RateLimited { scope: Some(_), .. } => ApiError::new(
                StatusCode::FORBIDDEN,
                60410,
                "Verification delivery attempt blocked: sending is paused by the conversion guard (otpd limits resume)",
            ),
            Outcome::RateLimited {
                limit: Some(Limit::Country),
                ..
            }
            | Outcome::CountryBlocked { .. } => ApiError::new(
                StatusCode::FORBIDDEN,
                60605,
                "Permission to send to this country is not enabled (limits.allowed_countries)",
            ),
            Outcome::RateLimited {
                retry_after_seconds,
                limit,
                ..
            } => {
                let which = limit.map(|l| l.key()).unwrap_or("a send limit");
                ApiError::new(
                    too_many,
                    60203,
                    format!("Max send attempts reached ({which})"),
                )
                .retry(*retry_after_seconds)
            }
            // Premium-rate and similar ranges are where SMS-pumping revenue comes from: Twilio's
            // own fraud guard answers these with 60410 too.
            Outcome::NumberTypeBlocked { number_type, .. } => ApiError::new(
                StatusCode::FORBIDDEN,
                60410,
                format!(
                    "Verification delivery attempt blocked: {} numbers are refused (limits.refuse_types)",
                    number_type.as_str()
                ),
            ),
            Outcome::NumberLocked {
                retry_after_seconds,
                ..
            } => ApiError::new(
                too_many,
                60202,
                "Max check attempts reached: the number is locked after too many wrong codes",
            )
            .retry(*retry_after_seconds),
            Outcome::Locked { .. } => ApiError::new(too_many, 60202, "Max check attempts reached"),
            Outcome::InvalidPhone { .. } => {
                ApiError::invalid("To is not a valid phone number (E.164, e.g. +14155552671)")
            }
            Outcome::InvalidInput { error } => ApiError::invalid(crate::sanitize::sanitize(error)),
            Outcome::Expired { .. } | Outcome::AlreadyUsed { .. } | Outcome::NoPending { .. } => {
                ApiError::not_found("VerificationCheck")
            }
            Outcome::PhoneRequired { .. } => ApiError::invalid("To or VerificationSid is required"),
            Outcome::Forbidden { privilege } => {
                ApiError::forbidden(crate::render::outcome::privilege(*privilege))
            }
            // The provider's own words may quote the number: the log gets its error code only.
            Outcome::DeliveryFailed {
                channel,
                provider_code,
                ..
            } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                60008,
                "The code could not be delivered; the provider refused it",
            )
            .because(match provider_code {
                Some(c) => format!("the provider refused the {channel} (its error {c})"),
                None => format!("the {channel} could not be delivered"),
            }),
            _ => return None,
        })
    }
}

impl ApiError {
    /// A refused rate-limit or bucket request (issue 26), with Twilio's code for it.
    pub fn from_denied(d: &crate::service::rate_limits::Denied) -> ApiError {
        use crate::domain::rate_limits::RateLimitError as E;
        use crate::service::rate_limits::Denied;
        let e = match d {
            Denied::Forbidden(p) => {
                return ApiError::forbidden(crate::render::outcome::privilege(*p));
            }
            Denied::Rule(e) => e,
        };
        let bad = StatusCode::BAD_REQUEST;
        match e {
            E::Invalid(why) => ApiError::invalid(why.clone()),
            E::NotFound => ApiError::not_found("(rate limit or bucket)"),
            E::TooManyRateLimits => ApiError::new(
                bad,
                e.code(),
                format!(
                    "Max rate limits per service reached ({}); delete one first",
                    crate::domain::rate_limits::MAX_RATE_LIMITS
                ),
            ),
            E::NameTaken => ApiError::new(
                bad,
                e.code(),
                "Rate limit with that UniqueName already exists",
            ),
            E::BadName => ApiError::new(
                bad,
                e.code(),
                "UniqueName format is invalid: use 1 to 64 letters, digits, '_', '-' or '.'",
            ),
            E::TooManyBuckets => ApiError::new(
                bad,
                e.code(),
                format!(
                    "Max Buckets per Rate limit reached ({}); delete one first",
                    crate::domain::rate_limits::MAX_BUCKETS
                ),
            ),
            E::IntervalTaken => ApiError::new(
                bad,
                e.code(),
                "Bucket with the given Interval already exists; update that bucket instead",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut r = (self.status, axum::Json(body)).into_response();
        if let Some(why) = self.reason {
            r.extensions_mut().insert(Reason(why));
        }
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"otpd\""),
            );
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PhoneNumber;
    use crate::domain::limits::Scope;

    fn phone() -> PhoneNumber {
        PhoneNumber::parse("+12025550123").unwrap()
    }

    fn limited(limit: Option<Limit>, scope: Option<Scope>) -> Outcome {
        Outcome::RateLimited {
            phone: Some(phone()),
            retry_after_seconds: 30,
            reason: "+12025550123 sent too often".into(),
            limit,
            operator_action: None,
            scope,
        }
    }

    #[test]
    fn every_refusal_has_its_verify_code_and_no_number_in_the_message() {
        let cases: Vec<(Outcome, u16, u32, Option<i64>)> = vec![
            (limited(Some(Limit::NumberHour), None), 429, 60203, Some(30)),
            (
                limited(Some(Limit::Conversion), Some(Scope::Global)),
                403,
                60410,
                None,
            ),
            (limited(Some(Limit::Paused), None), 403, 60410, None),
            (limited(Some(Limit::Country), None), 403, 60605, None),
            (
                Outcome::CountryBlocked {
                    phone: phone(),
                    country: "US".into(),
                    reason: String::new(),
                },
                403,
                60605,
                None,
            ),
            (
                Outcome::NumberLocked {
                    phone: phone(),
                    consecutive_failures: 10,
                    retry_after_seconds: 0,
                    operator_action: None,
                },
                429,
                60202,
                Some(1),
            ),
            (Outcome::Locked { phone: phone() }, 429, 60202, None),
            (Outcome::AlreadyUsed { phone: phone() }, 404, 20404, None),
            (Outcome::Expired { phone: phone() }, 404, 20404, None),
            (Outcome::NoPending { phone: None }, 404, 20404, None),
            (
                Outcome::InvalidPhone {
                    error: "+1 555".into(),
                },
                400,
                60200,
                None,
            ),
        ];
        for (outcome, status, code, retry) in cases {
            let e = ApiError::from_outcome(&outcome).unwrap_or_else(|| panic!("{outcome:?}"));
            assert_eq!((e.status.as_u16(), e.code), (status, code), "{outcome:?}");
            assert_eq!(e.retry_after, retry, "{outcome:?}");
            assert!(!e.message.contains("2025550123"), "{}", e.message);
        }
        // A provider's refusal: the log's reason carries its code, never its words.
        let failed = ApiError::from_outcome(&Outcome::DeliveryFailed {
            phone: phone(),
            channel: crate::domain::Channel::Sms,
            reason: "The 'To' number +12025550123 is not valid".into(),
            provider_code: Some(21211),
        })
        .unwrap();
        let why = failed.reason.unwrap();
        assert!(
            why.contains("21211") && !why.contains("2025550123"),
            "{why}"
        );
        for answer in [
            Outcome::Approved { phone: phone() },
            Outcome::Invalid {
                phone: phone(),
                attempts_left: 2,
            },
            Outcome::Cancelled { phone: phone() },
        ] {
            assert_eq!(ApiError::from_outcome(&answer), None, "{answer:?}");
        }
    }
}
