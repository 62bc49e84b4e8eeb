//! `limits [PHONE]` (the counters, and every limit that would refuse a send now) and
//! `limits resume` (an operator lifts the conversion guard's pause).

use chrono::{DateTime, Utc};

use super::refusal::{operator_action, wait_seconds};
use super::{Ctx, Result, Service};
use crate::domain::limits::{LimitRefusal, Usage};
use crate::domain::outcome::{Counter, LimitsView, LockedView, NumberView, RefusalView};
use crate::domain::{Outcome, PhoneNumber};
use crate::store::audit::Event;
use crate::store::{Counting, LedgerKeys, LockedNumber};

impl Service<'_> {
    /// `limits resume`: an operator lifts the conversion guard's pause.
    pub fn resume(&mut self, now: DateTime<Utc>) -> Result<Outcome> {
        let cx = self.cx;
        let lifted = self.store.transaction(|tx| {
            let lifted = tx.resume_sending(now)?;
            let detail = match &lifted {
                Some(p) => format!("sending resumed; paused since {}", p.at.to_rfc3339()),
                None => "was not paused".to_string(),
            };
            cx.record(tx, now, Event::LimitsResumed, None, None, detail)?;
            Ok(lifted)
        })?;
        Ok(Outcome::Resumed {
            was_paused: lifted.is_some(),
            reason: lifted.map(|p| p.reason),
        })
    }

    /// `limits [PHONE]`: the counters, and every limit that would refuse a send now.
    pub fn limits(&mut self, now: DateTime<Utc>, phone: Option<&PhoneNumber>) -> Result<Outcome> {
        let cx = self.cx;
        let l = cx.limits;
        let (usage, locked) = self.store.snapshot(|tx| {
            let usage = match phone {
                Some(p) => {
                    let keys = LedgerKeys::new(cx.secrets, l, p);
                    tx.usage(l, &keys, cx.station, now, Counting::Exact)?
                }
                None => tx.station_usage(l, cx.station, now, Counting::Exact)?,
            };
            Ok((usage, tx.locked_numbers(now)?))
        })?;
        Ok(Outcome::Limits {
            view: Box::new(cx.limits_view(now, phone, &usage, locked)),
        })
    }
}

impl Ctx<'_> {
    fn limits_view(
        &self,
        now: DateTime<Utc>,
        phone: Option<&PhoneNumber>,
        usage: &Usage,
        locked: Vec<LockedNumber>,
    ) -> LimitsView {
        let l = self.limits;
        let mut refusals: Vec<LimitRefusal> = phone
            .and_then(|p| l.country_refusal(p))
            .into_iter()
            .collect();
        refusals.extend(l.refusals(usage, now));
        LimitsView {
            paused_at: usage.paused.as_ref().map(|p| p.at),
            paused_reason: usage.paused.as_ref().map(|p| p.reason.clone()),
            global_last_hour: Counter {
                count: usage.global_hour.count,
                cap: l.global_per_hour,
            },
            station_last_hour: Counter {
                count: usage.station_hour.count,
                cap: l.per_station_per_hour,
            },
            conversion: usage.conversion,
            min_conversion: l.min_conversion,
            min_sends_for_conversion: l.min_sends_for_conversion,
            number: phone.map(|p| self.number_view(now, p, usage)),
            locked_numbers: locked
                .into_iter()
                .map(|n| LockedView {
                    phone: n.phone_masked,
                    failures: n.failures,
                    locked_until: n.locked_until.filter(|_| !n.needs_unlock),
                    needs_unlock: n.needs_unlock,
                })
                .collect(),
            would_refuse: refusals
                .into_iter()
                .map(|r| RefusalView {
                    limit: r.limit,
                    retry_after_seconds: wait_seconds(r.wait),
                    operator_action: operator_action(r.limit),
                    reason: r.reason,
                })
                .collect(),
        }
    }

    fn number_view(&self, now: DateTime<Utc>, p: &PhoneNumber, usage: &Usage) -> NumberView {
        let l = self.limits;
        let streak = l.live_streak(&usage.number, now);
        NumberView {
            phone: p.clone(),
            country: p.region().map(str::to_string),
            last_hour: Counter {
                count: usage.number_hour.count,
                cap: l.per_number_per_hour,
            },
            last_day: Counter {
                count: usage.number_day.count,
                cap: l.per_number_per_day,
            },
            prefix_last_hour: Counter {
                count: usage.prefix_hour.count,
                cap: l.per_prefix_per_hour,
            },
            streak,
            cooldown_seconds: l.cooldown_after(streak).num_seconds(),
            consecutive_failures: usage.number.failures,
        }
    }
}
