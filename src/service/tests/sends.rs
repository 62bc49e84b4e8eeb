//! Service tests of sending under the limits, through `Service`: what a refusal tells the
//! caller and the audit log (the operator's way out, the paused scope), the conversion pause
//! and `limits resume`, the lock-outs `limits` lists, and `resend` of a spent or expired code.
//! Written to kill mutants `cargo mutants` found missed (see RELIABILITY.md).

use chrono::TimeDelta;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;

use super::{Fixture, audit_count, codes, details, lock_at_3, state, t0, us};
use crate::clock::FixedClock;
use crate::delivery::DeliveryError;
use crate::domain::limits::{Limit, Scope};
use crate::domain::outcome::LimitsView;
use crate::domain::{Limits, Outcome, PhoneNumber};

/// Numbers sharing `us()`'s prefix, all valid: +1 415 555 2600, 2601, …
fn neighbour(i: usize) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1 415 555 26{i:02}")).unwrap()
}

fn guard() -> Limits {
    Limits {
        min_sends_for_conversion: 5,
        min_conversion: 0.5,
        ..Limits::default()
    }
}

fn limits_view(f: &mut Fixture, phone: Option<&PhoneNumber>) -> LimitsView {
    match f.run(|s| s.limits(t0(), phone)).unwrap() {
        Outcome::Limits { view } => *view,
        o => panic!("{o:?}"),
    }
}

/// (limit, operator_action, scope) of a `RateLimited` outcome.
fn refusal(o: &Outcome) -> (Option<Limit>, Option<&str>, Option<Scope>) {
    match o {
        Outcome::RateLimited {
            limit,
            operator_action,
            scope,
            ..
        } => (*limit, operator_action.as_deref(), *scope),
        o => panic!("{o:?}"),
    }
}

#[test]
fn a_collapsed_station_is_paused_audited_with_its_scope_and_resumed_by_an_operator() {
    let mut f = Fixture::new(guard());
    // (Resuming restarts the guard's window: do it before the sends it should judge.)
    let o = f.run(|s| s.resume(t0() - TimeDelta::seconds(1))).unwrap();
    assert!(
        matches!(o, Outcome::Resumed { was_paused: false, ref lifted, .. } if lifted.is_empty()),
        "nothing was paused: {o:?}"
    );
    for i in 0..5 {
        assert!(matches!(f.send(t0(), &neighbour(i)), Outcome::Sent { .. }));
    }
    // The sixth send finds 0 of 5 verified: the guard trips for this station.
    let o = f.send(t0(), &neighbour(5));
    let resume = Some("otpd limits resume");
    assert_eq!(
        refusal(&o),
        (Some(Limit::Conversion), resume, Some(Scope::Station))
    );
    let paused = details(&f, "limits_paused");
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert!(
        paused[0].starts_with("station desk-1: only 0 of 5 verifications from this station"),
        "{paused:?}"
    );
    let reason = match &o {
        Outcome::RateLimited { reason, .. } => reason.clone(),
        _ => unreachable!(),
    };
    assert_eq!(
        details(&f, "rate_limited"),
        [format!(
            "{reason} (limits.min_conversion; station desk-1); needs an operator"
        )]
    );
    // The pause holds (persisted, not re-judged) for any number, and is audited once.
    let o = f.send(t0(), &us());
    assert_eq!(
        refusal(&o),
        (Some(Limit::Paused), resume, Some(Scope::Station))
    );
    assert_eq!(audit_count(&f, "limits_paused"), 1);
    assert_eq!(f.delivery.count(), 5);
    // `limits` with no number still says this station is paused.
    let view = limits_view(&mut f, None);
    assert_eq!(view.paused_at, Some(t0()));
    assert!(view.pauses.len() == 1 && view.paused_reason.is_some());

    let o = f.run(|s| s.resume(t0())).unwrap();
    match o {
        Outcome::Resumed {
            was_paused, lifted, ..
        } => assert!(was_paused && lifted.len() == 1, "{lifted:?}"),
        o => panic!("{o:?}"),
    }
    let resumed = details(&f, "limits_resumed");
    assert_eq!(resumed[0], "was not paused");
    assert!(resumed[1].starts_with("sending resumed; lifted: station desk-1 (paused since "));
    assert!(matches!(f.send(t0(), &us()), Outcome::Sent { .. }));
}

#[test]
fn a_country_outside_the_allow_list_names_the_config_key_that_admits_it() {
    let mut f = Fixture::new(Limits {
        allowed_countries: vec!["GB".into()],
        ..Limits::default()
    });
    let view = limits_view(&mut f, Some(&us()));
    let r = &view.would_refuse;
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].limit, Limit::Country);
    assert_eq!(
        r[0].operator_action.as_deref(),
        Some("add the country to limits.allowed_countries")
    );
}

#[test]
fn a_number_that_needs_an_operator_says_which_command_unlocks_it() {
    let mut f = Fixture::new(Limits {
        max_failures_per_number: 0,
        failures_before_unlock: 3,
        ..Limits::default()
    });
    let (_, wrong) = codes(&mut f);
    let clock = FixedClock(t0());
    for _ in 0..3 {
        f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    }
    let o = f.send(t0(), &us());
    assert_eq!(
        refusal(&o),
        (
            Some(Limit::NumberNeedsUnlock),
            Some("otpd unlock PHONE"),
            None
        )
    );
    assert_eq!(
        details(&f, "rate_limited"),
        [
            "3 wrong codes in a row: this number is locked until an operator unlocks it \
          (limits.failures_before_unlock); needs an operator"
        ]
    );
    let locked = limits_view(&mut f, None).locked_numbers;
    assert_eq!(locked.len(), 1);
    assert!(locked[0].needs_unlock);
    assert_eq!(locked[0].locked_until, None);
}

