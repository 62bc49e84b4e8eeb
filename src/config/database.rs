//! Which store otpd opens: a path keeps the embedded SQLite; a `postgres://` URL selects
//! PostgreSQL. The URL is checked here, at start-up, with `sslmode`/`sslrootcert` read by otpd
//! (the client library knows no `verify-full`) and the password taken from `PGPASSWORD` or
//! `[database] password_file`, never from a URL given on the command line. What `otpd config`
//! and error messages show is a URL rebuilt from the parsed settings (user, hosts, ports,
//! database, sslmode), never the text as typed, which may hide a password in many spellings.
//! Here too: the session timeouts every connection gets, and whether a password may be sent
//! to a server whose certificate is not verified.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;
use super::env::PgEnv;

/// The configured store.
#[derive(Debug, Clone)]
pub enum Database {
    /// The SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server.
    Postgres(Box<Postgres>),
}

/// A PostgreSQL database to connect to. `Debug` never shows the password (the client
/// library's `Config` redacts it).
#[derive(Debug, Clone)]
pub struct Postgres {
    /// The URL as shown: rebuilt from the parsed settings, never with a password.
    pub shown: String,
    /// Host, port, user, database, password and options, ready to connect (TLS is `tls`).
    pub connect: postgres::Config,
    pub tls: TlsMode,
    /// `sslrootcert`: the CA certificates (PEM) a `verify-full` server must chain to; without
    /// it, the system's trust store.
    pub root_cert: Option<PathBuf>,
    /// `[database] pool_size`: the most connections `otpd serve` opens; `None`: one per
    /// pool thread. One-shot commands, the prompt and the kiosk use one connection.
    pub pool_size: Option<usize>,
    /// Set on every connection, so a lock held elsewhere cannot hang otpd.
    pub timeouts: Timeouts,
    /// `[database] allow_unverified_password`: send the password to a remote server without
    /// `verify-full` (see [`Postgres::unverified_password_host`]).
    pub allow_unverified_password: bool,
}

/// `[database] lock_timeout_ms`, `statement_timeout_ms`, `idle_in_transaction_timeout_ms`:
/// PostgreSQL's `lock_timeout`, `statement_timeout` and `idle_in_transaction_session_timeout`
/// for otpd's sessions, in milliseconds (0: off, as PostgreSQL reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub lock_ms: u64,
    pub statement_ms: u64,
    pub idle_in_transaction_ms: u64,
}

impl Default for Timeouts {
    /// A writer waits at most 5 s for a lock (then "busy": the server answers 20429 with
    /// `Retry-After`), a statement runs at most 15 s, a transaction left idle is ended after
    /// 15 s. otpd's own transactions take milliseconds.
    fn default() -> Self {
        Timeouts {
            lock_ms: 5_000,
            statement_ms: 15_000,
            idle_in_transaction_ms: 15_000,
        }
    }
}

impl Timeouts {
    /// The `options` startup parameter that sets them (sent with the connection request, so no
    /// round trip is added).
    fn options(&self) -> String {
        format!(
            "-c lock_timeout={} -c statement_timeout={} -c idle_in_transaction_session_timeout={}",
            self.lock_ms, self.statement_ms, self.idle_in_transaction_ms
        )
    }
}

impl Postgres {
    /// The settings to connect with: the URL's, plus otpd's session timeouts (after any
    /// `options` the URL gave, so otpd's win).
    pub fn session_config(&self) -> postgres::Config {
        let mut c = self.connect.clone();
        let ours = self.timeouts.options();
        let options = match c.get_options() {
            Some(theirs) if !theirs.is_empty() => format!("{theirs} {ours}"),
            _ => ours,
        };
        c.options(&options);
        c
    }

