//! The programmable rate limits' part of the store's vocabulary (issue 26): rate limits and their
//! buckets, and the creates counted per rate limit and value. Counting and recording run inside
//! the write transaction that issues the code, so two servers on one database cannot both take a
//! bucket's last place. Each store implements it with its own SQL
//! ([`super::sqlite::rate_limits`], [`super::postgres::rate_limits`]).

use chrono::{DateTime, Utc};

use super::Result;
use crate::domain::rate_limits::{Bucket, BucketUse, RateLimit};

/// What a use case asks of the rate limits inside one transaction.
pub trait RateTx {
    /// Every rate limit, oldest first.
    fn rate_limits(&mut self) -> Result<Vec<RateLimit>>;
    /// One rate limit by its `RK…` SID or its `UniqueName`.
    fn rate_limit(&mut self, sid_or_name: &str) -> Result<Option<RateLimit>>;
    fn insert_rate_limit(&mut self, r: &RateLimit) -> Result<()>;
    /// Sets a rate limit's description; `false` if there is no such rate limit.
    fn update_rate_limit(
        &mut self,
        sid: &str,
        description: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Deletes a rate limit with its buckets and counts; `false` if there was none.
    fn delete_rate_limit(&mut self, sid: &str) -> Result<bool>;
    /// A rate limit's buckets, shortest interval first.
    fn buckets(&mut self, rate_limit_sid: &str) -> Result<Vec<Bucket>>;
    fn insert_bucket(&mut self, b: &Bucket) -> Result<()>;
    /// Sets a bucket's `max`, `interval` and `updated_at`; `false` if there is no such bucket.
    fn update_bucket(&mut self, b: &Bucket) -> Result<bool>;
    fn delete_bucket(&mut self, rate_limit_sid: &str, sid: &str) -> Result<bool>;
    /// The creates counted for one value of a rate limit after `since` (counting stops at
    /// `max`), and the `max`-th newest of them.
    fn bucket_use(
        &mut self,
        rate_limit_sid: &str,
        value_key: &str,
        since: DateTime<Utc>,
        max: u32,
    ) -> Result<BucketUse>;
    /// A rate limit's counts after `since`, for `otpd limits`: creates, the distinct values
    /// they came under, and the most creates of any one value.
    fn window_counts(
        &mut self,
        rate_limit_sid: &str,
        since: DateTime<Utc>,
    ) -> Result<(u32, u32, u32)>;
    /// Counts one create for one value of a rate limit (and forgets counts older than any
    /// bucket can look back).
    fn record_hit(
        &mut self,
        rate_limit_sid: &str,
        value_key: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
}
