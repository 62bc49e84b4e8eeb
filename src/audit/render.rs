//! Every word the audit commands show people, and their JSON shapes: the event table, the
//! verification verdict, the statistics table with its bar chart, the prune summary.

use std::io::Write;

use chrono::{Local, SecondsFormat};
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use super::args::ExportFormat;
use super::export::Writer;
use super::head::HeadFile;
use super::prune::{Outcome as PruneOutcome, Pruned};
use super::query::Page;
use super::stats::{self, Day, LOW_CONVERSION};
use super::verify::{Broken, HeadStatus, Problem, Report};
use super::zone::Zone;
use crate::clock::from_ms;
use crate::error::Error;
use crate::sanitize::{sanitize, truncate};

/// The longest detail shown in the table (the full text is in json/csv).
const DETAIL_WIDTH: usize = 60;
/// The widest bar of the statistics chart.
const BAR_WIDTH: i64 = 24;

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

/// The event listing as a table, newest first, with how to see the next page.
pub fn list_table(page: &Page, zone: Zone) -> String {
    if page.rows.is_empty() {
        return "No audit events match.".into();
    }
    let mut t = table(&[
        "#", "Time", "Station", "Event", "Phone", "Outcome", "Detail",
    ]);
    for r in &page.rows {
        t.add_row(vec![
            r.id.to_string(),
            zone.wall(from_ms(r.at))
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            sanitize(&r.station),
            sanitize(&r.event),
            r.phone_masked.as_deref().map(sanitize).unwrap_or_default(),
            sanitize(&r.outcome),
            truncate(&sanitize(&r.detail), DETAIL_WIDTH),
        ]);
    }
    if let Some(c) = t.column_mut(0) {
        c.set_cell_alignment(CellAlignment::Right);
    }
    let mut s = t.to_string();
    let n = page.rows.len();
    if page.more
        && let Some(last) = page.rows.last()
    {
        s.push_str(&format!(
            "\n{n} newest matching events shown; older ones: add --before {}",
            last.id
        ));
    } else {
        s.push_str(&format!(
            "\n{n} matching event{}.",
            if n == 1 { "" } else { "s" }
        ));
    }
    s
}

/// The listing as JSON lines or CSV (the export record shape).
pub fn list_records(page: &Page, format: ExportFormat, out: &mut dyn Write) -> Result<(), Error> {
    let mut w = Writer::new(format, out);
    for r in &page.rows {
        w.write(&r.as_ref())?;
    }
    w.finish()
}

fn problem_text(row: i64, p: &Problem) -> String {
    match p {
        Problem::Changed => format!("row {row} was changed: its contents no longer match its MAC"),
        Problem::Deleted { from, to } if from == to => {
            format!("row {from} was deleted: it is missing from the chain")
        }
        Problem::Deleted { from, to } => {
            format!("rows {from}–{to} were deleted: they are missing from the chain")
        }
        Problem::PredecessorMissing => format!(
            "row {row} links to a row that is no longer in the log: rows before it were deleted and the rest renumbered"
        ),
        Problem::Inserted => {
            format!("row {row} was inserted: it is not part of the chain (nothing links to it)")
        }
        Problem::Reordered { follows } => format!(
            "row {row} was reordered: its contents belong after row {follows}, not after row {}",
            row - 1
        ),
        Problem::Truncated { head_id, last_id } => format!(
            "the log was truncated: it ends at row {last_id}, but the recorded head says row {head_id} existed (row {row} onwards deleted)"
        ),
        Problem::HeadMismatch => format!(
            "row {row} does not carry the recorded head's MAC: the log was rewritten, or the head belongs to another database"
        ),
        Problem::AnchorChanged => format!(
            "the retention anchor before row {row} was edited or forged: its seal does not match"
        ),
    }
}

/// The first line of a broken verdict, shared by `audit verify` and a refused `prune`.
fn not_intact(b: &Broken) -> String {
    format!("Audit log NOT intact: {}.", problem_text(b.row, &b.problem))
}

/// What the head file contributed, as a sentence to append (empty when none was involved).
fn head_file_text(r: &Report) -> String {
    match &r.head_file {
        Some(HeadFile::Consulted(p)) => format!(
            " Checked against the newest head in the head file {}.",
            sanitize(&p.display().to_string())
        ),
        Some(HeadFile::Missing(p)) => format!(
            " There is no head file at {} yet: rows deleted from the end of the log would go unnoticed.",
            sanitize(&p.display().to_string())
        ),
        None => String::new(),
    }
}

