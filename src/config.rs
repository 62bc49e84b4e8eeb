//! Configuration, loaded once: embedded defaults, then the TOML file, then the environment and
//! command-line flags. Every value is validated here, with messages that name the key.

use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use serde::Deserialize;

use crate::crypto::HashParams;
use crate::domain::{Channel, Policy, code};

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
    kiosk: RawKiosk,
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
                provider: o
                    .provider
                    .or(raw.delivery.provider)
                    .unwrap_or(Provider::Console),
                outbox,
                channel,
            },
            kiosk: KioskConfig {
                idle_seconds: idle_seconds as u64,
                result_seconds: result_seconds as u64,
                channels,
            },
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
        assert_eq!(c.database, dir.path().join("data/otpd.db"));
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
