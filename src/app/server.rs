//! What `otpd serve` asks of the application beyond the typed requests: API keys, the `VE…` SID
//! of each verification, the service SID, and the use cases that name a verification by its
//! SID (check, cancel, read, an admin's manual approval) — each run for the key's caller, whose
//! station and role the use case judges. A child of `app` so it reaches the store without
//! widening `App`.

use secrecy::SecretString;

use super::App;
use crate::domain::{Caller, Challenge, Code, Outcome, PhoneNumber};
use crate::error::Error;
use crate::service::Which;
use crate::store::audit::{Event, NewEvent};
use crate::store::{ApiKey, Backend, NewApiKey, Role, Tx};

/// A key just created: its secret exists only here and in the one answer that shows it.
pub struct CreatedKey {
    pub sid: String,
    pub secret: SecretString,
    pub station: String,
    pub role: Role,
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

    /// Creates a key (audited); its secret is returned once and stored only hashed.
    pub fn create_key(&mut self, station: &str, role: Role) -> Result<CreatedKey, Error> {
        let sid = self.random_sid("SK");
        let mut secret = [0u8; 32];
        self.rng.fill_bytes(&mut secret);
        let secret = zeroize::Zeroizing::new(hex::encode(secret));
        let hash = self.secrets.api_key_hash(&sid, &secret);
        let detail = format!("{sid}: station {station}, role {}", role.as_str());
        self.unit_of_work(|app, now| {
            let (secrets, me) = (&app.secrets, app.config.station.clone());
            let store: &mut dyn Backend = app.store.backend();
            store.transaction(|tx| {
                tx.insert_api_key(&NewApiKey {
                    sid: &sid,
                    secret_hash: &hash,
                    station,
                    role,
                    now,
                })?;
                append(
                    tx,
                    secrets,
                    now,
                    &me,
                    Event::KeyCreated,
                    None,
                    detail.clone(),
                )
            })
        })?;
        Ok(CreatedKey {
            sid,
            secret: SecretString::from(secret.as_str()),
            station: station.to_string(),
            role,
        })
    }

    /// Every key, revoked ones included.
    pub fn list_keys(&mut self) -> Result<Vec<ApiKey>, Error> {
        Ok(self.backend().snapshot(|tx| tx.api_keys())?)
    }

    /// Revokes a key (audited); `false` if there was no such live key.
    pub fn revoke_key(&mut self, sid: &str) -> Result<bool, Error> {
        let detail = sid.to_string();
        Ok(self.unit_of_work(|app, now| {
            let (secrets, me) = (&app.secrets, app.config.station.clone());
            let store: &mut dyn Backend = app.store.backend();
            store.transaction(|tx| {
                let done = tx.revoke_api_key(sid, now)?;
                if done {
                    append(
                        tx,
                        secrets,
                        now,
                        &me,
                        Event::KeyRevoked,
                        None,
                        detail.clone(),
                    )?;
                }
                Ok(done)
            })
        })?)
    }

    /// The live key `sid` if `secret` is its secret (compared in constant time).
    pub fn authenticate(&mut self, sid: &str, secret: &str) -> Result<Option<ApiKey>, Error> {
        let key = self.backend().snapshot(|tx| tx.api_key(sid))?;
        let Some(key) = key.filter(|k| k.revoked_at.is_none()) else {
            return Ok(None);
        };
        let given = self.secrets.api_key_hash(sid, secret);
        let same = given.len() == key.secret_hash.len()
            && given
                .bytes()
                .zip(key.secret_hash.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        Ok(same.then_some(key))
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

/// Appends an event about no number in `tx`.
fn append(
    tx: &mut dyn Tx,
    secrets: &crate::crypto::Secrets,
    now: chrono::DateTime<chrono::Utc>,
    station: &str,
    event: Event,
    phone: Option<&PhoneNumber>,
    detail: String,
) -> Result<(), crate::store::StoreError> {
    let e = NewEvent {
        at: now,
        station,
        event,
        phone,
        challenge_id: None,
        detail,
    };
    tx.append_event(secrets, &e).map(|_| ())
}
