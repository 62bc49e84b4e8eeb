//! The API key use cases (`otpd keys`, and authenticating every `otpd serve` request): a key's
//! row is trusted only when its seal matches, and a key is revoked when the MAC-chained audit
//! log says so, whatever its row says (issue 21). A child of `app` so it reaches the store and
//! the secrets without widening `App`.

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::App;
use crate::crypto::Secrets;
use crate::error::Error;
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
    /// Creates a key (audited, its row sealed); its secret is returned once and stored only
    /// hashed.
    pub fn create_key(&mut self, station: &str, role: Role) -> Result<CreatedKey, Error> {
        let sid = self.random_sid("SK");
        let mut secret = [0u8; 32];
        self.rng.fill_bytes(&mut secret);
        let secret = zeroize::Zeroizing::new(hex::encode(secret));
        let hash = self.secrets.api_key_hash(&sid, &secret);
        let detail = format!("{sid}: station {station}, role {}", role.as_str());
        self.unit_of_work(|app, now| {
            let (secrets, me) = (&app.secrets, app.config.station.clone());
            let mac = ApiKey {
                sid: sid.clone(),
                secret_hash: hash.clone(),
                station: station.to_string(),
                role,
                created_at: now,
                revoked_at: None,
                mac: None,
                tampered: false,
            }
            .seal(secrets);
            let store: &mut dyn Backend = app.store.backend();
            store.transaction(|tx| {
                tx.insert_api_key(&NewApiKey {
                    sid: &sid,
                    secret_hash: &hash,
                    station,
                    role,
                    now,
                    mac: &mac,
                })?;
                append(tx, secrets, now, &me, Event::KeyCreated, detail.clone())
            })
        })?;
        Ok(CreatedKey {
            sid,
            secret: SecretString::from(secret.as_str()),
            station: station.to_string(),
            role,
        })
    }

    /// Every key, revoked ones included: `revoked_at` from the audit log when it recorded the
    /// revocation (else the row's), `tampered` when the row does not match its seal.
    pub fn list_keys(&mut self) -> Result<Vec<ApiKey>, Error> {
        let secrets = &self.secrets;
        Ok(self.store.backend().snapshot(|tx| {
            let mut keys = tx.api_keys()?;
            for key in &mut keys {
                key.tampered = !key.seal_matches(secrets);
                if let Some(at) = tx.key_revoked_at(&key.sid)? {
                    key.revoked_at = Some(at);
                }
            }
            Ok(keys)
        })?)
    }

    /// Revokes a key (audited); `false` if there was no such live key. The `key_revoked` event
    /// is what revokes it for good; the row is marked (and resealed, if its seal held) too.
    pub fn revoke_key(&mut self, sid: &str) -> Result<bool, Error> {
        let detail = sid.to_string();
        Ok(self.unit_of_work(|app, now| {
            let (secrets, me) = (&app.secrets, app.config.station.clone());
            let store: &mut dyn Backend = app.store.backend();
            store.transaction(|tx| {
                let Some(key) = tx.api_key(sid)? else {
                    return Ok(false);
                };
                if key.revoked_at.is_some() || tx.key_revoked_at(sid)?.is_some() {
                    return Ok(false);
                }
                let mac = key
                    .seal_matches(secrets)
                    .then(|| key.sealed_as(secrets, Some(now)));
                tx.revoke_api_key(sid, now, mac.as_deref())?;
                append(tx, secrets, now, &me, Event::KeyRevoked, detail.clone())?;
                Ok(true)
            })
        })?)
    }

    /// The live key `sid` if `secret` is its secret (compared in constant time), its row
    /// matches its seal and the audit log records no revocation. A row that fails its seal
    /// authenticates nothing and leaves one warning naming the key (never a secret).
    pub fn authenticate(&mut self, sid: &str, secret: &str) -> Result<Option<ApiKey>, Error> {
        let (key, revoked) = self
            .store
            .backend()
            .snapshot(|tx| Ok((tx.api_key(sid)?, tx.key_revoked_at(sid)?)))?;
        let Some(key) = key else {
            return Ok(None);
        };
        let given = self.secrets.api_key_hash(sid, secret);
        let same = given.len() == key.secret_hash.len()
            && given
                .bytes()
                .zip(key.secret_hash.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !key.seal_matches(&self.secrets) {
            self.warnings.push(format!(
                "refused API key {sid}: its row in the database does not match its seal (edited, put back from an old copy, or sealed under another master secret); revoke it and create a new key"
            ));
            return Ok(None);
        }
        let live = key.revoked_at.is_none() && revoked.is_none();
        // A kiosk key's secret is never shown: only its enrolled browser acts as it.
        Ok((same && live && key.role != Role::Kiosk).then_some(key))
    }
}

/// Appends an event about no number in `tx`.
fn append(
    tx: &mut dyn Tx,
    secrets: &Secrets,
    now: DateTime<Utc>,
    station: &str,
    event: Event,
    detail: String,
) -> Result<(), crate::store::StoreError> {
    let e = NewEvent::about_nothing(now, station, event, detail);
    tx.append_event(secrets, &e).map(|_| ())
}
