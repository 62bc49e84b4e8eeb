//! What can be wrong with the configuration, as values that name the key or file; the
//! sentences are in `render::failures`.

use std::path::PathBuf;

/// Worded in `render::failures`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    Read {
        path: PathBuf,
        detail: String,
    },
    Parse {
        path: PathBuf,
        detail: String,
    },
    Value {
        key: &'static str,
        value: String,
        expected: String,
    },
    Missing {
        what: String,
        missing: String,
    },
    SecretFile {
        key: &'static str,
        path: PathBuf,
        detail: String,
    },
    Message(#[from] crate::message::MessageError),
    NoHome,
}

impl ConfigError {
    /// The setting the problem is about, when it names one (`policy.ttl_seconds`).
    pub fn key(&self) -> Option<&'static str> {
        match self {
            ConfigError::Value { key, .. } | ConfigError::SecretFile { key, .. } => Some(key),
            _ => None,
        }
    }
}
