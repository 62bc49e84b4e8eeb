//! What `otpd serve` writes to its log (stderr): the start-up summary (what it runs with, and a
//! plain warning when that is console delivery, which sends nothing), one access line per
//! request, and notes, as text or as one JSON object a line (`--log-format json`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::config::{Config, Provider};
use crate::sanitize::sanitize;

/// One request, as the access log records it. Never a path, query, number, code or credential.
pub struct Access<'a> {
    pub at: DateTime<Utc>,
    pub id: &'a str,
    pub method: &'a str,
    /// The route's template (`/v2/Services/{ServiceSid}/Verifications`), or `(no route)`.
    pub route: &'a str,
    pub status: u16,
    pub millis: u128,
    /// The key's station, `-` before authentication.
    pub station: &'a str,
    pub client: Option<&'a str>,
    /// The client left before its answer was ready (the work was done).
    pub client_gone: bool,
    /// Why a 5xx failed.
    pub reason: Option<&'a str>,
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The access line: `TIME METHOD ROUTE STATUS N ms id=… station=… client=…`, then
/// `client-gone` and `reason="…"` when they apply.
pub fn access_line(a: &Access<'_>, as_json: bool) -> String {
    let reason = a.reason.map(sanitize);
    if as_json {
        return json!({
            "time": time(a.at),
            "request_id": a.id,
            "method": a.method,
            "route": a.route,
            "status": a.status,
            "ms": a.millis as u64,
            "station": (a.station != "-").then_some(a.station),
            "client": a.client,
            "client_gone": a.client_gone,
            "reason": reason,
        })
        .to_string();
    }
    let mut line = format!(
        "{} {} {} {} {} ms id={} station={} client={}",
        time(a.at),
        a.method,
        a.route,
        a.status,
        a.millis,
        a.id,
        a.station,
        a.client.unwrap_or("-"),
    );
    if a.client_gone {
        line.push_str(" client-gone");
    }
    if let Some(r) = reason {
        line.push_str(&format!(" reason={r:?}"));
    }
    line
}

/// A line of the server's own (a start-up fact, a warning, its stop) in the log's format.
pub fn note(at: DateTime<Utc>, text: &str, as_json: bool) -> String {
    let text = sanitize(text);
    if as_json {
        json!({"time": time(at), "message": text}).to_string()
    } else {
        format!("{} {text}", time(at))
    }
}

/// A round of the Verify Events task that could not finish (the store unreachable, …).
pub fn events_problem(detail: &str) -> String {
    format!("events: {detail}; undelivered events stay queued and are tried again")
}

/// What the server runs with, known once it has opened its store.
pub struct Startup {
    pub workers: usize,
    /// API keys that can authenticate (not revoked, seal intact).
    pub usable_keys: usize,
    /// Whether the audit head file can be written.
    pub head_writable: bool,
}

/// The start-up summary, one fact a line (each then goes through [`note`]).
pub fn startup(c: &Config, s: &Startup) -> Vec<String> {
    let mut lines = vec![format!("otpd serve: store {}", c.database)];
    lines.push(match c.delivery.provider {
        Provider::Console => "otpd serve: warning: delivery console: NOTHING IS SENT; codes are only printed by this server (set [delivery] provider = \"twilio\" or \"outbox\")".to_string(),
        Provider::Outbox => format!(
            "otpd serve: delivery outbox: messages are appended to {} (nothing is sent)",
            c.delivery.outbox.display()
        ),
        Provider::Twilio => format!(
            "otpd serve: delivery twilio (default channel {}; an SMS to a landline {}, delivery.fixed_line_channel)",
            c.delivery.channel,
            match c.limits.fixed_line {
                crate::domain::FixedLineChannel::Call => "becomes a voice call",
                crate::domain::FixedLineChannel::Sms => "is texted anyway",
                crate::domain::FixedLineChannel::Refuse => "is refused",
            }
        ),
    });
    lines.push(match s.usable_keys {
        0 => "otpd serve: 0 API keys: every request will be refused until one exists (otpd keys create --station NAME)".to_string(),
        1 => "otpd serve: 1 API key".to_string(),
        n => format!("otpd serve: {n} API keys"),
    });
    lines.push(if c.audit.head_every == 0 {
        "otpd serve: audit head file off ([audit] head_every = 0)".to_string()
    } else if !s.head_writable {
        format!(
            "otpd serve: warning: the audit head file {} cannot be written here (a read-only folder, or a sandbox such as ProtectHome=yes): newest audit rows deleted from the database would go unseen; set [audit] head_file to a place this server can write",
            c.audit.head_file.display()
        )
    } else {
        format!(
            "otpd serve: audit head file {} (every {} events)",
            c.audit.head_file.display(),
            c.audit.head_every
        )
    });
    lines.push(format!(
        "otpd serve: {}; {} workers",
        match (&c.server.tls_cert, c.server.allow_plain_http) {
            (Some(cert), _) => format!("TLS with {}", cert.display()),
            (None, true) => "no TLS (server.allow_plain_http: a TLS proxy must be in front)".into(),
            (None, false) => "no TLS: plain HTTP on loopback only".into(),
        },
        s.workers
    ));
    // Only when configured: a server without them says nothing more.
    if !c.events.sinks.is_empty() {
        let urls: Vec<String> = c.events.sinks.iter().map(|s| sanitize(&s.url)).collect();
        lines.push(format!(
            "otpd serve: Verify Events to {} (otpd events status shows their queues)",
            urls.join(", ")
        ));
    }
    if let Some(url) = c
        .twilio
        .as_ref()
        .and_then(|t| t.status_callback_url.as_ref())
    {
        lines.push(format!(
            "otpd serve: Twilio status callbacks expected at {} (checked with the auth token)",
            sanitize(url)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_line_has_its_time_id_client_and_a_5xx_reason_in_both_formats() {
        let a = Access {
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            id: "ab12cd34-7",
            method: "POST",
            route: "/v2/Services/{ServiceSid}/Verifications",
            status: 500,
            millis: 3,
            station: "-",
            client: Some("203.0.113.7"),
            client_gone: false,
            reason: Some("cannot reach the database server \"db\"\u{1b}[2J"),
        };
        let text = access_line(&a, false);
        assert!(text.starts_with("2027-01-15T08:00:00.000Z POST "), "{text}");
        assert!(text.contains(" id=ab12cd34-7 "), "{text}");
        assert!(text.contains(" client=203.0.113.7 reason="), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        let v: serde_json::Value = serde_json::from_str(&access_line(&a, true)).unwrap();
        assert_eq!(v["time"], "2027-01-15T08:00:00.000Z");
        assert_eq!(v["request_id"], "ab12cd34-7");
        assert_eq!(v["station"], serde_json::Value::Null);
        assert!(v["reason"].as_str().unwrap().contains("database"), "{v}");
    }
}
