//! The sentences of the operational failures raised below the core: the configuration, the
//! master secret, argon2 and the store name what failed as a value; this is where each is
//! worded (never with a secret's value: paths, keys and the server's own words only).

use std::fmt;

use crate::config::ConfigError;
use crate::crypto::{HashError, MIN_SECRET_LEN, SecretError};
use crate::store::StoreError;

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, detail } => write!(
                f,
                "cannot read the configuration file {}: {detail}",
                path.display()
            ),
            ConfigError::Parse { path, detail } => write!(
                f,
                "the configuration file {} is not valid: {detail}",
                path.display()
            ),
            ConfigError::Value {
                key,
                value,
                expected,
            } => write!(f, "invalid configuration: {key} = {value}: {expected}"),
            ConfigError::Missing { what, missing } => {
                write!(f, "cannot start {what}: missing {missing}")
            }
            ConfigError::SecretFile { key, path, detail } => {
                write!(f, "cannot use {key} {}: {detail}", path.display())
            }
            ConfigError::Message(e) => write!(f, "invalid configuration: {e}"),
            ConfigError::NoHome => f.write_str(
                "cannot find a home directory for otpd's files; set --db and OTPD_SECRET_FILE",
            ),
        }
    }
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::EnvTooShort => write!(
                f,
                "OTPD_SECRET is too short: it must be at least {MIN_SECRET_LEN} bytes"
            ),
            SecretError::Unsafe { path, problem } => write!(
                f,
                "cannot use the secret key file {}: {problem}",
                path.display()
            ),
            SecretError::Unstable { path, attempts } => write!(
                f,
                "the secret key file {} kept appearing and vanishing while otpd tried {attempts} times to read or create it; check what else writes to that folder",
                path.display()
            ),
            SecretError::FileTooShort(path) => write!(
                f,
                "the secret key file {} is too short: it must hold at least {MIN_SECRET_LEN} bytes",
                path.display()
            ),
            SecretError::Io { path, source } => write!(
                f,
                "cannot read or create the secret key file {}: {source}",
                path.display()
            ),
        }
    }
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "argon2 failed: {}", self.detail())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StoreError as S;
        match self {
            S::TooNew {
                path,
                found,
                supported,
            } => write!(
                f,
                "the database {} was written by a newer otpd (schema {found}, this binary knows up to {supported}); upgrade otpd",
                path.display()
            ),
            S::Corrupt { path, detail } => write!(
                f,
                "the database {} is damaged or is not an otpd database; it was left untouched ({detail})",
                path.display()
            ),
            S::ReadOnly { path } => write!(
                f,
                "the database {} cannot be written (read-only file or folder)",
                path.display()
            ),
            S::Full { path } => write!(
                f,
                "the disk holding {} is full; nothing was changed",
                path.display()
            ),
            S::Busy { path, why } => write!(
                f,
                "the database {} is busy: {why}; try again",
                path.display()
            ),
            S::Open { path, detail } => {
                write!(f, "cannot open the database {}: {detail}", path.display())
            }
            S::Other { path, detail } => {
                write!(f, "database error on {}: {detail}", path.display())
            }
            S::ReadOnlyServer { path } => write!(
                f,
                "the database server {} is read-only (default_transaction_read_only or a standby); otpd needs to write there, nothing was changed",
                path.display()
            ),
            S::Connection { path, detail } => write!(
                f,
                "cannot reach the database server {} or the connection was lost: {detail}; the command was not completed",
                path.display()
            ),
            S::NoPassword { path } => write!(
                f,
                "the database server {} asks for a password and none is set: set PGPASSWORD, [database] password_file, or a line in PGPASSFILE (default ~/.pgpass, mode 0600)",
                path.display()
            ),
            S::Conflict { path, detail } => write!(
                f,
                "the database {} kept reporting conflicting writers ({detail}); try again",
                path.display()
            ),
        }
    }
}
