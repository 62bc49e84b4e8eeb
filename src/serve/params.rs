//! The form parameters each route reads, so that one it does not (Verify's `CustomCode`,
//! `RateLimits`, `TemplateSid`, …) is refused with 60200 naming it instead of being ignored
//! while the client believes it took effect (issue 21). Each list is what the route's handler in
//! `api.rs`, `ext.rs` or `exec.rs` reads; `routes.rs` applies it before the handler runs.

use super::api::Form;
use super::errors::ApiError;

/// `POST …/Verifications` (`api::create`).
pub const CREATE: &[&str] = &["To", "Channel", "Locale", "AppHash", "RateLimits"];
/// A list's paging (`resources::paging`).
pub const LIST: &[&str] = &["PageSize", "Page", "PageToken"];
/// `POST …/RateLimits` (`resources::create_rate_limit`).
pub const RATE_LIMIT: &[&str] = &["UniqueName", "Description"];
/// `POST …/RateLimits/{RK}` (`resources::update_rate_limit`).
pub const RATE_LIMIT_UPDATE: &[&str] = &["Description"];
/// `GET /v2/Attempts` (`attempts::list`): Twilio's filters, then the paging.
pub const ATTEMPT_FILTERS: &[&str] = &[
    "DateCreatedAfter",
    "DateCreatedBefore",
    "ChannelData.To",
    "Country",
    "Channel",
    "VerifyServiceSid",
    "VerificationSid",
    "Status",
];
pub const ATTEMPTS: &[&str] = &[
    "DateCreatedAfter",
    "DateCreatedBefore",
    "ChannelData.To",
    "Country",
    "Channel",
    "VerifyServiceSid",
    "VerificationSid",
    "Status",
    "PageSize",
    "Page",
    "PageToken",
];
/// `GET /v2/Attempts/Summary` (`attempts::summary`); `DestinationPrefix` is not supported.
pub const SUMMARY: &[&str] = &[
    "DateCreatedAfter",
    "DateCreatedBefore",
    "Country",
    "Channel",
    "VerifyServiceSid",
];
/// `POST /v2/Services/{VA}` (`resources::update_service`): the one setting that changes at
/// run time; the others are the configuration file's.
pub const SERVICE: &[&str] = &["FriendlyName"];
/// `POST …/Buckets[/{BL}]` (`resources::create_bucket`, `resources::update_bucket`).
pub const BUCKET: &[&str] = &["Max", "Interval"];
/// `POST …/VerificationCheck` (`api::check`).
pub const CHECK: &[&str] = &["Code", "To", "VerificationSid"];
/// `POST …/Verifications/{Sid}` (`api::update`).
pub const UPDATE: &[&str] = &["Status"];
/// `GET|POST /otpd/v1/limits`, `POST /otpd/v1/unlock` (`ext::limits`, `ext::unlock`).
pub const PHONE: &[&str] = &["Phone"];
/// `GET|POST /otpd/v1/audit` (`ext::audit`).
pub const AUDIT: &[&str] = &["Args", "TimeZone"];
/// `POST /otpd/v1/execute` (`exec::execute`).
pub const EXECUTE: &[&str] = &["Request"];
/// Routes whose body is not read (`GET …/Verifications/{Sid}`, `GET /otpd/v1/status`).
pub const NONE: &[&str] = &[];

/// At most this many unsupported names are listed in one answer.
const NAMED: usize = 5;

/// The refusal for the parameters in `form` that are not in `allowed`, if any: 60200, naming
/// them (sorted, made safe to echo) and what the route accepts.
pub fn unsupported(allowed: &[&str], form: &Form) -> Option<ApiError> {
    let mut names: Vec<&str> = form
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if names.is_empty() {
        return None;
    }
    names.sort_unstable();
    let shown: Vec<String> = names.iter().take(NAMED).map(|n| clip(n)).collect();
    let more = match names.len().saturating_sub(NAMED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let verb = if names.len() == 1 { "is" } else { "are" };
    let accepted = if allowed.is_empty() {
        "this endpoint takes no parameters".to_string()
    } else {
        format!("this endpoint accepts {}", allowed.join(", "))
    };
    Some(ApiError::invalid(format!(
        "{}{more} {verb} not supported by otpd; {accepted}",
        shown.join(", ")
    )))
}

/// A client-supplied name shortened and made safe for the message (an empty one quoted).
fn clip(name: &str) -> String {
    if name.is_empty() {
        return "\"\"".into();
    }
    crate::sanitize::sanitize(&crate::sanitize::truncate(name, 40))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(names: &[&str]) -> Form {
        names.iter().map(|n| (n.to_string(), "x".into())).collect()
    }

    #[test]
    fn supported_parameters_pass_and_others_are_named() {
        assert_eq!(
            unsupported(CREATE, &form(&["To", "Channel", "Locale"])),
            None
        );
        assert_eq!(unsupported(NONE, &form(&[])), None);
        let e = unsupported(CREATE, &form(&["To", "CustomCode"])).unwrap();
        assert_eq!((e.status.as_u16(), e.code), (400, 60200));
        assert_eq!(
            e.message,
            "Invalid parameter: CustomCode is not supported by otpd; this endpoint accepts To, Channel, Locale, AppHash, RateLimits"
        );
        let e = unsupported(CHECK, &form(&["Payee", "Amount", "Code"])).unwrap();
        assert!(
            e.message
                .starts_with("Invalid parameter: Amount, Payee are not")
        );
        let e = unsupported(NONE, &form(&["a", "b", "c", "d", "e", "f", "g"])).unwrap();
        assert_eq!(
            e.message,
            "Invalid parameter: a, b, c, d, e and 2 more are not supported by otpd; this endpoint takes no parameters"
        );
    }

    #[test]
    fn names_are_echoed_safely() {
        let e = unsupported(UPDATE, &form(&["\u{1b}[31mX", ""])).unwrap();
        assert!(!e.message.contains('\u{1b}'), "{}", e.message);
        assert!(e.message.contains("\"\""), "{}", e.message);
        let long = "N".repeat(500);
        let e = unsupported(UPDATE, &form(&[&long])).unwrap();
        assert!(e.message.len() < 200, "{}", e.message);
    }
}
