//! The process environment, read once at start-up. [`Env::capture`] is the only place otpd
//! calls `std::env::var`; everything else gets the values through [`Env`] (and from it
//! [`Config`](super::Config)), so tests can pass an environment of their own and a secret
//! read here is held as a `SecretString`, zeroized on drop. clap's `#[arg(env = ...)]` flags
//! (`OTPD_DB`, `OTPD_CONFIG`, ...) are read by clap with the arguments, not here.

use std::ffi::OsString;
use std::path::PathBuf;

use secrecy::SecretString;

/// The variables otpd reads, as they were when the process started.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `OTPD_SECRET`: the master secret itself (beats the key file).
    pub secret: Option<SecretString>,
    /// `OTPD_SECRET_FILE`: the key file, instead of `secret_file` in the file or the default.
    pub secret_file: Option<PathBuf>,
    /// `PGPASSWORD`: the PostgreSQL password (a URL on the command line may carry none).
    pub pg_password: Option<SecretString>,
    /// libpq's other variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGSSLMODE`,
    /// `PGPASSFILE`, and `HOME` for `~/.pgpass`): what a `postgres://` URL leaves out.
    pub pg: PgEnv,
    /// `TWILIO_*` and `OTPD_TWILIO_API_BASE`.
    pub twilio: TwilioEnv,
    /// `OTPD_REGION`: the default region for numbers without `+` (beats `[phone]
    /// default_region`; `--region` beats it). Empty counts as unset.
    pub region: Option<String>,
    /// `OTPD_LISTEN`: the address `otpd serve` listens on (beats `[server] listen`).
    pub listen: Option<String>,
    /// `OTPD_API_KEY`: the SID of the key a remote terminal authenticates with.
    pub api_key: Option<String>,
    /// `OTPD_API_SECRET`: that key's secret (beats `[remote] api_secret_file`).
    pub api_secret: Option<SecretString>,
    /// `OTPD_ALLOW_PLAIN_HTTP`: a remote terminal may send its key to a non-loopback `http://`
    /// server (beats `[remote] allow_plain_http`). Empty counts as unset.
    pub allow_plain_http: Option<String>,
    /// `NO_COLOR` is set and not empty (<https://no-color.org>).
    pub no_color: bool,
    /// `TZ` as set (possibly empty): a remote terminal names its zone to the server with it.
    pub tz: Option<String>,
    /// `OTPD_FAKE_NOW`, an RFC 3339 instant the clock is pinned to. Read in debug builds only,
    /// so a release binary can never be told what time it is.
    pub fake_now: Option<String>,
    /// `OTPD_DEBUG_PANIC`: panic at start-up with this payload, so the tests can prove the panic
    /// hook prints no payload. Read in debug builds only.
    pub debug_panic: Option<OsString>,
}

impl Env {
    /// `OTPD_FAKE_NOW=@FILE`: the file a debug build's clock is read from.
    pub fn fake_clock(&self) -> Option<std::path::PathBuf> {
        let file = self.fake_now.as_deref()?.strip_prefix('@')?;
        Some(std::path::PathBuf::from(file))
    }

    /// Reads the process environment.
    pub fn capture() -> Env {
        Env {
            secret: std::env::var("OTPD_SECRET").ok().map(SecretString::from),
            secret_file: std::env::var_os("OTPD_SECRET_FILE").map(PathBuf::from),
            pg_password: std::env::var("PGPASSWORD")
                .ok()
                .filter(|v| !v.is_empty())
                .map(SecretString::from),
            twilio: TwilioEnv::capture(),
            pg: PgEnv::capture(),
            region: std::env::var("OTPD_REGION")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            listen: std::env::var("OTPD_LISTEN")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            api_key: std::env::var("OTPD_API_KEY")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            api_secret: std::env::var("OTPD_API_SECRET")
                .ok()
                .filter(|v| !v.is_empty())
                .map(SecretString::from),
            allow_plain_http: std::env::var("OTPD_ALLOW_PLAIN_HTTP")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            tz: std::env::var("TZ").ok(),
            fake_now: debug_only(|| std::env::var("OTPD_FAKE_NOW").ok()),
            debug_panic: debug_only(|| std::env::var_os("OTPD_DEBUG_PANIC")),
        }
    }
}

/// libpq's environment, as every PostgreSQL tool reads it; empty values count as unset.
#[derive(Debug, Clone, Default)]
pub struct PgEnv {
    pub host: Option<String>,
    pub port: Option<String>,
    pub user: Option<String>,
    pub database: Option<String>,
    pub sslmode: Option<String>,
    pub passfile: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

impl PgEnv {
    fn capture() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        PgEnv {
            host: var("PGHOST"),
            port: var("PGPORT"),
            user: var("PGUSER"),
            database: var("PGDATABASE"),
            sslmode: var("PGSSLMODE"),
            passfile: std::env::var_os("PGPASSFILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            home: std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }
}

/// `read()` in debug builds, `None` in release builds.
fn debug_only<T>(read: impl FnOnce() -> Option<T>) -> Option<T> {
    if cfg!(debug_assertions) { read() } else { None }
}

/// The Twilio variables of the environment (`TWILIO_*`, plus `OTPD_TWILIO_API_BASE`).
#[derive(Clone, Default)]
pub struct TwilioEnv {
    pub account_sid: Option<String>,
    pub api_key: Option<String>,
    pub api_secret: Option<SecretString>,
    pub auth_token: Option<SecretString>,
    pub from: Option<String>,
    pub api_base: Option<String>,
}

impl std::fmt::Debug for TwilioEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioEnv")
            .field("account_sid", &self.account_sid)
            .field("api_key", &self.api_key)
            .field(
                "api_secret",
                &self.api_secret.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "[redacted]"),
            )
            .field("from", &self.from)
            .field("api_base", &self.api_base)
            .finish()
    }
}

impl TwilioEnv {
    /// Reads the variables; empty ones count as unset.
    fn capture() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        TwilioEnv {
            account_sid: var("TWILIO_ACCOUNT_SID"),
            api_key: var("TWILIO_API_KEY"),
            api_secret: var("TWILIO_API_SECRET").map(SecretString::from),
            auth_token: var("TWILIO_AUTH_TOKEN").map(SecretString::from),
            from: var("TWILIO_FROM"),
            api_base: var("OTPD_TWILIO_API_BASE"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_secret() {
        let env = Env {
            secret: Some(SecretString::from("sentinel-master-secret-0123456789ab")),
            twilio: TwilioEnv {
                api_secret: Some(SecretString::from("sentinel-api-secret")),
                auth_token: Some(SecretString::from("sentinel-auth-token")),
                ..TwilioEnv::default()
            },
            ..Env::default()
        };
        let shown = format!("{env:?}");
        assert!(!shown.contains("sentinel"), "{shown}");
        assert!(shown.to_lowercase().contains("redacted"), "{shown}");
    }
}