    /// The host a password would be sent to without a verified certificate, when otpd must
    /// refuse to connect: a password is set, some host is neither a Unix socket nor loopback,
    /// `sslmode` is not `verify-full`, and `allow_unverified_password` is off.
    ///
    /// Why refuse rather than restrict the method: tokio-postgres answers whatever the server
    /// asks — cleartext, MD5 or SCRAM — and offers no way to refuse the first two except
    /// `channel_binding=require`, which needs TLS and fails plain SCRAM as well. Without a
    /// verified certificate, an impostor (or the network, without TLS) can ask for the
    /// password in clear. So the check is made here, before any connection.
    pub fn unverified_password_host(&self) -> Option<String> {
        if self.allow_unverified_password
            || self.tls == TlsMode::VerifyFull
            || self.connect.get_password().is_none()
        {
            return None;
        }
        let remote = self.connect.get_hosts().iter().find_map(|h| match h {
            postgres::config::Host::Tcp(name) if !is_loopback(name) => Some(name.clone()),
            _ => None,
        });
        remote.or_else(|| {
            self.connect
                .get_hostaddrs()
                .iter()
                .find(|a| !a.is_loopback())
                .map(|a| a.to_string())
        })
    }
}

/// `localhost` or a loopback address (127.0.0.0/8, ::1).
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

/// `sslmode`, as libpq spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, the certificate unchecked (libpq's default).
    Prefer,
    /// TLS or no connection; the certificate unchecked (encryption, not authentication).
    Require,
    /// TLS, the certificate chained to a trusted root and naming the host.
    VerifyFull,
}

impl Database {
    /// Whether the database may already hold data (a server always may; a SQLite file only
    /// once it exists), so a look at it need not create it.
    pub fn exists(&self) -> bool {
        match self {
            Database::Sqlite(path) => path.exists(),
            Database::Postgres(_) => true,
        }
    }

