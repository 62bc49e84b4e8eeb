//! What `otpd serve` asks of the application beyond the typed requests and the API keys
//! (`keys.rs`): the `VE…` SID of each verification, the service SID, running a request as a key's station, and an admin
//! key's manual approval. A child of `app` so it reaches the store without widening `App`.

use super::App;
use crate::domain::{Challenge, Outcome, PhoneNumber, State};
use crate::error::Error;
use crate::request::Request;
use crate::store::Backend;
use crate::store::audit::{Event, NewEvent};

/// What a manual approval did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    Approved,
    /// The verification was not pending (or its code was replaced meanwhile).
    NotPending,
}

impl App {
    /// `prefix` followed by 32 random hex digits (a Twilio-style SID).
    pub fn random_sid(&mut self, prefix: &str) -> String {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        format!("{prefix}{}", hex::encode(bytes))
    }

    /// `[server] service_sid`, else the one stored in the database (generated on first use).
    pub fn service_sid(&mut self) -> Result<String, Error> {
        if let Some(sid) = &self.config.server.service_sid {
            return Ok(sid.clone());
        }
        let fresh = self.random_sid("VA");
        Ok(self
            .backend()
            .transaction(|tx| tx.init_server_setting("service_sid", &fresh))?)
    }

    /// The stored service SID, without creating one (for `otpd config`).
    pub fn stored_service_sid(&mut self) -> Result<Option<String>, Error> {
        Ok(self
            .backend()
            .snapshot(|tx| tx.server_setting("service_sid"))?)
    }

    /// Runs `request` as `station` (a station key acts as its station, whatever this
    /// process's own station is).
    pub fn execute_as(&mut self, station: &str, request: &Request) -> Result<Outcome, Error> {
        let own = std::mem::replace(&mut self.config.station, station.to_string());
        let result = self.execute(request);
        self.config.station = own;
        result
    }

    /// `verify CODE PHONE` as `station`, with the id of the verification the attempt was settled
    /// against (`None` when none was: nothing pending, a locked number), so the answer names
    /// the verification the use case actually checked even if a create landed meanwhile.
    pub fn verify_as(
        &mut self,
        station: &str,
        request: &Request,
    ) -> Result<(Outcome, Option<i64>), Error> {
        self.settled = None;
        let outcome = self.execute_as(station, request)?;
        Ok((outcome, self.settled.take()))
    }

    /// The verification a `VE…` SID stands for.
    pub fn challenge_by_sid(&mut self, sid: &str) -> Result<Option<Challenge>, Error> {
        Ok(self.backend().snapshot(|tx| tx.challenge_by_sid(sid))?)
    }

    /// The newest verification for a number.
    pub fn latest_challenge(&mut self, phone: &PhoneNumber) -> Result<Option<Challenge>, Error> {
        Ok(self.backend().snapshot(|tx| tx.latest_challenge(phone))?)
    }

    /// The `VE…` SID of a verification, given a random one on first use.
    pub fn verification_sid(&mut self, challenge_id: i64) -> Result<String, Error> {
        if let Some(sid) = self
            .backend()
            .snapshot(|tx| tx.verification_sid(challenge_id))?
        {
            return Ok(sid);
        }
        let fresh = self.random_sid("VE");
        Ok(self
            .backend()
            .transaction(|tx| tx.assign_verification_sid(challenge_id, &fresh))?)
    }

    /// An admin key approves a pending verification without its code, audited as a manual
    /// approval that names the key.
    pub fn approve_manually(&mut self, ch: &Challenge, key_sid: &str) -> Result<Approval, Error> {
        let detail = format!("manual approval by key {key_sid}");
        Ok(self.unit_of_work(|app, now| {
            let (secrets, station) = (&app.secrets, ch.station.clone());
            let phone_key = secrets.phone_key(ch.phone.e164());
            let store: &mut dyn Backend = app.store.backend();
            store.transaction(|tx| {
                let live = tx.challenge(ch.id)?.filter(|c| {
                    c.state == State::Pending && c.generation == ch.generation && !c.is_expired(now)
                });
                if live.is_none() || !tx.consume(ch.id, ch.generation, now)? {
                    return Ok(Approval::NotPending);
                }
                tx.record_success(&phone_key, ch.id)?;
                let e = NewEvent {
                    at: now,
                    station: &station,
                    event: Event::ManuallyApproved,
                    phone: Some(&ch.phone),
                    challenge_id: Some(ch.id),
                    detail: detail.clone(),
                };
                tx.append_event(secrets, &e)?;
                Ok(Approval::Approved)
            })
        })?)
    }

    fn backend(&mut self) -> &mut dyn Backend {
        self.store.backend()
    }
}
