//! `[remote]`: a terminal that works through `otpd serve` instead of a local database. The
//! server's URL (`--server`, `OTPD_SERVER`, `[remote] url`), the API key that names the
//! station (`OTPD_API_KEY`, `[remote] api_key`), its secret (`OTPD_API_SECRET`, else `[remote]
//! api_secret_file`, read with the secret-file checks) and the two timeouts that keep an
//! unreachable server from hanging the terminal.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{ConfigError, Env, ranged};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRemote {
    url: Option<String>,
    api_key: Option<String>,
    api_secret_file: Option<PathBuf>,
    connect_timeout_ms: Option<i64>,
    request_timeout_ms: Option<i64>,
    ca_file: Option<PathBuf>,
    allow_plain_http: Option<bool>,
}

/// The validated `[remote]` table: present exactly when a server URL was given.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// The server's base URL, e.g. `https://otpd.example:8443` (no trailing slash).
    pub url: String,
    /// The API key's SID (`SK…`).
    pub api_key: String,
    /// The key's secret; `Debug` is redacted.
    pub api_secret: SecretString,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// `[remote] ca_file`: the PEM certificates (a private CA, or the server's self-signed
    /// certificate) that alone are trusted for an `https://` server; `None`: the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// `[remote] allow_plain_http` / `OTPD_ALLOW_PLAIN_HTTP`: an `http://` URL to another
    /// machine is accepted (a TLS-terminating proxy carries the traffic on); otherwise plain
    /// http is refused except to a loopback host.
    pub allow_plain_http: bool,
    /// The server's code length, once the server has said it (`Client::connect`); `None`:
    /// unknown, the server checks a code's length itself.
    pub code_length: Option<usize>,
    /// This terminal's `TZ` (see `audit::Zone::this_machine`): the audit review through the
    /// server is shown in this terminal's zone.
    pub tz: Option<String>,
}

/// `url`: `--server`/`OTPD_SERVER` (already in `flag`), else `[remote] url`. `None` when neither
/// is set: the terminal uses its own database.
pub(super) fn remote(
    raw: RawRemote,
    flag: Option<&str>,
    env: &Env,
    relative: &dyn Fn(PathBuf) -> PathBuf,
) -> Result<Option<RemoteConfig>, ConfigError> {
    let (key, url) = match (flag.filter(|u| !u.trim().is_empty()), raw.url) {
        (Some(u), _) => ("--server", u.to_string()),
        (None, Some(u)) => ("remote.url", u),
        (None, None) => return Ok(None),
    };
    let url = base_url(key, &url)?;
    let allow_plain_http = match &env.allow_plain_http {
        Some(v) => flag_value("OTPD_ALLOW_PLAIN_HTTP", v)?,
        None => raw.allow_plain_http.unwrap_or(false),
    };
    if !allow_plain_http && url.starts_with("http://") && !is_loopback(&url) {
        return Err(ConfigError::Value {
            key,
            value: format!("\"{}\"", crate::sanitize::sanitize(&url)),
            expected: "use https://: plain http would carry the API key's secret in clear, so it is accepted only to 127.0.0.1, ::1 or localhost (or with remote.allow_plain_http = true / OTPD_ALLOW_PLAIN_HTTP=1 when a TLS-terminating proxy on this machine carries it on)".into(),
        });
    }
    let api_key = match (&env.api_key, raw.api_key) {
        (Some(k), _) => ("OTPD_API_KEY", k.clone()),
        (None, Some(k)) => ("remote.api_key", k),
        (None, None) => {
            return Err(missing(
                "the API key's SID (OTPD_API_KEY or remote.api_key, from otpd keys create)",
            ));
        }
    };
    if !is_key_sid(&api_key.1) {
        return Err(ConfigError::Value {
            key: api_key.0,
            value: format!("\"{}\"", crate::sanitize::sanitize(&api_key.1)),
            expected: "use the SK… SID otpd keys create printed (SK followed by 32 hex digits)"
                .into(),
        });
    }
    let api_secret = match (&env.api_secret, raw.api_secret_file) {
        (Some(s), _) => super::twilio::env_secret("OTPD_API_SECRET", s)?,
        (None, Some(p)) => super::twilio::read_secret_file("remote.api_secret_file", &relative(p))?,
        (None, None) => {
            return Err(missing(
                "the API key's secret (OTPD_API_SECRET or remote.api_secret_file)",
            ));
        }
    };
    let ms = |key, v, default| {
        ranged(key, v, default, 1..=600_000, " milliseconds")
            .map(|v| Duration::from_millis(v as u64))
    };
    let ca_pem = match raw.ca_file {
        None => None,
        Some(p) => Some(ca_file(&relative(p))?),
    };
    Ok(Some(RemoteConfig {
        ca_pem,
        url,
        api_key: api_key.1,
        api_secret,
        connect_timeout: ms("remote.connect_timeout_ms", raw.connect_timeout_ms, 3_000)?,
        request_timeout: ms("remote.request_timeout_ms", raw.request_timeout_ms, 30_000)?,
        allow_plain_http,
        code_length: None,
        tz: env.tz.clone(),
    }))
}

