//! A refused send in the operator's words (issue 15, "Refusals in plain words"): what to do —
//! wait how long, or who must act — without the limit's internals. The why and the config key
//! are on `limits PHONE` ([`super::limits`]) and `help limits` ([`help_limits`]); `--json`
//! keeps every field.

use super::duration;
use crate::domain::limits::{Limit, Scope};
use crate::sanitize::sanitize;

/// The sentence for a `rate_limited` outcome.
pub fn rate_limited(
    limit: Option<Limit>,
    scope: Option<Scope>,
    retry_after_seconds: i64,
    operator_action: Option<&str>,
    reason: &str,
) -> String {
    let wait = duration(retry_after_seconds);
    let action = operator_action.map(sanitize).unwrap_or_default();
    let this = "this number";
    match limit {
        Some(Limit::Backoff | Limit::NumberHour | Limit::NumberDay) => {
            format!("Wait {wait} before sending another code to {this}.")
        }
        Some(Limit::NumberLocked) => format!(
            "{} is locked after too many wrong codes. Wait {wait} before sending another code to it.",
            super::capitalised(this)
        ),
        Some(Limit::NumberNeedsUnlock) => format!(
            "{} is locked after too many wrong codes: an operator must run `{action}` before a code can be sent to it.",
            super::capitalised(this)
        ),
        Some(Limit::PrefixHour) => {
            format!("Wait {wait} before sending another code to a number in this range.")
        }
        Some(Limit::StationHour) => {
            format!("Wait {wait} before sending another code from this station.")
        }
        Some(Limit::GlobalHour) => {
            format!(
                "Wait {wait} before sending another code: the hourly limit for all stations is reached."
            )
        }
        Some(Limit::RateLimit) => format!(
            "Wait {wait} before sending another code: {} is reached.",
            sanitize(reason)
        ),
        Some(Limit::Paused | Limit::Conversion) => {
            let what = match scope {
                Some(Scope::Station) => "Sending from this station is paused",
                Some(Scope::Prefix) => "Sending to numbers in this range is paused",
                Some(Scope::Global) | None => "Sending is paused",
            };
            format!(
                "{what}: too few of the codes sent recently were used. An operator must run `{action}`."
            )
        }
        // Refusals with outcomes of their own; worded as a fallback only.
        Some(Limit::Country | Limit::NumberType | Limit::FixedLine) | None => match operator_action
        {
            Some(a) => format!(
                "Not sent: {}. An operator must {}.",
                sanitize(reason),
                super::operator_step(a)
            ),
            None => format!("Not sent: {}. Wait {wait}.", sanitize(reason)),
        },
    }
}

/// `help limits`: the command, then every refusal — why it happens and the key that sets it.
pub fn help_limits() -> String {
    [
        "limits [PHONE] — the abuse and cost limits: counters, locks and what would be refused now (with PHONE: that number's counters, its type and why a send to it would be refused). limits resume restarts sending after the conversion guard paused it (recorded in the audit log).",
        "A refused send says what to do; why, and the setting behind it:",
        "  wait before another code to this number  each resend doubles the wait (policy.resend_cooldown_seconds, up to limits.max_cooldown_seconds), or the number had its hourly or daily sends (limits.per_number_per_hour, limits.per_number_per_day)",
        "  wait, a number in this range             sends to numbers sharing a prefix (limits.per_prefix_per_hour, limits.prefix_digits)",
        "  wait, from this station / all stations   sends per hour (limits.per_station_per_hour, limits.global_per_hour)",
        "  number locked                            wrong codes in a row (limits.max_failures_per_number, limits.lockout_seconds; limits.failures_before_unlock needs unlock PHONE)",
        "  sending paused                           too few codes were used (limits.min_conversion, limits.min_sends_for_conversion); limits resume lifts it",
        "  country / number type                    limits.allowed_countries, limits.refuse_types (premium_rate, shared_cost, uan by default); an SMS to a fixed-line number is sent as a call (delivery.fixed_line_channel)",
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_to_do_without_the_key() {
        let cases = [
            (
                rate_limited(
                    Some(Limit::Backoff),
                    None,
                    23,
                    None,
                    "resend cooldown: 30 s after send 1",
                ),
                "Wait 23 s before sending another code to this number.",
            ),
            (
                rate_limited(
                    Some(Limit::NumberNeedsUnlock),
                    None,
                    0,
                    Some("otpd unlock PHONE"),
                    "100 wrong codes",
                ),
                "This number is locked after too many wrong codes: an operator must run `otpd unlock PHONE` before a code can be sent to it.",
            ),
            (
                rate_limited(
                    Some(Limit::Conversion),
                    Some(Scope::Station),
                    0,
                    Some("otpd limits resume"),
                    "conversion 0%",
                ),
                "Sending from this station is paused: too few of the codes sent recently were used. An operator must run `otpd limits resume`.",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
            assert!(
                !got.contains("policy.") && !got.contains("limits."),
                "{got}"
            );
        }
        assert!(help_limits().contains("policy.resend_cooldown_seconds"));
    }
}
