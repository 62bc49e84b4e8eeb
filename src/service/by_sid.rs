//! What `otpd serve` does with a verification named by its `VE…` SID beyond checking and
//! cancelling it: read it, and (admin keys only) approve it without its code. The caller's
//! station decides what a SID names: another station's verification is, to a station key,
//! exactly an unknown SID.

use chrono::{DateTime, Utc};

use super::{Result, Service, Target, Which};
use crate::domain::{Challenge, Outcome, Privilege, State};
use crate::store::audit::{Event, NewEvent};

impl Service<'_> {
    /// The verification `sid` names, as this caller may see it (`Ok(None)`: no such SID, or one
    /// of a station this caller does not reach), or the privilege it lacks.
    pub fn verification(
        &mut self,
        sid: &str,
    ) -> Result<std::result::Result<Option<Challenge>, Outcome>> {
        if let Some(refused) = self.refuse_unless(Privilege::RunVerifications) {
            return Ok(Err(refused));
        }
        let caller = self.cx.caller;
        let found = self.store.snapshot(|tx| tx.challenge_by_sid(sid))?;
        Ok(Ok(found.filter(|ch| caller.reaches(&ch.station))))
    }

    /// An admin approves `sid`'s pending verification without its code, audited as a manual
    /// approval that names the key (under the verification's own station). `NoPending` when it
    /// is not pending, not its number's newest, or unknown.
    pub fn approve(&mut self, now: DateTime<Utc>, sid: &str) -> Result<Outcome> {
        if let Some(refused) = self.refuse_unless(Privilege::ActOnAnyStation) {
            return Ok(refused);
        }
        let cx = self.cx;
        let detail = format!(
            "manual approval by key {}",
            cx.caller.key_sid().unwrap_or("(local)")
        );
        let approved = self.store.transaction(|tx| {
            let ch = match cx.resolve(tx, Which::Sid(sid), now)? {
                Target::One(ch) if ch.state == State::Pending && !ch.is_expired(now) => ch,
                _ => return Ok(None),
            };
            if !tx.consume(ch.id, ch.generation, now)? {
                return Ok(None);
            }
            tx.record_success(&cx.secrets.phone_key(ch.phone.e164()), ch.id)?;
            let e = NewEvent {
                at: now,
                station: &ch.station,
                event: Event::ManuallyApproved,
                phone: Some(&ch.phone),
                challenge_id: Some(ch.id),
                detail: detail.clone(),
            };
            let audit_id = tx.append_event(cx.secrets, &e)?;
            cx.publish(tx, &e, audit_id)?;
            Ok(Some(ch.phone))
        })?;
        Ok(match approved {
            Some(phone) => Outcome::Approved { phone },
            None => Outcome::NoPending { phone: None },
        })
    }
}
