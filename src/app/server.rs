//! What `otpd serve` asks of the application beyond the typed requests: API keys, the `VE…` SID
//! of each verification, the service SID, running a request as a key's station, and an admin
//! key's manual approval. A child of `app` so it reaches the store without widening `App`.

use secrecy::SecretString;

use super::App;
use crate::domain::{Challenge, Outcome, PhoneNumber, State};
use crate::error::Error;
use crate::request::Request;
use crate::store::audit::{Event, NewEvent};
use crate::store::{ApiKey, Backend, NewApiKey, Role, Tx};

/// A key just created: its secret exists only here and in the one answer that shows it.
pub struct CreatedKey {
    pub sid: String,
    pub secret: SecretString,
    pub station: String,
    pub role: Role,
}

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
