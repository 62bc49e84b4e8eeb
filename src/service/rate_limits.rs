//! Programmable rate limits (issue 26): managing rate limits and their buckets (admins only,
//! each change audited as `service_changed`), and the check a create naming `RateLimits` passes
//! — counted in the same write transaction as the send's own limits, so concurrent creates,
//! from any number of servers on one database, never exceed a bucket.

use chrono::{DateTime, TimeDelta, Utc};
use rand::CryptoRng;

use super::refusal::Refusal;
use super::{Ctx, Result, Service};
use crate::domain::limits::{Limit, LimitRefusal, Wait};
use crate::domain::rate_limits::{
    self, Bucket, MAX_BUCKETS, MAX_RATE_LIMITS, RateKey, RateLimit, RateLimitError,
};
use crate::domain::{PhoneNumber, Privilege};
use crate::store::audit::Event;
use crate::store::{StoreError, Tx};

type StoreResult<T> = std::result::Result<T, StoreError>;

/// Why a rate-limit request was not done: the caller may not, or a rule refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    Forbidden(Privilege),
    Rule(RateLimitError),
}

/// A managed resource, or why not.
pub type Managed<T> = std::result::Result<T, Denied>;

/// A rate limit with its buckets.
pub type WithBuckets = (RateLimit, Vec<Bucket>);

