//! The per-bucket counts behind `audit stats` and the stats page, kept in the store's rollup
//! (`store::ReviewTx`) so a view never rescans the whole log: a view first folds the rows
//! appended since the rollup's mark (in one write transaction, under the mark's lock), then
//! reads whole buckets from the rollup and only the partial buckets at the edges of its time
//! bounds from the log. Retention takes away what it removes ([`forget`]); a copied store
//! starts with an empty rollup and folds its log on its first view. Exact: the figures are
//! those of a full scan.

use crate::message::segments::segments_in_detail;
use crate::store::audit::{AuditBatch, Event};
use crate::store::audit_query::{BucketCount, Filter};
use crate::store::{Result, Tx};

/// Counting granularity: every real time-zone offset is a multiple of 15 minutes, so buckets
/// this wide fall wholly inside one local day.
pub const BUCKET_MS: i64 = 15 * 60 * 1000;

/// The pseudo-event the SMS segments are counted as.
pub const SEGMENTS: &str = "sms_segments";

/// Folds every row the rollup has not counted yet; returns the new mark.
pub fn catch_up(tx: &mut dyn Tx) -> Result<i64> {
    let mark = tx.rollup_mark()?;
    let head = tx.audit_head_id()?;
    if head <= mark {
        return Ok(mark);
    }
    let mut counts = tx.bucket_counts_by_id(mark, head, BUCKET_MS)?;
    counts.extend(segments(tx, mark, head)?);
    tx.rollup_add(&counts, head)?;
    Ok(head)
}

/// Takes the rows `id <= through` (about to be removed by retention) out of the rollup,
/// as far as it counted them. Call in the write transaction that removes them.
pub fn forget(tx: &mut dyn Tx, through: i64) -> Result<()> {
    let mark = tx.rollup_mark()?;
    let upto = through.min(mark);
    if upto <= 0 {
        return Ok(());
    }
    let mut counts = tx.bucket_counts_by_id(0, upto, BUCKET_MS)?;
    counts.extend(segments(tx, 0, upto)?);
    for c in &mut counts {
        c.count = -c.count;
    }
    tx.rollup_add(&counts, mark)
}

/// The SMS segments the `delivered` rows with `after < id <= through` record, per bucket.
fn segments(tx: &mut dyn Tx, after: i64, through: i64) -> Result<Vec<BucketCount>> {
    let f = Filter {
        before_id: Some(through.saturating_add(1)),
        ..Filter::default()
    };
    segments_in(tx, f, Some(after))
}

/// The SMS segments the `delivered` rows matching `f` (its time and id bounds) record, per
/// bucket, read page after page.
fn segments_in(tx: &mut dyn Tx, f: Filter, after: Option<i64>) -> Result<Vec<BucketCount>> {
    const PAGE: usize = 4096;
    let f = Filter {
        events: vec![Event::Delivered.as_str()],
        ..f
    };
    let mut page = AuditBatch::default();
    let mut cursor = after;
    let mut out: Vec<BucketCount> = Vec::new();
    loop {
        tx.audit_scan(&f, cursor, PAGE, &mut page)?;
        for row in page.iter() {
            match row {
                Ok(r) => {
                    cursor = Some(r.id);
                    if let Some(n) = segments_in_detail(r.detail) {
                        let bucket = r.at / BUCKET_MS;
                        match out.last_mut() {
                            Some(last) if last.bucket == bucket => last.count += n,
                            _ => out.push(BucketCount {
                                bucket,
                                event: SEGMENTS.to_string(),
                                count: n,
                            }),
                        }
                    }
                }
                Err(id) => cursor = Some(id),
            }
        }
        if page.len() < PAGE {
            return Ok(out);
        }
    }
}

/// The counts of `events` (and the segments) for `since_ms <= at < until_ms`: whole buckets
/// from the rollup (caught up first), the partial buckets at either edge from the log.
pub fn counts(
    tx: &mut dyn Tx,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    events: &[&'static str],
) -> Result<Vec<BucketCount>> {
    let mark = catch_up(tx)?;
    // The whole buckets inside the bounds: [lo, hi).
    let lo = since_ms.map(|s| ceil_div(s, BUCKET_MS));
    let hi = until_ms.map(|u| u.div_euclid(BUCKET_MS));
    let mut out = Vec::new();
    let whole = match (lo, hi) {
        (Some(lo), Some(hi)) => lo < hi,
        _ => true,
    };
    if !whole {
        // Both bounds inside one bucket (or two neighbours): count from the log alone.
        return edge(tx, since_ms, until_ms, events, mark);
    }
    out.extend(
        tx.rollup_counts(lo, hi)?
            .into_iter()
            .filter(|c| c.event == SEGMENTS || events.contains(&c.event.as_str())),
    );
    if let (Some(s), Some(lo)) = (since_ms, lo)
        && s < lo * BUCKET_MS
    {
        out.extend(edge(tx, Some(s), Some(lo * BUCKET_MS), events, mark)?);
    }
    if let (Some(u), Some(hi)) = (until_ms, hi)
        && hi * BUCKET_MS < u
    {
        out.extend(edge(tx, Some(hi * BUCKET_MS), Some(u), events, mark)?);
    }
    out.sort_by_key(|c| c.bucket);
    Ok(out)
}

/// Counts straight from the log (its rows through `mark`, the head just caught up).
fn edge(
    tx: &mut dyn Tx,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    events: &[&'static str],
    mark: i64,
) -> Result<Vec<BucketCount>> {
    let mut out = tx.audit_bucket_counts(since_ms, until_ms, BUCKET_MS, events)?;
    let f = Filter {
        since_ms,
        until_ms,
        before_id: Some(mark.saturating_add(1)),
        ..Filter::default()
    };
    out.extend(segments_in(tx, f, None)?);
    Ok(out)
}

fn ceil_div(a: i64, b: i64) -> i64 {
    let q = a.div_euclid(b);
    if a.rem_euclid(b) == 0 { q } else { q + 1 }
}
