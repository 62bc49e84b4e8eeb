//! What the benches share: an otpd installation in a temp dir with the OWASP argon2 parameters,
//! pending verifications inserted straight into the store (so setting up a measurement costs
//! no hash), and the bare argon2id verify every figure is compared with.

#![allow(dead_code)]

/// The tests' fake Twilio (it checks nothing here: the benches only need its answers).
#[path = "../../tests/support/fake_twilio.rs"]
pub mod twilio;

use std::path::PathBuf;

use chrono::{DateTime, TimeDelta, Utc};
use otpd::crypto::{CodeHasher, HashParams, Secrets};
use otpd::domain::{Channel, Code, PhoneNumber};
use otpd::store::sqlite::SqliteStore;
use otpd::store::{Backend, NewChallenge};

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
    /// The local operator every benchmark acts as.
    pub caller: otpd::domain::Caller,
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
            caller: otpd::domain::Caller::local(STATION),
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
            caller: &self.caller,
            composer: composer(),
            events: events(),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("otpd.db")
    }

    pub fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.db_path()).expect("open store")
    }

    /// A pending verification for `phone` whose code is [`CODE`], expiring `ttl` after `now`.
    pub fn insert(
        &self,
        store: &mut SqliteStore,
        phone: &PhoneNumber,
        now: DateTime<Utc>,
        ttl: i64,
    ) {
        self.insert_into(store, phone, now, ttl)
    }

    /// [`Fixture::insert`] into any store (SQLite or PostgreSQL).
    pub fn insert_into(
        &self,
        store: &mut dyn Backend,
        phone: &PhoneNumber,
        now: DateTime<Utc>,
        ttl: i64,
    ) {
        let max_attempts = 100;
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

    /// The bare cost: one argon2id verify through otpd's hasher (the same parameters, pepper
    /// and reused working memory as every otpd command), nothing else.
    pub fn bare_verify(&self, code: &str) -> bool {
        let hasher = CodeHasher::new(self.params, &self.secrets).expect("params");
        hasher.verify(&Code::parse(code).expect("code"), &self.phc)
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

/// No `[events]` sinks, built once.
fn events() -> &'static otpd::config::events::EventsConfig {
    static E: std::sync::OnceLock<otpd::config::events::EventsConfig> = std::sync::OnceLock::new();
    E.get_or_init(Default::default)
}

/// Appends `rows` varied events (spread over the last 30 days, 2,000 numbers, 8 stations) to
/// any store, 20,000 to a transaction: the 1,000,000-row audit log the audit benches read.
pub fn append_audit_rows(store: &mut dyn Backend, secrets: &Secrets, rows: i64) {
    use otpd::store::audit::{Event, NewEvent};
    let phones: Vec<PhoneNumber> = (0..10_000)
        .filter_map(|i| PhoneNumber::parse(&format!("+1 415 555 {:04}", (2671 + i) % 10_000)).ok())
        .take(2_000)
        .collect();
    let stations: Vec<String> = (0..8).map(|i| format!("desk-{i}")).collect();
    let mix = [
        Event::Sent,
        Event::Delivered,
        Event::Approved,
        Event::Sent,
        Event::Delivered,
        Event::Invalid,
        Event::Approved,
        Event::Resent,
        Event::Delivered,
        Event::Expired,
        Event::RateLimited,
        Event::Locked,
        Event::NoPending,
    ];
    let end = Utc::now();
    let start = end - TimeDelta::days(30);
    let step = TimeDelta::days(30).num_milliseconds() / rows.max(1);
    let mut i = 0i64;
    while i < rows {
        let n = (rows - i).min(20_000);
        store
            .transaction(|tx| {
                for k in i..i + n {
                    let event = mix[(k as usize * 7 + k as usize / 13) % mix.len()];
                    tx.append_event(
                        secrets,
                        &NewEvent {
                            at: start + TimeDelta::milliseconds(k * step),
                            station: &stations[(k as usize / 3) % stations.len()],
                            event,
                            phone: Some(&phones[(k as usize / 3) % phones.len()]),
                            challenge_id: Some(k / 3 + 1),
                            detail: match event {
                                Event::Invalid => "attempt 2 of 5".into(),
                                Event::Delivered => "outbox: written to the outbox".into(),
                                Event::Sent => "sms".into(),
                                _ => String::new(),
                            },
                        },
                    )?;
                }
                Ok(())
            })
            .expect("append");
        i += n;
    }
}
