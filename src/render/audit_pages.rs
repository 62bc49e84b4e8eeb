//! Every word of the audit pages of `otpd serve` (issue 23): titles, labels, the sign-in
//! refusals, why a session ended, the chain's status line and the chart titles. The pages'
//! markup (`pages::audit`) places these; the verdict of a chain check is `otpd audit verify`'s
//! own sentence ([`crate::audit::render::verify_text`]).

use chrono::{DateTime, Utc};

use crate::app::review::Ended;
use crate::audit::Zone;
use crate::audit::verify::Report;
use crate::audit::watch::Status;
use crate::domain::sign_in_limit::MAX_FAILURES;

pub const PRODUCT: &str = "otpd audit";
pub const SIGN_IN_TITLE: &str = "Sign in to the audit log";
pub const SIGN_IN_INTRO: &str =
    "Use an auditor or admin API key: its SID as the user name, its secret as the password.";
pub const SID_LABEL: &str = "Key SID";
pub const SECRET_LABEL: &str = "Secret";
pub const SIGN_IN: &str = "Sign in";
pub const SIGN_OUT: &str = "Sign out";
pub const EVENTS_TITLE: &str = "Audit events";
pub const STATS_TITLE: &str = "Audit statistics";
pub const NAV_LABEL: &str = "Audit pages";
pub const NAV_EVENTS: &str = "Events";
pub const NAV_STATS: &str = "Statistics";
pub const CHAIN_TITLE: &str = "The chain";
pub const CHECK_AGAIN: &str = "Check again";
pub const HEAD_LABEL: &str = "Current head (keep a copy off this machine):";
pub const FILTER_TITLE: &str = "Filter";
pub const FILTER_APPLY: &str = "Show";
pub const FILTER_CLEAR: &str = "Clear the filter";
pub const EXPORT_CSV: &str = "Export as CSV";
pub const EXPORT_JSON: &str = "Export as JSON lines";
pub const NEWER: &str = "Newest events";
pub const OLDER: &str = "Older events";
pub const NO_EVENTS: &str = "No audit events match.";
pub const NO_DAYS: &str = "No sends or verifications in this period.";
pub const ZONE_LABEL: &str = "Time zone (IANA name, such as Europe/Paris)";
pub const ANY: &str = "any";

/// The filter fields' labels, by query parameter.
pub fn filter_label(name: &str) -> &'static str {
    match name {
        "event" => "Event",
        "phone" => "Phone number",
        "station" => "Station",
        "outcome" => "Outcome",
        "since" => "Since (date, time or age such as 7d)",
        "until" => "Until",
        _ => "",
    }
}

/// The events table's column headings.
pub const EVENT_COLUMNS: [&str; 7] = [
    "#", "Time", "Station", "Event", "Number", "Outcome", "Detail",
];

/// The stats table's column headings.
pub const DAY_COLUMN: &str = "Day";

/// The sentence under the events table.
pub fn shown(n: usize, more: bool) -> String {
    match (n, more) {
        (n, true) => format!("{n} newest matching events shown; older ones on the next page."),
        (1, false) => "1 matching event.".into(),
        (n, false) => format!("{n} matching events."),
    }
}

/// Which zone the page's times are in.
pub fn times_in(zone_name: &str) -> String {
    format!("Times are shown in {zone_name}.")
}

/// Why a sign-in was refused.
pub fn bad_credentials() -> &'static str {
    "That key SID and secret do not match a live key; check both and try again."
}

pub fn not_for_review(role: &str) -> String {
    format!("A {role} key cannot read the audit log; sign in with an auditor or admin key.")
}

pub fn too_many_failures(until: DateTime<Utc>, zone: Zone) -> String {
    format!(
        "Too many failed sign-ins from your address ({MAX_FAILURES} in 15 minutes); try again after {}.",
        zone.wall(until).format("%H:%M:%S")
    )
}

pub fn missing_field() -> &'static str {
    "Enter both the key SID and its secret."
}

pub fn bad_form() -> &'static str {
    "This form has expired or did not come from this page; reload the page and try again."
}

/// Why the visitor is asked to sign in again.
pub fn ended(e: Ended) -> Option<&'static str> {
    match e {
        Ended::Unknown => None,
        Ended::SignedOut => Some("You have signed out."),
        Ended::Idle => Some("Your session ended after 15 minutes without activity; sign in again."),
        Ended::Lifetime => Some("Your session ended after 8 hours; sign in again."),
        Ended::KeyRevoked => Some("Your session ended: its key has been revoked."),
    }
}

/// A bad query (the sentence from the filter's reading) as the page says it.
pub fn bad_filter(why: &str) -> String {
    format!("This filter cannot be used: {why}")
}

pub fn bad_zone(name: &str) -> String {
    format!(
        "\"{}\" is not a time zone this server knows; use an IANA name such as Europe/Paris or UTC.",
        crate::sanitize::sanitize(&crate::sanitize::truncate(name, 64))
    )
}

pub fn busy() -> &'static str {
    "The server is busy; try again in a moment."
}

pub fn failed() -> &'static str {
    "The audit log could not be read; the server's log says why."
}

pub fn export_too_large(mib: usize) -> String {
    format!(
        "The export is over {mib} MiB; narrow it with since and until, or run otpd audit export on the server's machine."
    )
}

/// The chain's status line: "intact: N rows" or "broken at row N", then the words of
/// `otpd audit verify`; or the progress of a running check.
pub fn chain_status(status: &Status, zone: Zone) -> (String, Option<String>) {
    match status {
        Status::Never => ("Not checked yet since the server started.".into(), None),
        Status::Running { reached, head } => (
            format!(
                "Checking: row {} of {} ({}%).",
                reached,
                head,
                if *head > 0 { reached * 100 / head } else { 100 }
            ),
            None,
        ),
        Status::Done { at, report } => (verdict(report), Some(checked_at(*at, zone, report))),
        Status::Failed { at, error } => (
            format!(
                "The chain could not be checked: {}",
                crate::sanitize::sanitize(error)
            ),
            Some(format!(
                "Tried at {}.",
                zone.wall(*at).format("%Y-%m-%d %H:%M:%S")
            )),
        ),
    }
}

fn verdict(r: &Report) -> String {
    match &r.broken {
        Some(b) => format!("broken at row {}", b.row),
        None => format!("intact: {} rows", r.rows),
    }
}

fn checked_at(at: DateTime<Utc>, zone: Zone, r: &Report) -> String {
    format!(
        "{} Last checked at {}.",
        crate::audit::render::verify_text(r),
        zone.wall(at).format("%Y-%m-%d %H:%M:%S")
    )
}

/// The charts on the stats page: (title, what each bar counts).
pub const CHARTS: [(&str, &str); 7] = [
    ("Sends per day", "sends"),
    ("Approved per day", "approvals"),
    (
        "Failed per day (wrong or expired codes, failed deliveries)",
        "failures",
    ),
    ("Refused per day: lockouts", "lockouts"),
    ("Refused per day: rate limits", "rate_limited"),
    ("SMS segments per day", "sms_segments"),
    ("Conversion per day (approved ÷ sends, %)", "conversion"),
];

/// The text alternative of one chart.
pub fn chart_summary(title: &str, days: usize, max: i64) -> String {
    format!("{title}: {days} days, highest {max}. The table below gives every day's figure.")
}