#[test]
fn a_timed_lock_is_listed_with_its_end_and_waiting_lifts_it() {
    let mut f = Fixture::new(lock_at_3());
    let (_, wrong) = codes(&mut f);
    let clock = FixedClock(t0());
    for _ in 0..3 {
        f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    }
    let locked = limits_view(&mut f, None).locked_numbers;
    assert_eq!(locked.len(), 1);
    assert!(!locked[0].needs_unlock);
    assert_eq!(locked[0].locked_until, Some(t0() + TimeDelta::hours(1)));
    let o = f.send(t0(), &us());
    let (limit, action, _) = refusal(&o);
    assert_eq!((limit, action), (Some(Limit::NumberLocked), None));
    assert_eq!(
        details(&f, "rate_limited"),
        [
            "3 wrong codes in a row: this number is locked (limits.max_failures_per_number); \
          retry after 3600 s"
        ]
    );
}

#[test]
fn each_resend_is_audited_with_its_number() {
    let mut f = Fixture::new(Limits::default());
    f.send(t0(), &us());
    for _ in 0..2 {
        let o = f
            .run(|s| {
                s.resend(
                    t0(),
                    &mut UnwrapErr(SysRng),
                    Some(&us()),
                    Default::default(),
                )
            })
            .unwrap();
        assert!(matches!(o, Outcome::Sent { resent: true, .. }), "{o:?}");
    }
    assert_eq!(details(&f, "resent"), ["sms; resend 1", "sms; resend 2"]);
    // A delivery that reports no provider requests adds no empty list to its row, only the
    // SMS segments billed.
    assert_eq!(
        details(&f, "delivered"),
        ["recording: recorded; 1 SMS segment (GSM-7)"; 3]
    );
}

#[test]
fn resend_of_a_spent_code_is_locked_and_of_an_expired_one_is_nothing_pending() {
    let mut f = Fixture::new(Limits::default());
    let (_, wrong) = codes(&mut f);
    let clock = FixedClock(t0());
    for _ in 0..f.policy.max_attempts {
        f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    }
    let resend = |f: &mut Fixture, at| {
        f.run(|s| s.resend(at, &mut UnwrapErr(SysRng), Some(&us()), Default::default()))
            .unwrap()
    };
    let o = resend(&mut f, t0());
    assert!(matches!(o, Outcome::Locked { .. }), "{o:?}");
    assert_eq!(details(&f, "locked"), ["resend refused"]);
    // Spent and expired: nothing to resend, and no new code.
    let ttl = f.policy.ttl;
    let o = resend(&mut f, t0() + ttl);
    assert!(matches!(o, Outcome::NoPending { phone: Some(_) }), "{o:?}");
    assert_eq!(audit_count(&f, "locked"), 1);
    assert_eq!(f.delivery.count(), 1);
}

#[test]
fn resend_of_an_expired_code_that_was_not_spent_is_nothing_pending() {
    let mut f = Fixture::new(Limits::default());
    f.send(t0(), &us());
    let at = t0() + f.policy.ttl;
    let o = f
        .run(|s| s.resend(at, &mut UnwrapErr(SysRng), Some(&us()), Default::default()))
        .unwrap();
    assert!(matches!(o, Outcome::NoPending { phone: Some(_) }), "{o:?}");
    assert_eq!(audit_count(&f, "locked"), 0);
    assert_eq!(f.delivery.count(), 1);
}

#[test]
fn resend_without_a_number_after_an_approval_names_no_number() {
    let mut f = Fixture::new(Limits::default());
    let (right, _) = codes(&mut f);
    let clock = FixedClock(t0());
    let o = f.run(|s| s.verify(&clock, Some(&us()), &right)).unwrap();
    assert!(matches!(o, Outcome::Approved { .. }), "{o:?}");
    let o = f
        .run(|s| s.resend(t0(), &mut UnwrapErr(SysRng), None, Default::default()))
        .unwrap();
    assert!(matches!(o, Outcome::NoPending { phone: None }), "{o:?}");
    assert_eq!(f.delivery.count(), 1);
}

#[test]
fn a_failed_delivery_of_a_resent_code_closes_the_verification() {
    let mut f = Fixture::new(Limits::default());
    f.send(t0(), &us());
    *f.delivery.fail_with.borrow_mut() = Some(DeliveryError::failed("carrier refused"));
    let o = f
        .run(|s| {
            s.resend(
                t0(),
                &mut UnwrapErr(SysRng),
                Some(&us()),
                Default::default(),
            )
        })
        .unwrap();
    assert!(matches!(o, Outcome::DeliveryFailed { .. }), "{o:?}");
    // The failure is recorded on the resent generation, not lost on the one it replaced.
    assert_eq!(state(&f), "failed");
    let status: String = f
        .store
        .connection()
        .query_row("SELECT delivery_status FROM challenges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(status, "failed");
}
