//! Configuration, loaded once: embedded defaults, then the TOML file, then the environment and
//! command-line flags. Every value is validated here, with messages that name the key.

use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use serde::Deserialize;

use crate::crypto::HashParams;
use crate::domain::{Channel, Limits, Policy, code};

pub mod twilio;

use twilio::{RawTwilio, TwilioConfig, TwilioEnv};

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
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    pub station: String,
    pub database: PathBuf,
    pub secret_file: PathBuf,
    pub policy: Policy,
    pub hashing: HashParams,
    pub delivery: DeliveryConfig,
    pub limits: Limits,
    pub audit: AuditConfig,
    /// The validated `[twilio]` settings; present exactly when the provider is `twilio`.
    pub twilio: Option<TwilioConfig>,
    pub kiosk: KioskConfig,
}

/// Values from flags and the environment, which override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub database: Option<PathBuf>,
    pub station: Option<String>,
    pub provider: Option<Provider>,
    pub outbox: Option<PathBuf>,
    /// `OTPD_SECRET_FILE`.
    pub secret_file: Option<PathBuf>,
    /// `TWILIO_*` and `OTPD_TWILIO_API_BASE`.
    pub twilio: TwilioEnv,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("the configuration file {path} is not valid: {detail}")]
    Parse { path: PathBuf, detail: String },
    #[error("invalid configuration: {key} = {value}: {expected}")]
    Value {
        key: &'static str,
        value: String,
        expected: String,
    },
    #[error("cannot start {what}: missing {missing}")]
    Missing { what: String, missing: String },
    #[error("cannot use {key} {path}: {detail}")]
    SecretFile {
        key: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("cannot find a home directory for otpd's files; set --db and OTPD_SECRET_FILE")]
    NoHome,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    station: Option<String>,
    database: Option<PathBuf>,
    secret_file: Option<PathBuf>,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    hashing: RawHashing,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    twilio: RawTwilio,
    #[serde(default)]
    kiosk: RawKiosk,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    allowed_countries: Option<Vec<String>>,
    max_cooldown_seconds: Option<i64>,
    backoff_reset_seconds: Option<i64>,
    per_number_per_hour: Option<i64>,
    per_number_per_day: Option<i64>,
    per_prefix_per_hour: Option<i64>,
    prefix_digits: Option<i64>,
    per_station_per_hour: Option<i64>,
    global_per_hour: Option<i64>,
    min_conversion: Option<f64>,
    min_sends_for_conversion: Option<i64>,
    max_failures_per_number: Option<i64>,
    lockout_seconds: Option<i64>,
    failures_before_unlock: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    head_file: Option<PathBuf>,
    head_every: Option<i64>,
    retention_days: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKiosk {
    idle_seconds: Option<i64>,
    result_seconds: Option<i64>,
    channels: Option<Vec<Channel>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    code_length: Option<i64>,
    ttl_seconds: Option<i64>,
    max_attempts: Option<i64>,
    resend_cooldown_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHashing {
    memory_kib: Option<i64>,
    iterations: Option<i64>,
    parallelism: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    provider: Option<Provider>,
    outbox: Option<PathBuf>,
    channel: Option<Channel>,
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
    /// Loads the configuration: defaults → file → overrides. A missing file is an error only
    /// when it was named explicitly.
    pub fn load(o: &Overrides, dirs: &Dirs) -> Result<Config, ConfigError> {
        let (file, raw) = match &o.config {
            Some(path) => (Some(path.clone()), read_file(path)?),
            None => {
                let path = dirs.config.join("config.toml");
                if path.exists() {
                    (Some(path.clone()), read_file(&path)?)
                } else {
                    (None, RawConfig::default())
                }
            }
        };
        let base = file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let relative = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };

        let p = &raw.policy;
        let code_length = ranged(
            "policy.code_length",
            p.code_length,
            6,
            code::MIN_LEN as i64..=code::MAX_LEN as i64,
            " digits",
        )?;
        let ttl = ranged(
            "policy.ttl_seconds",
            p.ttl_seconds,
            300,
            1..=600,
            " seconds (NIST SP 800-63B: at most 10 minutes)",
        )?;
        let max_attempts = ranged("policy.max_attempts", p.max_attempts, 5, 1..=100, "")?;
        let cooldown = ranged(
            "policy.resend_cooldown_seconds",
            p.resend_cooldown_seconds,
            30,
            0..=86_400,
            " seconds (0 disables)",
        )?;
        let h = &raw.hashing;
        let memory_kib = ranged(
            "hashing.memory_kib",
            h.memory_kib,
            HashParams::OWASP.memory_kib.into(),
            8..=4_194_304,
            " KiB (OWASP minimum 19456)",
        )?;
        let iterations = ranged("hashing.iterations", h.iterations, 2, 1..=100, "")?;
        let parallelism = ranged("hashing.parallelism", h.parallelism, 1, 1..=64, "")?;
        if memory_kib < 8 * parallelism {
            return Err(ConfigError::Value {
                key: "hashing.memory_kib",
                value: memory_kib.to_string(),
                expected: format!("argon2 needs at least 8 KiB per lane ({})", 8 * parallelism),
            });
        }

        let limits = limits(&raw.limits, TimeDelta::seconds(cooldown))?;
        let a = &raw.audit;
        let head_every = ranged(
            "audit.head_every",
            a.head_every,
            100,
            0..=1_000_000,
            " events (0 disables the head file)",
        )?;
        let retention_days = match a.retention_days {
            None => None,
            Some(d) => Some(ranged(
                "audit.retention_days",
                Some(d),
                d,
                1..=36_500,
                " days (leave it out to keep the audit log forever)",
            )? as u32),
        };
        let audit = AuditConfig {
            head_file: raw
                .audit
                .head_file
                .clone()
                .map(relative)
                .unwrap_or_else(|| dirs.state.join("audit-head.log")),
            head_every: head_every as u32,
            retention_days,
        };
        let k = &raw.kiosk;
        let idle_seconds = ranged(
            "kiosk.idle_seconds",
            k.idle_seconds,
            120,
            1..=86_400,
            " seconds",
        )?;
        let result_seconds = ranged(
            "kiosk.result_seconds",
            k.result_seconds,
            5,
            1..=600,
            " seconds",
        )?;
        let channel = raw.delivery.channel.unwrap_or_default();
        let channels = k.channels.clone().unwrap_or_else(|| vec![channel]);
        let repeated = (1..channels.len()).any(|i| channels[..i].contains(&channels[i]));
        if channels.is_empty() || repeated {
            return Err(ConfigError::Value {
                key: "kiosk.channels",
                value: format!("{channels:?}").to_lowercase(),
                expected: "list one to three different channels: sms, whatsapp, call".into(),
            });
        }

        let station = o
            .station
            .clone()
            .or(raw.station)
            .unwrap_or_else(default_station);
        let station = validate_station(station)?;

        let outbox = o
            .outbox
            .clone()
            .or_else(|| raw.delivery.outbox.map(relative))
            .unwrap_or_else(|| dirs.data.join("outbox.jsonl"));
        let provider = o
            .provider
            .or(raw.delivery.provider)
            .unwrap_or(Provider::Console);
        let channel = raw.delivery.channel.unwrap_or_default();
        let twilio = match provider {
            Provider::Twilio => Some(TwilioConfig::load(
                raw.twilio, &o.twilio, &relative, channel,
            )?),
            Provider::Console | Provider::Outbox => None,
        };

        Ok(Config {
            file,
            station,
            database: o
                .database
                .clone()
                .or_else(|| raw.database.map(relative))
                .unwrap_or_else(|| dirs.data.join("otpd.db")),
            secret_file: o
                .secret_file
                .clone()
                .or_else(|| raw.secret_file.map(relative))
                .unwrap_or_else(|| dirs.config.join("secret.key")),
            policy: Policy {
                code_length: code_length as usize,
                ttl: TimeDelta::seconds(ttl),
                max_attempts: max_attempts as u32,
                resend_cooldown: TimeDelta::seconds(cooldown),
            },
            hashing: HashParams {
                memory_kib: memory_kib as u32,
                iterations: iterations as u32,
                parallelism: parallelism as u32,
            },
            delivery: DeliveryConfig {
                provider,
                outbox,
                channel,
            },
            kiosk: KioskConfig {
                idle_seconds: idle_seconds as u64,
                result_seconds: result_seconds as u64,
                channels,
            },
            limits,
            audit,
            twilio,
        })
    }

    /// Things worth saying at start-up that do not stop otpd.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.hashing.below_owasp() {
            w.push(format!(
                "warning: argon2id parameters (memory_kib = {}, iterations = {}) are below the OWASP minimum (19456 KiB, 2 iterations); use them for tests only",
                self.hashing.memory_kib, self.hashing.iterations
            ));
        }
        w
    }
}

