//! The clap definitions of `otpd audit …` and `otpd prune`, shared by the command line and the
//! prompt (which parses the words after `audit` with the same definitions).

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::store::audit::Event;

/// Review, verify and export the audit log. Without a subcommand: list events, newest first.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "audit",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_version_flag = true
)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AuditCommand {
    /// List events, newest first (the default)
    List(ListArgs),
    /// Recompute the whole MAC chain; exit 1 naming the first bad row
    Verify(VerifyArgs),
    /// Print the latest row's id and MAC (keep a copy elsewhere to detect a deleted tail)
    Head,
    /// Per-day sends, approvals, failures, lockouts, rate limits and conversion
    Stats(StatsArgs),
    /// Stream every event (oldest first) as CSV or JSON lines, for spreadsheets and SIEMs
    Export(ExportArgs),
}

/// Time bounds, shared by list, stats and export.
#[derive(Debug, Clone, Default, Args)]
pub struct TimeArgs {
    /// Only events at or after T: RFC 3339, a date (2026-11-28, local midnight) or an age
    /// (30m, 2h, 7d, 2w)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only events before T (same forms as --since)
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

/// Which events: the filter options `audit` (list) and `audit export` share, and the query
/// parameters of the audit pages are named after.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only this phone number's events (matched through its keyed hash)
    #[arg(long, num_args = 1.., value_name = "PHONE")]
    pub phone: Option<Vec<String>>,
    /// Only this station's events
    #[arg(long, value_name = "NAME")]
    pub station: Option<String>,
    /// Only these events (repeatable): sent, resent, delivered, approved, invalid, …
    #[arg(long = "event", value_name = "EVENT", value_parser = parse_event)]
    pub events: Vec<Event>,
    /// Only events with this outcome: ok, refused or failed
    #[arg(long, value_name = "OUTCOME", value_parser = parse_outcome)]
    pub outcome: Option<&'static str>,
    #[command(flatten)]
    pub time: TimeArgs,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// How many events to show
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub limit: u32,
    /// Show events older than row ID (the next page)
    #[arg(long, value_name = "ID")]
    pub before: Option<i64>,
    /// table, json (one object per line) or csv
    #[arg(long, value_enum)]
    pub format: Option<ListFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Clone, Default, Args)]
pub struct VerifyArgs {
    /// Also check that row ID still exists with this MAC (from `audit head` or the head file)
    #[arg(long, value_name = "ID:MAC")]
    pub head: Option<String>,
    /// Check against the newest head recorded in a head file [default: `[audit] head_file`,
    /// which is consulted whenever it exists even without this option]
    #[arg(long, value_name = "PATH", num_args = 0..=1, conflicts_with = "head")]
    pub head_file: Option<Option<std::path::PathBuf>>,
    /// Check the chain alone: do not consult the configured head file
    #[arg(long, conflicts_with_all = ["head", "head_file"])]
    pub no_head_file: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub time: TimeArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// csv or json (one object per line)
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Delete finished verifications older than an age; with `[audit] retention_days`, also old
/// audit rows (leaving a sealed anchor).
#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// An age such as 30d, 12h or 2w
    #[arg(long, value_name = "AGE", default_value = "30d")]
    pub older_than: String,
}

/// On the command line `--station` is also the global "name of this terminal" option, read from
/// `OTPD_STATION` when not typed. That value must not silently become an audit filter: keep
/// `--station` only when it was typed.
pub fn drop_station_from_env(args: &mut AuditArgs, matches: &clap::ArgMatches) {
    let Some(m) = matches.subcommand_matches("audit") else {
        return;
    };
    let typed = |m: &clap::ArgMatches| {
        m.value_source("station") == Some(clap::parser::ValueSource::CommandLine)
    };
    if !typed(m) {
        args.list.filter.station = None;
    }
    match (&mut args.command, m.subcommand()) {
        (Some(AuditCommand::List(l)), Some(("list", sub))) if !typed(sub) => {
            l.filter.station = None
        }
        (Some(AuditCommand::Export(e)), Some(("export", sub))) if !typed(sub) => {
            e.filter.station = None
        }
        _ => {}
    }
}

