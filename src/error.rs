//! Operational errors (as opposed to refusals, which are `Outcome`s) and their exit statuses.

use crate::config::ConfigError;
use crate::crypto::{HashError, SecretError};
use crate::domain::outcome::exit;
use crate::service::ServiceError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
}

impl From<ServiceError> for Error {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Store(s) => Error::Store(s),
            ServiceError::Hash(h) => Error::Hash(h),
        }
    }
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Secret(_) | Error::Usage(_) => exit::USAGE,
            Error::Store(_) => exit::STORAGE,
            Error::Hash(_) | Error::Io(_) => exit::INTERNAL,
        }
    }

    /// A stable name for JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) | Error::Secret(_) => "config_error",
            Error::Usage(_) => "usage_error",
            Error::Store(_) => "storage_error",
            Error::Hash(_) | Error::Io(_) => "internal_error",
        }
    }
}
