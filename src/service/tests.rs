//! Unit tests of the service through its API, with an in-memory recording delivery: a refused
//! send makes zero delivery calls and leaves no verification behind; verify reads the clock in
//! each transaction and counts a wrong code with the attempt (its phases driven one by one).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;

use super::verify::Step;
use super::{Ctx, Service};
use crate::clock::{Clock, FixedClock};
use crate::crypto::{CodeHasher, HashParams, Secrets};
use crate::delivery::RecordingDelivery;
use crate::domain::{Channel, Code, Limits, Outcome, PhoneNumber, Policy};
use crate::store::sqlite::SqliteStore;

mod events;
mod ledger;
mod sends;
mod settle;

struct Fixture {
    _dir: Option<tempfile::TempDir>,
    path: PathBuf,
    store: SqliteStore,
    secrets: Secrets,
    delivery: RecordingDelivery,
    policy: Policy,
    limits: Limits,
    composer: crate::message::Composer,
    events: crate::config::events::EventsConfig,
}

impl Fixture {
    fn new(limits: Limits) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut f = Fixture::open(&dir.path().join("otpd.db"), limits);
        f._dir = Some(dir);
        f
    }

    /// Another terminal on the same database (a connection of its own).
    fn open(path: &Path, limits: Limits) -> Fixture {
        let store = SqliteStore::open(path).unwrap();
        Fixture {
            _dir: None,
            path: path.to_path_buf(),
            store,
            secrets: Secrets::from_master(b"0123456789abcdef0123456789abcdef"),
            delivery: RecordingDelivery::default(),
            composer: crate::message::Composer::new(&Default::default()).unwrap(),
            events: Default::default(),
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
        let caller = crate::domain::Caller::local("desk-1");
        let mut s = Service::new(
            &mut self.store,
            Ctx {
                secrets: &self.secrets,
                hasher: &hasher,
                delivery: &self.delivery,
                policy: &self.policy,
                limits: &self.limits,
                caller: &caller,
                composer: &self.composer,
                events: &self.events,
            },
        );
        f(&mut s)
    }

    fn send(&mut self, now: DateTime<Utc>, phone: &PhoneNumber) -> Outcome {
        self.run(|s| {
            s.send(
                now,
                &mut UnwrapErr(SysRng),
                phone,
                Channel::Sms,
                Default::default(),
            )
        })
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
        let o = f
            .run(|s| s.verify(&FixedClock(t0()), Some(&phone), &wrong))
            .unwrap();
        assert!(matches!(o, Outcome::Invalid { .. }), "{o:?}");
    }
    let right = Code::parse(&right).unwrap();
    let o = f
        .run(|s| s.verify(&FixedClock(t0()), Some(&phone), &right))
        .unwrap();
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
    let o = f
        .run(|s| s.verify(&FixedClock(t0()), Some(&phone), &right))
        .unwrap();
    assert!(matches!(o, Outcome::Approved { .. }), "{o:?}");
}

/// A clock that says each of `times` in turn, then keeps saying the last: time passing
/// between one transaction and the next, without a sleep.
struct SteppingClock(RefCell<Vec<DateTime<Utc>>>);

impl SteppingClock {
    fn new(mut times: Vec<DateTime<Utc>>) -> SteppingClock {
        times.reverse();
        SteppingClock(RefCell::new(times))
    }
}

impl Clock for SteppingClock {
    fn now(&self) -> DateTime<Utc> {
        let mut t = self.0.borrow_mut();
        if t.len() > 1 { t.pop().unwrap() } else { t[0] }
    }
}