    /// What `otpd config` and messages show: the path, or the URL without a password.
    pub fn shown(&self) -> String {
        match self {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(pg) => pg.shown.clone(),
        }
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl PartialEq<PathBuf> for Database {
    fn eq(&self, other: &PathBuf) -> bool {
        matches!(self, Database::Sqlite(p) if p == other)
    }
}

/// Whether a `--db`/`database` value names a PostgreSQL server rather than a file.
pub fn is_url(value: &Path) -> bool {
    value
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// `otpd store copy --to`: a SQLite path or a `postgres://` URL, read as `--db` is (no password
/// in the URL; `PGPASSWORD` supplies one).
pub fn target(value: &Path, env_password: Option<&SecretString>) -> Result<Database, ConfigError> {
    target_env(value, env_password, &PgEnv::default())
}

/// [`target`] with libpq's variables filling what the URL leaves out.
pub fn target_env(
    value: &Path,
    env_password: Option<&SecretString>,
    libpq: &PgEnv,
) -> Result<Database, ConfigError> {
    if !is_url(value) {
        return Ok(Database::Sqlite(value.to_path_buf()));
    }
    let url = value.to_str().unwrap_or_default();
    let pg = postgres_env(url, Origin::CommandLine, env_password, libpq, None)?;
    Ok(Database::Postgres(Box::new(pg)))
}

/// Where the configured value came from: a URL on the command line (or `OTPD_DB`) may carry no
/// password, as argv and the environment of a process are visible to other users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    CommandLine,
    File,
}

/// [`postgres_env`] without libpq's other variables.
pub fn postgres(
    url: &str,
    origin: Origin,
    env_password: Option<&SecretString>,
    password_file: Option<&Path>,
) -> Result<Postgres, ConfigError> {
    postgres_env(url, origin, env_password, &PgEnv::default(), password_file)
}

/// Parses a `postgres://` URL, filling what it leaves out from libpq's variables (`PGHOST`,
/// `PGPORT`, `PGUSER`, `PGDATABASE`, `PGSSLMODE`), and settles its password: `PGPASSWORD`,
/// else the password file, else a password written in the configuration file's URL, else the
/// matching line of `PGPASSFILE` or `~/.pgpass`.
pub fn postgres_env(
    url: &str,
    origin: Origin,
    env_password: Option<&SecretString>,
    libpq: &PgEnv,
    password_file: Option<&Path>,
) -> Result<Postgres, ConfigError> {
    // Until the URL is parsed, nothing of it is repeated: a password may sit anywhere in it.
    let bad_text = |expected: String| ConfigError::Value {
        key: "database",
        value: NOT_REPEATED.into(),
        expected,
    };
    let (rest, tls, root_cert) = split_tls(url).map_err(bad_text)?;
    let tls = match (tls, &libpq.sslmode) {
        (Some(t), _) => t,
        (None, Some(mode)) => ssl_mode(mode).map_err(|expected| ConfigError::Value {
            key: "PGSSLMODE",
            value: format!("\"{}\"", crate::sanitize::sanitize(mode)),
            expected,
        })?,
        (None, None) => TlsMode::Prefer,
    };
    let mut connect = postgres::Config::from_str(&rest).map_err(|e| {
        // The client's reason names an option, never its value ("unknown option `x`",
        // "invalid value for option `port`").
        let why = match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        };
        bad_text(format!(
            "{why}; use postgres://USER@HOST:PORT/DB?sslmode=disable|prefer|require|verify-full \
             (a socket folder as %2Fpath or ?host=/path)"
        ))
    })?;
    // The client takes the password up to the first `@`: a host or database name holding
    // one is the rest of a password, and must not be shown as a host or a name.
    let stray_at = connect.get_dbname().is_some_and(|d| d.contains('@'))
        || connect
            .get_hosts()
            .iter()
            .any(|h| matches!(h, postgres::config::Host::Tcp(name) if name.contains('@')));
    if stray_at {
        return Err(bad_text(
            "an @ in the host or database name (write an @ inside the password as %40)".into(),
        ));
    }
    fill_from_libpq(&mut connect, libpq)?;
    let shown = shown_url(&connect, tls);
    let bad = |expected: String| ConfigError::Value {
        key: "database",
        value: shown.clone(),
        expected,
    };
    if connect.get_password().is_some() && origin == Origin::CommandLine {
        return Err(bad(
            "a password on the command line is visible to other users; leave it out of the URL \
             and set PGPASSWORD or [database] password_file"
                .into(),
        ));
    }
    if connect.get_user().is_none() {
        return Err(bad(
            "name the user: postgres://USER@HOST/DB, or set PGUSER".into()
        ));
    }
    if connect.get_dbname().is_none() {
        return Err(bad(
            "name the database: postgres://USER@HOST/DB, or set PGDATABASE".into(),
        ));
    }
    if let Some(p) = env_password {
        connect.password(p.expose_secret());
    } else if let Some(path) = password_file {
        connect.password(read_password(path)?.expose_secret());
    } else if connect.get_password().is_none()
        && let Some(p) = super::pgpass::lookup(&connect, libpq)?
    {
        connect.password(p.expose_secret());
    }
    connect.ssl_mode(match tls {
        TlsMode::Disable => postgres::config::SslMode::Disable,
        TlsMode::Prefer => postgres::config::SslMode::Prefer,
        TlsMode::Require | TlsMode::VerifyFull => postgres::config::SslMode::Require,
    });
    if connect.get_application_name().is_none() {
        connect.application_name("otpd");
    }
    if connect.get_connect_timeout().is_none() {
        connect.connect_timeout(std::time::Duration::from_secs(10));
    }
    // A peer that vanished (a failover, a cut cable) is noticed in about a minute rather
    // than the kernel's two hours; values the URL gave are kept.
    connect.keepalives(true);
    if connect.get_keepalives_idle() == std::time::Duration::from_secs(2 * 60 * 60) {
        connect.keepalives_idle(std::time::Duration::from_secs(30));
    }
    if connect.get_keepalives_interval().is_none() {
        connect.keepalives_interval(std::time::Duration::from_secs(10));
    }
    if connect.get_keepalives_retries().is_none() {
        connect.keepalives_retries(3);
    }
    Ok(Postgres {
        shown,
        connect,
        tls,
        root_cert,
        pool_size: None,
        timeouts: Timeouts::default(),
        allow_unverified_password: false,
    })
}

/// What an unparsable URL is shown as.
const NOT_REPEATED: &str = "(the postgres:// URL, not repeated: it may hold a password)";

/// Characters kept as they are in a shown URL's parts; the rest is percent-encoded.
const PART: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The URL as otpd shows it: rebuilt from the parsed settings (user, hosts and ports, database,
/// sslmode), so no spelling of a password in the typed text can reach the output.
fn shown_url(c: &postgres::Config, tls: TlsMode) -> String {
    use percent_encoding::{percent_encode, utf8_percent_encode};
    use std::os::unix::ffi::OsStrExt;
    let ports = c.get_ports();
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                postgres::config::Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                postgres::config::Host::Tcp(name) => utf8_percent_encode(name, PART).to_string(),
                postgres::config::Host::Unix(path) => {
                    percent_encode(path.as_os_str().as_bytes(), PART).to_string()
                }
            };
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let user = c
        .get_user()
        .map(|u| format!("{}@", utf8_percent_encode(u, PART)))
        .unwrap_or_default();
    let db = utf8_percent_encode(c.get_dbname().unwrap_or(""), PART);
    let mode = match tls {
        TlsMode::Disable => "disable",
        TlsMode::Prefer => "prefer",
        TlsMode::Require => "require",
        TlsMode::VerifyFull => "verify-full",
    };
    crate::sanitize::sanitize(&format!(
        "postgres://{user}{}/{db}?sslmode={mode}",
        hosts.join(",")
    ))
}

/// `PGHOST` (comma-separated; a path is a socket folder), `PGPORT`, `PGUSER` and
/// `PGDATABASE` for what the URL left out.
fn fill_from_libpq(c: &mut postgres::Config, libpq: &PgEnv) -> Result<(), ConfigError> {
    if c.get_hosts().is_empty()
        && let Some(hosts) = &libpq.host
    {
        for h in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            if h.starts_with('/') {
                c.host_path(h);
            } else {
                c.host(h);
            }
        }
    }
    if c.get_ports().is_empty()
        && let Some(port) = &libpq.port
    {
        for p in port.split(',') {
            let n = p.trim().parse::<u16>().map_err(|_| ConfigError::Value {
                key: "PGPORT",
                value: format!("\"{}\"", crate::sanitize::sanitize(port)),
                expected: "a port number, e.g. 5432".into(),
            })?;
            c.port(n);
        }
    }
    if c.get_user().is_none()
        && let Some(u) = &libpq.user
    {
        c.user(u);
    }
    if c.get_dbname().is_none()
        && let Some(d) = &libpq.database
    {
        c.dbname(d);
    }
    Ok(())
}