fn sid<R: CryptoRng + ?Sized>(rng: &mut R, prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

fn rule<T>(e: RateLimitError) -> StoreResult<Managed<T>> {
    Ok(Err(Denied::Rule(e)))
}

impl Service<'_> {
    fn manage(&self) -> Managed<()> {
        self.cx
            .caller
            .require(Privilege::ManageService)
            .map_err(Denied::Forbidden)
    }

    /// Every rate limit, with its buckets.
    pub fn rate_limits(&mut self) -> Result<Managed<Vec<WithBuckets>>> {
        if let Err(d) = self.manage() {
            return Ok(Err(d));
        }
        Ok(self.store.snapshot(|tx| {
            let mut all = Vec::new();
            for r in tx.rate_limits()? {
                let buckets = tx.buckets(&r.sid)?;
                all.push((r, buckets));
            }
            Ok(Ok(all))
        })?)
    }

    /// One rate limit by its SID or `UniqueName`, with its buckets.
    pub fn rate_limit(&mut self, sid: &str) -> Result<Managed<WithBuckets>> {
        if let Err(d) = self.manage() {
            return Ok(Err(d));
        }
        Ok(self.store.snapshot(|tx| match tx.rate_limit(sid)? {
            Some(r) => {
                let buckets = tx.buckets(&r.sid)?;
                Ok(Ok((r, buckets)))
            }
            None => rule(RateLimitError::NotFound),
        })?)
    }

    pub fn create_rate_limit<R: CryptoRng + ?Sized>(
        &mut self,
        now: DateTime<Utc>,
        rng: &mut R,
        name: &str,
        description: Option<&str>,
    ) -> Result<Managed<RateLimit>> {
        if let Err(d) = self.manage() {
            return Ok(Err(d));
        }
        if let Err(e) = rate_limits::check_name(name)
            .and_then(|()| description.map_or(Ok(()), rate_limits::check_description))
        {
            return Ok(Err(Denied::Rule(e)));
        }
        let new = RateLimit {
            sid: sid(rng, "RK"),
            unique_name: name.to_string(),
            description: description.map(str::to_string),
            created_at: now,
            updated_at: now,
        };
        let cx = self.cx;
        Ok(self.store.transaction(|tx| {
            if tx.rate_limit(name)?.is_some() {
                return rule(RateLimitError::NameTaken);
            }
            if tx.rate_limits()?.len() >= MAX_RATE_LIMITS {
                return rule(RateLimitError::TooManyRateLimits);
            }
            tx.insert_rate_limit(&new)?;
            let detail = format!("rate limit {} ({}) created", new.sid, new.unique_name);
            cx.record(tx, now, Event::ServiceChanged, None, None, detail)?;
            Ok(Ok(new.clone()))
        })?)
    }

    pub fn update_rate_limit(
        &mut self,
        now: DateTime<Utc>,
        sid: &str,
        description: Option<&str>,
    ) -> Result<Managed<RateLimit>> {
        if let Err(d) = self.manage() {
            return Ok(Err(d));
        }
        if let Some(Err(e)) = description.map(rate_limits::check_description) {
            return Ok(Err(Denied::Rule(e)));
        }
        let cx = self.cx;
        Ok(self.store.transaction(|tx| {
            let Some(r) = tx.rate_limit(sid)? else {
                return rule(RateLimitError::NotFound);
            };
            let description = description.or(r.description.as_deref());
            tx.update_rate_limit(&r.sid, description, now)?;
            let detail = format!("rate limit {} ({}) updated", r.sid, r.unique_name);
            cx.record(tx, now, Event::ServiceChanged, None, None, detail)?;
            Ok(Ok(RateLimit {
                description: description.map(str::to_string),
                updated_at: now,
                ..r
            }))
        })?)
    }

    pub fn delete_rate_limit(&mut self, now: DateTime<Utc>, sid: &str) -> Result<Managed<()>> {
        if let Err(d) = self.manage() {
            return Ok(Err(d));
        }
        let cx = self.cx;
        Ok(self.store.transaction(|tx| {
            let Some(r) = tx.rate_limit(sid)? else {
                return rule(RateLimitError::NotFound);
            };
            tx.delete_rate_limit(&r.sid)?;
            let detail = format!("rate limit {} ({}) deleted", r.sid, r.unique_name);
            cx.record(tx, now, Event::ServiceChanged, None, None, detail)?;
            Ok(Ok(()))
        })?)
    }

    /// One bucket of a rate limit.
    pub fn bucket(&mut self, rate_limit: &str, sid: &str) -> Result<Managed<Bucket>> {
        Ok(self.rate_limit(rate_limit)?.and_then(|(_, buckets)| {
            buckets
                .into_iter()
                .find(|b| b.sid == sid)
                .ok_or(Denied::Rule(RateLimitError::NotFound))
        }))
    }

    pub fn create_bucket<R: CryptoRng + ?Sized>(
        &mut self,
        now: DateTime<Utc>,
        rng: &mut R,
        rate_limit: &str,
        max: u32,
        interval: u32,
    ) -> Result<Managed<Bucket>> {
        if let Err(d) = self.manage() {
            return Ok(Err(d));
        }
        if let Err(e) = rate_limits::check_bucket(max, interval) {
            return Ok(Err(Denied::Rule(e)));
        }
        let fresh = sid(rng, "BL");
        let cx = self.cx;
        Ok(self.store.transaction(|tx| {
            let Some(r) = tx.rate_limit(rate_limit)? else {
                return rule(RateLimitError::NotFound);
            };
            let buckets = tx.buckets(&r.sid)?;
            if buckets.iter().any(|b| b.interval == interval) {
                return rule(RateLimitError::IntervalTaken);
            }
            if buckets.len() >= MAX_BUCKETS {
                return rule(RateLimitError::TooManyBuckets);
            }
            let b = Bucket {
                sid: fresh.clone(),
                rate_limit_sid: r.sid.clone(),
                max,
                interval,
                created_at: now,
                updated_at: now,
            };
            tx.insert_bucket(&b)?;
            let detail = format!(
                "bucket {} of rate limit {}: {max} per {interval} s, created",
                b.sid, r.unique_name
            );
            cx.record(tx, now, Event::ServiceChanged, None, None, detail)?;
            Ok(Ok(b))
        })?)
    }

    pub fn update_bucket(
        &mut self,
        now: DateTime<Utc>,
        rate_limit: &str,
        sid: &str,
        max: Option<u32>,
        interval: Option<u32>,
    ) -> Result<Managed<Bucket>> {
        if let Err(d) = self.manage() {
            return Ok(Err(d));
        }
        let cx = self.cx;
        Ok(self.store.transaction(|tx| {
            let Some(r) = tx.rate_limit(rate_limit)? else {
                return rule(RateLimitError::NotFound);
            };
            let buckets = tx.buckets(&r.sid)?;
            let Some(old) = buckets.iter().find(|b| b.sid == sid) else {
                return rule(RateLimitError::NotFound);
            };
            let b = Bucket {
                max: max.unwrap_or(old.max),
                interval: interval.unwrap_or(old.interval),
                updated_at: now,
                ..old.clone()
            };
            if let Err(e) = rate_limits::check_bucket(b.max, b.interval) {
                return rule(e);
            }
            if buckets
                .iter()
                .any(|o| o.sid != b.sid && o.interval == b.interval)
            {
                return rule(RateLimitError::IntervalTaken);
            }
            tx.update_bucket(&b)?;
            let detail = format!(
                "bucket {} of rate limit {}: {} per {} s, updated",
                b.sid, r.unique_name, b.max, b.interval
            );
            cx.record(tx, now, Event::ServiceChanged, None, None, detail)?;
            Ok(Ok(b))
        })?)
    }

    pub fn delete_bucket(
        &mut self,
        now: DateTime<Utc>,
        rate_limit: &str,
        sid: &str,
    ) -> Result<Managed<()>> {
        if let Err(d) = self.manage() {
            return Ok(Err(d));
        }
        let cx = self.cx;
        Ok(self.store.transaction(|tx| {
            let Some(r) = tx.rate_limit(rate_limit)? else {
                return rule(RateLimitError::NotFound);
            };
            if !tx.delete_bucket(&r.sid, sid)? {
                return rule(RateLimitError::NotFound);
            }
            let detail = format!("bucket {sid} of rate limit {} deleted", r.unique_name);
            cx.record(tx, now, Event::ServiceChanged, None, None, detail)?;
            Ok(Ok(()))
        })?)
    }
}