/// The verdict of `audit verify` for people.
pub fn verify_text(r: &Report) -> String {
    let secs = r.elapsed.as_secs_f64();
    if let Some(b) = &r.broken {
        // The head file is named when it is what found the break.
        let against_head = matches!(b.problem, Problem::Truncated { .. } | Problem::HeadMismatch);
        // Nothing verifies under another master secret: the first thing checked (the first
        // row, or the retention anchor before it) fails.
        let first_changed =
            r.rows == 0 && matches!(b.problem, Problem::Changed | Problem::AnchorChanged);
        return format!(
            "{} ({} row{} before it verified.){}{}",
            not_intact(b),
            r.rows,
            if r.rows == 1 { "" } else { "s" },
            if against_head {
                head_file_text(r)
            } else {
                String::new()
            },
            if first_changed {
                " The first row failing can also mean that the master secret (OTPD_SECRET or its key file) is not the one that wrote the log."
            } else {
                ""
            }
        );
    }
    let mut s = match (r.first_id, r.last_id) {
        (Some(a), Some(b)) => format!(
            "Audit log intact: {} rows (#{a}–#{b}) verified in {secs:.2} s.",
            r.rows
        ),
        _ => "Audit log intact: 0 rows (nothing recorded yet).".to_string(),
    };
    if let Some(a) = r.anchor_last_id {
        s.push_str(&format!(
            " Rows up to #{a} were removed by retention; the chain starts at its sealed anchor."
        ));
    }
    match &r.head {
        Some((h, HeadStatus::Matches)) => {
            s.push_str(&format!(" The recorded head #{} matches.", h.id))
        }
        Some((h, HeadStatus::BeforeAnchor)) => s.push_str(&format!(
            " The recorded head #{} was removed by retention; the anchor covers it.",
            h.id
        )),
        None => {}
    }
    s.push_str(&head_file_text(r));
    s
}

/// The verdict as one JSON object.
pub fn verify_json(r: &Report) -> String {
    let mut v = serde_json::json!({
        "outcome": if r.broken.is_some() { "audit_broken" } else { "audit_intact" },
        "rows": r.rows,
        "first_id": r.first_id,
        "last_id": r.last_id,
        "anchor_last_id": r.anchor_last_id,
        "elapsed_ms": r.elapsed.as_millis() as u64,
    });
    if let Some((h, status)) = &r.head {
        v["head"] = serde_json::json!({"id": h.id, "status": status});
    }
    match &r.head_file {
        Some(HeadFile::Consulted(p)) => v["head_file"] = sanitize(&p.display().to_string()).into(),
        Some(HeadFile::Missing(p)) => {
            v["head_file_missing"] = sanitize(&p.display().to_string()).into()
        }
        None => {}
    }
    if let Some(b) = &r.broken {
        v["row"] = b.row.into();
        v["problem"] = b.problem.name().into();
        v["message"] = problem_text(b.row, &b.problem).into();
    }
    v.to_string()
}

/// `audit head`: `ID:MAC` alone (so it can be pasted into `verify --head`), or JSON. The MAC
/// comes from the database, so it is sanitised like any stored text.
pub fn head(head: Option<&(i64, String)>, json: bool) -> String {
    let head = head.map(|(id, mac)| (id, sanitize(mac)));
    match (head, json) {
        (Some((id, mac)), false) => format!("{id}:{mac}"),
        (None, false) => "The audit log is empty.".into(),
        (Some((id, mac)), true) => {
            serde_json::json!({"outcome": "audit_head", "id": id, "mac": mac}).to_string()
        }
        (None, true) => serde_json::json!({"outcome": "audit_head", "id": null}).to_string(),
    }
}

