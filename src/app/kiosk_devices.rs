//! The kiosk page's devices (issue 22): a kiosk key never leaves the server; a browser becomes
//! its station by opening a one-time enrolment link, which trades the link's token for a
//! long-lived device token (the browser's cookie). Both are stored only as keyed hashes (as key
//! secrets are), in the server's settings, so `otpd store copy` carries enrolled kiosks along. A
//! device acts as its key for as long as the key is live: revoking the key ends the device.

use chrono::{DateTime, Duration, Utc};

use super::App;
use crate::clock::{from_ms, to_ms};
use crate::error::Error;
use crate::store::{ApiKey, Role};

/// Where an enrolment token's hash is kept (value: `SID EXPIRES_MS`).
const ENROL: &str = "kiosk_enrol:";
/// Where a device token's hash is kept (value: the key's SID).
const DEVICE: &str = "kiosk_device:";

/// What opening an enrolment link gave.
pub enum Enrolled {
    /// A new device for this kiosk key: its token (the cookie's value, shown only here).
    Device { token: String, key: ApiKey },
    /// A used, expired or unknown link, or one whose key is no longer live.
    Refused,
}

impl App {
    /// A one-time enrolment token for the kiosk key `sid`, valid `ttl_seconds` from now.
    pub fn create_enrolment(&mut self, sid: &str, ttl_seconds: u64) -> Result<String, Error> {
        let token = self.random_token();
        let name = format!("{ENROL}{}", self.hash_token("kiosk-enrol", &token));
        let ttl = i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 2_000);
        self.unit_of_work(|app, now| {
            let value = format!("{sid} {}", to_ms(now + Duration::seconds(ttl)));
            app.store
                .backend()
                .transaction(|tx| tx.put_server_setting(&name, Some(&value)))
        })?;
        Ok(token)
    }

    /// Opens an enrolment link: once, before it expires, for a live kiosk key.
    pub fn enrol_device(&mut self, enrol_token: &str) -> Result<Enrolled, Error> {
        let name = format!("{ENROL}{}", self.hash_token("kiosk-enrol", enrol_token));
        let device = self.random_token();
        let device_name = format!("{DEVICE}{}", self.hash_token("kiosk-device", &device));
        let sid = self.unit_of_work(|app, now| {
            app.store.backend().transaction(|tx| {
                let Some(value) = tx.server_setting(&name)? else {
                    return Ok(None);
                };
                // Used once, whatever follows.
                tx.put_server_setting(&name, None)?;
                let Some((sid, until)) = value.split_once(' ') else {
                    return Ok(None);
                };
                let until: DateTime<Utc> = from_ms(until.parse().unwrap_or(0));
                if now >= until {
                    return Ok(None);
                }
                tx.put_server_setting(&device_name, Some(sid))?;
                Ok(Some(sid.to_string()))
            })
        })?;
        let Some(sid) = sid else {
            return Ok(Enrolled::Refused);
        };
        Ok(match self.live_kiosk_key(&sid)? {
            Some(key) => Enrolled::Device { token: device, key },
            None => Enrolled::Refused,
        })
    }

    /// The live kiosk key a device token stands for, if any.
    pub fn kiosk_device(&mut self, device_token: &str) -> Result<Option<ApiKey>, Error> {
        let name = format!("{DEVICE}{}", self.hash_token("kiosk-device", device_token));
        let sid = self
            .store
            .backend()
            .snapshot(|tx| tx.server_setting(&name))?;
        match sid {
            Some(sid) => self.live_kiosk_key(&sid),
            None => Ok(None),
        }
    }

    /// The key `sid` if it is a kiosk key, its row matches its seal and the audit log records
    /// no revocation.
    fn live_kiosk_key(&mut self, sid: &str) -> Result<Option<ApiKey>, Error> {
        let (key, revoked) = self
            .store
            .backend()
            .snapshot(|tx| Ok((tx.api_key(sid)?, tx.key_revoked_at(sid)?)))?;
        Ok(key.filter(|k| {
            k.role == Role::Kiosk
                && k.revoked_at.is_none()
                && revoked.is_none()
                && k.seal_matches(&self.secrets)
        }))
    }

    fn random_token(&mut self) -> String {
        let mut bytes = [0u8; 32];
        self.rng.fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    fn hash_token(&self, purpose: &str, token: &str) -> String {
        self.secrets.api_key_hash(purpose, token)
    }
}
