//! The conversion guard, judged per scope: a station or a prefix whose own completion rate
//! collapses is paused on its own; the whole installation pauses only when the collapse does
//! not hinge on any one station or prefix. Pure: the store supplies the figures.

use chrono::{DateTime, Utc};

use super::{Limit, LimitRefusal, Limits, Usage, Wait};
use crate::domain::PhoneNumber;

/// Sends and approved verifications since the guard's window started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Conversion {
    pub sends: u32,
    pub verifications: u32,
    pub converted: u32,
}

impl Conversion {
    /// These figures with `part`'s sends taken out.
    pub fn without(&self, part: &Conversion) -> Conversion {
        Conversion {
            sends: self.sends.saturating_sub(part.sends),
            verifications: self.verifications.saturating_sub(part.verifications),
            converted: self.converted.saturating_sub(part.converted),
        }
    }
}

/// What a conversion pause covers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every send from every station.
    Global,
    /// Every send from one station (`--station`).
    Station,
    /// Every send to numbers sharing one prefix (see [`super::prefix`]).
    Prefix,
}

impl Scope {
    /// The name the store, the audit log and JSON use.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Station => "station",
            Scope::Prefix => "prefix",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        [Scope::Global, Scope::Station, Scope::Prefix]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// `global`, `station NAME` or `prefix +1 415•••`: how the audit log names a pause.
    /// `name` is the station's name or the masked prefix, never a full number.
    pub fn describe(self, name: &str) -> String {
        match self {
            Scope::Global => "global".into(),
            s => format!("{} {name}", s.as_str()),
        }
    }

    /// Which sends the scope covers, for refusal reasons.
    fn sends_phrase(self) -> &'static str {
        match self {
            Scope::Global => "",
            Scope::Station => " from this station",
            Scope::Prefix => " to numbers sharing this prefix",
        }
    }
}

/// A conversion pause, as persisted until an operator runs `otpd limits resume`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    pub scope: Scope,
    /// `""` (global), the station's name, or the masked prefix.
    pub name: String,
    pub at: DateTime<Utc>,
    pub reason: String,
}

impl Pause {
    pub fn describe(&self) -> String {
        self.scope.describe(&self.name)
    }

    /// The refusal's reason while this pause holds.
    fn refusal_reason(&self) -> String {
        format!(
            "sending{} is paused: {}",
            self.scope.sends_phrase(),
            self.reason
        )
    }
}

/// The guard tripped: pause `scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trip {
    pub scope: Scope,
    pub reason: String,
}

/// A prefix as otpd shows it: the country code and at most three national digits, the rest
/// of the prefix as `•`, e.g. `+1 415•••`. Never the full number: at least three national
/// digits stay hidden even next to a masked number's last four.
pub fn masked_prefix(phone: &PhoneNumber, digits: usize) -> String {
    let cc = format!("+{}", phone.country_code());
    let national = phone.e164().strip_prefix(&cc).unwrap_or(phone.e164());
    let covered = digits.min(national.len());
    let shown = covered.min(3).min(national.len().saturating_sub(7));
    let hidden = "•".repeat(covered - shown);
    format!("{cc} {}{hidden}", &national[..shown])
        .trim_end()
        .to_string()
}

impl Limits {
    /// The completion rate of `c` when it has collapsed: enough sends to judge and too few of
    /// the verifications they started approved.
    fn collapsed(&self, c: &Conversion) -> Option<f64> {
        if self.min_conversion <= 0.0
            || c.sends < self.min_sends_for_conversion
            || c.verifications == 0
        {
            return None;
        }
        let rate = f64::from(c.converted) / f64::from(c.verifications);
        (rate < self.min_conversion).then_some(rate)
    }

    fn trip(&self, scope: Scope, c: &Conversion) -> Option<Trip> {
        let rate = self.collapsed(c)?;
        let across = if scope == Scope::Global {
            " across stations"
        } else {
            ""
        };
        Some(Trip {
            scope,
            reason: format!(
                "only {} of {} verifications{}{across} in the last hour were completed ({:.0}% < {:.0}%), a sign of SMS pumping",
                c.converted,
                c.verifications,
                scope.sends_phrase(),
                rate * 100.0,
                self.min_conversion * 100.0
            ),
        })
    }

    /// The pauses holding a send, each a refusal; with none, the guard's trip if it trips.
    pub(super) fn conversion_refusals(&self, u: &Usage) -> Vec<LimitRefusal> {
        let held = u.pauses.iter().map(|p| LimitRefusal {
            limit: Limit::Paused,
            wait: Wait::Operator,
            reason: p.refusal_reason(),
            trips_pause: false,
            scope: Some(p.scope),
        });
        let mut out: Vec<LimitRefusal> = held.collect();
        if out.is_empty()
            && let Some(t) = self.conversion_trip(u)
        {
            out.push(LimitRefusal {
                limit: Limit::Conversion,
                wait: Wait::Operator,
                reason: t.reason,
                trips_pause: true,
                scope: Some(t.scope),
            });
        }
        out
    }

    /// The conversion guard for one prospective send: this station first, then the number's
    /// prefix, then the installation. The global figure (which the store computes without the
    /// sends of stations and prefixes already paused) trips only if it still collapses with
    /// any one station's or prefix's sends left out: one bad kiosk, or one pumped block of
    /// numbers, pauses itself, never every desk.
    pub fn conversion_trip(&self, u: &Usage) -> Option<Trip> {
        if self.min_conversion <= 0.0 {
            return None;
        }
        if let Some(t) = self.trip(Scope::Station, &u.station_conversion) {
            return Some(t);
        }
        if let Some(t) = u
            .prefix_conversion
            .as_ref()
            .and_then(|c| self.trip(Scope::Prefix, c))
        {
            return Some(t);
        }
        let global = &u.conversion;
        let spread = u
            .conversion_parts
            .iter()
            .all(|part| self.collapsed(&global.without(part)).is_some());
        if spread {
            self.trip(Scope::Global, global)
        } else {
            None
        }
    }
}
