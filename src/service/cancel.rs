//! `cancel [PHONE]`: abandon the pending code, audited in the transaction that closes it.

use chrono::{DateTime, Utc};

use super::{Result, Service, Target};
use crate::domain::{Outcome, PhoneNumber, State};
use crate::store::audit::Event;

impl Service<'_> {
    /// `cancel [PHONE]`: abandon the pending code (audited).
    pub fn cancel(&mut self, now: DateTime<Utc>, phone: Option<&PhoneNumber>) -> Result<Outcome> {
        let cx = self.cx;
        let outcome = self.store.transaction(|tx| {
            let ch = match cx.resolve(tx, phone, now)? {
                Target::One(ch) if ch.state == State::Pending => ch,
                Target::Many(n) => return Ok(Some(Outcome::PhoneRequired { pending: n })),
                _ => return Ok(None),
            };
            tx.close(ch.id, ch.generation, State::Cancelled)?;
            cx.record(tx, now, Event::Cancelled, Some(&ch.phone), Some(ch.id), "")?;
            Ok(Some(Outcome::Cancelled { phone: ch.phone }))
        })?;
        match outcome {
            Some(o) => Ok(o),
            None => self.no_pending(now, phone),
        }
    }
}
