//! What the use cases add for Verify Events and Twilio's delivery callbacks: every audited fact
//! that is a step of a verification's lifecycle queues one event per interested sink in the
//! same transaction ([`Ctx::publish`]); the expiry sweep reports verifications whose code ran
//! out with nobody checking it (time, not a request, ends those: the server runs the sweep on
//! its injected clock); and a delivery status Twilio reports updates the verification at once.

use chrono::{DateTime, Utc};

use super::{Ctx, Result, Service};
use crate::domain::events::{EventData, Kind, is_failed_delivery, is_final_delivery, type_string};
use crate::store::audit::{Event, NewEvent};
use crate::store::events::{NewOutboxEvent, dropped_counter};
use crate::store::{StoreError, Tx};

type StoreResult<T> = std::result::Result<T, StoreError>;

/// The server setting holding how far the expiry sweep has looked (milliseconds).
const SWEPT_UNTIL: &str = "events_expiry_swept_until";

/// What a delivery status from the provider changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// No verification sends with this message or call (an older code's, or not otpd's).
    Unknown,
    /// Stored (it differs from what was known, and is not older news than a final status).
    Updated { failed: bool },
    /// Nothing new.
    Unchanged,
}

impl Ctx<'_> {
    /// Queues the lifecycle event `e` is (if it is one) for every sink that wants it, in `tx`.
    /// A sink whose queue is full does not get it: the drop is counted, the fact still commits.
    pub(super) fn publish(
        &self,
        tx: &mut dyn Tx,
        e: &NewEvent<'_>,
        audit_id: i64,
    ) -> StoreResult<()> {
        if self.events.sinks.is_empty() {
            return Ok(());
        }
        let Some(id) = e.challenge_id else {
            return Ok(());
        };
        let kind = match e.event {
            Event::Sent | Event::Resent => Kind::Pending,
            Event::Approved | Event::ManuallyApproved => Kind::Approved,
            Event::Cancelled => Kind::Canceled,
            Event::Invalid => Kind::MaxAttemptsReached,
            Event::Delivered | Event::DeliveryFailed | Event::DeliveryUnknown => {
                Kind::DeliveryStatus
            }
            _ => return Ok(()),
        };
        let Some(ch) = tx.challenge(id)? else {
            return Ok(());
        };
        // A wrong code is an event only when it spent the last attempt.
        if kind == Kind::MaxAttemptsReached && ch.attempts < ch.max_attempts {
            return Ok(());
        }
        let data = EventData {
            kind,
            challenge: &ch,
            at: e.at,
            delivery_status: (kind == Kind::DeliveryStatus).then_some(ch.delivery_status.as_str()),
            error_code: None,
        };
        self.queue(tx, &data, audit_id)
    }

    fn queue(&self, tx: &mut dyn Tx, data: &EventData<'_>, audit_id: i64) -> StoreResult<()> {
        let (kind, ch, at) = (data.kind, data.challenge, data.at);
        let status = data.delivery_status;
        let data = data.to_json().to_string();
        let event_type = type_string(kind, status);
        for sink in self.events.sinks.iter().filter(|s| s.wants(kind)) {
            let new = NewOutboxEvent {
                sink: &sink.url,
                event_type: &event_type,
                audit_id,
                challenge_id: ch.id,
                at,
                data: &data,
            };
            if !tx.enqueue_event(&new, self.events.max_pending)? {
                tx.bump_counter(&dropped_counter(&sink.url))?;
            }
        }
        Ok(())
    }
}

impl Service<'_> {
    /// Queues an `expired` event for each pending verification whose code expired since the
    /// last sweep, up to `now`; the first sweep only marks where it starts. Returns how many.
    pub fn sweep_expired(&mut self, now: DateTime<Utc>) -> Result<usize> {
        let cx = self.cx;
        if cx.events.sinks.is_empty() {
            return Ok(0);
        }
        // Most sweeps find nothing: a read decides, so an idle server takes no write lock.
        let due = self
            .store
            .snapshot(|tx| match tx.server_setting(SWEPT_UNTIL)? {
                None => Ok(true),
                Some(after) => {
                    let after = crate::clock::from_ms(after.parse().unwrap_or(0));
                    Ok(after < now && !tx.expired_between(after, now)?.is_empty())
                }
            })?;
        if !due {
            return Ok(0);
        }
        Ok(self.store.transaction(|tx| {
            let now_ms = crate::clock::to_ms(now).to_string();
            let Some(after) = tx.server_setting(SWEPT_UNTIL)? else {
                tx.put_server_setting(SWEPT_UNTIL, Some(&now_ms))?;
                return Ok(0);
            };
            let after = crate::clock::from_ms(after.parse().unwrap_or(0));
            if after >= now {
                return Ok(0);
            }
            let expired = tx.expired_between(after, now)?;
            for ch in &expired {
                // No audit row stands for an expiry: the id is 0, the challenge tells it apart.
                let data = EventData {
                    kind: Kind::Expired,
                    challenge: ch,
                    at: ch.expires_at,
                    delivery_status: None,
                    error_code: None,
                };
                cx.queue(tx, &data, 0)?;
            }
            tx.put_server_setting(SWEPT_UNTIL, Some(&now_ms))?;
            Ok(expired.len())
        })?)
    }

    /// The provider's word about the message or call `provider_ref` (Twilio's
    /// `MessageStatus`/`CallStatus`, with its error code): stored on the verification at once,
    /// audited, and queued as a delivery-status event.
    pub fn delivery_report(
        &mut self,
        now: DateTime<Utc>,
        provider_ref: &str,
        status: &str,
        error_code: Option<u32>,
    ) -> Result<Reported> {
        let cx = self.cx;
        let status = status.trim().to_ascii_lowercase();
        Ok(self.store.transaction(|tx| {
            let Some(ch) = tx.challenge_by_provider_ref(provider_ref)? else {
                return Ok(Reported::Unknown);
            };
            // Callbacks may arrive out of order: a final word is not undone by an earlier one.
            if ch.delivery_status == status
                || (is_final_delivery(&ch.delivery_status) && !is_final_delivery(&status))
            {
                return Ok(Reported::Unchanged);
            }
            tx.set_delivery(ch.id, ch.generation, &status, None)?;
            let failed = is_failed_delivery(&status);
            let mut detail = format!("{} callback: {status}", cx.delivery.name());
            if let Some(code) = error_code {
                detail.push_str(&format!(" (provider error {code})"));
            }
            let e = NewEvent {
                at: now,
                station: &ch.station,
                event: match failed {
                    true => Event::DeliveryFailed,
                    false => Event::Delivered,
                },
                phone: Some(&ch.phone),
                challenge_id: Some(ch.id),
                detail,
            };
            let audit_id = tx.append_event(cx.secrets, &e)?;
            if !cx.events.sinks.is_empty()
                && let Some(now_ch) = tx.challenge(ch.id)?
            {
                let data = EventData {
                    kind: Kind::DeliveryStatus,
                    challenge: &now_ch,
                    at: now,
                    delivery_status: Some(&status),
                    error_code,
                };
                cx.queue(tx, &data, audit_id)?;
            }
            Ok(Reported::Updated { failed })
        })?)
    }
}
