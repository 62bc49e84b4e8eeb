//! What the audit pages of `otpd serve` keep in a store ([`ReviewTx`]): their sessions (only a
//! keyed hash of each token, beside the key that signed in) and the audit log's per-bucket
//! rollup with the row id it has counted through, so the statistics never rescan the whole
//! log. Each store answers with its own SQL (`sqlite::review`, `postgres::review`).

use super::Result;
use super::audit_query::BucketCount;

/// One audit-page session as stored. Times are UTC milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub key_sid: String,
    pub created_at: i64,
    pub last_seen: i64,
    pub ended_at: Option<i64>,
}

/// The audit pages' part of a transaction.
pub trait ReviewTx {
    /// Stores a new session under its token's hash.
    fn insert_session(&mut self, token_hash: &str, key_sid: &str, now_ms: i64) -> Result<()>;
    /// The session stored under `token_hash`.
    fn session(&mut self, token_hash: &str) -> Result<Option<StoredSession>>;
    /// Records a request at `now_ms` (the idle limit counts from it).
    fn touch_session(&mut self, token_hash: &str, now_ms: i64) -> Result<()>;
    /// Ends a live session; `true` if it was live.
    fn end_session(&mut self, token_hash: &str, now_ms: i64) -> Result<bool>;
    /// Deletes the sessions created before `cutoff_ms` (long over); returns how many.
    fn delete_sessions_before(&mut self, cutoff_ms: i64) -> Result<usize>;

    /// The audit row id the rollup has counted through (0: none), locking the mark for this
    /// write transaction so two folds never count a row twice.
    fn rollup_mark(&mut self) -> Result<i64>;
    /// Adds `counts` (negative ones take away) to the rollup and sets its mark to `mark`.
    fn rollup_add(&mut self, counts: &[BucketCount], mark: i64) -> Result<()>;
    /// The rollup's counts of buckets `since..until` (open ends when `None`), by bucket.
    fn rollup_counts(&mut self, since: Option<i64>, until: Option<i64>)
    -> Result<Vec<BucketCount>>;
    /// Per (bucket, event) counts of every row with `after_id < id <= through_id`; the bucket
    /// is `at / bucket_ms` rounded towards zero, as in [`super::AuditTx::audit_bucket_counts`].
    fn bucket_counts_by_id(
        &mut self,
        after_id: i64,
        through_id: i64,
        bucket_ms: i64,
    ) -> Result<Vec<BucketCount>>;
}
