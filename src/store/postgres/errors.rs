//! What PostgreSQL's errors mean for the person running otpd: a SQLSTATE (or a lost
//! connection) becomes the [`StoreError`] that says what to fix. Only the server's primary
//! message is quoted, never its `DETAIL`, which may echo row values.

use std::path::Path;

use postgres::error::SqlState;

use crate::store::StoreError;

impl StoreError {
    pub(crate) fn from_postgres(path: &Path, e: &postgres::Error) -> Self {
        let path = path.to_path_buf();
        let Some(db) = e.as_db_error() else {
            // The client's own words name only the step ("error connecting to server"); its
            // source says why (refused, timed out, no TLS on the server…).
            let mut detail = e.to_string();
            if let Some(cause) = std::error::Error::source(e) {
                detail = format!("{detail}: {cause}");
            }
            let detail = crate::sanitize::sanitize(&detail);
            // No server answer: the connection failed (TLS included), closed or timed out —
            // unless a value could not be converted (a column altered behind otpd's back).
            let conversion = detail.starts_with("error deserializing")
                || detail.starts_with("error serializing");
            // The client's words when the server asked for a password it was not given.
            if detail.contains("password missing") {
                return StoreError::NoPassword { path };
            }
            return if conversion {
                StoreError::Corrupt { path, detail }
            } else {
                StoreError::Connection { path, detail }
            };
        };
        let detail = crate::sanitize::sanitize(db.message());
        let code = db.code();
        match code {
            c if *c == SqlState::READ_ONLY_SQL_TRANSACTION => StoreError::ReadOnlyServer { path },
            c if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                StoreError::Conflict { path, detail }
            }
            c if *c == SqlState::DISK_FULL || *c == SqlState::OUT_OF_MEMORY => {
                StoreError::Full { path }
            }
            // `lock_timeout` and `statement_timeout` ran out (or an operator cancelled the
            // statement): nothing was changed, and the same request may well pass shortly.
            c if *c == SqlState::LOCK_NOT_AVAILABLE => StoreError::Busy {
                path,
                why: "another session held a lock otpd needs past database.lock_timeout_ms".into(),
            },
            c if *c == SqlState::QUERY_CANCELED => StoreError::Busy {
                path,
                why: "a statement ran past database.statement_timeout_ms or was cancelled".into(),
            },
            c if *c == SqlState::DATA_CORRUPTED
                || *c == SqlState::INDEX_CORRUPTED
                || *c == SqlState::UNDEFINED_TABLE
                || *c == SqlState::UNDEFINED_COLUMN =>
            {
                StoreError::Corrupt { path, detail }
            }
            c if c.code().starts_with("08") || c.code().starts_with("57P") => {
                StoreError::Connection { path, detail }
            }
            c if c.code().starts_with("28") || *c == SqlState::INVALID_CATALOG_NAME => {
                StoreError::Open { path, detail }
            }
            _ => StoreError::Other { path, detail },
        }
    }
}
