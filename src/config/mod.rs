//! Configuration, gathered once at start-up: embedded defaults, then the TOML file, then the
//! environment ([`env`], the only reader of the process environment) and command-line flags.
//! Every value is validated here, with messages that name the key; nothing after start-up
//! reads a variable or a configuration file again.
//!
//! The pieces: [`raw`] is the file as written, [`sections`] and [`limits`] validate its tables,
//! [`twilio`] the `[twilio]` settings (which the Twilio delivery imports from here).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Deserialize;

use crate::crypto::HashParams;
use crate::domain::{Channel, Limits, Policy};

pub mod database;
pub mod env;
mod error;
pub mod events;
mod limits;
mod message;
pub mod origin;
mod pgpass;
mod phone;
mod raw;
pub mod remote;
mod sections;
pub mod server;
pub mod twilio;

pub use database::{Database, Postgres, TlsMode};
pub use env::{Env, TwilioEnv};
pub use error::ConfigError;
pub use origin::{Lookup, Origins};
pub use phone::PhoneConfig;

/// The commented configuration file `otpd init` writes: every key at its default, commented
/// out, so the file changes nothing until a line is uncommented.
pub const TEMPLATE: &str = include_str!("template.toml");
use raw::RawConfig;
use twilio::TwilioConfig;

/// Where codes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Show the message on this terminal (development; nothing is sent).
    Console,
    /// Append each message to a JSON-lines file.
    Outbox,
    /// Send through Twilio's REST API.
    Twilio,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Console => "console",
            Provider::Outbox => "outbox",
            Provider::Twilio => "twilio",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    pub provider: Provider,
    pub outbox: PathBuf,
    pub channel: Channel,
}

/// `[audit]`: where the chain's head is copied, how often, and how long rows are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// The file the head (`ID:MAC` and the time) is appended to every `head_every` events.
    pub head_file: PathBuf,
    /// 0 disables the head file.
    pub head_every: u32,
    /// Audit rows older than this many days are removed by `prune` (with an anchor); `None`
    /// keeps them forever.
    pub retention_days: Option<u32>,
}

/// `[kiosk]`: the unattended terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskConfig {
    /// After this long without input the screen and the session are cleared.
    pub idle_seconds: u64,
    /// How long a successful verification stays on the screen.
    pub result_seconds: u64,
    /// The channels a visitor may choose from (one: no question is asked).
    pub channels: Vec<Channel>,
    /// The languages a visitor picks from first (`[kiosk] locales`; one: no question is asked).
    pub locales: Vec<&'static crate::message::Locale>,
}

/// Where the master secret comes from. `Debug` never shows it.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// `OTPD_SECRET`: the secret itself, zeroized on drop.
    Env(SecretString),
    /// The key file (`OTPD_SECRET_FILE`, `secret_file` or the default), created with 32 random
    /// bytes on first use.
    File(PathBuf),
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    pub station: String,
    /// The SQLite file or the PostgreSQL server.
    pub database: Database,
    /// The master secret, or where to find it.
    pub secret: SecretSource,
    pub policy: Policy,
    pub hashing: HashParams,
    pub delivery: DeliveryConfig,
    pub limits: Limits,
    pub audit: AuditConfig,
    /// The validated `[twilio]` settings; present exactly when the provider is `twilio`.
    pub twilio: Option<TwilioConfig>,
    pub kiosk: KioskConfig,
    /// `[phone]`: how numbers without `+` are read.
    pub phone: PhoneConfig,
    /// The checked `[message]` settings, composing every message.
    pub message: crate::message::Composer,
    /// `[server]`: `otpd serve`.
    pub server: server::ServerConfig,
    /// `[remote]` (`--server`, `OTPD_SERVER`): work through `otpd serve`; `None`: the local
    /// database.
    pub remote: Option<remote::RemoteConfig>,
    pub events: events::EventsConfig,
    /// `NO_COLOR` was set (and not empty): the prompt prints no colour.
    pub no_color: bool,
    /// The instant the clock is pinned to (`OTPD_FAKE_NOW`, debug builds only; see
    /// [`crate::clock::for_process`]).
    pub fake_now: Option<DateTime<Utc>>,
    /// `OTPD_FAKE_NOW=@FILE` (debug builds): a clock read from FILE at every look.
    pub fake_clock: Option<std::path::PathBuf>,
}

