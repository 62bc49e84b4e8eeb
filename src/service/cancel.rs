//! `cancel [PHONE]`: abandon the pending code, audited in the transaction that closes it.

use chrono::{DateTime, Utc};

use super::{Result, Service, Target, Which};
use crate::domain::{Outcome, Privilege, State};
use crate::store::audit::Event;

impl Service<'_> {
    /// `cancel [PHONE]`: abandon the pending code (audited).
    pub fn cancel<'p>(
        &mut self,
        now: DateTime<Utc>,
        which: impl Into<Which<'p>>,
    ) -> Result<Outcome> {
        if let Some(refused) = self.refuse_unless(Privilege::RunVerifications) {
            return Ok(refused);
        }
        let which = which.into();
        let cx = self.cx;
        let outcome = self.store.transaction(|tx| {
            let ch = match cx.resolve(tx, which, now)? {
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
            None => self.no_pending(now, which),
        }
    }
}
