//! What `otpd serve` asks of the application beyond the typed requests and the API keys
//! (`keys.rs`): the `VE…` SID of each verification, the service SID, and the use cases that
//! name a verification by its SID (check, cancel, read, an admin's manual approval) — each run
//! for the key's caller, whose station and role the use case judges. A child of `app` so it
//! reaches the store without widening `App`.

use super::App;
use crate::domain::{Caller, Challenge, Code, Outcome, PhoneNumber};
use crate::error::Error;
use crate::service::Which;
use crate::store::Backend;

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

    /// `verify CODE` for the verification `sid` names, as `caller` may see it (another
    /// station's is, to a station key, an unknown SID: the same decoy hash and audit row), with
    /// the id of the verification the attempt was settled against.
    pub fn verify_sid(
        &mut self,
        caller: &Caller,
        sid: &str,
        code: &Code,
    ) -> Result<(Outcome, Option<i64>), Error> {
        self.with_service(caller, |service, _, clock, _| {
            service.verify_settling(clock, Which::Sid(sid), code)
        })
    }

    /// `cancel` for the verification `sid` names, as `caller` may see it.
    pub fn cancel_sid(&mut self, caller: &Caller, sid: &str) -> Result<Outcome, Error> {
        self.with_service(caller, |service, _, _, now| {
            service.cancel(now, Which::Sid(sid))
        })
    }

    /// An admin approves the verification `sid` names without its code (audited).
    pub fn approve_sid(&mut self, caller: &Caller, sid: &str) -> Result<Outcome, Error> {
        self.with_service(caller, |service, _, _, now| service.approve(now, sid))
    }

    /// The verification `sid` names, as `caller` may see it; `Err` is the refusal to answer.
    pub fn verification(
        &mut self,
        caller: &Caller,
        sid: &str,
    ) -> Result<std::result::Result<Option<Challenge>, Outcome>, Error> {
        self.with_service(caller, |service, _, _, _| service.verification(sid))
    }

    /// The newest verification `caller`'s station started for a number (the one a create
    /// just started or renewed).
    pub fn own_latest(
        &mut self,
        caller: &Caller,
        phone: &PhoneNumber,
    ) -> Result<Option<Challenge>, Error> {
        let station = caller.station.as_str();
        Ok(self
            .backend()
            .snapshot(|tx| tx.latest_challenge(phone, station))?)
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

    fn backend(&mut self) -> &mut dyn Backend {
        self.store.backend()
    }
}
