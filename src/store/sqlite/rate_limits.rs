//! SQLite's SQL for the programmable rate limits ([`crate::store::RateTx`], migration 0011), on
//! the caller's transaction: a create is counted in the `BEGIN IMMEDIATE` transaction that
//! issues its code, so concurrent creates are counted one after another.

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::tx::SqliteTx;
use crate::clock::{from_ms, to_ms};
use crate::domain::rate_limits::{Bucket, BucketUse, MAX_INTERVAL, RateLimit};
use crate::store::{RateTx, Result};

const LIMIT_COLS: &str = "sid, unique_name, description, created_at, updated_at";
const BUCKET_COLS: &str = "sid, rate_limit_sid, max, interval_s, created_at, updated_at";

fn rate_limit(r: &Row<'_>) -> rusqlite::Result<RateLimit> {
    Ok(RateLimit {
        sid: r.get(0)?,
        unique_name: r.get(1)?,
        description: r.get(2)?,
        created_at: from_ms(r.get(3)?),
        updated_at: from_ms(r.get(4)?),
    })
}

fn bucket(r: &Row<'_>) -> rusqlite::Result<Bucket> {
    Ok(Bucket {
        sid: r.get(0)?,
        rate_limit_sid: r.get(1)?,
        max: r.get(2)?,
        interval: r.get(3)?,
        created_at: from_ms(r.get(4)?),
        updated_at: from_ms(r.get(5)?),
    })
}

