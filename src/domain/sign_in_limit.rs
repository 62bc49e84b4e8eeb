//! The audit pages' brake on guessing: each client address may fail to sign in [`MAX_FAILURES`]
//! times in [`WINDOW`]; then it is refused without its attempt being checked until the oldest
//! failure leaves the window. Pure: `now` is a parameter, the state a value the server holds.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};

/// Failed sign-ins allowed per address in [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// The window failed sign-ins are counted in.
pub const WINDOW: TimeDelta = TimeDelta::minutes(15);
/// Addresses remembered at most (the oldest is forgotten first), so the table stays bounded.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Default)]
pub struct SignInLimit {
    failures: HashMap<IpAddr, VecDeque<DateTime<Utc>>>,
}

impl SignInLimit {
    /// `None` when `addr` may try now; else when it may try again.
    pub fn check(&mut self, addr: IpAddr, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let q = self.failures.get_mut(&addr)?;
        while q.front().is_some_and(|t| *t + WINDOW <= now) {
            q.pop_front();
        }
        if q.len() < MAX_FAILURES {
            return None;
        }
        q.front().map(|t| *t + WINDOW)
    }

    /// Counts a failed sign-in from `addr`.
    pub fn failed(&mut self, addr: IpAddr, now: DateTime<Utc>) {
        if self.failures.len() >= MAX_ADDRESSES && !self.failures.contains_key(&addr) {
            self.failures
                .retain(|_, q| q.back().is_some_and(|t| *t + WINDOW > now));
            if self.failures.len() >= MAX_ADDRESSES {
                self.failures.clear();
            }
        }
        let q = self.failures.entry(addr).or_default();
        q.push_back(now);
        while q.len() > MAX_FAILURES {
            q.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_close_the_door_for_fifteen_minutes_per_address() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let mut l = SignInLimit::default();
        for i in 0..MAX_FAILURES as i64 {
            assert_eq!(l.check(a, t0), None, "attempt {i}");
            l.failed(a, t0 + TimeDelta::seconds(i));
        }
        let until = l.check(a, t0 + TimeDelta::seconds(10));
        assert_eq!(until, Some(t0 + WINDOW));
        assert_eq!(l.check(b, t0), None, "another address is not braked");
        assert_eq!(
            l.check(a, t0 + WINDOW),
            None,
            "the oldest failure left the window"
        );
    }
}
