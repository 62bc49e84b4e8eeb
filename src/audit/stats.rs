//! `audit stats`: per-day counts of what matters for spotting trouble — sends, approvals,
//! failures, lockouts, rate-limit refusals — and the conversion rate, whose collapse on a day
//! is the classic sign of SMS pumping — and the SMS segments delivered, so the bill can be
//! estimated (each `delivered` event of an SMS records its segments in its detail).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::zone::Zone;
use serde::Serialize;

use super::rollup::{self, BUCKET_MS, SEGMENTS};
use crate::clock::from_ms;
use crate::error::Error;
use crate::store::Backend;
use crate::store::audit::Event;
use crate::store::audit_query::Filter;

/// A day whose conversion falls below this share is flagged.
pub const LOW_CONVERSION: f64 = 0.20;

/// Gaps between active days are filled with zero rows up to this many days.
const MAX_FILLED_DAYS: i64 = 3660;

const COUNTED: [Event; 8] = [
    Event::Sent,
    Event::Resent,
    Event::Approved,
    Event::Invalid,
    Event::Expired,
    Event::DeliveryFailed,
    Event::Locked,
    Event::RateLimited,
];

/// One local day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Day {
    pub day: NaiveDate,
    /// `sent` + `resent`.
    pub sends: i64,
    pub approvals: i64,
    /// Wrong and expired codes and failed deliveries.
    pub failures: i64,
    pub lockouts: i64,
    pub rate_limited: i64,
    /// SMS segments delivered (what the provider bills; WhatsApp and calls are not counted).
    pub sms_segments: i64,
    /// approvals / sends; `None` without sends.
    pub conversion: Option<f64>,
    /// Conversion below [`LOW_CONVERSION`].
    pub low_conversion: bool,
}

impl Day {
    fn new(day: NaiveDate) -> Day {
        Day {
            day,
            ..Day::default()
        }
    }

    fn add(&mut self, event: &str, n: i64) {
        if event == SEGMENTS {
            self.sms_segments += n;
            return;
        }
        match Event::from_name(event) {
            Some(Event::Sent | Event::Resent) => self.sends += n,
            Some(Event::Approved) => self.approvals += n,
            Some(Event::Invalid | Event::Expired | Event::DeliveryFailed) => self.failures += n,
            Some(Event::Locked) => self.lockouts += n,
            Some(Event::RateLimited) => self.rate_limited += n,
            _ => {}
        }
    }

    fn finish(&mut self) {
        self.conversion = (self.sends > 0).then(|| self.approvals as f64 / self.sends as f64);
        self.low_conversion = self.conversion.is_some_and(|c| c < LOW_CONVERSION);
    }
}

/// The days between the filter's bounds that have events (and the quiet days between them),
/// oldest first. The counts come from the rollup ([`super::rollup`]), which this brings up to
/// date first (so it takes a write transaction).
pub fn stats(store: &mut dyn Backend, f: &Filter, zone: Zone) -> Result<Vec<Day>, Error> {
    let names: Vec<&'static str> = COUNTED.iter().map(|e| e.as_str()).collect();
    let rows = store.transaction(|tx| rollup::counts(tx, f.since_ms, f.until_ms, &names))?;
    Ok(fold(
        rows.into_iter().map(|b| {
            (
                from_ms(b.bucket.saturating_mul(BUCKET_MS)),
                b.event,
                b.count,
            )
        }),
        zone,
    ))
}

/// Folds (bucket start, event, count) into days in `zone`, filling quiet days with zeros.
fn fold(buckets: impl Iterator<Item = (DateTime<Utc>, String, i64)>, zone: Zone) -> Vec<Day> {
    let mut days: Vec<Day> = Vec::new();
    for (start, event, n) in buckets {
        let day = zone.wall(start).date();
        if days.last().is_none_or(|d| d.day != day) {
            if let Some(last) = days.last().map(|d| d.day)
                && (day - last).num_days() <= MAX_FILLED_DAYS
            {
                let mut gap = last + TimeDelta::days(1);
                while gap < day {
                    days.push(Day::new(gap));
                    gap += TimeDelta::days(1);
                }
            }
            days.push(Day::new(day));
        }
        if let Some(d) = days.last_mut() {
            d.add(&event, n);
        }
    }
    days.sort_by_key(|d| d.day);
    for d in &mut days {
        d.finish();
    }
    days
}

/// The sums over all days.
pub fn total(days: &[Day]) -> Day {
    let mut t = Day::new(days.last().map(|d| d.day).unwrap_or_default());
    for d in days {
        t.sends += d.sends;
        t.approvals += d.approvals;
        t.failures += d.failures;
        t.lockouts += d.lockouts;
        t.rate_limited += d.rate_limited;
        t.sms_segments += d.sms_segments;
    }
    t.finish();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_buckets_into_days_with_gaps_and_flags_low_conversion() {
        // Midday UTC keeps each bucket inside one local day for any real time zone.
        let at = |d: &str| {
            DateTime::parse_from_rfc3339(&format!("{d}T12:00:00Z"))
                .unwrap()
                .with_timezone(&Utc)
        };
        let rows = vec![
            (at("2026-11-01"), "sent".to_string(), 10),
            (at("2026-11-01"), "resent".to_string(), 2),
            (at("2026-11-01"), "approved".to_string(), 9),
            (at("2026-11-01"), "invalid".to_string(), 3),
            (at("2026-11-03"), "sent".to_string(), 50),
            (at("2026-11-03"), "approved".to_string(), 5),
            (at("2026-11-03"), "locked".to_string(), 4),
            (at("2026-11-03"), "rate_limited".to_string(), 7),
            (at("2026-11-03"), "delivery_failed".to_string(), 1),
        ];
        let days = fold(rows.into_iter(), Zone::Local);
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].sends, 12);
        assert_eq!(days[0].approvals, 9);
        assert_eq!(days[0].failures, 3);
        assert_eq!(days[0].conversion, Some(0.75));
        assert!(!days[0].low_conversion);
        assert_eq!(days[1].sends, 0);
        assert_eq!(days[1].conversion, None);
        assert!(!days[1].low_conversion);
        assert_eq!(days[2].conversion, Some(0.1));
        assert!(days[2].low_conversion);
        assert_eq!(
            (days[2].lockouts, days[2].rate_limited, days[2].failures),
            (4, 7, 1)
        );
        let t = total(&days);
        assert_eq!((t.sends, t.approvals), (62, 14));
    }
}
