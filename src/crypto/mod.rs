//! Every use of a secret in one place: the master secret kept outside the database, the pepper
//! derived from it for argon2id, the audit key for the chain MACs, phone-number keys and API key
//! hashes, and the key-row key that seals each API key's row.

use std::path::{Path, PathBuf};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::domain::Code;
use crate::secret_file;

mod key_file;
mod memory;
pub mod signatures;

pub use key_file::create_master_secret;
use key_file::read_or_create_key_file;
pub use memory::{bound_concurrent_hashes, hashes as argon2_hashes, held as argon2_memory_held};

// The tests below check file modes.
#[cfg(test)]
use std::os::unix::fs::PermissionsExt;

type HmacSha256 = Hmac<Sha256>;

/// The shortest master secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// Worded in `render::failures`.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    EnvTooShort,
    Unsafe {
        path: PathBuf,
        problem: secret_file::SecretFileError,
    },
    Unstable {
        path: PathBuf,
        attempts: u32,
    },
    FileTooShort(PathBuf),
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The keys derived from the master secret. `Debug` shows none of them.
pub struct Secrets {
    pepper: SecretBox<[u8; 32]>,
    audit: SecretBox<[u8; 32]>,
    key_rows: SecretBox<[u8; 32]>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

impl Secrets {
    /// Derives independent keys, so the audit key reveals nothing about the pepper and back.
    pub fn from_master(master: &[u8]) -> Self {
        let derive = |label: &[u8]| {
            SecretBox::init_with_mut(|k: &mut [u8; 32]| {
                k.copy_from_slice(&hmac(master, &[label]));
            })
        };
        Self {
            pepper: derive(b"otpd/v1/argon2-pepper"),
            audit: derive(b"otpd/v1/audit-key"),
            key_rows: derive(b"otpd/v1/api-key-row"),
        }
    }

    /// `OTPD_SECRET` when given (at least 32 bytes), else the key file at `path`, created with
    /// mode 0600 and 32 random bytes on first use.
    pub fn load(env_secret: Option<&str>, path: &Path) -> Result<Self, SecretError> {
        if let Some(value) = env_secret {
            let value = Zeroizing::new(value.trim().to_string());
            if value.len() < MIN_SECRET_LEN {
                return Err(SecretError::EnvTooShort);
            }
            return Ok(Self::from_master(value.as_bytes()));
        }
        let master = read_or_create_key_file(path)?;
        Ok(Self::from_master(&master))
    }

    pub fn pepper(&self) -> &[u8] {
        self.pepper.expose_secret()
    }

    /// MAC for the audit chain.
    pub fn audit_mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        hmac(self.audit.expose_secret(), parts)
    }

    /// The audit key with HMAC's key schedule done once, for checking many rows quickly
    /// (`audit verify`): [`AuditKey::mac`] equals [`Secrets::audit_mac`].
    pub fn audit_key(&self) -> AuditKey {
        AuditKey(
            <HmacSha256 as KeyInit>::new_from_slice(self.audit.expose_secret())
                .expect("HMAC takes any key length"),
        )
    }

    /// The keyed hash that stands for a phone number in the audit log, so filters work but the
    /// database alone does not reveal the number.
    pub fn phone_key(&self, e164: &str) -> String {
        hex::encode(&hmac(self.audit.expose_secret(), &[b"phone:", e164.as_bytes()])[..16])
    }
}

impl Secrets {
    /// The stored form of an API key's secret (`otpd keys`): HMAC-SHA256 under a key derived
    /// from the master secret. A fast keyed hash suffices: the secrets are 256-bit random, so
    /// there is nothing to brute-force, and the key keeps a stolen database from even testing
    /// guesses offline. argon2 here would make every HTTP request pay a hash.
    pub fn api_key_hash(&self, sid: &str, secret: &str) -> String {
        let key = hmac(self.audit.expose_secret(), &[b"otpd/v1/api-key"]);
        hex::encode(hmac(&key, &[sid.as_bytes(), b":", secret.as_bytes()]))
    }

    /// The stored form of an audit-page session token: HMAC-SHA256 under its own derived key,
    /// so the database never holds a token that would let its reader in (256-bit random, as
    /// key secrets, so a fast keyed hash suffices).
    pub fn session_hash(&self, token: &str) -> String {
        let key = hmac(self.audit.expose_secret(), &[b"otpd/v1/audit-session"]);
        hex::encode(hmac(&key, &[token.as_bytes()]))
    }