/// `[limits]`: caps of 0 disable a cap; every range names its key.
fn limits(l: &RawLimits, base_cooldown: TimeDelta) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let cap = |key, v: Option<i64>, default: u32| {
        ranged(key, v, default.into(), 0..=1_000_000, " sends (0 disables)").map(|v| v as u32)
    };
    let mut allowed_countries = Vec::new();
    for c in l.allowed_countries.iter().flatten() {
        let up = c.trim().to_ascii_uppercase();
        let known = up.len() == 2 && up.parse::<phonenumber::country::Id>().is_ok();
        if !known {
            return Err(ConfigError::Value {
                key: "limits.allowed_countries",
                value: format!("\"{}\"", crate::sanitize::sanitize(c)),
                expected: "use ISO 3166 two-letter region codes from the numbering plan, e.g. [\"US\", \"GB\"]".into(),
            });
        }
        if !allowed_countries.contains(&up) {
            allowed_countries.push(up);
        }
    }
    let max_cooldown = ranged(
        "limits.max_cooldown_seconds",
        l.max_cooldown_seconds,
        d.max_cooldown.num_seconds(),
        0..=86_400,
        " seconds",
    )?;
    let backoff_reset = ranged(
        "limits.backoff_reset_seconds",
        l.backoff_reset_seconds,
        d.backoff_reset.num_seconds(),
        1..=604_800,
        " seconds",
    )?;
    let min_conversion = l.min_conversion.unwrap_or(d.min_conversion);
    if !(0.0..=1.0).contains(&min_conversion) {
        return Err(ConfigError::Value {
            key: "limits.min_conversion",
            value: min_conversion.to_string(),
            expected: "use 0.0..=1.0 (a fraction of verifications; 0 disables)".into(),
        });
    }
    let max_failures = ranged(
        "limits.max_failures_per_number",
        l.max_failures_per_number,
        d.max_failures_per_number.into(),
        1..=100,
        " consecutive wrong codes",
    )?;
    let unlock_after = ranged(
        "limits.failures_before_unlock",
        l.failures_before_unlock,
        d.failures_before_unlock.into(),
        max_failures..=100,
        " consecutive wrong codes (NIST SP 800-63B: at most 100; at least max_failures_per_number)",
    )?;
    Ok(Limits {
        allowed_countries,
        base_cooldown,
        max_cooldown: TimeDelta::seconds(max_cooldown),
        backoff_reset: TimeDelta::seconds(backoff_reset),
        per_number_per_hour: cap(
            "limits.per_number_per_hour",
            l.per_number_per_hour,
            d.per_number_per_hour,
        )?,
        per_number_per_day: cap(
            "limits.per_number_per_day",
            l.per_number_per_day,
            d.per_number_per_day,
        )?,
        per_prefix_per_hour: cap(
            "limits.per_prefix_per_hour",
            l.per_prefix_per_hour,
            d.per_prefix_per_hour,
        )?,
        prefix_digits: ranged(
            "limits.prefix_digits",
            l.prefix_digits,
            d.prefix_digits as i64,
            0..=14,
            " national digits after the country code",
        )? as usize,
        per_station_per_hour: cap(
            "limits.per_station_per_hour",
            l.per_station_per_hour,
            d.per_station_per_hour,
        )?,
        global_per_hour: cap(
            "limits.global_per_hour",
            l.global_per_hour,
            d.global_per_hour,
        )?,
        min_conversion,
        min_sends_for_conversion: ranged(
            "limits.min_sends_for_conversion",
            l.min_sends_for_conversion,
            d.min_sends_for_conversion.into(),
            1..=1_000_000,
            " sends",
        )? as u32,
        max_failures_per_number: max_failures as u32,
        lockout: TimeDelta::seconds(ranged(
            "limits.lockout_seconds",
            l.lockout_seconds,
            d.lockout.num_seconds(),
            1..=2_592_000,
            " seconds",
        )?),
        failures_before_unlock: unlock_after as u32,
    })
}

