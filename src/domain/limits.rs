//! The abuse and cost limits as pure decisions: given what the store counted (sends in a
//! window, a number's streak and failures, the pause), which limit refuses a send and for how
//! long, and what a wrong code does to a number's lock-out. No clock, no SQL: `now` is a value.

use chrono::{DateTime, TimeDelta, Utc};

use super::PhoneNumber;

/// Validated `[limits]` values (see `config` for ranges and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// ISO 3166 region codes; empty = every country.
    pub allowed_countries: Vec<String>,
    /// The first resend cooldown (`policy.resend_cooldown_seconds`); zero disables back-off.
    pub base_cooldown: TimeDelta,
    pub max_cooldown: TimeDelta,
    /// A number with no send for this long starts its back-off again from the base cooldown.
    pub backoff_reset: TimeDelta,
    /// Caps; 0 disables a cap.
    pub per_number_per_hour: u32,
    pub per_number_per_day: u32,
    pub per_prefix_per_hour: u32,
    pub prefix_digits: usize,
    pub per_station_per_hour: u32,
    pub global_per_hour: u32,
    /// Conversion guard; 0.0 disables it.
    pub min_conversion: f64,
    pub min_sends_for_conversion: u32,
    pub max_failures_per_number: u32,
    pub lockout: TimeDelta,
    /// Consecutive wrong codes after which only an operator can unlock (NIST: at most 100).
    pub failures_before_unlock: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            allowed_countries: Vec::new(),
            base_cooldown: TimeDelta::seconds(30),
            max_cooldown: TimeDelta::seconds(1920),
            backoff_reset: TimeDelta::seconds(3600),
            per_number_per_hour: 5,
            per_number_per_day: 10,
            per_prefix_per_hour: 10,
            prefix_digits: 6,
            per_station_per_hour: 20,
            global_per_hour: 100,
            min_conversion: 0.2,
            min_sends_for_conversion: 20,
            max_failures_per_number: 10,
            lockout: TimeDelta::seconds(3600),
            failures_before_unlock: 100,
        }
    }
}

pub const HOUR: TimeDelta = TimeDelta::hours(1);
pub const DAY: TimeDelta = TimeDelta::days(1);

/// Which limit refused. `key()` is its config key, which JSON shows as `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Limit {
    Country,
    Paused,
    Conversion,
    NumberNeedsUnlock,
    NumberLocked,
    Backoff,
    NumberHour,
    NumberDay,
    PrefixHour,
    StationHour,
    GlobalHour,
}

impl Limit {
    pub fn key(self) -> &'static str {
        match self {
            Limit::Country => "limits.allowed_countries",
            Limit::Paused | Limit::Conversion => "limits.min_conversion",
            Limit::NumberNeedsUnlock => "limits.failures_before_unlock",
            Limit::NumberLocked => "limits.max_failures_per_number",
            Limit::Backoff => "policy.resend_cooldown_seconds",
            Limit::NumberHour => "limits.per_number_per_hour",
            Limit::NumberDay => "limits.per_number_per_day",
            Limit::PrefixHour => "limits.per_prefix_per_hour",
            Limit::StationHour => "limits.per_station_per_hour",
            Limit::GlobalHour => "limits.global_per_hour",
        }
    }
}

impl serde::Serialize for Limit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

/// How long a refusal lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    For(TimeDelta),
    /// Until an operator acts (`otpd limits resume`, `otpd unlock PHONE`).
    Operator,
    /// Until the configuration changes (country allow-list).
    Config,
}

/// Why a send is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRefusal {
    pub limit: Limit,
    pub wait: Wait,
    pub reason: String,
    /// The conversion guard tripped: persist the pause (and audit it) with this refusal.
    pub trips_pause: bool,
}

/// Sends counted in one sliding window: how many, and when the `cap`-th newest was sent (the
/// one whose ageing-out lets the next send through), if there are at least `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Window {
    pub count: u32,
    #[serde(skip)]
    pub nth_newest: Option<DateTime<Utc>>,
}

/// A number's state across verifications.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NumberState {
    pub streak: u32,
    pub last_send_at: Option<DateTime<Utc>>,
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub needs_unlock: bool,
}

/// Sends and approved verifications since the guard's window started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Conversion {
    pub sends: u32,
    pub verifications: u32,
    pub converted: u32,
}

/// The sending pause set by the conversion guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// Everything the store counts for one prospective send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    pub number: NumberState,
    pub number_hour: Window,
    pub number_day: Window,
    pub prefix_hour: Window,
    pub station_hour: Window,
    pub global_hour: Window,
    pub conversion: Conversion,
    pub paused: Option<Pause>,
}

