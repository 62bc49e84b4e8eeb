//! PostgreSQL's SQL for the programmable rate limits ([`crate::store::RateTx`], migration 0011),
//! statement for statement SQLite's ([`crate::store::sqlite`]'s `rate_limits`). A create is
//! counted in the transaction that issues its code, which holds the writers' lock: exact across
//! processes and hosts sharing the database.

use chrono::{DateTime, TimeDelta, Utc};
use postgres::Row;

use super::conn::{PgResult, u32_of};
use super::tx::PgTx;
use crate::clock::{from_ms, to_ms};
use crate::domain::rate_limits::{Bucket, BucketUse, MAX_INTERVAL, RateLimit};
use crate::store::{RateTx, Result};

const LIMIT_COLS: &str = "sid, unique_name, description, created_at, updated_at";
const BUCKET_COLS: &str = "sid, rate_limit_sid, max, interval_s, created_at, updated_at";

fn rate_limit(r: &Row) -> PgResult<RateLimit> {
    Ok(RateLimit {
        sid: r.try_get(0)?,
        unique_name: r.try_get(1)?,
        description: r.try_get(2)?,
        created_at: from_ms(r.try_get(3)?),
        updated_at: from_ms(r.try_get(4)?),
    })
}

fn bucket(r: &Row) -> PgResult<Bucket> {
    Ok(Bucket {
        sid: r.try_get(0)?,
        rate_limit_sid: r.try_get(1)?,
        max: u32_of(r.try_get(2)?),
        interval: u32_of(r.try_get(3)?),
        created_at: from_ms(r.try_get(4)?),
        updated_at: from_ms(r.try_get(5)?),
    })
}