    /// The seal of an API key's row (`api_keys.mac`): HMAC-SHA256 over the row's canonical bytes
    /// under the key-row key, so a row whose role, station, secret hash or dates were edited in
    /// the database no longer matches (see `store::key_seal`).
    pub fn key_row_seal(&self, canonical: &[u8]) -> String {
        hex::encode(hmac(self.key_rows.expose_secret(), &[canonical]))
    }

    /// Whether `seal` (hex, as stored) is the seal of `canonical`, compared in constant time.
    pub fn key_row_seal_matches(&self, canonical: &[u8], seal: &str) -> bool {
        let Ok(given) = hex::decode(seal) else {
            return false;
        };
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(self.key_rows.expose_secret())
            .expect("HMAC takes any key length");
        mac.update(canonical);
        mac.verify_slice(&given).is_ok()
    }
}

/// A keyed HMAC state for the audit chain. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct AuditKey(HmacSha256);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey([redacted])")
    }
}

impl AuditKey {
    /// HMAC-SHA256 of the concatenated parts (no allocation; the key schedule is reused).
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Keeps secrets out of core files: the process is marked not dumpable (which also closes its
/// memory to other processes of the same user through `/proc` and ptrace) and its core-file
/// limit is 0, soft and hard. Best effort: a system that refuses either still runs otpd.
pub fn forbid_core_dumps() {
    use rustix::process::{Resource, Rlimit, setrlimit};
    #[cfg(target_os = "linux")]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    let _ = setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
}

pub(crate) fn getrandom_fill(buf: &mut [u8]) {
    use rand::{TryRng, rngs::SysRng};
    // The OS RNG does not fail on supported systems; if it ever did, refuse to continue
    // rather than write a weak key.
    SysRng
        .try_fill_bytes(buf)
        .expect("the operating system's random number generator failed");
}

/// argon2id parameters as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's minimum recommendation for argon2id.
    pub const OWASP: HashParams = HashParams {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    pub fn below_owasp(&self) -> bool {
        self.memory_kib < Self::OWASP.memory_kib || self.iterations < Self::OWASP.iterations
    }

    pub fn to_argon2(self) -> Result<Params, argon2::Error> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
    }
}

/// Worded in `render::failures`.
#[derive(Debug, thiserror::Error)]
pub struct HashError(String);

impl HashError {
    /// argon2's own words (worded in `render::failures`).
    pub fn detail(&self) -> &str {
        &self.0
    }
}

/// Hashes and checks codes with argon2id and the pepper.
pub struct CodeHasher<'s> {
    params: Params,
    secrets: &'s Secrets,
}

impl<'s> CodeHasher<'s> {
    pub fn new(params: HashParams, secrets: &'s Secrets) -> Result<Self, HashError> {
        let params = params.to_argon2().map_err(|e| HashError(e.to_string()))?;
        Ok(Self { params, secrets })
    }

