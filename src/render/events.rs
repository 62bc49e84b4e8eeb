//! `otpd events status`: each webhook sink's queue of Verify Events — pending (with the retries
//! made so far and the oldest event's time), parked as failed, dropped because the queue was
//! full — and the newest failure's reason, as sentences or one JSON object.

use chrono::SecondsFormat;
use serde_json::json;

use crate::app::SinkStatus;
use crate::sanitize::sanitize;

/// The exit status: 1 when any sink has events parked as failed or dropped, else 0.
pub fn exit_status(sinks: &[SinkStatus]) -> u8 {
    u8::from(sinks.iter().any(|s| s.backlog.failed > 0 || s.dropped > 0))
}

pub fn events_status(sinks: &[SinkStatus], json: bool) -> String {
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    if json {
        let sinks: Vec<_> = sinks
            .iter()
            .map(|s| {
                let b = &s.backlog;
                json!({
                    "url": sanitize(&b.sink),
                    "configured": s.configured,
                    "pending": b.pending,
                    "retries": b.retries,
                    "failed": b.failed,
                    "dropped": s.dropped,
                    "oldest": b.oldest.map(time),
                    "last_error": b.last_error.as_deref().map(sanitize),
                })
            })
            .collect();
        return json!({"outcome": "events_status", "sinks": sinks}).to_string();
    }
    if sinks.is_empty() {
        return "No events sinks: add [[events.sink]] (url, secret_file) to the configuration, and otpd serve pushes Verify Events there.".into();
    }
    let lines: Vec<String> = sinks
        .iter()
        .map(|s| {
            let b = &s.backlog;
            let mut line = format!(
                "{}{}: {} pending",
                sanitize(&b.sink),
                if s.configured {
                    ""
                } else {
                    " (no longer in [[events.sink]])"
                },
                b.pending
            );
            if b.pending > 0 {
                line.push_str(&format!(" ({} retries so far", b.retries));
                if let Some(t) = b.oldest {
                    line.push_str(&format!(", oldest from {}", time(t)));
                }
                line.push(')');
            }
            line.push_str(&format!(
                ", {} failed (parked after their last attempt), {} dropped (queue full)",
                b.failed, s.dropped
            ));
            if let Some(e) = &b.last_error {
                line.push_str(&format!("; last error: {}", sanitize(e)));
            }
            line
        })
        .collect();
    lines.join("\n")
}
