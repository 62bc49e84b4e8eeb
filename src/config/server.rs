//! `[server]`: what `otpd serve` listens on and answers for, and how much work it takes on at
//! once. Validated here like every other table; `OTPD_LISTEN` beats the file, `--listen` beats
//! both (applied by the serve front-end).

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

use super::{ConfigError, Env, ranged};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    listen: Option<String>,
    service_sid: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    allow_plain_http: Option<bool>,
    workers: Option<i64>,
    queue: Option<i64>,
    max_connections: Option<i64>,
    header_timeout_seconds: Option<i64>,
    write_timeout_seconds: Option<i64>,
    idle_timeout_seconds: Option<i64>,
    max_connections_per_client: Option<i64>,
    trusted_proxies: Option<Vec<String>>,
    public_url: Option<String>,
    enrol_ttl_seconds: Option<i64>,
}

impl ServerConfig {
    /// The server's address for browsers, without a trailing `/`: `public_url`, else
    /// `http(s)://LISTEN` (https with TLS).
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => {
                let scheme = if self.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{}", self.listen)
            }
        }
    }

    /// The worker threads `otpd serve` runs: `workers`, or with 0 one per core of this
    /// machine (as many as the operating system lets this process use).
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// The validated `[server]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The `VA…` SID clients put in their paths; `None`: generated on first start and stored in
    /// the database.
    pub service_sid: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Listen on a non-loopback address without TLS (a TLS-terminating proxy is in front).
    pub allow_plain_http: bool,
    /// Threads running use cases (argon2 is CPU-bound); 0 = one per core.
    pub workers: usize,
    /// Requests waiting for a worker before the server answers 20429.
    pub queue: usize,
    /// Open connections before new ones are refused.
    pub max_connections: usize,
    /// How long a client may take to send its request headers (slowloris).
    pub header_timeout_seconds: u64,
    /// How long an answer may wait for the client to read it before the connection is closed
    /// (a client that pipelines requests and never reads).
    pub write_timeout_seconds: u64,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout_seconds: u64,
    /// Open connections from one TCP peer address (trusted proxies: only `max_connections`).
    pub max_connections_per_client: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client (addresses or CIDR blocks).
    pub trusted_proxies: Vec<IpNet>,
    /// The address browsers reach this server at (kiosk enrolment links); `None`: derived
    /// from `listen` ([`ServerConfig::public_base`]).
    pub public_url: Option<String>,
    /// How long a kiosk enrolment link stays valid.
    pub enrol_ttl_seconds: u64,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// `server.public_url`: `http://` or `https://`, a host, maybe a port and a path; no query,
/// fragment, credentials or spaces.
fn public_url(value: &str) -> Result<String, ConfigError> {
    let v = value.trim();
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or("");
        !host.is_empty()
            && !host.contains('@')
            && r.bytes()
                .all(|b| b.is_ascii_graphic() && !b"?#\"'<>".contains(&b))
    });
    if !ok {
        return Err(ConfigError::Value {
            key: "server.public_url",
            value: format!("\"{}\"", crate::sanitize::sanitize(value)),
            expected:
                "use the address browsers reach this server at, e.g. https://otpd.example:8443"
                    .into(),
        });
    }
    Ok(v.trim_end_matches('/').to_string())
}

/// Parses a listen address (`IP:PORT`), naming `key` when it is wrong.
pub fn listen_addr(key: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Value {
        key,
        value: format!("\"{}\"", crate::sanitize::sanitize(value)),
        expected: "use IP:PORT, e.g. 127.0.0.1:8080 or [::1]:8080".into(),
    })
}