impl RateTx for SqliteTx<'_> {
    fn rate_limits(&mut self) -> Result<Vec<RateLimit>> {
        let c = self.conn();
        let r = c
            .prepare_cached(&format!(
                "SELECT {LIMIT_COLS} FROM rate_limits ORDER BY created_at, sid"
            ))
            .and_then(|mut s| s.query_map([], rate_limit)?.collect());
        self.ok(r)
    }

    fn rate_limit(&mut self, sid_or_name: &str) -> Result<Option<RateLimit>> {
        let c = self.conn();
        let r = c
            .prepare_cached(&format!(
                "SELECT {LIMIT_COLS} FROM rate_limits WHERE sid = ?1 OR unique_name = ?1"
            ))
            .and_then(|mut s| s.query_row([sid_or_name], rate_limit).optional());
        self.ok(r)
    }

    fn insert_rate_limit(&mut self, r: &RateLimit) -> Result<()> {
        let c = self.conn();
        let done = c.execute(
            "INSERT INTO rate_limits (sid, unique_name, description, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                r.sid,
                r.unique_name,
                r.description,
                to_ms(r.created_at),
                to_ms(r.updated_at)
            ],
        );
        self.ok(done.map(|_| ()))
    }

    fn update_rate_limit(
        &mut self,
        sid: &str,
        description: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let c = self.conn();
        let n = c.execute(
            "UPDATE rate_limits SET description = ?2, updated_at = ?3 WHERE sid = ?1",
            params![sid, description, to_ms(now)],
        );
        self.ok(n.map(|n| n == 1))
    }

    fn delete_rate_limit(&mut self, sid: &str) -> Result<bool> {
        let c = self.conn();
        let n = c
            .execute(
                "DELETE FROM rate_limit_hits WHERE rate_limit_sid = ?1",
                [sid],
            )
            .and_then(|_| {
                c.execute(
                    "DELETE FROM rate_limit_buckets WHERE rate_limit_sid = ?1",
                    [sid],
                )
            })
            .and_then(|_| c.execute("DELETE FROM rate_limits WHERE sid = ?1", [sid]));
        self.ok(n.map(|n| n == 1))
    }

    fn buckets(&mut self, rate_limit_sid: &str) -> Result<Vec<Bucket>> {
        let c = self.conn();
        let r = c
            .prepare_cached(&format!(
                "SELECT {BUCKET_COLS} FROM rate_limit_buckets WHERE rate_limit_sid = ?1
                 ORDER BY interval_s, sid"
            ))
            .and_then(|mut s| s.query_map([rate_limit_sid], bucket)?.collect());
        self.ok(r)
    }

    fn insert_bucket(&mut self, b: &Bucket) -> Result<()> {
        let c = self.conn();
        let done = c.execute(
            "INSERT INTO rate_limit_buckets
             (sid, rate_limit_sid, max, interval_s, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                b.sid,
                b.rate_limit_sid,
                b.max,
                b.interval,
                to_ms(b.created_at),
                to_ms(b.updated_at)
            ],
        );
        self.ok(done.map(|_| ()))
    }

    fn update_bucket(&mut self, b: &Bucket) -> Result<bool> {
        let c = self.conn();
        let n = c.execute(
            "UPDATE rate_limit_buckets SET max = ?3, interval_s = ?4, updated_at = ?5
             WHERE sid = ?1 AND rate_limit_sid = ?2",
            params![
                b.sid,
                b.rate_limit_sid,
                b.max,
                b.interval,
                to_ms(b.updated_at)
            ],
        );
        self.ok(n.map(|n| n == 1))
    }

    fn delete_bucket(&mut self, rate_limit_sid: &str, sid: &str) -> Result<bool> {
        let c = self.conn();
        let n = c.execute(
            "DELETE FROM rate_limit_buckets WHERE sid = ?1 AND rate_limit_sid = ?2",
            [sid, rate_limit_sid],
        );
        self.ok(n.map(|n| n == 1))
    }

    fn bucket_use(
        &mut self,
        rate_limit_sid: &str,
        value_key: &str,
        since: DateTime<Utc>,
        max: u32,
    ) -> Result<BucketUse> {
        let c = self.conn();
        let r = (|| -> rusqlite::Result<BucketUse> {
            let filter = "rate_limit_sid = ?1 AND value_key = ?2 AND at > ?3";
            let count: u32 = c
                .prepare_cached(&format!(
                    "SELECT count(*) FROM (SELECT 1 FROM rate_limit_hits WHERE {filter} LIMIT ?4)"
                ))?
                .query_row(
                    params![rate_limit_sid, value_key, to_ms(since), i64::from(max)],
                    |r| r.get(0),
                )?;
            let nth_newest = if max > 0 && count >= max {
                c.prepare_cached(&format!(
                    "SELECT at FROM rate_limit_hits WHERE {filter} ORDER BY at DESC LIMIT 1 OFFSET ?4"
                ))?
                .query_row(
                    params![rate_limit_sid, value_key, to_ms(since), i64::from(max) - 1],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
                .map(from_ms)
            } else {
                None
            };
            Ok(BucketUse { count, nth_newest })
        })();
        self.ok(r)
    }

    fn window_counts(
        &mut self,
        rate_limit_sid: &str,
        since: DateTime<Utc>,
    ) -> Result<(u32, u32, u32)> {
        let c = self.conn();
        let r = c
            .prepare_cached(
                "SELECT COALESCE(sum(n), 0), count(*), COALESCE(max(n), 0) FROM
                 (SELECT count(*) AS n FROM rate_limit_hits
                  WHERE rate_limit_sid = ?1 AND at > ?2 GROUP BY value_key) AS v",
            )
            .and_then(|mut s| {
                s.query_row(params![rate_limit_sid, to_ms(since)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
            });
        self.ok(r)
    }

    fn record_hit(
        &mut self,
        rate_limit_sid: &str,
        value_key: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let c = self.conn();
        let oldest = at - TimeDelta::seconds(i64::from(MAX_INTERVAL));
        let r = c
            .prepare_cached(
                "INSERT INTO rate_limit_hits (rate_limit_sid, value_key, at) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![rate_limit_sid, value_key, to_ms(at)]))
            .and_then(|_| {
                c.prepare_cached("DELETE FROM rate_limit_hits WHERE at <= ?1")
                    .and_then(|mut s| s.execute([to_ms(oldest)]))
            });
        self.ok(r.map(|_| ()))
    }
}
