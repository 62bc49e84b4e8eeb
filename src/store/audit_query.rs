//! The audit review's vocabulary ([`AuditTx`]): the chain head and anchor, single rows, paged
//! scans in id order (the chain verifier, exports), the filtered newest-first listing, the
//! per-bucket counts behind `audit stats`, and retention's cut. Every store answers it inside
//! one of its transactions with its own SQL (SQLite: `sqlite::audit`, `sqlite::audit_query`,
//! `sqlite::retention`), shaped to use an index so a million-row log answers a page as fast as
//! a hundred-row one.

use super::Result;
use super::audit::{Anchor, AuditBatch, AuditRow};
use super::retention::Cut;
use crate::crypto::Secrets;

/// Which rows a listing, an export or the statistics cover. Times are UTC milliseconds;
/// `until_ms` is exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub phone_key: Option<String>,
    pub station: Option<String>,
    /// Stored event names; empty means every event.
    pub events: Vec<&'static str>,
    /// The stored outcome (`ok`, `refused`, `failed`).
    pub outcome: Option<&'static str>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Keyset pagination: only rows with a smaller id (the next page of a newest-first list).
    pub before_id: Option<i64>,
}

/// How many rows of one event fall in one time bucket (`bucket` = `at / bucket_ms`, rounded
/// towards zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketCount {
    pub bucket: i64,
    pub event: String,
    pub count: i64,
}

/// What the audit review asks of a store inside one transaction (every [`super::Tx`] is one).
/// The reads work in a read or a write transaction; the retention methods only in a write one.
pub trait AuditTx {
    /// The newest row's id and MAC (the chain's head), if the log holds any row.
    fn audit_head(&mut self) -> Result<Option<(i64, String)>>;
    /// The newest row's id alone, 0 when the log is empty (cheap: one index end).
    fn audit_head_id(&mut self) -> Result<i64>;
    /// The smallest id in the log, if any.
    fn audit_min_id(&mut self) -> Result<Option<i64>>;
    /// One row by id.
    fn audit_row(&mut self, id: i64) -> Result<Option<AuditRow>>;
    /// The first row after `id`, if any.
    fn audit_next_row(&mut self, id: i64) -> Result<Option<AuditRow>>;
    /// The smallest id of a row whose MAC is `mac` (a full scan: only to explain a break).
    fn audit_id_with_mac(&mut self, mac: &str) -> Result<Option<i64>>;
    /// The newest retention anchor (highest `seq`), if the chain was ever truncated.
    fn audit_latest_anchor(&mut self) -> Result<Option<Anchor>>;
    /// Clears `out`, then fills it with up to `limit` rows matching `filter` whose id is above
    /// `after_id` (every row when `None`), in ascending id order. `filter.before_id` applies
    /// too. A row whose fields cannot be read as what otpd writes goes in as
    /// [`AuditBatch::push_unreadable`]. Fewer than `limit` rows means the end was reached.
    fn audit_scan(
        &mut self,
        filter: &Filter,
        after_id: Option<i64>,
        limit: usize,
        out: &mut AuditBatch,
    ) -> Result<()>;
    /// The newest `limit` rows matching `filter`, newest first.
    fn audit_list(&mut self, filter: &Filter, limit: i64) -> Result<Vec<AuditRow>>;
    /// Per (bucket, event) counts of the rows whose event is one of `events`, with
    /// `since_ms <= at < until_ms` (open ends when `None`), ordered by bucket.
    fn audit_bucket_counts(
        &mut self,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        bucket_ms: i64,
        events: &[&'static str],
    ) -> Result<Vec<BucketCount>>;

    // Retention (write transactions only).
    /// The longest prefix of the chain whose rows are all dated before `cutoff_ms` (a row dated
    /// later stops it, whatever follows), or `None` when no row qualifies. Reads only.
    fn audit_plan_cut(&mut self, cutoff_ms: i64) -> Result<Option<Cut>>;
    /// Deletes the rows of `cut` and inserts an anchor (the last removed row's id and MAC,
    /// sealed with [`super::audit::anchor_mac`] at `now_ms`); returns it. The caller has
    /// verified the chain through the first kept row in this same transaction.
    fn audit_truncate(&mut self, secrets: &Secrets, cut: Cut, now_ms: i64) -> Result<Anchor>;
    /// Deletes verifications that are finished (approved, failed, cancelled, or pending but
    /// expired at `now_ms`) and whose code expired before `cutoff_ms`; returns how many. Never
    /// touches audit rows.
    fn delete_finished_challenges(&mut self, cutoff_ms: i64, now_ms: i64) -> Result<usize>;
}
