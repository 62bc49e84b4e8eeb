//! What the benches share: an otpd installation in a temp dir with the OWASP argon2 parameters,
//! pending verifications inserted straight into the store (so setting up a measurement costs
//! no hash), and the bare argon2id verify every figure is compared with.

#![allow(dead_code)]

/// The tests' fake Twilio (it checks nothing here: the benches only need its answers).
#[path = "../../tests/support/fake_twilio.rs"]
pub mod twilio;

use std::path::PathBuf;

use argon2::{Algorithm, Argon2, PasswordVerifier, Version};
use chrono::{DateTime, TimeDelta, Utc};
use otpd::crypto::{CodeHasher, HashParams, Secrets};
use otpd::domain::{Channel, Code, PhoneNumber};
use otpd::store::{Backend, NewChallenge, Store};

/// The master secret every bench (and every otpd process it starts) uses.
pub const SECRET: &str = "bench-secret-0123456789abcdef-0123456789abcdef";
/// The code every inserted verification expects.
pub const CODE: &str = "428613";
pub const WRONG: &str = "428614";
pub const STATION: &str = "bench";

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub secrets: Secrets,
    pub params: HashParams,
    /// The PHC string of [`CODE`] under this fixture's pepper, computed once.
    pub phc: String,
    /// The abuse limits verify consults (the number's lock-out state).
    pub limits: otpd::domain::Limits,
}

impl Fixture {
    pub fn new(params: HashParams) -> Fixture {
        // OTPD_BENCH_DIR=/dev/shm measures otpd without the disk's fsync latency.
        let dir = match std::env::var_os("OTPD_BENCH_DIR") {
            Some(d) => tempfile::tempdir_in(d),
            None => tempfile::tempdir(),
        }
        .expect("temp dir");
        let secrets = Secrets::load(Some(SECRET), &dir.path().join("unused.key")).expect("secret");
        let phc = CodeHasher::new(params, &secrets)
            .expect("params")
            .hash(&code())
            .expect("hash");
        Fixture {
            dir,
            secrets,
            params,
            phc,
            // The default limits, except that thousands of wrong codes for one number (as the
            // benches make) never lock it out: a lock-out refuses without a hash.
            limits: otpd::domain::Limits {
                max_failures_per_number: u32::MAX,
                failures_before_unlock: u32::MAX,
                ..otpd::domain::Limits::default()
            },
        }
    }

    /// The read-only half of a `Service` over this fixture's secrets and limits.
    pub fn ctx<'a>(
        &'a self,
        hasher: &'a otpd::crypto::CodeHasher<'a>,
        delivery: &'a dyn otpd::delivery::Delivery,
        policy: &'a otpd::domain::Policy,
    ) -> otpd::service::Ctx<'a> {
        otpd::service::Ctx {
            secrets: &self.secrets,
            limits: &self.limits,
            hasher,
            delivery,
            policy,
            station: STATION,
            composer: composer(),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("otpd.db")
    }

    pub fn store(&self) -> Store {
        Store::open(&self.db_path()).expect("open store")
    }

    /// A pending verification for `phone` whose code is [`CODE`], expiring `ttl` after `now`.
    pub fn insert(&self, store: &mut Store, phone: &PhoneNumber, now: DateTime<Utc>, ttl: i64) {
        let max_attempts = 100;
        let store: &mut dyn Backend = store;
        store
            .transaction(|tx| {
                tx.insert_challenge(&NewChallenge {
                    phone,
                    station: STATION,
                    channel: Channel::Sms,
                    code_hash: &self.phc,
                    code_length: CODE.len(),
                    now,
                    expires_at: now + TimeDelta::seconds(ttl),
                    max_attempts,
                    locale: None,
                })
            })
            .expect("insert challenge");
    }

    /// The bare cost: one argon2id verify with the same parameters and pepper, nothing else.
    pub fn bare_verify(&self, code: &str) -> bool {
        let argon = Argon2::new_with_secret(
            self.secrets.pepper(),
            Algorithm::Argon2id,
            Version::V0x13,
            self.params.to_argon2().expect("params"),
        )
        .expect("argon2");
        argon
            .verify_password(code.as_bytes(), self.phc.as_str())
            .is_ok()
    }
}

pub fn code() -> Code {
    Code::parse(CODE).expect("code")
}

pub fn wrong() -> Code {
    Code::parse(WRONG).expect("code")
}

/// `n` distinct valid numbers (+1 415 555 2600 and up).
pub fn phones(n: usize) -> Vec<PhoneNumber> {
    (2600..9999)
        .filter_map(|i| PhoneNumber::parse(&format!("+1 415 555 {i:04}")).ok())
        .take(n)
        .collect()
}

/// The default `[message]` settings, built once.
fn composer() -> &'static otpd::message::Composer {
    static C: std::sync::OnceLock<otpd::message::Composer> = std::sync::OnceLock::new();
    C.get_or_init(|| otpd::message::Composer::new(&Default::default()).expect("defaults"))
}