/// `+` country code and the first `digits` digits of the national number: the block that
/// sequential-number pumping walks through (`+1415555` for +1 415 555 2671 with 6 digits).
pub fn prefix(phone: &PhoneNumber, digits: usize) -> String {
    let cc = format!("+{}", phone.country_code());
    let national = phone.e164().strip_prefix(&cc).unwrap_or(phone.e164());
    let keep: String = national.chars().take(digits).collect();
    format!("{cc}{keep}")
}

impl Limits {
    /// The country allow-list: refused before anything is counted or sent.
    pub fn country_refusal(&self, phone: &PhoneNumber) -> Option<LimitRefusal> {
        if self.allowed_countries.is_empty() {
            return None;
        }
        let region = phone.region().unwrap_or("none");
        if self.allowed_countries.iter().any(|c| c == region) {
            return None;
        }
        Some(LimitRefusal {
            limit: Limit::Country,
            wait: Wait::Config,
            reason: format!(
                "numbers from {region} are not in the allowed countries ({})",
                self.allowed_countries.join(", ")
            ),
            trips_pause: false,
        })
    }

    /// The cooldown owed after `streak` sends in a row: base, 2×base, 4×base … capped.
    pub fn cooldown_after(&self, streak: u32) -> TimeDelta {
        if streak == 0 || self.base_cooldown <= TimeDelta::zero() {
            return TimeDelta::zero();
        }
        let doublings = (streak - 1).min(30);
        let ms = self
            .base_cooldown
            .num_milliseconds()
            .saturating_mul(1i64 << doublings);
        TimeDelta::milliseconds(ms).min(self.max_cooldown.max(self.base_cooldown))
    }

    /// The streak as it stands at `now`: zero once the number has been quiet long enough.
    pub fn live_streak(&self, n: &NumberState, now: DateTime<Utc>) -> u32 {
        match n.last_send_at {
            Some(last) if now - last < self.backoff_reset => n.streak,
            _ => 0,
        }
    }

    /// Every limit that refuses a send now, in a fixed order.
    pub fn refusals(&self, u: &Usage, now: DateTime<Utc>) -> Vec<LimitRefusal> {
        let mut out = Vec::new();
        let mut push = |limit, wait, reason: String, trips_pause| {
            out.push(LimitRefusal {
                limit,
                wait,
                reason,
                trips_pause,
            })
        };
        if let Some(p) = &u.paused {
            push(
                Limit::Paused,
                Wait::Operator,
                format!("sending is paused: {}", p.reason),
                false,
            );
        } else if let Some(reason) = self.conversion_trip(&u.conversion) {
            push(Limit::Conversion, Wait::Operator, reason, true);
        }
        let n = &u.number;
        if n.needs_unlock {
            push(
                Limit::NumberNeedsUnlock,
                Wait::Operator,
                format!(
                    "{} wrong codes in a row: this number is locked until an operator unlocks it",
                    n.failures
                ),
                false,
            );
        } else if let Some(until) = n.locked_until.filter(|u| *u > now) {
            push(
                Limit::NumberLocked,
                Wait::For(until - now),
                format!("{} wrong codes in a row: this number is locked", n.failures),
                false,
            );
        }
        let streak = self.live_streak(n, now);
        if let (Some(last), true) = (n.last_send_at, streak > 0) {
            let ready = last + self.cooldown_after(streak);
            // The quiet period also ends a back-off, whichever comes first.
            let ready = ready.min(last + self.backoff_reset);
            if now < ready {
                push(
                    Limit::Backoff,
                    Wait::For(ready - now),
                    format!(
                        "resend cooldown: {} s after send {streak} to this number (it doubles with each resend)",
                        self.cooldown_after(streak).num_seconds()
                    ),
                    false,
                );
            }
        }
        let caps = [
            (
                Limit::NumberHour,
                self.per_number_per_hour,
                &u.number_hour,
                HOUR,
                "sends to this number in the last hour",
            ),
            (
                Limit::NumberDay,
                self.per_number_per_day,
                &u.number_day,
                DAY,
                "sends to this number in the last 24 hours",
            ),
            (
                Limit::PrefixHour,
                self.per_prefix_per_hour,
                &u.prefix_hour,
                HOUR,
                "sends to numbers sharing this prefix in the last hour",
            ),
            (
                Limit::StationHour,
                self.per_station_per_hour,
                &u.station_hour,
                HOUR,
                "sends from this station in the last hour",
            ),
            (
                Limit::GlobalHour,
                self.global_per_hour,
                &u.global_hour,
                HOUR,
                "sends in the last hour",
            ),
        ];
        for (limit, cap, w, window, what) in caps {
            if let Some(wait) = cap_wait(cap, w, window, now) {
                push(
                    limit,
                    Wait::For(wait),
                    format!("{} of {cap} {what}", w.count),
                    false,
                );
            }
        }
        out
    }

