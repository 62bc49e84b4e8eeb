//! The `--json` shapes: one object per outcome or error, on one line.

use crate::domain::Outcome;
use crate::error::Error;
use crate::sanitize::sanitize;

/// The outcome as one JSON object (no newline).
pub fn json(o: &Outcome) -> String {
    serde_json::to_string(o).unwrap_or_else(|_| format!("{{\"outcome\":\"{}\"}}", o.name()))
}

/// An error as one JSON object.
pub fn error_json(e: &Error) -> String {
    serde_json::json!({
        "outcome": "error",
        "error": e.kind(),
        "message": sanitize(&e.to_string()),
        "exit_code": e.exit_code(),
    })
    .to_string()
}