impl AuditArgs {
    /// The words that parse back into these arguments (after `audit`): what a remote terminal
    /// sends to the server, which parses them with these same definitions.
    pub fn words(&self) -> Vec<String> {
        let mut w = Vec::new();
        match &self.command {
            None => self.list.push_words(&mut w),
            Some(AuditCommand::List(l)) => {
                w.push("list".into());
                l.push_words(&mut w);
            }
            Some(AuditCommand::Verify(v)) => {
                w.push("verify".into());
                if let Some(h) = &v.head {
                    w.extend(["--head".into(), h.clone()]);
                }
                match &v.head_file {
                    Some(Some(p)) => {
                        w.extend(["--head-file".into(), p.to_string_lossy().into_owned()])
                    }
                    Some(None) => w.push("--head-file".into()),
                    None => {}
                }
                if v.no_head_file {
                    w.push("--no-head-file".into());
                }
            }
            Some(AuditCommand::Head) => w.push("head".into()),
            Some(AuditCommand::Stats(s)) => {
                w.push("stats".into());
                s.time.push_words(&mut w);
            }
            Some(AuditCommand::Export(e)) => {
                w.push("export".into());
                let format = match e.format {
                    ExportFormat::Csv => "csv",
                    ExportFormat::Json => "json",
                };
                w.extend(["--format".into(), format.into()]);
                e.filter.push_words(&mut w);
            }
        }
        w
    }
}

impl TimeArgs {
    fn push_words(&self, w: &mut Vec<String>) {
        for (flag, v) in [("--since", &self.since), ("--until", &self.until)] {
            if let Some(v) = v {
                w.extend([flag.to_string(), v.clone()]);
            }
        }
    }
}

impl FilterArgs {
    fn push_words(&self, w: &mut Vec<String>) {
        if let Some(phone) = &self.phone {
            w.push("--phone".into());
            w.extend(phone.iter().cloned());
        }
        if let Some(s) = &self.station {
            w.extend(["--station".into(), s.clone()]);
        }
        for e in &self.events {
            w.extend(["--event".into(), e.as_str().into()]);
        }
        if let Some(o) = self.outcome {
            w.extend(["--outcome".into(), o.into()]);
        }
        self.time.push_words(w);
    }
}

impl ListArgs {
    fn push_words(&self, w: &mut Vec<String>) {
        self.filter.push_words(w);
        w.extend(["--limit".into(), self.limit.to_string()]);
        if let Some(b) = self.before {
            w.extend(["--before".into(), b.to_string()]);
        }
        if let Some(f) = self.format {
            let f = match f {
                ListFormat::Table => "table",
                ListFormat::Json => "json",
                ListFormat::Csv => "csv",
            };
            w.extend(["--format".into(), f.into()]);
        }
    }
}

/// The names of the filter options, as the audit pages' query parameters spell them.
pub const FILTER_NAMES: [&str; 6] = ["event", "phone", "station", "outcome", "since", "until"];

impl ListArgs {
    /// The listing a page's query asks for: each parameter named as the option of `otpd audit`
    /// it stands for (`event` repeatable, blank ones ignored), plus `before` (the next page)
    /// and `limit`, read by the same clap definitions so a shared link lists exactly what the
    /// command with those options lists. Anything else is refused with one line.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ListArgs, String> {
        let mut words: Vec<String> = vec!["audit".into()];
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if !FILTER_NAMES.contains(&name) && !["before", "limit"].contains(&name) {
                return Err(format!(
                    "\"{}\" is not a filter; use {}, before or limit",
                    crate::sanitize::sanitize(&crate::sanitize::truncate(name, 40)),
                    FILTER_NAMES.join(", ")
                ));
            }
            // `--name=value`: a value that starts with '-' stays a value.
            words.push(format!("--{name}={value}"));
        }
        let args = AuditArgs::try_parse_from(&words).map_err(|e| {
            let text = e.kind().to_string();
            // clap's own sentence, first line only, with the option's value in it.
            let detail = e
                .to_string()
                .lines()
                .next()
                .map(|l| l.trim_start_matches("error: ").to_string())
                .unwrap_or(text);
            crate::sanitize::sanitize(&detail)
        })?;
        Ok(args.list)
    }

    /// The query parameters that give this listing back (the inverse of [`Self::from_pairs`]),
    /// without `before` and `limit`.
    pub fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        let f = &self.filter;
        let mut out = Vec::new();
        for e in &f.events {
            out.push(("event", e.as_str().to_string()));
        }
        if let Some(p) = &f.phone {
            out.push(("phone", p.join(" ")));
        }
        if let Some(s) = &f.station {
            out.push(("station", s.clone()));
        }
        if let Some(o) = f.outcome {
            out.push(("outcome", o.to_string()));
        }
        if let Some(s) = &f.time.since {
            out.push(("since", s.clone()));
        }
        if let Some(u) = &f.time.until {
            out.push(("until", u.clone()));
        }
        out
    }
}