fn plural(n: i64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub fn percent(c: Option<f64>) -> String {
    c.map(|c| format!("{:.0}%", c * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// A bar as wide as `sends` relative to `max`: approvals solid, the rest shaded.
fn bar(d: &Day, max: i64) -> String {
    if max <= 0 || d.sends <= 0 {
        return String::new();
    }
    let width = ((d.sends * BAR_WIDTH + max - 1) / max).max(1);
    let solid = (d.approvals.min(d.sends) * width / d.sends).min(width);
    format!(
        "{}{}",
        "█".repeat(solid as usize),
        "░".repeat((width - solid) as usize)
    )
}

/// The per-day statistics with a bar chart and low-conversion flags.
pub fn stats_table(days: &[Day]) -> String {
    if days.is_empty() {
        return "No sends or verifications in this period.".into();
    }
    let mut t = table(&[
        "Day",
        "Sends",
        "Approved",
        "Failures",
        "Lockouts",
        "Rate-limited",
        "SMS segments",
        "Conversion",
        "Sends (█ approved)",
    ]);
    let max = days.iter().map(|d| d.sends).max().unwrap_or(0);
    for d in days {
        let conv = if d.low_conversion {
            format!("{} ⚠", percent(d.conversion))
        } else {
            percent(d.conversion)
        };
        t.add_row(vec![
            d.day.format("%a %Y-%m-%d").to_string(),
            d.sends.to_string(),
            d.approvals.to_string(),
            d.failures.to_string(),
            d.lockouts.to_string(),
            d.rate_limited.to_string(),
            d.sms_segments.to_string(),
            conv,
            bar(d, max),
        ]);
    }
    for i in 1..=7 {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let total = stats::total(days);
    let mut s = t.to_string();
    s.push_str(&format!(
        "\nTotal: {}, {} approved ({} conversion), {}, {}, {} rate-limited, {}.",
        plural(total.sends, "send"),
        total.approvals,
        percent(total.conversion),
        plural(total.failures, "failure"),
        plural(total.lockouts, "lockout"),
        total.rate_limited,
        plural(total.sms_segments, "SMS segment"),
    ));
    let low = days.iter().filter(|d| d.low_conversion).count();
    if low > 0 {
        s.push_str(&format!(
            "\n⚠ {low} day{} below {:.0}% conversion: many codes sent that nobody typed back can mean SMS pumping (fraudulent sends to premium numbers).",
            if low == 1 { "" } else { "s" },
            LOW_CONVERSION * 100.0
        ));
    }
    s
}

/// The statistics as JSON lines, one per day.
pub fn stats_json(days: &[Day]) -> String {
    days.iter()
        .map(|d| {
            serde_json::json!({
                "day": d.day.to_string(),
                "sends": d.sends,
                "approvals": d.approvals,
                "failures": d.failures,
                "lockouts": d.lockouts,
                "rate_limited": d.rate_limited,
                "sms_segments": d.sms_segments,
                "conversion": d.conversion,
                "low_conversion": d.low_conversion,
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What `prune` removed, or why it removed nothing.
pub fn pruned(o: &PruneOutcome, json: bool) -> String {
    match o {
        PruneOutcome::Pruned(p) => pruned_text(p, json),
        PruneOutcome::Refused(b) if json => serde_json::json!({
            "outcome": "prune_refused",
            "row": b.row,
            "problem": b.problem.name(),
            "message": problem_text(b.row, &b.problem),
        })
        .to_string(),
        PruneOutcome::Refused(b) => format!(
            "{} Nothing was pruned: removing old rows now would erase the evidence (`otpd audit verify` says the same).",
            not_intact(b)
        ),
    }
}

fn pruned_text(p: &Pruned, json: bool) -> String {
    if json {
        let mut v = serde_json::to_value(p).unwrap_or_default();
        v["outcome"] = "pruned".into();
        v["cutoff"] = p.cutoff.to_rfc3339_opts(SecondsFormat::Secs, true).into();
        return v.to_string();
    }
    let mut s = format!(
        "Removed {} finished verification{} whose codes expired before {} (older than {}). Audit rows are kept.",
        p.challenges,
        if p.challenges == 1 { "" } else { "s" },
        p.cutoff.with_timezone(&Local).format("%Y-%m-%d %H:%M"),
        crate::message::when::duration(p.older_than_seconds),
    );
    match (p.retention_days, p.anchored_at) {
        (Some(days), Some(at)) => s.push_str(&format!(
            "\nAudit retention ({days} days): removed {} audit rows up to #{at}; `audit verify` checks the rest from the sealed anchor.",
            p.audit_rows_removed
        )),
        (Some(days), None) => s.push_str(&format!(
            "\nAudit retention ({days} days): no audit rows are old enough to remove."
        )),
        (None, _) => {}
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn bars_scale_to_the_busiest_day() {
        let day = |sends, approvals| Day {
            day: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            sends,
            approvals,
            ..Day::default()
        };
        assert_eq!(
            bar(&day(10, 5), 10),
            format!("{}{}", "█".repeat(12), "░".repeat(12))
        );
        assert_eq!(bar(&day(1, 0), 100), "░");
        assert_eq!(bar(&day(0, 0), 100), "");
        assert_eq!(bar(&day(4, 9), 4), "█".repeat(24));
    }
}