    /// A PHC string (`$argon2id$v=19$m=…`) with a fresh random salt.
    pub fn hash(&self, code: &Code) -> Result<String, HashError> {
        let err = |e: &dyn std::fmt::Display| HashError(e.to_string());
        let mut salt = [0u8; 16];
        getrandom_fill(&mut salt);
        let salt = Salt::new(&salt).map_err(|e| err(&e))?;
        let mut out = [0u8; 32];
        self.hash_into(
            Algorithm::Argon2id,
            Version::V0x13,
            &self.params,
            code,
            &salt,
            &mut out,
        )?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| err(&e))?,
            salt: Some(salt),
            hash: Some(Output::new(&out).map_err(|e| err(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `code` matches `phc`, using the algorithm, version and parameters stored in
    /// `phc`. A malformed hash never matches; the comparison takes constant time.
    pub fn verify(&self, code: &Code, phc: &str) -> bool {
        let Ok(stored) = PasswordHash::new(phc) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params)) = (
            Algorithm::try_from(stored.algorithm.as_str()),
            Params::try_from(&stored),
        ) else {
            return false;
        };
        let version = match stored.version.map(Version::try_from) {
            None => Version::V0x13,
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        let mut out = vec![0u8; expected.len()];
        if self
            .hash_into(algorithm, version, &params, code, salt, &mut out)
            .is_err()
        {
            return false;
        }
        // `Output`'s equality is constant-time.
        Output::new(&out).is_ok_and(|computed| &computed == expected)
    }

    /// argon2 over `code` with the pepper, in memory from the process's bounded pool.
    fn hash_into(
        &self,
        algorithm: Algorithm,
        version: Version,
        params: &Params,
        code: &Code,
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashError> {
        let argon2 =
            Argon2::new_with_secret(self.secrets.pepper(), algorithm, version, params.clone())
                .map_err(|e| HashError(e.to_string()))?;
        memory::with_blocks(params.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(
                code.expose_digits().as_bytes(),
                salt,
                out,
                blocks,
            )
        })
        .ok_or_else(|| HashError("cannot allocate argon2's memory".into()))?
        .map_err(|e| HashError(e.to_string()))
    }

    /// A well-formed hash that no code matches, at the current parameters: checking a code
    /// against it costs what a real check costs, so refusals cannot be told apart by timing.
    pub fn decoy(&self) -> String {
        format!(
            "$argon2id$v=19$m={},t={},p={}$b3RwZC1kZWNveS1zYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const CHEAP: HashParams = HashParams {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    fn secrets(tag: &str) -> Secrets {
        Secrets::from_master(format!("{tag}-0123456789abcdef0123456789abcdef").as_bytes())
    }

    #[test]
    fn hash_verifies_only_with_the_same_code_and_pepper() {
        let s = secrets("a");
        let h = CodeHasher::new(CHEAP, &s).unwrap();
        let code = Code::parse("482913").unwrap();
        let phc = h.hash(&code).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(!phc.contains("482913"));
        assert!(h.verify(&code, &phc));
        assert!(!h.verify(&Code::parse("482914").unwrap(), &phc));
        let other = secrets("b");
        let h2 = CodeHasher::new(CHEAP, &other).unwrap();
        assert!(
            !h2.verify(&code, &phc),
            "a different pepper must not verify"
        );
    }

    #[test]
    fn hashes_agree_with_argon2s_own_entry_points_both_ways() {
        use argon2::{PasswordHasher, PasswordVerifier};
        // Databases hold hashes written by argon2's `hash_password` before the reused memory;
        // those must still verify, and new ones must verify with argon2's own code.
        let s = secrets("a");
        let code = Code::parse("482913").unwrap();
        let params = HashParams {
            memory_kib: 64,
            iterations: 2,
            parallelism: 2,
        };
        let h = CodeHasher::new(params, &s).unwrap();
        let lib = Argon2::new_with_secret(
            s.pepper(),
            Algorithm::Argon2id,
            Version::V0x13,
            params.to_argon2().unwrap(),
        )
        .unwrap();
        let old = lib.hash_password(b"482913").unwrap().to_string();
        assert!(h.verify(&code, &old));
        assert!(!h.verify(&Code::parse("482914").unwrap(), &old));
        let new = h.hash(&code).unwrap();
        assert!(new.starts_with("$argon2id$v=19$m=64,t=2,p=2$"), "{new}");
        assert!(lib.verify_password(b"482913", new.as_str()).is_ok());
        // Stored parameters win over the configured ones (an older, cheaper hash still checks),
        // and a truncated or foreign hash never matches.
        assert!(CodeHasher::new(CHEAP, &s).unwrap().verify(&code, &new));
        assert!(!h.verify(&code, &new[..new.len() - 4]));
        assert!(!h.verify(&code, &new.replace("argon2id", "argon2d")));
        assert!(!h.verify(&code, "not a hash"));
    }

    #[test]
    fn decoy_is_well_formed_and_matches_nothing() {
        let s = secrets("a");
        let h = CodeHasher::new(CHEAP, &s).unwrap();
        let decoy = h.decoy();
        assert!(
            argon2::password_hash::phc::PasswordHash::new(&decoy).is_ok(),
            "{decoy}"
        );
        assert!(!h.verify(&Code::parse("000000").unwrap(), &decoy));
    }

    /// Known answers computed outside otpd (Python's `hmac`, SHA-256) for the master secret of
    /// `secrets("a")`: each key is HMAC(master, its own label). They fail if the two keys are
    /// one (e.g. the pepper used as the audit key), if the labels swap or change (which would
    /// orphan every stored code and break every audit chain), or if a MAC or a phone key is
    /// computed with the wrong key.
    const PEPPER_A: &str = "16d0baed688ea07f1367a7f2520902be4f0dd46f66d418e56d5e3f4f1b3f9509";
    const AUDIT_KEY_A: &str = "8e9d8f78cfbbee78106b67c971e298b0679d49f6c0022df4c963adadc1bb36fb";
    const AUDIT_MAC_A_ABC: &str =
        "bd29ab3f1bde563e80430336d56cf9e45ad9fd9c83ed42f6b9823e4b4194884d";
    const PHONE_KEY_A_US: &str = "b5f643497b8124ef46b9fb307ae10ada";

    #[test]
    fn the_pepper_and_the_audit_key_are_derived_apart_from_the_master() {
        let s = secrets("a");
        assert_eq!(hex::encode(s.pepper()), PEPPER_A);
        assert_eq!(hex::encode(s.audit.expose_secret()), AUDIT_KEY_A);
        assert_ne!(s.pepper(), s.audit.expose_secret().as_slice());
        assert_eq!(hex::encode(s.audit_mac(&[b"abc"])), AUDIT_MAC_A_ABC);
        assert_eq!(
            hex::encode(s.audit_key().mac(&[b"ab", b"c"])),
            AUDIT_MAC_A_ABC,
            "the prepared key gives the same MAC over the same bytes, however split"
        );
        assert_eq!(format!("{s:?}"), "Secrets([redacted])");
        assert_eq!(format!("{:?}", s.audit_key()), "AuditKey([redacted])");
    }

    /// HMAC(master of `secrets("a")`, "otpd/v1/api-key-row"), and its seal of "abc" (Python's
    /// `hmac`): fails if the key-row key is the audit key or the pepper, or its label changes
    /// (which would leave every stored key row "tampered").
    const KEY_ROW_KEY_A: &str = "52d8d33f48ffecaf52dca98c5ce9ce38df8877d71c3032151ad5c8545e68db6c";
    const KEY_ROW_SEAL_A_ABC: &str =
        "3c4e7ea1635a3658b7a39b3e4c338e032c90e2780078ce4d15d34ced1aaee29f";

    #[test]
    fn the_key_row_key_is_derived_apart_and_seals_check_in_constant_time() {
        let s = secrets("a");
        assert_eq!(hex::encode(s.key_rows.expose_secret()), KEY_ROW_KEY_A);
        assert_eq!(s.key_row_seal(b"abc"), KEY_ROW_SEAL_A_ABC);
        assert!(s.key_row_seal_matches(b"abc", KEY_ROW_SEAL_A_ABC));
        assert!(!s.key_row_seal_matches(b"abd", KEY_ROW_SEAL_A_ABC));
        assert!(!s.key_row_seal_matches(b"abc", &KEY_ROW_SEAL_A_ABC[..62]));
        assert!(!s.key_row_seal_matches(b"abc", "not hex"));
        assert!(!secrets("b").key_row_seal_matches(b"abc", KEY_ROW_SEAL_A_ABC));
    }

    #[test]
    fn a_phone_key_is_keyed_by_the_audit_key_and_hides_the_number() {
        let s = secrets("a");
        let us = s.phone_key("+14155552671");
        assert_eq!(us, PHONE_KEY_A_US);
        assert!(!us.contains("4155552671"));
        assert_ne!(us, s.phone_key("+12025550123"), "numbers keep apart");
        assert_ne!(
            us,
            secrets("b").phone_key("+14155552671"),
            "another installation's key for the same number differs"
        );
    }

    #[test]
    fn key_file_is_created_private_and_loose_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/secret.key");
        let a = Secrets::load(None, &path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = Secrets::load(None, &path).unwrap();
        assert_eq!(a.pepper(), b.pepper(), "the same file gives the same keys");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = Secrets::load(None, &path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        assert!(matches!(
            Secrets::load(Some("short"), &path),
            Err(SecretError::EnvTooShort)
        ));
    }
}
