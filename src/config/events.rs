//! `[events]` and its `[[events.sink]]` entries: where `otpd serve` pushes Verify Events
//! (webhook URLs, each with the secret its requests are signed with and the event types it
//! wants), how many undelivered events a sink may hold, and how often a failed delivery is
//! retried. Validated here like every other table.

use std::collections::BTreeSet;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::{ConfigError, ranged};
use crate::domain::events::Kind;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvents {
    sink: Option<Vec<RawSink>>,
    max_pending: Option<i64>,
    max_attempts: Option<i64>,
    retry_base_seconds: Option<i64>,
    timeout_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSink {
    url: Option<String>,
    secret_file: Option<PathBuf>,
    types: Option<Vec<String>>,
}

/// One webhook sink. `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub struct Sink {
    pub url: String,
    /// The key of each request's `X-Otpd-Signature` (HMAC-SHA256 of the body).
    pub secret: SecretString,
    pub secret_file: PathBuf,
    /// The kinds it receives; `None`: every kind.
    pub types: Option<BTreeSet<Kind>>,
}

impl Sink {
    /// Whether this sink receives events of `kind`.
    pub fn wants(&self, kind: Kind) -> bool {
        self.types.as_ref().is_none_or(|t| t.contains(&kind))
    }
}

/// The validated `[events]` table.
#[derive(Debug, Clone)]
pub struct EventsConfig {
    pub sinks: Vec<Sink>,
    /// Undelivered events (pending or failed) one sink may hold; beyond it new events for that
    /// sink are dropped and counted.
    pub max_pending: u64,
    /// Attempts before an event is parked as failed.
    pub max_attempts: u32,
    /// The first retry's wait; each next one doubles it (at most an hour).
    pub retry_base: chrono::Duration,
    /// How long one delivery may take.
    pub timeout: std::time::Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            sinks: Vec::new(),
            max_pending: 10_000,
            max_attempts: 10,
            retry_base: chrono::Duration::seconds(5),
            timeout: std::time::Duration::from_secs(5),
        }
    }
}

