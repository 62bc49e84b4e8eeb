//! The configuration file as written: serde's view of the TOML, with unknown keys refused and
//! nothing validated yet (that is [`Config::load`](super::Config::load)'s job), and the one
//! read of the file with errors that say which line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::phone::RawPhone;
use super::twilio::RawTwilio;
use super::{ConfigError, Provider};
use crate::domain::{Channel, FixedLineChannel};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) station: Option<String>,
    pub(super) database: Option<RawDatabase>,
    pub(super) secret_file: Option<PathBuf>,
    #[serde(default)]
    pub(super) policy: RawPolicy,
    #[serde(default)]
    pub(super) hashing: RawHashing,
    #[serde(default)]
    pub(super) delivery: RawDelivery,
    #[serde(default)]
    pub(super) limits: RawLimits,
    #[serde(default)]
    pub(super) audit: RawAudit,
    #[serde(default)]
    pub(super) twilio: RawTwilio,
    #[serde(default)]
    pub(super) kiosk: RawKiosk,
    #[serde(default)]
    pub(super) phone: RawPhone,
    #[serde(default)]
    pub(super) message: super::message::RawMessage,
    #[serde(default)]
    pub(super) server: super::server::RawServer,
    #[serde(default)]
    pub(super) remote: super::remote::RawRemote,
    #[serde(default)]
    pub(super) events: super::events::RawEvents,
}

/// `database = "PATH-or-URL"`, or a `[database]` table with `url`, `password_file`,
/// `pool_size`, the session timeouts and `allow_unverified_password`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawDatabase {
    Value(PathBuf),
    Table(RawDatabaseTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabaseTable {
    pub(super) url: Option<PathBuf>,
    pub(super) password_file: Option<PathBuf>,
    pub(super) pool_size: Option<i64>,
    pub(super) lock_timeout_ms: Option<i64>,
    pub(super) statement_timeout_ms: Option<i64>,
    pub(super) idle_in_transaction_timeout_ms: Option<i64>,
    pub(super) allow_unverified_password: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) allowed_countries: Option<Vec<String>>,
    pub(super) refuse_types: Option<Vec<String>>,
    pub(super) max_cooldown_seconds: Option<i64>,
    pub(super) backoff_reset_seconds: Option<i64>,
    pub(super) per_number_per_hour: Option<i64>,
    pub(super) per_number_per_day: Option<i64>,
    pub(super) per_prefix_per_hour: Option<i64>,
    pub(super) prefix_digits: Option<i64>,
    pub(super) per_station_per_hour: Option<i64>,
    pub(super) global_per_hour: Option<i64>,
    pub(super) min_conversion: Option<f64>,
    pub(super) min_sends_for_conversion: Option<i64>,
    pub(super) max_failures_per_number: Option<i64>,
    pub(super) lockout_seconds: Option<i64>,
    pub(super) failures_before_unlock: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub(super) head_file: Option<PathBuf>,
    pub(super) head_every: Option<i64>,
    pub(super) retention_days: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKiosk {
    pub(super) idle_seconds: Option<i64>,
    pub(super) result_seconds: Option<i64>,
    pub(super) channels: Option<Vec<Channel>>,
    pub(super) locales: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) code_length: Option<i64>,
    pub(super) ttl_seconds: Option<i64>,
    pub(super) max_attempts: Option<i64>,
    pub(super) resend_cooldown_seconds: Option<i64>,
    pub(super) accept_replaced_code: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHashing {
    pub(super) memory_kib: Option<i64>,
    pub(super) iterations: Option<i64>,
    pub(super) parallelism: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub(super) provider: Option<Provider>,
    pub(super) outbox: Option<PathBuf>,
    pub(super) channel: Option<Channel>,
    pub(super) fixed_line_channel: Option<FixedLineChannel>,
}

pub(super) fn read_file(path: &Path) -> Result<RawConfig, ConfigError> {
    parse(path, &read_text(path)?)
}

/// The file's text.
pub(super) fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// `text` as the file at `path` (named in a parse error).
pub(super) fn parse(path: &Path, text: &str) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        detail: crate::sanitize::sanitize(e.message()) + &span_hint(text, e.span()),
    })
}

fn span_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
        format!(" (line {line})")
    })
    .unwrap_or_default()
}
