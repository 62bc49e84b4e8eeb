//! Service tests of the limits' ledger as a send sees it: the prefix and station caps, a day
//! cap across the ledger's pruning, what `limits` shows when a cap or the guard is off, and
//! what `unlock` reports. Through `Service`, so they hold for any store backend; written to
//! kill mutants `cargo mutants` found missed in the SQLite ledger (see RELIABILITY.md).

use chrono::TimeDelta;

use super::{Fixture, codes, details, lock_at_3, t0, us};
use crate::clock::FixedClock;
use crate::domain::limits::{Conversion, Limit};
use crate::domain::{Limits, Outcome, PhoneNumber};

fn number(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

/// Numbers sharing `us()`'s prefix: +1 415 555 2600, 2601, …
fn neighbour(i: usize) -> PhoneNumber {
    number(&format!("+1 415 555 26{i:02}"))
}

fn refused_by(o: &Outcome) -> Option<Limit> {
    match o {
        Outcome::RateLimited { limit, .. } => *limit,
        _ => None,
    }
}

#[test]
fn the_prefix_cap_refuses_the_next_number_in_the_block() {
    let mut f = Fixture::new(Limits {
        per_prefix_per_hour: 2,
        ..Limits::default()
    });
    for i in 0..2 {
        assert!(matches!(f.send(t0(), &neighbour(i)), Outcome::Sent { .. }));
    }
    let o = f.send(t0(), &neighbour(2));
    assert_eq!(refused_by(&o), Some(Limit::PrefixHour), "{o:?}");
    assert!(matches!(
        f.send(t0(), &number("+1 202 555 0123")),
        Outcome::Sent { .. }
    ));
}

#[test]
fn the_station_cap_refuses_the_next_send_to_any_number() {
    let mut f = Fixture::new(Limits {
        per_station_per_hour: 2,
        ..Limits::default()
    });
    for p in ["+1 415 555 2671", "+1 202 555 0123"] {
        assert!(matches!(f.send(t0(), &number(p)), Outcome::Sent { .. }));
    }
    let o = f.send(t0(), &number("+44 7911 123456"));
    assert_eq!(refused_by(&o), Some(Limit::StationHour), "{o:?}");
}

#[test]
fn the_day_cap_still_counts_a_send_23_hours_old_after_the_ledger_is_pruned() {
    let mut f = Fixture::new(Limits {
        per_number_per_day: 1,
        ..Limits::default()
    });
    assert!(matches!(f.send(t0(), &us()), Outcome::Sent { .. }));
    let later = t0() + TimeDelta::minutes(23 * 60 + 30);
    // Another send records (and prunes) the ledger first.
    let other = number("+1 202 555 0123");
    assert!(matches!(f.send(later, &other), Outcome::Sent { .. }));
    let o = f.send(later, &us());
    assert_eq!(refused_by(&o), Some(Limit::NumberDay), "{o:?}");
    assert_eq!(f.delivery.count(), 2);
}

#[test]
fn limits_shows_every_counter_even_when_its_cap_or_the_guard_is_off() {
    let mut f = Fixture::new(Limits {
        per_station_per_hour: 0,
        min_conversion: 0.0,
        ..Limits::default()
    });
    for i in [0, 1, 0] {
        assert!(matches!(f.send(t0(), &neighbour(i)), Outcome::Sent { .. }));
    }
    let view = match f.run(|s| s.limits(t0(), Some(&neighbour(2)))).unwrap() {
        Outcome::Limits { view } => view,
        o => panic!("{o:?}"),
    };
    assert_eq!(view.station_last_hour.count, 3);
    // Three sends (one renewing the first number's code) started two verifications.
    let figures = Conversion {
        sends: 3,
        verifications: 2,
        converted: 0,
    };
    assert_eq!(view.conversion, figures);
    assert_eq!(view.station_conversion, figures);
    assert_eq!(view.prefix_conversion, Some(figures));
}

#[test]
fn unlock_says_whether_the_number_was_locked_and_audits_what_it_forgave() {
    let mut f = Fixture::new(lock_at_3());
    let (_, wrong) = codes(&mut f);
    let clock = FixedClock(t0());
    let unlock = |f: &mut Fixture, wrong_codes: usize, want: bool| {
        for _ in 0..wrong_codes {
            f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
        }
        let o = f.run(|s| s.unlock(t0(), &us())).unwrap();
        assert!(
            matches!(o, Outcome::Unlocked { was_locked, .. } if was_locked == want),
            "{o:?}"
        );
    };
    unlock(&mut f, 1, false);
    unlock(&mut f, 0, false);
    unlock(&mut f, 3, true);
    assert_eq!(
        details(&f, "unlocked"),
        [
            "1 wrong codes forgiven",
            "was not locked",
            "lock lifted after 3 wrong codes"
        ]
    );
}
