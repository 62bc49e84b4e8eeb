//! What `otpd store copy` says: how many rows of each table it copied and where, or that it
//! refused a target holding data.

use std::path::Path;

use crate::app::Serving;
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

/// What the printed check command checks the copy against: the head file if there is one,
/// else the newest head the copy took from the original.
pub struct Check<'a> {
    pub head_file: Option<&'a Path>,
    pub head: Option<&'a (i64, String)>,
}

impl Check<'_> {
    /// The command that verifies the copy at `to` (already shown safely).
    fn command(&self, to: &str) -> String {
        let against = match (self.head_file, self.head) {
            (Some(f), _) => format!(" --head-file {}", sanitize(&f.display().to_string())),
            (None, Some((id, mac))) => format!(" --head {id}:{mac}"),
            (None, None) => String::new(),
        };
        format!("otpd --db {to} audit verify{against}")
    }
}

/// The warning `otpd store copy` gives when a server is still marked as serving the original.
pub fn still_served(s: &Serving) -> String {
    super::error::warning(&format!(
        "warning: otpd serve (process {} on {}, since {}) is still using this store; what it writes after this copy will not be in the copy: stop it, copy into a new store again, then start it on the copy",
        s.pid,
        s.host,
        s.since.format("%Y-%m-%d %H:%M UTC")
    ))
}

/// One line of text, or one JSON object.
pub fn copied(c: &Copied, to: &Path, check: &Check<'_>, json: bool) -> String {
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
                "check": check.command(&to),
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
                "Copied {total} rows into {to} ({}). Check it with `{}`.",
                each.join(", "),
                check.command(&to)
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
