//! What `otpd store copy` says: how many rows of each table it copied and where, or that it
//! refused a target holding data.

use std::path::Path;

use crate::domain::outcome::exit;
use crate::sanitize::sanitize;
use crate::store::copy::Copied;

/// The exit status: 0 copied, 1 refused.
pub fn exit_code(c: &Copied) -> u8 {
    match c {
        Copied::Done(_) => exit::OK,
        Copied::TargetNotEmpty => exit::REFUSED,
    }
}

/// One line of text, or one JSON object.
pub fn copied(c: &Copied, to: &Path, json: bool) -> String {
    let to = sanitize(&to.display().to_string());
    match (c, json) {
        (Copied::Done(tables), true) => {
            let counts: serde_json::Map<String, serde_json::Value> = tables
                .iter()
                .map(|(t, n)| (t.name().to_string(), (*n).into()))
                .collect();
            serde_json::json!({
                "outcome": "store_copied",
                "to": to,
                "rows": tables.iter().map(|(_, n)| n).sum::<u64>(),
                "tables": counts,
            })
            .to_string()
        }
        (Copied::Done(tables), false) => {
            let total: u64 = tables.iter().map(|(_, n)| n).sum();
            let each: Vec<String> = tables
                .iter()
                .map(|(t, n)| format!("{} {n}", t.name()))
                .collect();
            format!(
                "Copied {total} rows into {to} ({}). Check it with `otpd --db {to} audit verify --head-file`.",
                each.join(", ")
            )
        }
        (Copied::TargetNotEmpty, true) => serde_json::json!({
            "outcome": "store_copy_refused",
            "to": to,
            "message": refused(&to),
        })
        .to_string(),
        (Copied::TargetNotEmpty, false) => refused(&to),
    }
}

fn refused(to: &str) -> String {
    format!(
        "Nothing was copied: {to} already holds otpd data. `otpd store copy` fills only a new or empty store."
    )
}