/// (failures, locked_until set, needs_unlock) of the one number in the ledger.
fn number_row(f: &Fixture) -> (i64, bool, bool) {
    f.store
        .connection()
        .query_row(
            "SELECT failures, locked_until IS NOT NULL, needs_unlock FROM limit_numbers",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap_or((0, false, false))
}

fn audit_count(f: &Fixture, event: &str) -> i64 {
    f.store
        .connection()
        .query_row(
            "SELECT count(*) FROM audit_events WHERE event = ?1",
            [event],
            |r| r.get(0),
        )
        .unwrap()
}

/// Sends a code to `us()`; returns (right, wrong).
fn codes(f: &mut Fixture) -> (Code, Code) {
    f.send(t0(), &us());
    let right = f.delivery.last_code_for("+14155552671").unwrap();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    (Code::parse(&right).unwrap(), Code::parse(wrong).unwrap())
}

fn state(f: &Fixture) -> String {
    f.store
        .connection()
        .query_row("SELECT state FROM challenges", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_code_that_expires_while_verify_waits_is_refused() {
    let mut f = Fixture::new(Limits::default());
    let (right, _) = codes(&mut f);
    let ttl = f.policy.ttl;
    // Admitted a second before expiry; by the time the consuming transaction runs (after
    // waiting for another terminal's lock, say) the code has expired.
    let clock = SteppingClock::new(vec![
        t0() + ttl - TimeDelta::seconds(1),
        t0() + ttl + TimeDelta::seconds(1),
    ]);
    let o = f.run(|s| s.verify(&clock, Some(&us()), &right)).unwrap();
    assert!(matches!(o, Outcome::Expired { .. }), "{o:?}");
    assert_eq!(state(&f), "pending");
    // The right code, just late: not counted towards the number's lock-out.
    assert_eq!(number_row(&f), (0, false, false));
    // With the clock still before expiry at the second read, the same code is accepted.
    let mut f = Fixture::new(Limits::default());
    let (right, _) = codes(&mut f);
    let clock = SteppingClock::new(vec![t0(), t0() + ttl - TimeDelta::seconds(1)]);
    let o = f.run(|s| s.verify(&clock, Some(&us()), &right)).unwrap();
    assert!(matches!(o, Outcome::Approved { .. }), "{o:?}");
}

fn lock_at_3() -> Limits {
    Limits {
        max_failures_per_number: 3,
        failures_before_unlock: 100,
        ..Limits::default()
    }
}

#[test]
fn wrong_guesses_admitted_together_never_overshoot_the_number_lock() {
    let mut f = Fixture::new(lock_at_3());
    f.policy.max_attempts = 10;
    let (_, wrong) = codes(&mut f);
    let clock = FixedClock(t0());
    // Six guesses all pass admission before any is hashed (as six terminals could).
    let steps: Vec<Step> = (0..6)
        .map(|_| f.run(|s| s.admit(&clock, Some(&us()).into())).unwrap())
        .collect();
    let admitted = steps.iter().filter(|s| matches!(s, Step::Check(_))).count();
    assert_eq!(admitted, 3, "only the lock's worth of guesses reach a hash");
    assert_eq!(number_row(&f), (3, true, false), "counted before the hash");
    let outcomes: Vec<Outcome> = steps
        .into_iter()
        .map(|st| {
            f.run(|s| s.finish(&clock, Some(&us()).into(), &wrong, st))
                .unwrap()
        })
        .collect();
    let invalid = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Invalid { .. }));
    assert_eq!(invalid.count(), 3, "{outcomes:?}");
    let refused = outcomes.iter().filter(|o| {
        matches!(
            o,
            Outcome::NumberLocked {
                consecutive_failures: 3,
                ..
            }
        )
    });
    assert_eq!(refused.count(), 3, "{outcomes:?}");
    assert_eq!(
        number_row(&f),
        (3, true, false),
        "settling counts nothing twice"
    );
    assert_eq!(
        lock_details(&f),
        ["3 wrong codes in a row; locked for 3600 s (limits.max_failures_per_number)"]
    );
}

fn lock_details(f: &Fixture) -> Vec<String> {
    let c = f.store.connection();
    let mut st = c
        .prepare("SELECT detail FROM audit_events WHERE event = 'number_locked' ORDER BY id")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_wrong_code_that_needs_an_operator_is_audited_as_such() {
    let mut f = Fixture::new(Limits {
        max_failures_per_number: 0,
        failures_before_unlock: 2,
        ..Limits::default()
    });
    let (_, wrong) = codes(&mut f);
    for _ in 0..2 {
        let o = f
            .run(|s| s.verify(&FixedClock(t0()), Some(&us()), &wrong))
            .unwrap();
        assert!(matches!(o, Outcome::Invalid { .. }), "{o:?}");
    }
    assert_eq!(number_row(&f), (2, false, true));
    let want = "2 wrong codes in a row; locked until an operator runs otpd unlock \
                (limits.failures_before_unlock)";
    assert_eq!(lock_details(&f), [want]);
}

#[test]
fn a_wrong_code_settled_after_expiry_is_still_wrong_and_counted() {
    let mut f = Fixture::new(Limits::default());
    let (_, wrong) = codes(&mut f);
    let ttl = f.policy.ttl;
    let clock = SteppingClock::new(vec![
        t0() + ttl - TimeDelta::seconds(1),
        t0() + ttl + TimeDelta::seconds(1),
    ]);
    let o = f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    assert!(matches!(o, Outcome::Invalid { .. }), "{o:?}");
    assert_eq!(number_row(&f), (1, false, false));
}

#[test]
fn parallel_wrong_guesses_from_threads_never_overshoot_the_number_lock() {
    let mut f = Fixture::new(lock_at_3());
    f.policy.max_attempts = 10;
    let (_, wrong) = codes(&mut f);
    let barrier = std::sync::Barrier::new(7);
    std::thread::scope(|scope| {
        for _ in 0..7 {
            let (path, wrong, barrier) = (f.path.clone(), wrong.clone(), &barrier);
            scope.spawn(move || {
                let mut g = Fixture::open(&path, lock_at_3());
                g.policy.max_attempts = 10;
                barrier.wait();
                g.run(|s| s.verify(&FixedClock(t0()), Some(&us()), &wrong))
                    .unwrap()
            });
        }
    });
    assert_eq!(number_row(&f), (3, true, false));
    assert_eq!(audit_count(&f, "invalid"), 3);
}

#[test]
fn a_crash_after_admission_leaves_the_failure_counted() {
    let mut f = Fixture::new(lock_at_3());
    codes(&mut f);
    let clock = FixedClock(t0());
    let step = f.run(|s| s.admit(&clock, Some(&us()).into())).unwrap();
    assert!(matches!(step, Step::Check(_)));
    drop(step); // the process dies before hashing
    let attempts: i64 = f
        .store
        .connection()
        .query_row("SELECT attempts FROM challenges", [], |r| r.get(0))
        .unwrap();
    assert_eq!((attempts, number_row(&f)), (1, (1, false, false)));
}

#[test]
fn an_approval_takes_back_its_provisional_failure_and_the_lock_it_imposed() {
    // Timed lock: the right code as the lock-imposing third guess.
    let mut f = Fixture::new(lock_at_3());
    let (right, wrong) = codes(&mut f);
    let clock = FixedClock(t0());
    for _ in 0..2 {
        f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    }
    let held = f.run(|s| s.admit(&clock, Some(&us()).into())).unwrap();
    assert_eq!(number_row(&f), (3, true, false));
    // While it is being hashed, a parallel guess sees the provisional lock.
    let o = f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    assert!(matches!(o, Outcome::NumberLocked { .. }), "{o:?}");
    let o = f
        .run(|s| s.finish(&clock, Some(&us()).into(), &right, held))
        .unwrap();
    assert!(matches!(o, Outcome::Approved { .. }), "{o:?}");
    assert_eq!(number_row(&f), (0, false, false));
    assert_eq!(audit_count(&f, "number_locked"), 0);

    // Operator lock: the right code as the guess that would need `otpd unlock`.
    let mut f = Fixture::new(Limits {
        max_failures_per_number: 0,
        failures_before_unlock: 2,
        ..Limits::default()
    });
    let (right, wrong) = codes(&mut f);
    f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    let held = f.run(|s| s.admit(&clock, Some(&us()).into())).unwrap();
    assert_eq!(number_row(&f), (2, false, true));
    let o = f
        .run(|s| s.finish(&clock, Some(&us()).into(), &right, held))
        .unwrap();
    assert!(matches!(o, Outcome::Approved { .. }), "{o:?}");
    assert_eq!(number_row(&f), (0, false, false));
}

#[test]
fn a_right_code_that_lost_the_race_takes_back_its_failure() {
    let mut f = Fixture::new(lock_at_3());
    let (right, wrong) = codes(&mut f);
    let clock = FixedClock(t0());
    f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    let first = f.run(|s| s.admit(&clock, Some(&us()).into())).unwrap();
    let second = f.run(|s| s.admit(&clock, Some(&us()).into())).unwrap();
    assert_eq!(number_row(&f), (3, true, false));
    let o = f
        .run(|s| s.finish(&clock, Some(&us()).into(), &right, first))
        .unwrap();
    assert!(matches!(o, Outcome::Approved { .. }), "{o:?}");
    let o = f
        .run(|s| s.finish(&clock, Some(&us()).into(), &right, second))
        .unwrap();
    assert!(matches!(o, Outcome::AlreadyUsed { .. }), "{o:?}");
    assert_eq!(number_row(&f), (0, false, false));
}

#[test]
fn cancel_without_a_number_asks_which_when_several_are_pending() {
    let mut f = Fixture::new(Limits::default());
    f.send(t0(), &us());
    f.send(t0(), &PhoneNumber::parse("+1 202 555 0123").unwrap());
    let o = f.run(|s| s.cancel(t0(), None)).unwrap();
    assert!(matches!(o, Outcome::PhoneRequired { pending: 2 }), "{o:?}");
    let pending: i64 = f
        .store
        .connection()
        .query_row(
            "SELECT count(*) FROM challenges WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, 2, "nothing was cancelled");
}

#[test]
fn status_of_a_number_lists_its_code_only_until_it_expires() {
    let mut f = Fixture::new(Limits::default());
    f.send(t0(), &us());
    let ttl = f.policy.ttl;
    let listed = |f: &mut Fixture, at| match f.run(|s| s.status(at, Some(&us()))).unwrap() {
        Outcome::Status { pending } => pending.len(),
        o => panic!("{o:?}"),
    };
    assert_eq!(listed(&mut f, t0() + ttl - TimeDelta::seconds(1)), 1);
    assert_eq!(listed(&mut f, t0() + ttl), 0);
}

/// The `detail` of every `event` row, oldest first.
fn details(f: &Fixture, event: &str) -> Vec<String> {
    let c = f.store.connection();
    let mut st = c
        .prepare("SELECT detail FROM audit_events WHERE event = ?1 ORDER BY id")
        .unwrap();
    st.query_map([event], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}