/// Values from command-line flags (or their clap `env` fallbacks), which override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub database: Option<PathBuf>,
    pub station: Option<String>,
    pub provider: Option<Provider>,
    pub outbox: Option<PathBuf>,
    /// `--region`: beats `OTPD_REGION` and `[phone] default_region`.
    pub region: Option<String>,
    /// `--server` / `OTPD_SERVER`: beats `[remote] url`.
    pub server: Option<String>,
}

/// The platform folders otpd uses when nothing else is configured.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub config: PathBuf,
    pub data: PathBuf,
    pub state: PathBuf,
}

impl Dirs {
    pub fn platform() -> Result<Dirs, ConfigError> {
        let p = directories::ProjectDirs::from("", "", "otpd").ok_or(ConfigError::NoHome)?;
        Ok(Dirs {
            config: p.config_dir().to_path_buf(),
            data: p.data_dir().to_path_buf(),
            state: p
                .state_dir()
                .unwrap_or_else(|| p.data_local_dir())
                .to_path_buf(),
        })
    }
}

fn ranged(
    key: &'static str,
    value: Option<i64>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    why: &str,
) -> Result<i64, ConfigError> {
    let v = value.unwrap_or(default);
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError::Value {
            key,
            value: v.to_string(),
            expected: format!("use {}..={}{why}", range.start(), range.end()),
        })
    }
}

impl Config {
    /// Loads the configuration: defaults → file → environment and flags. A missing file is an
    /// error only when it was named explicitly. Values are checked in a fixed order (policy,
    /// hashing, limits, audit, kiosk, station, twilio); the first error found is reported.
    pub fn load(o: &Overrides, env: &Env, dirs: &Dirs) -> Result<Config, ConfigError> {
        let (file, raw) = match &o.config {
            Some(path) => (Some(path.clone()), raw::read_file(path)?),
            None => {
                let path = dirs.config.join("config.toml");
                if path.exists() {
                    (Some(path.clone()), raw::read_file(&path)?)
                } else {
                    (None, RawConfig::default())
                }
            }
        };
        Config::resolve(file, raw, o, env, dirs)
    }

