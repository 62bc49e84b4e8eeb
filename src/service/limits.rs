//! `limits [PHONE]` (the counters, and every limit that would refuse a send now) and
//! `limits resume` (an operator lifts every pause the conversion guard set: global, per station,
//! per prefix).

use chrono::{DateTime, Utc};

use super::refusal::{operator_action, wait_seconds};
use super::{Ctx, Result, Service};
use crate::domain::limits::{LimitRefusal, Pause, Scope, Usage};
use crate::domain::outcome::{
    BucketView, Counter, LimitsView, LockedView, NumberView, PauseView, RateLimitView, RefusalView,
};
use crate::domain::{Outcome, PhoneNumber, Privilege};
use crate::store::audit::Event;
use crate::store::{Counting, LedgerKeys, LockedNumber};

impl Service<'_> {
    /// `limits resume`: an operator lifts every pause, and the guard's windows restart.
    pub fn resume(&mut self, now: DateTime<Utc>) -> Result<Outcome> {
        if let Some(refused) = self.refuse_unless(Privilege::ResumeSending) {
            return Ok(refused);
        }
        let cx = self.cx;
        let lifted = self.store.transaction(|tx| {
            let lifted = tx.resume_all(now)?;
            let detail = if lifted.is_empty() {
                "was not paused".to_string()
            } else {
                let each: Vec<String> = lifted
                    .iter()
                    .map(|p| format!("{} (paused since {})", p.describe(), p.at.to_rfc3339()))
                    .collect();
                format!("sending resumed; lifted: {}", each.join(", "))
            };
            cx.record(tx, now, Event::LimitsResumed, None, None, detail)?;
            Ok(lifted)
        })?;
        Ok(Outcome::Resumed {
            was_paused: !lifted.is_empty(),
            reason: lifted.first().map(|p| p.reason.clone()),
            lifted: lifted.into_iter().map(PauseView::from).collect(),
        })
    }

    /// `limits [PHONE]`: the counters, and every limit that would refuse a send now. A station
    /// key sees its own station's counters and the pauses that hold its sends; a number's
    /// counters, the locked numbers and other stations' pauses are an operator's.
    pub fn limits(&mut self, now: DateTime<Utc>, phone: Option<&PhoneNumber>) -> Result<Outcome> {
        let needs = match phone {
            Some(_) => Privilege::ReadLimits,
            None => Privilege::RunVerifications,
        };
        if let Some(refused) = self.refuse_unless(needs) {
            return Ok(refused);
        }
        let cx = self.cx;
        let operator = cx.caller.may(Privilege::ReadLimits);
        let l = cx.limits;
        let (usage, locked, pauses) = self.store.snapshot(|tx| {
            let usage = match phone {
                Some(p) => {
                    let keys = LedgerKeys::new(cx.secrets, l, p);
                    tx.usage(l, &keys, cx.station(), now, Counting::Exact)?
                }
                None => tx.station_usage(l, cx.station(), now, Counting::Exact)?,
            };
            if !operator {
                let mine = |p: &Pause| match p.scope {
                    Scope::Global => true,
                    Scope::Station => p.name == cx.station(),
                    Scope::Prefix => false,
                };
                let pauses = tx.pauses()?.into_iter().filter(mine).collect();
                return Ok((usage, Vec::new(), pauses));
            }
            Ok((usage, tx.locked_numbers(now)?, tx.pauses()?))
        })?;
        let mut view = cx.limits_view(now, phone, &usage, locked, pauses);
        if operator {
            view.rate_limits = self.store.snapshot(|tx| rate_limit_views(tx, now))?;
        }
        Ok(Outcome::Limits {
            view: Box::new(view),
        })
    }
}

/// Every programmable rate limit with what each bucket counted in its window.
fn rate_limit_views(
    tx: &mut dyn crate::store::Tx,
    now: DateTime<Utc>,
) -> std::result::Result<Vec<RateLimitView>, crate::store::StoreError> {
    let mut views = Vec::new();
    for r in tx.rate_limits()? {
        let mut buckets = Vec::new();
        for b in tx.buckets(&r.sid)? {
            let since = now - chrono::TimeDelta::seconds(i64::from(b.interval));
            let (creates, values, busiest) = tx.window_counts(&r.sid, since)?;
            buckets.push(BucketView {
                max: b.max,
                interval_seconds: b.interval,
                creates,
                values,
                busiest,
            });
        }
        views.push(RateLimitView {
            unique_name: r.unique_name,
            sid: r.sid,
            buckets,
        });
    }
    Ok(views)
}

impl Ctx<'_> {
    fn limits_view(
        &self,
        now: DateTime<Utc>,
        phone: Option<&PhoneNumber>,
        usage: &Usage,
        locked: Vec<LockedNumber>,
        pauses: Vec<Pause>,
    ) -> LimitsView {
        let l = self.limits;
        let mut refusals: Vec<LimitRefusal> = phone
            .into_iter()
            .flat_map(|p| [l.country_refusal(p), l.number_type_refusal(p)])
            .flatten()
            .collect();
        refusals.extend(l.refusals(usage, now));
        LimitsView {
            paused_at: usage.pauses.first().map(|p| p.at),
            paused_reason: usage.pauses.first().map(|p| p.reason.clone()),
            pauses: pauses.into_iter().map(PauseView::from).collect(),
            global_last_hour: Counter {
                count: usage.global_hour.count,
                cap: l.global_per_hour,
            },
            station_last_hour: Counter {
                count: usage.station_hour.count,
                cap: l.per_station_per_hour,
            },
            conversion: usage.conversion,
            station_conversion: usage.station_conversion,
            prefix_conversion: usage.prefix_conversion,
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
            rate_limits: Vec::new(),
        }
    }

    fn number_view(&self, now: DateTime<Utc>, p: &PhoneNumber, usage: &Usage) -> NumberView {
        let l = self.limits;
        let streak = l.live_streak(&usage.number, now);
        NumberView {
            phone: p.clone(),
            country: p.region().map(str::to_string),
            number_type: p.number_type(),
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