/// The outcomes stored beside events.
pub const OUTCOMES: [&str; 3] = ["ok", "refused", "failed"];

fn parse_outcome(s: &str) -> Result<&'static str, String> {
    OUTCOMES
        .into_iter()
        .find(|o| *o == s)
        .ok_or_else(|| "unknown outcome; use one of: ok, refused, failed".to_string())
}

/// An event by its stored name, or the sentence that lists the names.
pub fn parse_event(s: &str) -> Result<Event, String> {
    Event::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
        format!("unknown event; use one of: {}", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<AuditArgs, clap::Error> {
        AuditArgs::try_parse_from(std::iter::once("audit").chain(words.iter().copied()))
    }

    #[test]
    fn list_is_the_default_and_subcommands_parse() {
        let a = parse(&["--event", "sent", "--event", "approved", "--limit", "5"]).unwrap();
        assert!(a.command.is_none());
        assert_eq!(a.list.filter.events, [Event::Sent, Event::Approved]);
        assert_eq!(a.list.limit, 5);
        let a = parse(&[]).unwrap();
        assert_eq!(a.list.limit, 50);
        let a = parse(&["verify", "--head", "3:ab"]).unwrap();
        assert!(
            matches!(a.command, Some(AuditCommand::Verify(v)) if v.head.as_deref() == Some("3:ab"))
        );
        let a = parse(&["export", "--format", "json", "--since", "7d"]).unwrap();
        assert!(
            matches!(a.command, Some(AuditCommand::Export(e)) if e.format == ExportFormat::Json)
        );
    }

    #[test]
    fn words_parse_back_into_the_same_arguments() {
        let cases: &[&[&str]] = &[
            &[],
            &[
                "--event", "sent", "--phone", "+1", "415", "555", "2671", "--limit", "5",
            ],
            &[
                "list",
                "--station",
                "desk 2",
                "--since",
                "7d",
                "--format",
                "csv",
            ],
            &["verify", "--head", "3:ab"],
            &["verify", "--head-file"],
            &["verify", "--no-head-file"],
            &["head"],
            &["stats", "--until", "2026-11-28"],
            &["export", "--format", "json"],
            &[
                "export",
                "--event",
                "sent",
                "--station",
                "lobby",
                "--outcome",
                "ok",
                "--phone",
                "+1",
                "202",
                "555",
                "0123",
                "--since",
                "7d",
            ],
            &["--outcome", "refused"],
        ];
        for words in cases {
            let a = parse(words).unwrap();
            let again = a.words();
            let again: Vec<&str> = again.iter().map(String::as_str).collect();
            let b = parse(&again).unwrap();
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{words:?}");
        }
    }

    #[test]
    fn a_page_query_reads_as_the_options_of_the_same_names() {
        let a = ListArgs::from_pairs([
            ("event", "sent"),
            ("event", "delivered"),
            ("station", "-lobby"),
            ("phone", "+1 202 555 0123"),
            ("outcome", "ok"),
            ("since", "7d"),
            ("until", ""),
            ("before", "90"),
        ])
        .unwrap();
        assert_eq!(a.filter.events, [Event::Sent, Event::Delivered]);
        assert_eq!(a.filter.station.as_deref(), Some("-lobby"));
        assert_eq!(a.filter.outcome, Some("ok"));
        assert_eq!(a.filter.time.until, None);
        assert_eq!(a.before, Some(90));
        let back = a.filter_pairs();
        let again = ListArgs::from_pairs(back.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(format!("{:?}", again.filter), format!("{:?}", a.filter));
        for (bad, says) in [
            (("event", "nope"), "approved"),
            (("outcome", "meh"), "ok, refused, failed"),
            (("sort", "id"), "is not a filter"),
            (("before", "x"), "x"),
        ] {
            let e = ListArgs::from_pairs([bad]).unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn bad_words_are_refused() {
        let cases: &[&[&str]] = &[
            &["--event", "nope"],
            &["--limit", "0"],
            &["--format", "xml"],
            &["verify", "--bogus"],
            &["stats", "--phone", "x"],
            &["--outcome", "maybe"],
            &["export", "--limit", "3"],
        ];
        for words in cases {
            assert!(parse(words).is_err(), "{words:?}");
        }
        let err = parse(&["--event", "nope"]).unwrap_err().to_string();
        assert!(err.contains("approved"), "{err}");
    }
}