/// An `sslmode` value as libpq spells it.
fn ssl_mode(v: &str) -> Result<TlsMode, String> {
    Ok(match v {
        "disable" => TlsMode::Disable,
        "prefer" => TlsMode::Prefer,
        "require" => TlsMode::Require,
        "verify-full" => TlsMode::VerifyFull,
        other => {
            return Err(format!(
                "sslmode={} is not supported; use disable, prefer, require or verify-full",
                crate::sanitize::sanitize(other)
            ));
        }
    })
}

/// Takes `sslmode` and `sslrootcert` out of the query string; the rest is the client's.
fn split_tls(url: &str) -> Result<(String, Option<TlsMode>, Option<PathBuf>), String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut tls = None;
    let mut root = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                tls = Some(ssl_mode(v)?);
            }
            "sslrootcert" => root = Some(PathBuf::from(percent_decode(v))),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, tls, root))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first line of a private password file (0600, owned by the user running otpd).
fn read_password(path: &Path) -> Result<SecretString, ConfigError> {
    use std::io::Read;
    let fail = |detail: String| ConfigError::SecretFile {
        key: "database.password_file",
        path: path.to_path_buf(),
        detail,
    };
    let mut file = crate::secret_file::open_read(path).map_err(|e| fail(e.to_string()))?;
    let mut text = zeroize::Zeroizing::new(String::new());
    file.read_to_string(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(fail(
            "it is empty; write the password on its first line".into(),
        ));
    }
    Ok(SecretString::from(line.to_string()))
}

#[cfg(test)]
#[path = "database_tests.rs"]
mod tests;