    /// The refusal to report: one an operator must lift if any (waiting will not help),
    /// otherwise the longest wait, since the send is refused until every limit clears.
    pub fn decide(&self, u: &Usage, now: DateTime<Utc>) -> Option<LimitRefusal> {
        let all = self.refusals(u, now);
        let mut best: Option<LimitRefusal> = None;
        for r in all {
            best = match best {
                None => Some(r),
                Some(b) => Some(match (b.wait, r.wait) {
                    (Wait::For(a), Wait::For(c)) if c > a => r,
                    (Wait::For(_), Wait::Operator | Wait::Config) => r,
                    _ => b,
                }),
            };
        }
        best
    }

    /// The conversion guard: `Some(why)` when, with enough sends in the window, too few of the
    /// verifications they started were approved.
    pub fn conversion_trip(&self, c: &Conversion) -> Option<String> {
        if self.min_conversion <= 0.0
            || c.sends < self.min_sends_for_conversion
            || c.verifications == 0
        {
            return None;
        }
        let rate = f64::from(c.converted) / f64::from(c.verifications);
        (rate < self.min_conversion).then(|| {
            format!(
                "only {} of {} verifications in the last hour were completed ({:.0}% < {:.0}%), a sign of SMS pumping; an operator must run `otpd limits resume`",
                c.converted,
                c.verifications,
                rate * 100.0,
                self.min_conversion * 100.0
            )
        })
    }

    /// A wrong code for this number: the new consecutive count and any lock it earns.
    pub fn after_failure(&self, n: &NumberState, now: DateTime<Utc>) -> FailureEffect {
        let failures = n.failures.saturating_add(1);
        if failures >= self.failures_before_unlock {
            FailureEffect {
                failures,
                locked_until: n.locked_until,
                needs_unlock: true,
                newly_locked: !n.needs_unlock,
            }
        } else if self.max_failures_per_number > 0
            && failures.is_multiple_of(self.max_failures_per_number)
        {
            FailureEffect {
                failures,
                locked_until: Some(now + self.lockout),
                needs_unlock: n.needs_unlock,
                newly_locked: true,
            }
        } else {
            FailureEffect {
                failures,
                locked_until: n.locked_until,
                needs_unlock: n.needs_unlock,
                newly_locked: false,
            }
        }
    }

    /// Whether a number is locked at `now`: `Some(Wait)` if so.
    pub fn number_lock(&self, n: &NumberState, now: DateTime<Utc>) -> Option<Wait> {
        if n.needs_unlock {
            Some(Wait::Operator)
        } else {
            n.locked_until
                .filter(|u| *u > now)
                .map(|u| Wait::For(u - now))
        }
    }
}

/// What one wrong code does to a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureEffect {
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub needs_unlock: bool,
    /// This failure imposed a lock (audit it).
    pub newly_locked: bool,
}

/// `Some(wait)` when a cap of `cap` sends per `window` is reached: the wait lasts until the
/// `cap`-th newest send leaves the window. A cap of 0 is disabled.
pub fn cap_wait(cap: u32, w: &Window, window: TimeDelta, now: DateTime<Utc>) -> Option<TimeDelta> {
    if cap == 0 || w.count < cap {
        return None;
    }
    let nth = w.nth_newest?;
    let free_at = nth + window;
    (free_at > now).then(|| free_at - now)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let c = Conversion {
                sends,
                verifications,
                converted,
            };
            assert_eq!(l.conversion_trip(&c).is_some(), trips, "{c:?}");
            let u = Usage {
                conversion: c,
                ..Usage::default()
            };
            let r = l.decide(&u, t0());
            assert_eq!(r.as_ref().map(|r| r.trips_pause), trips.then_some(true));
        }
        let off = Limits {
            min_conversion: 0.0,
            ..Limits::default()
        };
        assert!(
            off.conversion_trip(&Conversion {
                sends: 100,
                verifications: 100,
                converted: 0
            })
            .is_none()
        );
        // A persisted pause refuses without tripping again.
        let u = Usage {
            paused: Some(Pause {
                at: t0(),
                reason: "x".into(),
            }),
            ..Usage::default()
        };
        let r = l.decide(&u, t0()).unwrap();
        assert_eq!(
            (r.limit, r.wait, r.trips_pause),
            (Limit::Paused, Wait::Operator, false)
        );
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
}
