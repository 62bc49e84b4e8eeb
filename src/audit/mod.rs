//! The audit log as people and programs use it: list and filter, verify the MAC chain, print
//! and record its head, per-day statistics, export, and pruning with retention. The chain
//! itself (append, canonical encoding) and every audit SQL statement live in `store`; all
//! wording lives in [`render`].

pub mod args;
pub mod export;
pub mod head;
pub mod prune;
pub mod query;
pub mod render;
pub mod stats;
pub mod verify;
pub mod when;

use std::io::Write;

use clap::Parser;

pub use args::{AuditArgs, AuditCommand, PruneArgs};

use crate::app::App;
use crate::domain::outcome::exit;
use crate::error::Error;
use crate::store::audit;

/// Runs `audit …` from the prompt: `words` are everything after the word `audit`, parsed with
/// the same definitions as the command line. A parse error comes back as one line
/// ([`Error::Usage`]); `--help` prints the help.
pub fn run_audit(
    app: &mut App,
    words: &[String],
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let argv = std::iter::once("audit").chain(words.iter().map(String::as_str));
    match AuditArgs::try_parse_from(argv) {
        Ok(args) => execute(app, &args, json, out),
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                emit(out, e.render().to_string().trim_end())?;
                Ok(exit::OK)
            }
            _ => Err(Error::Usage(render::parse_error(&e.render().to_string()))),
        },
    }
}

/// Runs a parsed `audit` command.
pub fn execute(
    app: &mut App,
    args: &AuditArgs,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let now = app.clock.now();
    match &args.command {
        None => list(app, &args.list, json, out, now),
        Some(AuditCommand::List(l)) => list(app, l, json, out, now),
        Some(AuditCommand::Verify(v)) => {
            let (head, head_file) = head::for_verify(v, &app.config.audit).map_err(Error::Usage)?;
            let mut report = verify::verify(&mut app.store, &app.secrets, head.as_ref())?;
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
            let head = app.store.read(|tx| audit::head(tx))?;
            emit(out, &render::head(head.as_ref(), json))?;
            Ok(exit::OK)
        }
        Some(AuditCommand::Stats(s)) => {
            let f = query::time_filter(&s.time, now)?;
            let days = stats::stats(&mut app.store, &f)?;
            match json {
                // One object per day; no days, no lines.
                true if days.is_empty() => {}
                true => emit(out, &render::stats_json(&days))?,
                false => emit(out, &render::stats_table(&days))?,
            }
            Ok(exit::OK)
        }
        Some(AuditCommand::Export(e)) => {
            let f = query::time_filter(&e.time, now)?;
            let format = if json {
                args::ExportFormat::Json
            } else {
                e.format
            };
            export::export(&mut app.store, &f, format, out)?;
            Ok(exit::OK)
        }
    }
}

fn list(
    app: &mut App,
    l: &args::ListArgs,
    json: bool,
    out: &mut dyn Write,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u8, Error> {
    let page = query::list(&mut app.store, &app.secrets, l, now)?;
    let format = match (json, l.format) {
        (true, _) => args::ListFormat::Json,
        (false, f) => f.unwrap_or(args::ListFormat::Table),
    };
    match format {
        args::ListFormat::Table => emit(out, &render::list_table(&page))?,
        args::ListFormat::Json => render::list_records(&page, args::ExportFormat::Json, out)?,
        args::ListFormat::Csv => render::list_records(&page, args::ExportFormat::Csv, out)?,
    }
    Ok(exit::OK)
}

/// Runs `prune` with the application's clock, configuration and station.
pub fn run_prune(
    app: &mut App,
    args: &PruneArgs,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let now = app.clock.now();
    let older_than = when::parse_age(&args.older_than)
        .map_err(|e| Error::Usage(format!("--older-than: {e}")))?;
    let watch = head::watch(&mut app.store, &app.config.audit);
    let pruned = prune::prune(
        &mut app.store,
        &app.secrets,
        &app.config.station,
        older_than,
        app.config.audit.retention_days,
        now,
    );
    if let Some(w) = head::checkpoint(&mut app.store, &app.config.audit, watch, now) {
        app.warnings.push(w);
    }
    let pruned = pruned?;
    emit(out, &render::pruned(&pruned, json))?;
    Ok(pruned.exit_code())
}

fn emit(out: &mut dyn Write, text: &str) -> Result<(), Error> {
    writeln!(out, "{text}").map_err(|e| Error::Io(format!("cannot write output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::config::{Config, Dirs, Overrides};

    fn app(dir: &std::path::Path) -> App {
        std::fs::write(dir.join("otpd.toml"), "").unwrap();
        let config = Config::load(
            &Overrides {
                config: Some(dir.join("otpd.toml")),
                database: Some(dir.join("otpd.db")),
                secret_file: Some(dir.join("secret.key")),
                ..Overrides::default()
            },
            &Dirs {
                config: dir.join("config"),
                data: dir.join("data"),
                state: dir.join("state"),
            },
        )
        .unwrap();
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        App::open(config, Box::new(FixedClock(now))).unwrap()
    }

    fn run(app: &mut App, words: &[&str]) -> (Result<u8, Error>, String) {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        let mut out = Vec::new();
        let r = run_audit(app, &words, false, &mut out);
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_prompt_entry_point_parses_words_and_reports_bad_ones_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = app(dir.path());
        let (r, out) = run(&mut app, &[]);
        assert_eq!(r.unwrap(), 0);
        assert_eq!(out.trim(), "No audit events match.");
        let (r, out) = run(&mut app, &["verify"]);
        assert_eq!(r.unwrap(), 0);
        assert!(out.contains("intact: 0 rows"), "{out}");
        let (r, out) = run(&mut app, &["--help"]);
        assert_eq!(r.unwrap(), 0);
        assert!(out.contains("--phone") && out.contains("verify"), "{out}");
        for bad in [
            &["--event", "nope"][..],
            &["verify", "--x"],
            &["--since", "later"],
        ] {
            let (r, _) = run(&mut app, bad);
            let e = r.unwrap_err();
            assert_eq!(e.exit_code(), exit::USAGE, "{bad:?}");
            let msg = e.to_string();
            assert_eq!(msg.lines().count(), 1, "{bad:?}: {msg}");
        }
        let (r, _) = run(&mut app, &["--station", "desk-9", "--format", "csv"]);
        assert_eq!(r.unwrap(), 0);
        let words: Vec<String> = vec!["stats".into()];
        let mut out = Vec::new();
        assert_eq!(run_audit(&mut app, &words, true, &mut out).unwrap(), 0);
        assert!(out.is_empty(), "no days, no JSON lines");
    }
}
