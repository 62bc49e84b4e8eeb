//! `status [PHONE]`: the pending verifications of this station, or its one for a number, with what
//! the provider reports about each delivery now.

use chrono::{DateTime, Utc};

use super::{Ctx, Result, Service};
use crate::domain::challenge::ceil_seconds;
use crate::domain::outcome::PendingView;
use crate::domain::{Challenge, Outcome, PhoneNumber, Privilege, State};

impl Service<'_> {
    /// `status [PHONE]`: the pending verifications of this station, or its one for a number.
    pub fn status(&mut self, now: DateTime<Utc>, phone: Option<&PhoneNumber>) -> Result<Outcome> {
        if let Some(refused) = self.refuse_unless(Privilege::RunVerifications) {
            return Ok(refused);
        }
        let cx = self.cx;
        let pending: Vec<Challenge> = self.store.snapshot(|tx| {
            Ok(match phone {
                Some(p) => tx
                    .latest_challenge(p, cx.station())?
                    .into_iter()
                    .filter(|c| c.state == State::Pending && !c.is_expired(now))
                    .collect(),
                None => tx
                    .recent_challenges(cx.station(), now)?
                    .into_iter()
                    .filter(|c| c.state == State::Pending)
                    .collect(),
            })
        })?;
        let views = pending.into_iter().map(|c| cx.pending_view(now, c));
        Ok(Outcome::Status {
            pending: views.collect(),
        })
    }
}

impl Ctx<'_> {
    /// One pending verification, with the provider's delivery status when it has one: the
    /// stored one when it is final (a status callback brought it), else asked of the provider.
    fn pending_view(&self, now: DateTime<Utc>, c: Challenge) -> PendingView {
        let final_status = crate::domain::events::is_final_delivery(&c.delivery_status);
        let (delivery_status, delivery_error) = match c.provider_ref.as_deref() {
            Some(_) if final_status => (c.delivery_status.clone(), None),
            Some(r) => match self.delivery.fetch_status(r) {
                Ok(Some(s)) => (
                    s.status,
                    s.error_code.map(|e| format!("provider error {e}")),
                ),
                Ok(None) => (c.delivery_status.clone(), None),
                Err(e) => (
                    c.delivery_status.clone(),
                    Some(crate::sanitize::sanitize(&format!(
                        "status unavailable: {e}"
                    ))),
                ),
            },
            None => (c.delivery_status.clone(), None),
        };
        PendingView {
            expires_in_seconds: ceil_seconds(c.expires_at - now),
            attempts_left: c.attempts_left(),
            phone: c.phone,
            channel: c.channel,
            station: c.station,
            sent_at: c.sent_at,
            expires_at: c.expires_at,
            resends: c.resends,
            delivery_status,
            delivery_error,
        }
    }
}