fn read_file(path: &Path) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        detail: crate::sanitize::sanitize(e.message()) + &span_hint(&text, e.span()),
    })
}

fn span_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
        format!(" (line {line})")
    })
    .unwrap_or_default()
}

fn default_station() -> String {
    gethostname::gethostname()
        .into_string()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "otpd".to_string())
}

fn validate_station(s: String) -> Result<String, ConfigError> {
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
mod tests {
    use super::*;

    fn dirs(root: &Path) -> Dirs {
        Dirs {
            config: root.join("config"),
            data: root.join("data"),
            state: root.join("state"),
        }
    }

    fn load_toml(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otpd.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(
            &Overrides {
                config: Some(path),
                ..Overrides::default()
            },
            &dirs(dir.path()),
        )
    }

    #[test]
    fn defaults_without_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(&Overrides::default(), &dirs(dir.path())).unwrap();
        assert_eq!(c.policy, Policy::default());
        assert_eq!(c.hashing, HashParams::OWASP);
        assert_eq!(c.delivery.provider, Provider::Console);
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.database, dir.path().join("data/otpd.db"));
        assert_eq!(c.audit.head_file, dir.path().join("state/audit-head.log"));
        assert_eq!(c.audit.head_every, 100);
        assert_eq!(c.audit.retention_days, None);
        assert!(c.file.is_none());
        assert!(c.warnings().is_empty());
    }

    #[test]
    fn out_of_range_values_name_the_key_and_the_range() {
        let cases = [
            (
                "[policy]\nttl_seconds = 601",
                "policy.ttl_seconds = 601",
                "1..=600",
            ),
            (
                "[policy]\ncode_length = 5",
                "policy.code_length = 5",
                "6..=10",
            ),
            (
                "[policy]\nmax_attempts = 0",
                "policy.max_attempts = 0",
                "1..=100",
            ),
            (
                "[policy]\nresend_cooldown_seconds = -1",
                "resend_cooldown_seconds = -1",
                "0..=",
            ),
            (
                "[hashing]\nmemory_kib = 4",
                "hashing.memory_kib = 4",
                "8..=",
            ),
            (
                "[hashing]\nparallelism = 4\nmemory_kib = 16",
                "hashing.memory_kib = 16",
                "32",
            ),
            ("station = \"a/b\"", "station", "letters"),
            (
                "[limits]\nallowed_countries = [\"US\", \"XX\"]",
                "limits.allowed_countries = \"XX\"",
                "ISO 3166",
            ),
            (
                "[limits]\nallowed_countries = [\"USA\"]",
                "limits.allowed_countries",
                "two-letter",
            ),
            (
                "[limits]\nper_number_per_hour = -1",
                "limits.per_number_per_hour = -1",
                "0..=",
            ),
            (
                "[limits]\nmin_conversion = 1.5",
                "limits.min_conversion = 1.5",
                "0.0..=1.0",
            ),
            (
                "[limits]\nfailures_before_unlock = 101",
                "limits.failures_before_unlock = 101",
                "10..=100",
            ),
            (
                "[limits]\nmax_failures_per_number = 20\nfailures_before_unlock = 15",
                "limits.failures_before_unlock = 15",
                "20..=100",
            ),
            (
                "[limits]\nprefix_digits = 15",
                "limits.prefix_digits = 15",
                "0..=14",
            ),
            (
                "[limits]\nlockout_seconds = 0",
                "limits.lockout_seconds = 0",
                "1..=",
            ),
            ("[audit]\nhead_every = -1", "audit.head_every = -1", "0..="),
            (
                "[audit]\nretention_days = 0",
                "audit.retention_days = 0",
                "1..=36500",
            ),
            (
                "[kiosk]\nidle_seconds = 0",
                "kiosk.idle_seconds = 0",
                "1..=86400",
            ),
            (
                "[kiosk]\nresult_seconds = 601",
                "kiosk.result_seconds = 601",
                "1..=600",
            ),
            ("[kiosk]\nchannels = []", "kiosk.channels", "one to three"),
            (
                "[kiosk]\nchannels = [\"sms\", \"sms\"]",
                "kiosk.channels",
                "different",
            ),
        ];
        for (toml, key, range) in cases {
            let err = load_toml(toml).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains(range), "{toml:?} → {err}");
        }
    }

    #[test]
    fn limits_are_read_normalised_and_follow_the_policy_cooldown() {
        let c = load_toml(
            "[policy]\nresend_cooldown_seconds = 10\n[limits]\nallowed_countries = [\"us\", \"GB\", \"US\"]\nper_number_per_day = 0\nmin_conversion = 0.5\n",
        )
        .unwrap();
        assert_eq!(c.limits.allowed_countries, ["US", "GB"]);
        assert_eq!(c.limits.per_number_per_day, 0);
        assert_eq!(c.limits.min_conversion, 0.5);
        assert_eq!(c.limits.base_cooldown, TimeDelta::seconds(10));
        assert_eq!(c.limits.per_number_per_hour, 5);
    }

    #[test]
    fn unknown_keys_and_bad_types_are_refused() {
        let err = load_toml("[policy]\nttl = 30").unwrap_err().to_string();
        assert!(err.contains("ttl"), "{err}");
        let err = load_toml("[delivery]\nprovider = \"pigeon\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("pigeon") || err.contains("variant"), "{err}");
    }

    #[test]
    fn overrides_beat_the_file_and_relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otpd.toml");
        std::fs::write(
            &path,
            "station = \"file\"\ndatabase = \"db/otpd.db\"\n[delivery]\nprovider = \"outbox\"\noutbox = \"out.jsonl\"\n[hashing]\nmemory_kib = 8\niterations = 1\n",
        )
        .unwrap();
        let mut o = Overrides {
            config: Some(path),
            ..Overrides::default()
        };
        let c = Config::load(&o, &dirs(dir.path())).unwrap();
        assert_eq!(c.station, "file");
        assert_eq!(c.database, dir.path().join("db/otpd.db"));
        assert_eq!(c.delivery.outbox, dir.path().join("out.jsonl"));
        assert_eq!(c.warnings().len(), 1);
        o.station = Some("flag".into());
        o.provider = Some(Provider::Console);
        let c = Config::load(&o, &dirs(dir.path())).unwrap();
        assert_eq!(c.station, "flag");
        assert_eq!(c.delivery.provider, Provider::Console);
    }
}
