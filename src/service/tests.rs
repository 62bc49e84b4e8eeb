//! Unit tests of the service's limits through its public API, with an in-memory recording
//! delivery: a refused send makes zero delivery calls and leaves no verification behind.

use chrono::{DateTime, TimeDelta, Utc};
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;

use super::{Ctx, Service};
use crate::crypto::{CodeHasher, HashParams, Secrets};
use crate::delivery::RecordingDelivery;
use crate::domain::{Channel, Code, Limits, Outcome, PhoneNumber, Policy};
use crate::store::Store;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    secrets: Secrets,
    delivery: RecordingDelivery,
    policy: Policy,
    limits: Limits,
}

impl Fixture {
    fn new(limits: Limits) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("otpd.db")).unwrap();
        Fixture {
            _dir: dir,
            store,
            secrets: Secrets::from_master(b"0123456789abcdef0123456789abcdef"),
            delivery: RecordingDelivery::default(),
            policy: Policy {
                resend_cooldown: TimeDelta::zero(),
                ..Policy::default()
            },
            // As config does: the back-off starts from the policy's cooldown.
            limits: Limits {
                base_cooldown: TimeDelta::zero(),
                ..limits
            },
        }
    }

    fn run<T>(&mut self, f: impl FnOnce(&mut Service<'_>) -> T) -> T {
        let params = HashParams {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        };
        let hasher = CodeHasher::new(params, &self.secrets).unwrap();
        let mut s = Service::new(
            &mut self.store,
            Ctx {
                secrets: &self.secrets,
                hasher: &hasher,
                delivery: &self.delivery,
                policy: &self.policy,
                limits: &self.limits,
                station: "desk-1",
            },
        );
        f(&mut s)
    }

    fn send(&mut self, now: DateTime<Utc>, phone: &PhoneNumber) -> Outcome {
        self.run(|s| s.send(now, &mut UnwrapErr(SysRng), phone, Channel::Sms))
            .unwrap()
    }

    fn rows(&self, table: &str) -> i64 {
        self.store
            .connection()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn us() -> PhoneNumber {
    PhoneNumber::parse("+1 415 555 2671").unwrap()
}

#[test]
fn a_country_refusal_makes_no_delivery_call_and_no_verification() {
    let mut f = Fixture::new(Limits {
        allowed_countries: vec!["GB".into()],
        ..Limits::default()
    });
    let o = f.send(t0(), &us());
    assert!(matches!(o, Outcome::CountryBlocked { .. }), "{o:?}");
    assert_eq!(f.delivery.count(), 0);
    assert_eq!(f.rows("challenges"), 0);
    assert_eq!(f.rows("limit_sends"), 0);
}

#[test]
fn a_capped_send_makes_no_delivery_call() {
    let mut f = Fixture::new(Limits {
        per_number_per_hour: 2,
        ..Limits::default()
    });
    for _ in 0..2 {
        assert!(matches!(f.send(t0(), &us()), Outcome::Sent { .. }));
    }
    assert_eq!(f.delivery.count(), 2);
    let o = f.send(t0(), &us());
    match o {
        Outcome::RateLimited {
            retry_after_seconds,
            limit,
            ..
        } => {
            assert_eq!(retry_after_seconds, 3600);
            assert_eq!(limit.map(|l| l.key()), Some("limits.per_number_per_hour"));
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(f.delivery.count(), 2, "the refused send delivered nothing");
    assert_eq!(f.rows("limit_sends"), 2);
}

#[test]
fn a_locked_number_is_refused_at_verify_without_counting_an_attempt() {
    let mut f = Fixture::new(Limits {
        max_failures_per_number: 2,
        failures_before_unlock: 3,
        ..Limits::default()
    });
    f.send(t0(), &us());
    let right = f.delivery.last_code_for("+14155552671").unwrap();
    let wrong = Code::parse(if right == "000000" {
        "111111"
    } else {
        "000000"
    })
    .unwrap();
    let phone = us();
    for _ in 0..2 {
        let o = f.run(|s| s.verify(t0(), Some(&phone), &wrong)).unwrap();
        assert!(matches!(o, Outcome::Invalid { .. }), "{o:?}");
    }
    let right = Code::parse(&right).unwrap();
    let o = f.run(|s| s.verify(t0(), Some(&phone), &right)).unwrap();
    assert!(
        matches!(
            o,
            Outcome::NumberLocked {
                consecutive_failures: 2,
                retry_after_seconds: 3600,
                ..
            }
        ),
        "{o:?}"
    );
    let attempts: i64 = f
        .store
        .connection()
        .query_row("SELECT attempts FROM challenges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(attempts, 2);
    let o = f.run(|s| s.unlock(t0(), &phone)).unwrap();
    assert!(
        matches!(
            o,
            Outcome::Unlocked {
                was_locked: true,
                ..
            }
        ),
        "{o:?}"
    );
    let o = f.run(|s| s.verify(t0(), Some(&phone), &right)).unwrap();
    assert!(matches!(o, Outcome::Approved { .. }), "{o:?}");
}
