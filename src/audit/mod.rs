//! The audit log as people and programs use it: list and filter, verify the MAC chain, print
//! and record its head, per-day statistics, export, and pruning with retention. The chain
//! itself (append, canonical encoding) lives in `store`, and every read goes through the store
//! seam's vocabulary (`store::AuditTx`), so the review works on any `store::Backend`; all
//! wording lives in [`render`]. The commands borrow what they need as an [`AuditCx`]; the
//! application builds it (and does the head-file bookkeeping around `prune`).

pub mod args;
pub mod export;
pub mod head;
pub mod prune;
pub mod query;
pub mod render;
pub mod rollup;
pub mod stats;
pub mod verify;
pub mod watch;
pub mod when;
pub mod zone;

use std::io::Write;

use chrono::{DateTime, Utc};

pub use args::{AuditArgs, AuditCommand, PruneArgs};
pub use zone::Zone;

use crate::config::AuditConfig;
use crate::crypto::Secrets;
use crate::domain::outcome::exit;
use crate::error::Error;
use crate::store::Backend;

/// What an audit command borrows from the running application.
pub struct AuditCx<'a> {
    pub store: &'a mut dyn Backend,
    pub secrets: &'a Secrets,
    /// `[audit]`: the head file `verify --head-file` reads by default, the retention.
    pub config: &'a AuditConfig,
    /// This station, recorded on the anchor event `prune` appends.
    pub station: &'a str,
    pub now: DateTime<Utc>,
    /// The zone times are shown and read in (the terminal's, through a server).
    pub zone: Zone,
    /// The region `--phone` reads national numbers in (`--region`, `OTPD_REGION`,
    /// `[phone] default_region`).
    pub region: Option<crate::domain::Region>,
}

/// Runs a parsed `audit` command.
pub fn execute(
    cx: AuditCx<'_>,
    args: &AuditArgs,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let now = cx.now;
    match &args.command {
        None => list(cx, &args.list, json, out),
        Some(AuditCommand::List(l)) => list(cx, l, json, out),
        Some(AuditCommand::Verify(v)) => {
            let (head, head_file) = head::for_verify(v, cx.config)?;
            let mut report = verify::verify(cx.store, cx.secrets, head.as_ref())?;
            report.head_file = head_file;
            emit(
                out,
                &if json {
                    render::verify_json(&report)
                } else {
                    render::verify_text(&report)
                },
            )?;
            Ok(if report.broken.is_some() {
                exit::REFUSED
            } else {
                exit::OK
            })
        }
        Some(AuditCommand::Head) => {
            let head = cx.store.snapshot(|tx| tx.audit_head())?;
            emit(out, &render::head(head.as_ref(), json))?;
            Ok(exit::OK)
        }
        Some(AuditCommand::Stats(s)) => {
            let f = query::time_filter(&s.time, now, cx.zone)?;
            let days = stats::stats(cx.store, &f, cx.zone)?;
            match json {
                // One object per day; no days, no lines.
                true if days.is_empty() => {}
                true => emit(out, &render::stats_json(&days))?,
                false => emit(out, &render::stats_table(&days))?,
            }
            Ok(exit::OK)
        }
        Some(AuditCommand::Export(e)) => {
            let f = query::filter(&e.filter, cx.secrets, (now, cx.zone), cx.region)?;
            let format = if json {
                args::ExportFormat::Json
            } else {
                e.format
            };
            export::export(cx.store, &f, format, out)?;
            Ok(exit::OK)
        }
    }
}

fn list(cx: AuditCx<'_>, l: &args::ListArgs, json: bool, out: &mut dyn Write) -> Result<u8, Error> {
    let page = query::list(cx.store, cx.secrets, l, (cx.now, cx.zone), cx.region)?;
    let format = match (json, l.format) {
        (true, _) => args::ListFormat::Json,
        (false, f) => f.unwrap_or(args::ListFormat::Table),
    };
    match format {
        args::ListFormat::Table => emit(out, &render::list_table(&page, cx.zone))?,
        args::ListFormat::Json => render::list_records(&page, args::ExportFormat::Json, out)?,
        args::ListFormat::Csv => render::list_records(&page, args::ExportFormat::Csv, out)?,
    }
    Ok(exit::OK)
}

/// Runs `prune` at `cx.now` with the configured retention and this station. The caller copies
/// the audit head afterwards (`App::prune`), since prune appends an anchor event.
pub fn run_prune(
    cx: AuditCx<'_>,
    args: &PruneArgs,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let older_than =
        when::parse_age(&args.older_than).map_err(|e| crate::error::Usage::BadValue {
            flag: "--older-than",
            detail: e.to_string(),
        })?;
    let pruned = prune::prune(
        cx.store,
        cx.secrets,
        cx.station,
        older_than,
        cx.config.retention_days,
        cx.now,
    )?;
    emit(out, &render::pruned(&pruned, json))?;
    Ok(pruned.exit_code())
}

fn emit(out: &mut dyn Write, text: &str) -> Result<(), Error> {
    writeln!(out, "{text}").map_err(Error::Output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuditConfig;
    use clap::Parser;

    use crate::store::sqlite::SqliteStore;

    struct Fixture {
        store: SqliteStore,
        secrets: Secrets,
        config: AuditConfig,
    }

    fn fixture(dir: &std::path::Path) -> Fixture {
        Fixture {
            store: SqliteStore::open(&dir.join("otpd.db")).unwrap(),
            secrets: Secrets::from_master(&[7; 32]),
            config: AuditConfig {
                head_file: dir.join("audit-head.log"),
                head_every: 100,
                retention_days: None,
            },
        }
    }

    fn run_json(f: &mut Fixture, words: &[&str], json: bool) -> (Result<u8, Error>, String) {
        let cx = AuditCx {
            store: &mut f.store,
            secrets: &f.secrets,
            config: &f.config,
            station: "desk-1",
            now: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            zone: Zone::Local,
            region: None,
        };
        let argv = std::iter::once("audit").chain(words.iter().copied());
        let mut out = Vec::new();
        let r = match AuditArgs::try_parse_from(argv) {
            Ok(args) => execute(cx, &args, json, &mut out),
            Err(e) => Err(Error::Args(e)),
        };
        (r, String::from_utf8(out).unwrap())
    }

    fn run(f: &mut Fixture, words: &[&str]) -> (Result<u8, Error>, String) {
        run_json(f, words, false)
    }

    #[test]
    fn audit_words_run_the_review_and_bad_ones_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = fixture(dir.path());
        let (r, out) = run(&mut f, &[]);
        assert_eq!(r.unwrap(), 0);
        assert_eq!(out.trim(), "No audit events match.");
        let (r, out) = run(&mut f, &["verify"]);
        assert_eq!(r.unwrap(), 0);
        assert!(out.contains("intact: 0 rows"), "{out}");
        for bad in [
            &["--event", "nope"][..],
            &["verify", "--x"],
            &["--since", "later"],
        ] {
            let (r, _) = run(&mut f, bad);
            let e = r.unwrap_err();
            assert_eq!(e.exit_code(), exit::USAGE, "{bad:?}");
            let msg = e.to_string();
            assert_eq!(msg.lines().count(), 1, "{bad:?}: {msg}");
        }
        let (r, _) = run(&mut f, &["--station", "desk-9", "--format", "csv"]);
        assert_eq!(r.unwrap(), 0);
        let (r, out) = run_json(&mut f, &["stats"], true);
        assert_eq!(r.unwrap(), 0);
        assert!(out.is_empty(), "no days, no JSON lines");
    }
}
