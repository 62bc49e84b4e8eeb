//! The seal of an API key's row: what a key's MAC covers, encoded once for both stores, so a
//! row edited in the database (a role raised, a station changed, a revocation undone, a secret
//! hash swapped) no longer matches and the key authenticates as nothing.

use chrono::{DateTime, Utc};

use super::ApiKey;
use crate::clock::to_ms;
use crate::crypto::Secrets;

/// The bytes a key row's seal covers: SID, station, role, secret hash, creation and revocation
/// times, length-prefixed so no two rows encode alike, with "not revoked" distinct from any time.
fn canonical(
    sid: &str,
    station: &str,
    role: &str,
    secret_hash: &str,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
) -> Vec<u8> {
    use super::audit::field;
    let mut out = Vec::with_capacity(160 + station.len());
    out.extend_from_slice(b"otpd-api-key-v1");
    field(&mut out, Some(sid.as_bytes()));
    field(&mut out, Some(station.as_bytes()));
    field(&mut out, Some(role.as_bytes()));
    field(&mut out, Some(secret_hash.as_bytes()));
    field(&mut out, Some(&to_ms(created_at).to_be_bytes()));
    let revoked = revoked_at.map(|t| to_ms(t).to_be_bytes());
    field(&mut out, revoked.as_ref().map(|b| b.as_slice()));
    out
}

impl ApiKey {
    /// The seal this row must carry (with its current revocation time).
    pub fn seal(&self, secrets: &Secrets) -> String {
        self.sealed_as(secrets, self.revoked_at)
    }

    /// The seal of this row once revoked at `revoked_at`.
    pub fn sealed_as(&self, secrets: &Secrets, revoked_at: Option<DateTime<Utc>>) -> String {
        secrets.key_row_seal(&self.canonical(revoked_at))
    }

    /// Whether the stored seal matches the row as stored. A row without one (written before
    /// schema 7 by a process that could not seal it, or inserted by hand) does not.
    pub fn seal_matches(&self, secrets: &Secrets) -> bool {
        self.mac
            .as_deref()
            .is_some_and(|mac| secrets.key_row_seal_matches(&self.canonical(self.revoked_at), mac))
    }

    fn canonical(&self, revoked_at: Option<DateTime<Utc>>) -> Vec<u8> {
        canonical(
            &self.sid,
            &self.station,
            self.role.as_str(),
            &self.secret_hash,
            self.created_at,
            revoked_at,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_ms;
    use crate::store::Role;

    #[test]
    fn any_edited_field_breaks_the_seal() {
        let secrets = Secrets::from_master(b"k-0123456789abcdef0123456789abcdef");
        let mut key = ApiKey {
            sid: format!("SK{}", "1".repeat(32)),
            secret_hash: "ab".repeat(32),
            station: "kiosk-1".into(),
            role: Role::Station,
            created_at: from_ms(1_700_000_000_000),
            revoked_at: None,
            mac: None,
            tampered: false,
        };
        assert!(!key.seal_matches(&secrets), "no seal, no trust");
        key.mac = Some(key.seal(&secrets));
        assert!(key.seal_matches(&secrets));
        let edits: [fn(&mut ApiKey); 6] = [
            |k| k.role = Role::Admin,
            |k| k.station = "hq".into(),
            |k| k.sid = format!("SK{}", "2".repeat(32)),
            |k| k.secret_hash = "cd".repeat(32),
            |k| k.created_at = from_ms(1_700_000_000_001),
            |k| k.revoked_at = Some(from_ms(1_700_000_000_000)),
        ];
        for edit in edits {
            let mut edited = key.clone();
            edit(&mut edited);
            assert!(!edited.seal_matches(&secrets), "{edited:?}");
        }
        let revoked_at = Some(from_ms(1_700_000_500_000));
        let mut revoked = key.clone();
        revoked.mac = Some(key.sealed_as(&secrets, revoked_at));
        revoked.revoked_at = revoked_at;
        assert!(revoked.seal_matches(&secrets));
        revoked.revoked_at = None;
        assert!(
            !revoked.seal_matches(&secrets),
            "un-revoking breaks the seal"
        );
        let other = Secrets::from_master(b"z-0123456789abcdef0123456789abcdef");
        assert!(!key.seal_matches(&other), "another master secret");
    }
}
