//! What `otpd serve`'s Verify Events task, Twilio's status callbacks and `otpd events status`
//! ask of the application: the expiry sweep and the delivery report as use cases on the
//! injected clock, and the outbox's lease, results and backlog through the store. A child of
//! `app` so it reaches the store without widening `App`.

use chrono::{DateTime, Utc};

use super::App;
use crate::domain::events::backoff;
use crate::error::Error;
use crate::service::Reported;
use crate::store::events::{OutboxRow, SinkBacklog, dropped_counter};

/// How long a server holds the events it leased before another may take them.
pub const LEASE: chrono::Duration = chrono::Duration::minutes(2);

/// One configured sink's queue, with the events dropped because it was full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkStatus {
    pub backlog: SinkBacklog,
    pub dropped: u64,
    /// Whether `[[events.sink]]` still names it (events queued for a sink since removed stay
    /// until delivered there or parked).
    pub configured: bool,
}

impl App {
    /// Queues `expired` events for the verifications whose code ran out since the last sweep.
    pub fn sweep_expired_events(&mut self) -> Result<usize, Error> {
        let caller = self.local_caller();
        self.with_service(&caller, |service, _, _, now| service.sweep_expired(now))
    }

    /// Takes up to `limit` due events for this server to send (leased for [`LEASE`]).
    pub fn lease_events(&mut self, limit: usize) -> Result<Vec<OutboxRow>, Error> {
        let now = self.now();
        Ok(self
            .store
            .backend()
            .transaction(|tx| tx.lease_events(now, now + LEASE, limit))?)
    }

    /// The sink accepted `row`.
    pub fn event_delivered(&mut self, row: &OutboxRow) -> Result<(), Error> {
        Ok(self
            .store
            .backend()
            .transaction(|tx| tx.event_delivered(row.id))?)
    }

    /// Sending `row` failed with `error`: retried after its back-off, or parked as failed once
    /// `[events] max_attempts` were made. Returns when it will be tried again (`None`: parked).
    pub fn event_failed(
        &mut self,
        row: &OutboxRow,
        error: &str,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        let attempts = row.attempts.saturating_add(1);
        let cfg = &self.config.events;
        let next = (attempts < cfg.max_attempts)
            .then(|| self.clock.now() + backoff(cfg.retry_base, attempts));
        let error = crate::sanitize::sanitize(error);
        self.store
            .backend()
            .transaction(|tx| tx.event_failed(row.id, attempts, next, &error))?;
        Ok(next)
    }

    /// Every sink's queue: the configured ones (empty or not) first, in their order, then any
    /// other URL events are still queued for.
    pub fn events_status(&mut self) -> Result<Vec<SinkStatus>, Error> {
        let sinks: Vec<String> = self
            .config
            .events
            .sinks
            .iter()
            .map(|s| s.url.clone())
            .collect();
        Ok(self.store.backend().snapshot(|tx| {
            let mut queued = tx.outbox_backlog()?;
            let mut out = Vec::new();
            for url in &sinks {
                let at = queued.iter().position(|b| &b.sink == url);
                let backlog = match at {
                    Some(i) => queued.remove(i),
                    None => SinkBacklog {
                        sink: url.clone(),
                        ..Default::default()
                    },
                };
                let dropped = tx.server_setting(&dropped_counter(url))?;
                out.push(SinkStatus {
                    backlog,
                    dropped: dropped.and_then(|d| d.parse().ok()).unwrap_or(0),
                    configured: true,
                });
            }
            for backlog in queued.drain(..) {
                let dropped = tx.server_setting(&dropped_counter(&backlog.sink))?;
                out.push(SinkStatus {
                    backlog,
                    dropped: dropped.and_then(|d| d.parse().ok()).unwrap_or(0),
                    configured: false,
                });
            }
            Ok(out)
        })?)
    }

    /// What the provider reported about the message or call `provider_ref`.
    pub fn delivery_report(
        &mut self,
        provider_ref: &str,
        status: &str,
        error_code: Option<u32>,
    ) -> Result<Reported, Error> {
        let caller = self.local_caller();
        self.with_service(&caller, |service, _, _, now| {
            service.delivery_report(now, provider_ref, status, error_code)
        })
    }
}
