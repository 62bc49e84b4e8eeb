//! The Verify Events outbox, in the store's vocabulary ([`EventsTx`]): an event is queued in
//! the write transaction of the fact it reports (so it exists exactly when the fact does), a
//! server leases the due ones (several servers never send one row at once: SQLite serialises
//! writers, PostgreSQL skips rows another transaction holds), and records each sink's answer —
//! delivered rows are deleted, failed ones wait out their back-off or are parked as `failed`.
//! Also the two reads Twilio's status callbacks and the expiry sweep need.

use chrono::{DateTime, Utc};

use super::Result;
use crate::domain::Challenge;

/// One event to queue for one sink.
pub struct NewOutboxEvent<'a> {
    /// The sink's URL (how `[[events.sink]]` entries are told apart).
    pub sink: &'a str,
    pub event_type: &'a str,
    /// The audit row the event reports (its CloudEvent id).
    pub audit_id: i64,
    pub challenge_id: i64,
    pub at: DateTime<Utc>,
    /// The event's JSON `data`, without the SIDs.
    pub data: &'a str,
}

/// A queued event, as a server leases it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub sink: String,
    pub event_type: String,
    pub audit_id: i64,
    pub challenge_id: i64,
    pub created_at: DateTime<Utc>,
    pub data: String,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// What one sink's queue holds, for `otpd events status` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SinkBacklog {
    pub sink: String,
    /// Waiting (first attempt or a retry).
    pub pending: u64,
    /// Parked after the last attempt failed.
    pub failed: u64,
    /// Retries already made for the events still pending.
    pub retries: u64,
    pub oldest: Option<DateTime<Utc>>,
    /// The newest failure's reason.
    pub last_error: Option<String>,
}

/// The server setting counting a sink's events dropped because its queue was full.
pub fn dropped_counter(sink: &str) -> String {
    format!("events_dropped {sink}")
}

/// What the Verify Events outbox asks of a store inside one transaction.
pub trait EventsTx {
    /// Queues one event unless `sink` already holds `max` undelivered events (pending or
    /// failed): `false` when it was not queued.
    fn enqueue_event(&mut self, e: &NewOutboxEvent<'_>, max: u64) -> Result<bool>;
    /// Up to `limit` pending events due at `now` that no server holds, leased until
    /// `lease_until` (write transactions only), oldest first.
    fn lease_events(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>>;
    /// The sink accepted event `id`: it leaves the queue.
    fn event_delivered(&mut self, id: i64) -> Result<()>;
    /// Attempt `attempts` of event `id` failed with `error`: retried at `next_at`, or parked as
    /// failed when `None`.
    fn event_failed(
        &mut self,
        id: i64,
        attempts: u32,
        next_at: Option<DateTime<Utc>>,
        error: &str,
    ) -> Result<()>;
    /// Every sink that has events queued, by URL.
    fn outbox_backlog(&mut self) -> Result<Vec<SinkBacklog>>;
    /// The verification whose message or call the provider knows by `provider_ref`.
    fn challenge_by_provider_ref(&mut self, provider_ref: &str) -> Result<Option<Challenge>>;
    /// Pending verifications whose code expired after `after` and at or before `until`.
    fn expired_between(
        &mut self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Challenge>>;
}