/// The CA file's PEM text, refused unless it holds at least one certificate.
fn ca_file(path: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    let bad = |detail: String| ConfigError::SecretFile {
        key: "remote.ca_file",
        path: path.to_path_buf(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(bad(
            "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(pem)
}

fn missing(what: &str) -> ConfigError {
    ConfigError::Missing {
        what: "a terminal that works through otpd serve".into(),
        missing: what.into(),
    }
}

/// `http://` or `https://`, a host, no query or fragment; returned without a trailing slash.
fn base_url(key: &'static str, value: &str) -> Result<String, ConfigError> {
    let v = value.trim().trim_end_matches('/');
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with('/')
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~:/[]%".contains(&b))
    });
    if ok {
        Ok(v.to_string())
    } else {
        Err(ConfigError::Value {
            key,
            value: format!("\"{}\"", crate::sanitize::sanitize(value)),
            expected: "use the server's base URL, e.g. https://otpd.example:8443".into(),
        })
    }
}

/// Whether a checked base URL names this machine: 127.0.0.0/8, ::1 or `localhost`.
fn is_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `1`/`true` or `0`/`false`, naming `key` otherwise.
fn flag_value(key: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(ConfigError::Value {
            key,
            value: format!("\"{}\"", crate::sanitize::sanitize(value)),
            expected: "use 1 or 0 (true or false)".into(),
        }),
    }
}

/// `SK` followed by 32 hex digits.
fn is_key_sid(s: &str) -> bool {
    s.len() == 34 && s.starts_with("SK") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_trimmed() {
        assert_eq!(
            base_url("k", "http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(base_url("k", "https://otpd.example").is_ok());
        for bad in [
            "127.0.0.1:8080",
            "ftp://x",
            "http://",
            "http://a b",
            "http://x?q=1",
        ] {
            assert!(base_url("k", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_hosts_are_this_machine_only() {
        for (url, want) in [
            ("http://127.0.0.1:8080", true),
            ("http://127.9.9.9", true),
            ("http://[::1]:8080", true),
            ("http://LOCALHOST:1", true),
            ("http://0.0.0.0:8080", false),
            ("http://10.0.0.5", false),
            ("http://localhost.example", false),
            ("http://[::ffff:10.0.0.1]", false),
        ] {
            assert_eq!(is_loopback(url), want, "{url}");
        }
    }

    #[test]
    fn a_url_without_a_key_names_what_is_missing() {
        let env = Env::default();
        let err = remote(
            RawRemote::default(),
            Some("http://127.0.0.1:1"),
            &env,
            &|p| p,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("OTPD_API_KEY"), "{err}");
        assert!(
            remote(RawRemote::default(), None, &env, &|p| p)
                .unwrap()
                .is_none()
        );
    }
}
