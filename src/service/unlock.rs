//! `unlock PHONE`: an operator lifts a number's wrong-code lock-out and clears its failures.

use chrono::{DateTime, Utc};

use super::{Result, Service};
use crate::domain::{Outcome, PhoneNumber, Privilege};
use crate::store::audit::Event;

impl Service<'_> {
    /// `unlock PHONE`: an operator lifts a number's lock-out and clears its failure count.
    pub fn unlock(&mut self, now: DateTime<Utc>, phone: &PhoneNumber) -> Result<Outcome> {
        if let Some(refused) = self.refuse_unless(Privilege::Unlock) {
            return Ok(refused);
        }
        let cx = self.cx;
        let was_locked = self.store.transaction(|tx| {
            let key = cx.secrets.phone_key(phone.e164());
            let before = tx.number_state(&key)?;
            let was_locked = cx.limits.number_lock(&before, now).is_some();
            let changed = tx.unlock_number(&key)?;
            let detail = match (was_locked, changed) {
                (true, _) => format!("lock lifted after {} wrong codes", before.failures),
                (false, true) => format!("{} wrong codes forgiven", before.failures),
                (false, false) => "was not locked".to_string(),
            };
            cx.record(tx, now, Event::Unlocked, Some(phone), None, detail)?;
            Ok(was_locked)
        })?;
        Ok(Outcome::Unlocked {
            phone: phone.clone(),
            was_locked,
        })
    }
}