/// `[events]` checked; `relative` resolves file names against the configuration file's folder.
pub(super) fn events(
    raw: RawEvents,
    relative: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<EventsConfig, ConfigError> {
    let d = EventsConfig::default();
    let max_pending = ranged(
        "events.max_pending",
        raw.max_pending,
        d.max_pending as i64,
        1..=1_000_000,
        " events per sink",
    )?;
    let max_attempts = ranged(
        "events.max_attempts",
        raw.max_attempts,
        i64::from(d.max_attempts),
        1..=100,
        " attempts",
    )?;
    let retry_base = ranged(
        "events.retry_base_seconds",
        raw.retry_base_seconds,
        d.retry_base.num_seconds(),
        1..=3600,
        " seconds",
    )?;
    let timeout = ranged(
        "events.timeout_seconds",
        raw.timeout_seconds,
        d.timeout.as_secs() as i64,
        1..=60,
        " seconds",
    )?;
    let mut sinks = Vec::new();
    for s in raw.sink.unwrap_or_default() {
        sinks.push(sink(s, relative, &sinks)?);
    }
    Ok(EventsConfig {
        sinks,
        max_pending: max_pending as u64,
        max_attempts: max_attempts as u32,
        retry_base: chrono::Duration::seconds(retry_base),
        timeout: std::time::Duration::from_secs(timeout as u64),
    })
}

fn sink(
    raw: RawSink,
    relative: &dyn Fn(PathBuf) -> PathBuf,
    earlier: &[Sink],
) -> Result<Sink, ConfigError> {
    let Some(url) = raw.url.map(|u| u.trim().to_string()) else {
        return Err(ConfigError::Missing {
            what: "an [[events.sink]]".into(),
            missing: "its url (the webhook events are posted to)".into(),
        });
    };
    let bad_url = |expected: &str| ConfigError::Value {
        key: "events.sink.url",
        value: format!("\"{}\"", crate::sanitize::sanitize(&url)),
        expected: expected.into(),
    };
    let parsed = reqwest::Url::parse(&url).map_err(|_| bad_url("use an http(s) URL"))?;
    let local = parsed.host_str().is_some_and(|h| {
        h == "localhost"
            || h.trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback())
    });
    match parsed.scheme() {
        "https" => {}
        "http" if local => {}
        _ => {
            return Err(bad_url(
                "use https (plain http only to this machine: 127.0.0.1, ::1 or localhost)",
            ));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad_url(
            "put no credentials in the URL: the signature authenticates the requests",
        ));
    }
    if earlier.iter().any(|s| s.url == url) {
        return Err(bad_url("each sink once: this url is already a sink"));
    }
    let Some(file) = raw.secret_file.map(relative) else {
        return Err(ConfigError::Missing {
            what: format!("the events sink {}", crate::sanitize::sanitize(&url)),
            missing: "its secret_file (the key its requests are signed with)".into(),
        });
    };
    let secret = super::twilio::read_secret_file("events.sink.secret_file", &file)?;
    let types = match raw.types {
        None => None,
        Some(names) => {
            let mut kinds = BTreeSet::new();
            for n in &names {
                let Some(k) = Kind::from_name(n) else {
                    let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                    return Err(ConfigError::Value {
                        key: "events.sink.types",
                        value: format!("\"{}\"", crate::sanitize::sanitize(n)),
                        expected: format!(
                            "use {} (or Twilio's type strings for them)",
                            all.join(", ")
                        ),
                    });
                };
                kinds.insert(k);
            }
            Some(kinds)
        }
    };
    Ok(Sink {
        url,
        secret,
        secret_file: file,
        types,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<EventsConfig, String> {
        let raw: RawEvents = toml::from_str(text).map_err(|e| e.to_string())?;
        events(raw, &|p| p).map_err(|e| e.to_string())
    }

    #[test]
    fn no_table_means_no_sinks_and_the_defaults() {
        let e = load("").unwrap();
        assert!(e.sinks.is_empty());
        assert_eq!((e.max_pending, e.max_attempts), (10_000, 10));
    }

    #[test]
    fn bad_sinks_are_refused_with_one_line_naming_the_key() {
        let cases = [
            ("[[sink]]\nsecret_file = \"x\"\n", "missing its url"),
            (
                "[[sink]]\nurl = \"http://hooks.example/otpd\"\nsecret_file = \"x\"\n",
                "events.sink.url = \"http://hooks.example/otpd\": use https (plain http only to this machine",
            ),
            (
                "[[sink]]\nurl = \"https://u:p@hooks.example/\"\nsecret_file = \"x\"\n",
                "put no credentials in the URL",
            ),
            (
                "[[sink]]\nurl = \"https://hooks.example/\"\n",
                "missing its secret_file",
            ),
            (
                "[[sink]]\nurl = \"https://hooks.example/\"\nsecret_file = \"/nonexistent/otpd-sink.secret\"\n",
                "cannot use events.sink.secret_file /nonexistent/otpd-sink.secret",
            ),
            (
                "max_attempts = 0\n",
                "events.max_attempts = 0: use 1..=100 attempts",
            ),
        ];
        for (text, expected) in cases {
            let e = load(text).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn types_take_short_names_or_twilios_strings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s");
        std::fs::write(&file, "secret\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let text = format!(
            "[[sink]]\nurl = \"http://[::1]:9/hook\"\nsecret_file = \"{}\"\ntypes = [\"approved\", \"com.twilio.accountsecurity.verify.verification.expired\"]\n",
            file.display()
        );
        let e = load(&text).unwrap();
        let s = &e.sinks[0];
        assert!(s.wants(Kind::Approved) && s.wants(Kind::Expired));
        assert!(!s.wants(Kind::Pending));
        assert!(!format!("{s:?}").contains("secret\""), "{s:?}");
        let bad = text.replace("\"approved\"", "\"approve\"");
        let e = load(&bad).unwrap_err();
        assert!(
            e.contains(
                "use pending, approved, canceled, expired, max_attempts_reached, delivery_status"
            ),
            "{e}"
        );
    }
}