    /// For `otpd config`: like [`Config::load`], but every problem is collected (a section
    /// with one keeps its defaults, an unreadable file counts as empty) and where each setting
    /// came from is kept; `given` are the settings a flag or clap's variable set.
    pub fn load_all(
        o: &Overrides,
        env: &Env,
        dirs: &Dirs,
        given: Vec<(&'static str, String)>,
    ) -> (Config, Vec<ConfigError>, Origins) {
        let (path, named) = match &o.config {
            Some(p) => (p.clone(), true),
            None => (dirs.config.join("config.toml"), false),
        };
        let mut problems = Vec::new();
        let text = (named || path.exists())
            .then(|| raw::read_text(&path).map_err(|e| problems.push(e)).ok())
            .flatten();
        let raw = match text.as_deref().map(|t| raw::parse(&path, t)) {
            Some(Ok(raw)) => raw,
            Some(Err(e)) => {
                problems.push(e);
                RawConfig::default()
            }
            None => RawConfig::default(),
        };
        let found = text.is_some();
        let file = found.then(|| path.clone());
        let (config, more) = Config::resolve_all(file, raw, o, env, dirs);
        problems.extend(more);
        let lookup = Lookup { path, named, found };
        let origins = Origins::new(lookup, text.as_deref(), given, env);
        (config, problems, origins)
    }

    /// The configuration `otpd init` would give: [`TEMPLATE`] as if already written at `file`
    /// (so every path it prints is the one the next command will use).
    pub fn as_initialised(
        file: &Path,
        o: &Overrides,
        env: &Env,
        dirs: &Dirs,
    ) -> Result<Config, ConfigError> {
        let raw = raw::parse(file, TEMPLATE)?;
        Config::resolve(Some(file.to_path_buf()), raw, o, env, dirs)
    }

    fn resolve(
        file: Option<PathBuf>,
        raw: RawConfig,
        o: &Overrides,
        env: &Env,
        dirs: &Dirs,
    ) -> Result<Config, ConfigError> {
        let (config, problems) = Config::resolve_all(file, raw, o, env, dirs);
        match problems.into_iter().next() {
            Some(first) => Err(first),
            None => Ok(config),
        }
    }

    /// Every setting resolved, and every problem found on the way (in the fixed order of
    /// [`Config::load`]); a section with a problem keeps its defaults, so `otpd config` can
    /// show the rest of a half-configured install.
    fn resolve_all(
        file: Option<PathBuf>,
        raw: RawConfig,
        o: &Overrides,
        env: &Env,
        dirs: &Dirs,
    ) -> (Config, Vec<ConfigError>) {
        let mut problems = Vec::new();
        let mut note = |e: ConfigError| problems.push(e);
        let base = file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let relative = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };

        let policy = sections::policy(&raw.policy).unwrap_or_else(|e| {
            note(e);
            Policy::default()
        });
        let hashing = sections::hashing(&raw.hashing)
            .or_else(|e| {
                note(e);
                sections::hashing(&Default::default())
            })
            .expect("the default hashing parameters are valid");
        let limits = limits::limits(
            &raw.limits,
            policy.resend_cooldown,
            raw.delivery.fixed_line_channel,
        )
        .unwrap_or_else(|e| {
            note(e);
            Limits::default()
        });
        let audit = sections::audit(&raw.audit, &relative, dirs)
            .or_else(|e| {
                note(e);
                sections::audit(&Default::default(), &relative, dirs)
            })
            .expect("the default [audit] is valid");
        let channel = raw.delivery.channel.unwrap_or_default();
        let mut kiosk = sections::kiosk(&raw.kiosk, channel)
            .or_else(|e| {
                note(e);
                sections::kiosk(&Default::default(), channel)
            })
            .expect("the default [kiosk] is valid");
        let composer = message::composer(&raw.message)
            .or_else(|e| {
                note(e);
                message::composer(&Default::default())
            })
            .expect("the default [message] is valid");
        match message::kiosk_locales(raw.kiosk.locales.as_deref(), composer.locale()) {
            Ok(l) => kiosk.locales = l,
            Err(e) => note(e),
        }
        let phone = phone::phone(&raw.phone, o.region.as_deref(), env.region.as_deref())
            .unwrap_or_else(|e| {
                note(e);
                PhoneConfig::default()
            });
        let server = server::server(raw.server, env)
            .or_else(|e| {
                note(e);
                server::server(Default::default(), &Env::default())
            })
            .expect("the default [server] is valid");
        let events = events::events(raw.events, &relative).map_err(&mut note);
        let remote = remote::remote(raw.remote, o.server.as_deref(), env, &relative)
            .unwrap_or_else(|e| {
                note(e);
                None
            });
        let station = o
            .station
            .clone()
            .or(raw.station)
            .unwrap_or_else(default_station);
        let station = validate_station(station).unwrap_or_else(|e| {
            note(e);
            default_station()
        });
        let delivery = DeliveryConfig {
            provider: o
                .provider
                .or(raw.delivery.provider)
                .unwrap_or(Provider::Console),
            outbox: o
                .outbox
                .clone()
                .or_else(|| raw.delivery.outbox.map(&relative))
                .unwrap_or_else(|| dirs.data.join("outbox.jsonl")),
            channel,
        };
        let twilio = match delivery.provider {
            Provider::Twilio => {
                TwilioConfig::load(raw.twilio, &env.twilio, &relative, delivery.channel)
                    .map_err(&mut note)
                    .ok()
            }
            Provider::Console | Provider::Outbox => None,
        };
        // Every channel this set-up will use has what it needs, checked now rather than on
        // the first visitor who picks it.
        if let Some(problem) = twilio
            .as_ref()
            .and_then(|t| t.missing_senders(&kiosk.channels, limits.fixed_line))
        {
            note(problem);
        }
        let secret = match &env.secret {
            Some(value) => SecretSource::Env(value.clone()),
            None => SecretSource::File(
                env.secret_file
                    .clone()
                    .or_else(|| raw.secret_file.map(&relative))
                    .unwrap_or_else(|| dirs.config.join("secret.key")),
            ),
        };
        let database = database(o, raw.database, env, &relative, dirs).unwrap_or_else(|e| {
            note(e);
            Database::Sqlite(dirs.data.join("otpd.db"))
        });

        let config = Config {
            file,
            station,
            database,
            secret,
            policy,
            hashing,
            delivery,
            limits,
            audit,
            twilio,
            kiosk,
            phone,
            message: composer,
            server,
            remote,
            events: events.unwrap_or_default(),
            no_color: env.no_color,
            fake_now: env.fake_now.as_deref().and_then(instant),
            fake_clock: env.fake_clock(),
        };
        (config, problems)
    }

