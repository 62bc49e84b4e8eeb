//! Service tests of how `verify` settles a code at the edges: a timed lock, an expired
//! verification, a code already approved, a code replaced by a resend while it was hashed.
//! Written to kill mutants `cargo mutants` found missed (see RELIABILITY.md).

use super::*;

#[test]
fn a_timed_number_lock_asks_no_operator() {
    let mut f = Fixture::new(lock_at_3());
    let (right, wrong) = codes(&mut f);
    let clock = FixedClock(t0());
    for _ in 0..3 {
        f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    }
    let o = f.run(|s| s.verify(&clock, Some(&us()), &right)).unwrap();
    match o {
        Outcome::NumberLocked {
            operator_action,
            retry_after_seconds,
            ..
        } => assert_eq!((operator_action, retry_after_seconds), (None, 3600)),
        o => panic!("{o:?}"),
    }
    let want = "number locked after 3 wrong codes in a row (limits.max_failures_per_number); \
                retry after 3600 s";
    assert_eq!(details(&f, "locked"), [want]);
}

#[test]
fn any_code_for_an_expired_verification_is_expired_and_not_counted() {
    let mut f = Fixture::new(lock_at_3());
    let (right, wrong) = codes(&mut f);
    let late = FixedClock(t0() + f.policy.ttl + TimeDelta::seconds(1));
    for code in [&wrong, &right] {
        let o = f.run(|s| s.verify(&late, Some(&us()), code)).unwrap();
        assert!(matches!(o, Outcome::Expired { .. }), "{o:?}");
    }
    assert_eq!(audit_count(&f, "expired"), 2);
    assert_eq!(audit_count(&f, "invalid"), 0);
    assert_eq!(number_row(&f), (0, false, false));
}

#[test]
fn after_approval_the_right_code_is_already_used_and_a_wrong_one_finds_nothing() {
    let mut f = Fixture::new(lock_at_3());
    let (right, wrong) = codes(&mut f);
    let clock = FixedClock(t0());
    let o = f.run(|s| s.verify(&clock, Some(&us()), &right)).unwrap();
    assert!(matches!(o, Outcome::Approved { .. }), "{o:?}");
    let o = f.run(|s| s.verify(&clock, Some(&us()), &right)).unwrap();
    assert!(matches!(o, Outcome::AlreadyUsed { .. }), "{o:?}");
    assert_eq!(details(&f, "already_used"), [""]);
    let o = f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    assert!(matches!(o, Outcome::NoPending { phone: Some(_) }), "{o:?}");
    assert_eq!(details(&f, "no_pending"), ["already verified; wrong code"]);
    assert_eq!(
        number_row(&f),
        (0, false, false),
        "neither counts as a failure"
    );
}

#[test]
fn a_right_code_replaced_by_a_resend_while_it_was_hashed_is_refused_as_replaced() {
    let mut f = Fixture::new(lock_at_3());
    let (right, _) = codes(&mut f);
    let clock = FixedClock(t0());
    let held = f.run(|s| s.admit(&clock, Some(&us()).into())).unwrap();
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
    assert!(matches!(o, Outcome::Sent { .. }), "{o:?}");
    let o = f
        .run(|s| s.finish(&clock, Some(&us()).into(), &right, held))
        .unwrap();
    assert!(matches!(o, Outcome::Invalid { .. }), "{o:?}");
    assert_eq!(details(&f, "invalid"), ["code replaced by a resend"]);
    assert_eq!(state(&f), "pending");
}