/// `true` for `VA` followed by 32 hex digits.
pub fn is_service_sid(s: &str) -> bool {
    s.len() == 34 && s.starts_with("VA") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn server(raw: RawServer, env: &Env) -> Result<ServerConfig, ConfigError> {
    let listen = match (&env.listen, &raw.listen) {
        (Some(v), _) => listen_addr("OTPD_LISTEN", v)?,
        (None, Some(v)) => listen_addr("server.listen", v)?,
        (None, None) => listen_addr("server.listen", DEFAULT_LISTEN)?,
    };
    if let Some(sid) = &raw.service_sid
        && !is_service_sid(sid)
    {
        return Err(ConfigError::Value {
            key: "server.service_sid",
            value: format!("\"{}\"", crate::sanitize::sanitize(sid)),
            expected: "use VA followed by 32 hex digits, or leave it out to generate one".into(),
        });
    }
    if raw.tls_cert.is_some() != raw.tls_key.is_some() {
        return Err(ConfigError::Missing {
            what: "the server with TLS".into(),
            missing: "server.tls_cert and server.tls_key go together".into(),
        });
    }
    let workers = ranged(
        "server.workers",
        raw.workers,
        0,
        0..=256,
        " (0: one per core)",
    )?;
    let queue = ranged("server.queue", raw.queue, 64, 1..=100_000, " requests")?;
    let max_connections = ranged(
        "server.max_connections",
        raw.max_connections,
        1024,
        1..=100_000,
        " connections",
    )?;
    let header_timeout = ranged(
        "server.header_timeout_seconds",
        raw.header_timeout_seconds,
        10,
        1..=300,
        " seconds",
    )?;
    let write_timeout = ranged(
        "server.write_timeout_seconds",
        raw.write_timeout_seconds,
        10,
        1..=300,
        " seconds",
    )?;
    let idle_timeout = ranged(
        "server.idle_timeout_seconds",
        raw.idle_timeout_seconds,
        10,
        1..=3600,
        " seconds",
    )?;
    // A quarter of the cap by default: one address cannot take every slot, yet a few kiosks
    // behind one NAT address still fit.
    let per_client = ranged(
        "server.max_connections_per_client",
        raw.max_connections_per_client,
        (max_connections / 4).max(1),
        1..=max_connections,
        " connections (at most server.max_connections)",
    )?;
    let trusted_proxies = raw
        .trusted_proxies
        .unwrap_or_default()
        .iter()
        .map(|p| proxy(p))
        .collect::<Result<Vec<_>, _>>()?;
    let public_url = match raw.public_url {
        Some(u) => Some(public_url(&u)?),
        None => None,
    };
    let enrol_ttl = ranged(
        "server.enrol_ttl_seconds",
        raw.enrol_ttl_seconds,
        900,
        60..=604_800,
        " seconds",
    )?;
    Ok(ServerConfig {
        listen,
        service_sid: raw.service_sid,
        tls_cert: raw.tls_cert,
        tls_key: raw.tls_key,
        allow_plain_http: raw.allow_plain_http.unwrap_or(false),
        workers: workers as usize,
        queue: queue as usize,
        max_connections: max_connections as usize,
        header_timeout_seconds: header_timeout as u64,
        write_timeout_seconds: write_timeout as u64,
        idle_timeout_seconds: idle_timeout as u64,
        max_connections_per_client: per_client as usize,
        trusted_proxies,
        public_url,
        enrol_ttl_seconds: enrol_ttl as u64,
    })
}

/// One `server.trusted_proxies` entry: an address (a block of one) or a CIDR block.
fn proxy(text: &str) -> Result<IpNet, ConfigError> {
    let t = text.trim();
    t.parse::<IpNet>()
        .or_else(|_| t.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| ConfigError::Value {
            key: "server.trusted_proxies",
            value: format!("\"{}\"", crate::sanitize::sanitize(text)),
            expected:
                "use IP addresses or CIDR blocks, e.g. [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\"]"
                    .into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<ServerConfig, String> {
        let raw: RawServer = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        server(raw, &Env::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn connection_guards_have_defaults_and_name_the_key_when_wrong() {
        let s = parse("").unwrap();
        assert_eq!(
            (
                s.write_timeout_seconds,
                s.idle_timeout_seconds,
                s.max_connections_per_client
            ),
            (10, 10, 256)
        );
        assert!(s.trusted_proxies.is_empty());
        assert_eq!(
            parse("max_connections = 2")
                .unwrap()
                .max_connections_per_client,
            1
        );
        let s = parse("trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"::1\"]").unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
        assert!(s.trusted_proxies[1].contains(&"10.1.2.3".parse::<std::net::IpAddr>().unwrap()));

        let e = parse("trusted_proxies = [\"proxy.local\"]").unwrap_err();
        assert!(
            e.contains("server.trusted_proxies") && e.contains("CIDR"),
            "{e}"
        );
        let e = parse("max_connections = 10\nmax_connections_per_client = 11").unwrap_err();
        assert!(e.contains("server.max_connections_per_client"), "{e}");
        assert!(e.contains("1..=10"), "{e}");
        let e = parse("write_timeout_seconds = 0").unwrap_err();
        assert!(e.contains("server.write_timeout_seconds"), "{e}");
        let e = parse("idle_timeout_seconds = 0").unwrap_err();
        assert!(e.contains("server.idle_timeout_seconds"), "{e}");
    }
}