    /// Things worth saying at start-up that do not stop otpd.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        // A remote terminal hashes and composes nothing: the server's settings count.
        if self.remote.is_some() {
            return w;
        }
        if self.hashing.below_owasp() {
            w.push(format!(
                "warning: argon2id parameters (memory_kib = {}, iterations = {}) are below the OWASP minimum (19456 KiB, 2 iterations); use them for tests only",
                self.hashing.memory_kib, self.hashing.iterations
            ));
        }
        w.extend(self.cost_warnings());
        w
    }
}

/// `--db`/`OTPD_DB`, else the file's `database`, else the default file: a `postgres://` URL
/// selects PostgreSQL, anything else is a SQLite path (relative to the configuration file).
fn database(
    o: &Overrides,
    raw: Option<raw::RawDatabase>,
    env: &Env,
    relative: &dyn Fn(PathBuf) -> PathBuf,
    dirs: &Dirs,
) -> Result<Database, ConfigError> {
    let (file_value, password_file, table) = match raw {
        None => (None, None, None),
        Some(raw::RawDatabase::Value(v)) => (Some(v), None, None),
        Some(raw::RawDatabase::Table(mut t)) => {
            let password_file = t.password_file.take().map(relative);
            (t.url.take(), password_file, Some(t))
        }
    };
    // Checked whichever store is chosen; SQLite has no pool (each server worker keeps its own
    // connection) and no session settings, so there they change nothing.
    let pool_size = match table.as_ref().and_then(|t| t.pool_size) {
        Some(n) => Some(ranged(
            "database.pool_size",
            Some(n),
            0,
            1..=1024,
            " (connections otpd serve opens to PostgreSQL; leave it out for one per worker)",
        )? as usize),
        None => None,
    };
    let defaults = database::Timeouts::default();
    let ms = |key, value: Option<i64>, default: u64| -> Result<u64, ConfigError> {
        Ok(ranged(
            key,
            value,
            default as i64,
            0..=3_600_000,
            " milliseconds (0 turns it off)",
        )?
        .unsigned_abs())
    };
    let t = table.as_ref();
    let timeouts = database::Timeouts {
        lock_ms: ms(
            "database.lock_timeout_ms",
            t.and_then(|t| t.lock_timeout_ms),
            defaults.lock_ms,
        )?,
        statement_ms: ms(
            "database.statement_timeout_ms",
            t.and_then(|t| t.statement_timeout_ms),
            defaults.statement_ms,
        )?,
        idle_in_transaction_ms: ms(
            "database.idle_in_transaction_timeout_ms",
            t.and_then(|t| t.idle_in_transaction_timeout_ms),
            defaults.idle_in_transaction_ms,
        )?,
    };
    let allow_unverified_password = t.and_then(|t| t.allow_unverified_password).unwrap_or(false);
    let (value, origin) = match (&o.database, file_value) {
        (Some(v), _) => (v.clone(), database::Origin::CommandLine),
        (None, Some(v)) => (v, database::Origin::File),
        (None, None) => (dirs.data.join("otpd.db"), database::Origin::File),
    };
    if !database::is_url(&value) {
        return Ok(Database::Sqlite(match origin {
            database::Origin::File => relative(value),
            database::Origin::CommandLine => value,
        }));
    }
    let url = value.to_str().unwrap_or_default();
    let mut pg = database::postgres_env(
        url,
        origin,
        env.pg_password.as_ref(),
        &env.pg,
        password_file.as_deref(),
    )?;
    pg.pool_size = pool_size;
    pg.timeouts = timeouts;
    pg.allow_unverified_password = allow_unverified_password;
    Ok(Database::Postgres(Box::new(pg)))
}

/// An RFC 3339 instant; anything else is ignored (the real clock is used).
fn instant(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn default_station() -> String {
    gethostname::gethostname()
        .into_string()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "otpd".to_string())
}

pub fn validate_station(s: String) -> Result<String, ConfigError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '));
    if ok {
        Ok(s)
    } else {
        Err(ConfigError::Value {
            key: "station",
            value: format!("\"{}\"", crate::sanitize::sanitize(&s)),
            expected: "use 1 to 64 letters, digits, spaces, '-', '_' or '.'".into(),
        })
    }
}

#[cfg(test)]
mod tests;