impl RateTx for PgTx<'_> {
    fn rate_limits(&mut self) -> Result<Vec<RateLimit>> {
        self.run(|c| {
            c.query(
                &format!("SELECT {LIMIT_COLS} FROM rate_limits ORDER BY created_at, sid"),
                &[],
            )?
            .iter()
            .map(rate_limit)
            .collect()
        })
    }

    fn rate_limit(&mut self, sid_or_name: &str) -> Result<Option<RateLimit>> {
        self.run(|c| {
            c.query_opt(
                &format!("SELECT {LIMIT_COLS} FROM rate_limits WHERE sid = $1 OR unique_name = $1"),
                &[&sid_or_name],
            )?
            .as_ref()
            .map(rate_limit)
            .transpose()
        })
    }

    fn insert_rate_limit(&mut self, r: &RateLimit) -> Result<()> {
        self.run(|c| {
            c.execute(
                "INSERT INTO rate_limits (sid, unique_name, description, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &r.sid,
                    &r.unique_name,
                    &r.description,
                    &to_ms(r.created_at),
                    &to_ms(r.updated_at),
                ],
            )
            .map(|_| ())
        })
    }

    fn update_rate_limit(
        &mut self,
        sid: &str,
        description: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.run(|c| {
            c.execute(
                "UPDATE rate_limits SET description = $2, updated_at = $3 WHERE sid = $1",
                &[&sid, &description, &to_ms(now)],
            )
            .map(|n| n == 1)
        })
    }

    fn delete_rate_limit(&mut self, sid: &str) -> Result<bool> {
        self.run(|c| {
            c.execute(
                "DELETE FROM rate_limit_hits WHERE rate_limit_sid = $1",
                &[&sid],
            )?;
            c.execute(
                "DELETE FROM rate_limit_buckets WHERE rate_limit_sid = $1",
                &[&sid],
            )?;
            Ok(c.execute("DELETE FROM rate_limits WHERE sid = $1", &[&sid])? == 1)
        })
    }

    fn buckets(&mut self, rate_limit_sid: &str) -> Result<Vec<Bucket>> {
        self.run(|c| {
            c.query(
                &format!(
                    "SELECT {BUCKET_COLS} FROM rate_limit_buckets WHERE rate_limit_sid = $1
                     ORDER BY interval_s, sid"
                ),
                &[&rate_limit_sid],
            )?
            .iter()
            .map(bucket)
            .collect()
        })
    }

    fn insert_bucket(&mut self, b: &Bucket) -> Result<()> {
        self.run(|c| {
            c.execute(
                "INSERT INTO rate_limit_buckets
                 (sid, rate_limit_sid, max, interval_s, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &b.sid,
                    &b.rate_limit_sid,
                    &i64::from(b.max),
                    &i64::from(b.interval),
                    &to_ms(b.created_at),
                    &to_ms(b.updated_at),
                ],
            )
            .map(|_| ())
        })
    }

    fn update_bucket(&mut self, b: &Bucket) -> Result<bool> {
        self.run(|c| {
            c.execute(
                "UPDATE rate_limit_buckets SET max = $3, interval_s = $4, updated_at = $5
                 WHERE sid = $1 AND rate_limit_sid = $2",
                &[
                    &b.sid,
                    &b.rate_limit_sid,
                    &i64::from(b.max),
                    &i64::from(b.interval),
                    &to_ms(b.updated_at),
                ],
            )
            .map(|n| n == 1)
        })
    }

    fn delete_bucket(&mut self, rate_limit_sid: &str, sid: &str) -> Result<bool> {
        self.run(|c| {
            c.execute(
                "DELETE FROM rate_limit_buckets WHERE sid = $1 AND rate_limit_sid = $2",
                &[&sid, &rate_limit_sid],
            )
            .map(|n| n == 1)
        })
    }

    fn bucket_use(
        &mut self,
        rate_limit_sid: &str,
        value_key: &str,
        since: DateTime<Utc>,
        max: u32,
    ) -> Result<BucketUse> {
        self.run(|c| {
            let filter = "rate_limit_sid = $1 AND value_key = $2 AND at > $3";
            let since = to_ms(since);
            let cap = i64::from(max);
            let count: i64 = c
                .query_one(
                    &format!(
                        "SELECT count(*) FROM (SELECT 1 FROM rate_limit_hits WHERE {filter} LIMIT $4) AS w"
                    ),
                    &[&rate_limit_sid, &value_key, &since, &cap],
                )?
                .try_get(0)?;
            let count = u32_of(count);
            let nth_newest = if max > 0 && count >= max {
                c.query_opt(
                    &format!(
                        "SELECT at FROM rate_limit_hits WHERE {filter} ORDER BY at DESC LIMIT 1 OFFSET $4"
                    ),
                    &[&rate_limit_sid, &value_key, &since, &(cap - 1)],
                )?
                .map(|r| r.try_get::<_, i64>(0))
                .transpose()?
                .map(from_ms)
            } else {
                None
            };
            Ok(BucketUse { count, nth_newest })
        })
    }

    fn window_counts(
        &mut self,
        rate_limit_sid: &str,
        since: DateTime<Utc>,
    ) -> Result<(u32, u32, u32)> {
        self.run(|c| {
            let r = c.query_one(
                "SELECT COALESCE(sum(n), 0)::BIGINT, count(*), COALESCE(max(n), 0) FROM
                 (SELECT count(*) AS n FROM rate_limit_hits
                  WHERE rate_limit_sid = $1 AND at > $2 GROUP BY value_key) AS v",
                &[&rate_limit_sid, &to_ms(since)],
            )?;
            // sum() of bigints is a numeric: cast back in the SQL.
            let total: i64 = r.try_get(0)?;
            Ok((u32_of(total), u32_of(r.try_get(1)?), u32_of(r.try_get(2)?)))
        })
    }

    fn record_hit(
        &mut self,
        rate_limit_sid: &str,
        value_key: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let oldest = to_ms(at - TimeDelta::seconds(i64::from(MAX_INTERVAL)));
        self.run(|c| {
            c.execute(
                "INSERT INTO rate_limit_hits (rate_limit_sid, value_key, at) VALUES ($1, $2, $3)",
                &[&rate_limit_sid, &value_key, &to_ms(at)],
            )?;
            c.execute("DELETE FROM rate_limit_hits WHERE at <= $1", &[&oldest])?;
            Ok(())
        })
    }
}