/// A create's rate-limit keys as checked: the first name no rate limit has, or a full bucket.
pub(super) enum KeyCheck {
    Fits,
    Unknown(String),
    Over(Refusal),
}

impl Ctx<'_> {
    /// What a value is counted under: a keyed hash of the rate limit's SID and the value (an
    /// end user's address is never stored).
    fn value_key(&self, rate_limit_sid: &str, value: &str) -> String {
        self.secrets
            .phone_key(&format!("rate-limit:{rate_limit_sid}:{value}"))
    }

    /// Whether one more create fits every bucket of every rate limit the create names. Run
    /// without the write lock (a refusal costs no hash) and again under it.
    pub(super) fn key_check(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        keys: &[RateKey],
    ) -> StoreResult<KeyCheck> {
        for key in keys {
            let Some(r) = tx.rate_limit(&key.name)? else {
                return Ok(KeyCheck::Unknown(key.name.clone()));
            };
            let value_key = self.value_key(&r.sid, &key.value);
            for b in tx.buckets(&r.sid)? {
                let since = now - TimeDelta::seconds(i64::from(b.interval));
                let used = tx.bucket_use(&r.sid, &value_key, since, b.max)?;
                if let Some(o) = rate_limits::over(&r.unique_name, &b, used, now) {
                    let limit = LimitRefusal {
                        limit: Limit::RateLimit,
                        wait: Wait::For(o.wait),
                        reason: format!("rate limit {}: {} per {} s", o.name, o.max, o.interval),
                        trips_pause: false,
                        scope: None,
                    };
                    return Ok(KeyCheck::Over(Refusal {
                        event: Event::RateLimited,
                        limit,
                        prefix_masked: crate::domain::limits::masked_prefix(
                            phone,
                            self.limits.prefix_digits,
                        ),
                    }));
                }
            }
        }
        Ok(KeyCheck::Fits)
    }

    /// Counts a create that issued a code under each rate limit it named.
    pub(super) fn record_keys(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        keys: &[RateKey],
    ) -> StoreResult<()> {
        for key in keys {
            if let Some(r) = tx.rate_limit(&key.name)? {
                let value_key = self.value_key(&r.sid, &key.value);
                tx.record_hit(&r.sid, &value_key, now)?;
            }
        }
        Ok(())
    }
}
