//! Unit tests of the pure limits: caps, back-off, wrong-code lock-outs, the country list and
//! the conversion guard by scope, as case tables.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::domain::PhoneNumber;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn s(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

#[test]
fn caps_allow_the_nth_send_and_refuse_the_next_until_the_oldest_ages_out() {
    let now = t0();
    // (cap, count, nth newest sent this long ago, expected wait)
    let cases = [
        (5, 4, None, None),                  // 5th send allowed
        (5, 5, Some(s(600)), Some(s(3000))), // 6th refused for 50 min
        (5, 7, Some(s(3599)), Some(s(1))),   // refused for 1 s more
        (5, 5, Some(s(3600)), None),         // aged out exactly at the hour
        (0, 999, Some(s(1)), None),          // 0 disables
        (1, 1, Some(TimeDelta::zero()), Some(s(3600))),
    ];
    for (cap, count, ago, want) in cases {
        let w = Window {
            count,
            nth_newest: ago.map(|a| now - a),
        };
        assert_eq!(cap_wait(cap, &w, HOUR, now), want, "{cap} {count} {ago:?}");
    }
}

#[test]
fn each_cap_is_named_and_the_longest_wait_wins() {
    let now = t0();
    let l = Limits::default();
    let full = |count, ago| Window {
        count,
        nth_newest: Some(now - s(ago)),
    };
    type Case = (&'static str, Usage, Option<(Limit, i64)>);
    let cases: [Case; 7] = [
        ("nothing", Usage::default(), None),
        (
            "number hour",
            Usage {
                number_hour: full(5, 100),
                ..Usage::default()
            },
            Some((Limit::NumberHour, 3500)),
        ),
        (
            "number day beats number hour",
            Usage {
                number_hour: full(5, 100),
                number_day: full(10, 3600),
                ..Usage::default()
            },
            Some((Limit::NumberDay, 86400 - 3600)),
        ),
        (
            "prefix",
            Usage {
                prefix_hour: full(10, 60),
                ..Usage::default()
            },
            Some((Limit::PrefixHour, 3540)),
        ),
        (
            "station",
            Usage {
                station_hour: full(20, 1800),
                ..Usage::default()
            },
            Some((Limit::StationHour, 1800)),
        ),
        (
            "global",
            Usage {
                global_hour: full(100, 0),
                ..Usage::default()
            },
            Some((Limit::GlobalHour, 3600)),
        ),
        (
            "one below every cap",
            Usage {
                number_hour: Window {
                    count: 4,
                    nth_newest: None,
                },
                number_day: Window {
                    count: 9,
                    nth_newest: None,
                },
                prefix_hour: Window {
                    count: 9,
                    nth_newest: None,
                },
                station_hour: Window {
                    count: 19,
                    nth_newest: None,
                },
                global_hour: Window {
                    count: 99,
                    nth_newest: None,
                },
                ..Usage::default()
            },
            None,
        ),
    ];
    for (name, u, want) in cases {
        let got = l
            .decide(&u, now)
            .map(|r| (r.limit, r.wait))
            .map(|(lim, w)| match w {
                Wait::For(d) => (lim, d.num_seconds()),
                other => panic!("{name}: {other:?}"),
            });
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn backoff_doubles_caps_and_resets_after_a_quiet_period() {
    let l = Limits::default();
    let cases = [
        (0, 0),
        (1, 30),
        (2, 60),
        (3, 120),
        (6, 960),
        (7, 1920),
        (8, 1920),
        (40, 1920),
    ];
    for (streak, want) in cases {
        assert_eq!(l.cooldown_after(streak), s(want), "streak {streak}");
    }
    let now = t0();
    let state = |streak, ago| NumberState {
        streak,
        last_send_at: Some(now - s(ago)),
        ..NumberState::default()
    };
    // (streak, last send ago, expected back-off wait)
    let cases = [
        (1, 29, Some(1)),
        (1, 30, None),
        (2, 30, Some(30)),
        (3, 119, Some(1)),
        (3, 120, None),
        (9, 1919, Some(1)),
        (9, 1920, None),
        (9, 3600, None), // quiet period: the streak is over
    ];
    for (streak, ago, want) in cases {
        let u = Usage {
            number: state(streak, ago),
            ..Usage::default()
        };
        let got = l.decide(&u, now).map(|r| {
            assert_eq!(r.limit, Limit::Backoff);
            match r.wait {
                Wait::For(d) => d.num_seconds(),
                w => panic!("{w:?}"),
            }
        });
        assert_eq!(got, want, "streak {streak}, {ago} s ago");
    }
    assert_eq!(l.live_streak(&state(4, 3599), now), 4);
    assert_eq!(l.live_streak(&state(4, 3600), now), 0);
    // A short quiet period ends a long cooldown early.
    let short = Limits {
        backoff_reset: s(100),
        ..Limits::default()
    };
    let u = Usage {
        number: state(8, 40),
        ..Usage::default()
    };
    assert_eq!(
        short.decide(&u, now).map(|r| r.wait),
        Some(Wait::For(s(60)))
    );
    // A zero base cooldown disables the back-off.
    let off = Limits {
        base_cooldown: TimeDelta::zero(),
        ..Limits::default()
    };
    assert_eq!(off.decide(&u, now), None);
}

#[test]
fn failures_lock_for_an_hour_every_tenth_and_need_an_operator_at_the_hundredth() {
    let l = Limits::default();
    let now = t0();
    // (failures before, expected failures, locked_until offset, needs_unlock, newly)
    let cases = [
        (0, 1, None, false, false),
        (8, 9, None, false, false),
        (9, 10, Some(3600), false, true),
        (10, 11, None, false, false),
        (19, 20, Some(3600), false, true),
        (98, 99, None, false, false),
        (99, 100, None, true, true),
        (100, 101, None, true, false),
    ];
    for (before, after, until, unlock, newly) in cases {
        let n = NumberState {
            failures: before,
            needs_unlock: before >= 100,
            ..NumberState::default()
        };
        let e = l.after_failure(&n, now);
        assert_eq!(e.failures, after, "{before}");
        assert_eq!(e.locked_until, until.map(|u| now + s(u)), "{before}");
        assert_eq!(e.needs_unlock, unlock, "{before}");
        assert_eq!(e.newly_locked, newly, "{before}");
    }
    let locked = NumberState {
        failures: 10,
        locked_until: Some(now + s(3600)),
        ..NumberState::default()
    };
    assert_eq!(l.number_lock(&locked, now), Some(Wait::For(s(3600))));
    assert_eq!(l.number_lock(&locked, now + s(3600)), None);
    let u = Usage {
        number: locked.clone(),
        ..Usage::default()
    };
    let r = l.decide(&u, now + s(1)).unwrap();
    assert_eq!((r.limit, r.wait), (Limit::NumberLocked, Wait::For(s(3599))));
    let forever = NumberState {
        failures: 100,
        needs_unlock: true,
        ..NumberState::default()
    };
    assert_eq!(l.number_lock(&forever, now + DAY), Some(Wait::Operator));
    let u = Usage {
        number: forever,
        global_hour: Window {
            count: 100,
            nth_newest: Some(now),
        },
        ..Usage::default()
    };
    let r = l.decide(&u, now).unwrap();
    assert_eq!(r.limit, Limit::NumberNeedsUnlock, "operator waits win");
}

fn conv(sends: u32, verifications: u32, converted: u32) -> Conversion {
    Conversion {
        sends,
        verifications,
        converted,
    }
}

#[test]
fn the_conversion_guard_trips_below_the_ratio_once_there_are_enough_sends() {
    let l = Limits::default();
    // (sends, verifications, converted, trips)
    let cases = [
        (19, 19, 0, false), // too few sends to judge
        (20, 20, 4, false), // exactly 20%
        (20, 20, 3, true),  // 15%
        (30, 20, 3, true),  // resends count as sends, ratio is per verification
        (25, 25, 25, false),
        (20, 0, 0, false),
    ];
    for (sends, verifications, converted, trips) in cases {
        let c = conv(sends, verifications, converted);
        // Judged the same way for a station, a prefix and (spread over many parts) globally.
        let usages = [
            (
                Scope::Station,
                Usage {
                    station_conversion: c,
                    ..Usage::default()
                },
            ),
            (
                Scope::Prefix,
                Usage {
                    prefix_conversion: Some(c),
                    ..Usage::default()
                },
            ),
            (
                Scope::Global,
                Usage {
                    conversion: c,
                    conversion_parts: vec![Conversion::default(); 3],
                    ..Usage::default()
                },
            ),
        ];
        for (scope, u) in usages {
            let t = l.conversion_trip(&u);
            assert_eq!(t.as_ref().map(|t| t.scope), trips.then_some(scope), "{c:?}");
            let r = l.decide(&u, t0());
            assert_eq!(
                r.as_ref().map(|r| (r.trips_pause, r.scope)),
                trips.then_some((true, Some(scope)))
            );
        }
    }
    let off = Limits {
        min_conversion: 0.0,
        ..Limits::default()
    };
    let dead = Usage {
        station_conversion: conv(100, 100, 0),
        conversion: conv(100, 100, 0),
        ..Usage::default()
    };
    assert!(off.conversion_trip(&dead).is_none());
    // A persisted pause refuses without tripping again, naming its scope.
    let u = Usage {
        pauses: vec![Pause {
            scope: Scope::Station,
            name: "kiosk".into(),
            at: t0(),
            reason: "x".into(),
        }],
        ..dead
    };
    let r = l.decide(&u, t0()).unwrap();
    assert_eq!(
        (r.limit, r.wait, r.trips_pause, r.scope),
        (Limit::Paused, Wait::Operator, false, Some(Scope::Station))
    );
    assert!(r.reason.starts_with("sending from this station is paused"));
}

#[test]
fn the_station_and_the_prefix_trip_before_the_installation() {
    let l = Limits {
        min_sends_for_conversion: 5,
        min_conversion: 0.5,
        ..Limits::default()
    };
    let u = Usage {
        station_conversion: conv(5, 5, 0),
        prefix_conversion: Some(conv(5, 5, 0)),
        conversion: conv(20, 20, 0),
        conversion_parts: vec![conv(5, 5, 0); 4],
        ..Usage::default()
    };
    assert_eq!(l.conversion_trip(&u).unwrap().scope, Scope::Station);
    let u = Usage {
        station_conversion: conv(1, 1, 0),
        ..u
    };
    let t = l.conversion_trip(&u).unwrap();
    assert_eq!(t.scope, Scope::Prefix);
    assert!(t.reason.contains("to numbers sharing this prefix"), "{t:?}");
    let u = Usage {
        prefix_conversion: None,
        ..u
    };
    let t = l.conversion_trip(&u).unwrap();
    assert_eq!(t.scope, Scope::Global);
    assert!(t.reason.contains("across stations"), "{t:?}");
}

#[test]
fn one_station_or_prefix_cannot_trip_the_global_guard() {
    let l = Limits {
        min_sends_for_conversion: 5,
        min_conversion: 0.5,
        ..Limits::default()
    };
    // (global figure, its parts, trips): a desk with 3 of 3 and a kiosk with 4 of 0 make 3 of
    // 7 (43%), but without the kiosk there is nothing to judge.
    let cases = [
        (conv(7, 7, 3), vec![conv(3, 3, 3), conv(4, 4, 0)], false),
        // Six stations with one unverified send each: any five still collapse.
        (conv(6, 6, 0), vec![conv(1, 1, 0); 6], true),
        // Five: leaving one out leaves four sends, too few to judge.
        (conv(5, 5, 0), vec![conv(1, 1, 0); 5], false),
        // One bad prefix among good ones: without it the rest convert.
        (
            conv(12, 12, 6),
            vec![conv(6, 6, 0), conv(3, 3, 3), conv(3, 3, 3)],
            false,
        ),
        // No parts (one station's figure alone is the station guard's business) still judges.
        (conv(6, 6, 0), vec![], true),
    ];
    for (global, parts, trips) in cases {
        let u = Usage {
            conversion: global,
            conversion_parts: parts.clone(),
            ..Usage::default()
        };
        assert_eq!(
            l.conversion_trip(&u).map(|t| t.scope),
            trips.then_some(Scope::Global),
            "{global:?} {parts:?}"
        );
    }
}

#[test]
fn masked_prefixes_never_show_a_whole_number() {
    let us = PhoneNumber::parse("+1 415 555 2671").unwrap();
    let uk = PhoneNumber::parse("+44 7911 123456").unwrap();
    let cases = [
        (&us, 0, "+1"),
        (&us, 2, "+1 41"),
        (&us, 6, "+1 415•••"),
        (&us, 14, "+1 415•••••••"),
        (&uk, 6, "+44 791•••"),
    ];
    for (p, digits, want) in cases {
        let m = masked_prefix(p, digits);
        assert_eq!(m, want);
        let shown = m.chars().filter(char::is_ascii_digit).count();
        let cc = p.country_code().to_string().len();
        assert!(shown - cc + 4 <= p.e164().len() - 1 - cc - 3, "{m}");
    }
    assert_eq!(Scope::Prefix.describe("+1 415•••"), "prefix +1 415•••");
    assert_eq!(Scope::Station.describe("kiosk"), "station kiosk");
    assert_eq!(Scope::Global.describe(""), "global");
    for s in [Scope::Global, Scope::Station, Scope::Prefix] {
        assert_eq!(Scope::parse(s.as_str()), Some(s));
    }
}

#[test]
fn the_country_allow_list_uses_the_numbering_plan_region() {
    let us = PhoneNumber::parse("+1 415 555 2671").unwrap();
    let gg = PhoneNumber::parse("+44 7911 123456").unwrap();
    let gb = PhoneNumber::parse("+44 7400 123456").unwrap();
    let all = Limits::default();
    let gb_only = Limits {
        allowed_countries: vec!["GB".into()],
        ..Limits::default()
    };
    assert!(all.country_refusal(&us).is_none());
    assert!(gb_only.country_refusal(&gb).is_none());
    let r = gb_only.country_refusal(&us).unwrap();
    assert_eq!((r.limit, r.wait), (Limit::Country, Wait::Config));
    assert!(r.reason.contains("US"), "{}", r.reason);
    assert!(gb_only.country_refusal(&gg).is_some(), "Guernsey is not GB");
}

#[test]
fn prefixes_keep_the_country_code_and_the_first_national_digits() {
    let us = PhoneNumber::parse("+1 415 555 2671").unwrap();
    let uk = PhoneNumber::parse("+44 7911 123456").unwrap();
    let cases = [
        (&us, 0, "+1"),
        (&us, 3, "+1415"),
        (&us, 6, "+1415555"),
        (&us, 20, "+14155552671"),
        (&uk, 6, "+44791112"),
    ];
    for (p, digits, want) in cases {
        assert_eq!(prefix(p, digits), want);
    }
}

fn locked_until(until: DateTime<Utc>) -> NumberState {
    NumberState {
        failures: 10,
        locked_until: Some(until),
        ..NumberState::default()
    }
}

#[test]
fn the_longest_wait_wins_wherever_it_stands_and_a_tie_goes_to_the_first() {
    let now = t0();
    let l = Limits::default();
    // The timed lock comes before the caps; a shorter cap after it must not hide it.
    let u = Usage {
        number: locked_until(now + s(3600)),
        number_hour: Window {
            count: 5,
            nth_newest: Some(now - s(3540)),
        },
        ..Usage::default()
    };
    let r = l.decide(&u, now).unwrap();
    assert_eq!((r.limit, r.wait), (Limit::NumberLocked, Wait::For(s(3600))));
    // Equal waits: the number's own cap is named, not the prefix's after it.
    let u = Usage {
        number_hour: Window {
            count: 5,
            nth_newest: Some(now - s(600)),
        },
        prefix_hour: Window {
            count: 10,
            nth_newest: Some(now - s(600)),
        },
        ..Usage::default()
    };
    assert_eq!(l.decide(&u, now).map(|r| r.limit), Some(Limit::NumberHour));
}

#[test]
fn a_timed_lock_ends_at_its_instant_for_sends_and_codes_alike() {
    let now = t0();
    let l = Limits::default();
    let usage = |n| Usage {
        number: n,
        ..Usage::default()
    };
    let limit = |n| l.decide(&usage(n), now).map(|r| r.limit);
    assert_eq!(limit(locked_until(now + s(1))), Some(Limit::NumberLocked));
    assert_eq!(limit(locked_until(now)), None);
    assert_eq!(l.number_lock(&locked_until(now), now), None);
}

#[test]
fn a_streak_reset_by_an_approval_owes_no_cooldown_even_to_a_clock_behind() {
    let now = t0();
    let l = Limits {
        base_cooldown: s(30),
        ..Limits::default()
    };
    // An approval resets the streak and keeps the last send's time, which another
    // terminal's clock may put a little ahead of this one's.
    let n = NumberState {
        streak: 0,
        last_send_at: Some(now + s(5)),
        ..NumberState::default()
    };
    let u = Usage {
        number: n,
        ..Usage::default()
    };
    assert_eq!(l.decide(&u, now), None);
}
