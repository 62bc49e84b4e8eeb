//! The sentences of `otpd limits` and `limits resume`: locked numbers first (anyone can lock a
//! victim's number, so an operator must see it at once), then the conversion guard's pauses by
//! scope, the counters, and what would be refused now. The prompt's banner reuses
//! [`locked_summary`].

use super::{duration, local_time, operator_step};
use crate::domain::limits::Scope;
use crate::domain::outcome::{Counter, LimitsView, LockedView, PauseView};
use crate::sanitize::sanitize;

/// The command that lifts the conversion guard's pauses.
const RESUME: &str = "otpd limits resume";

fn counter(c: &Counter) -> String {
    if c.cap == 0 {
        format!("{} (no cap)", c.count)
    } else {
        format!("{} of {}", c.count, c.cap)
    }
}

/// One locked number: `+1 •••-•••-2671 until 11:00` or `… until unlocked`.
fn locked_one(l: &LockedView) -> String {
    let phone = sanitize(&l.phone);
    match l.locked_until {
        _ if l.needs_unlock => format!("{phone} until unlocked ({} wrong codes)", l.failures),
        Some(until) => format!(
            "{phone} until {} ({} wrong codes)",
            local_time(until),
            l.failures
        ),
        None => phone,
    }
}

/// `2 numbers are locked: A until 11:00 (10 wrong codes), B until unlocked (100 wrong codes).
/// Sends to them are refused too; `unlock PHONE` lifts a lock.` — `None` when none is.
/// `unlock` is the command as the reader types it (`otpd unlock PHONE` or `unlock PHONE`).
pub fn locked_summary(locked: &[LockedView], unlock: &str) -> Option<String> {
    let list: Vec<String> = locked.iter().map(locked_one).collect();
    let head = match list.len() {
        0 => return None,
        1 => "1 number is locked by wrong codes".to_string(),
        n => format!("{n} numbers are locked by wrong codes"),
    };
    Some(format!(
        "{head}: {}. Sends to them are refused too; `{unlock}` lifts a lock.",
        list.join(", ")
    ))
}

/// How a pause's scope reads in a sentence.
fn scope_words(p: &PauseView) -> String {
    match p.scope {
        Scope::Global => "every station".into(),
        Scope::Station => format!("station {}", sanitize(&p.name)),
        Scope::Prefix => format!("numbers in prefix {}", sanitize(&p.name)),
    }
}

fn pause_line(p: &PauseView) -> String {
    format!(
        "Sending is PAUSED for {} since {}: {}.",
        scope_words(p),
        local_time(p.paused_at),
        sanitize(&p.reason)
    )
}

pub fn limits_text(v: &LimitsView) -> String {
    let mut lines = Vec::new();
    match locked_summary(&v.locked_numbers, "otpd unlock PHONE") {
        Some(s) => lines.push(s),
        None => lines.push("No number is locked.".into()),
    }
    if v.pauses.is_empty() {
        lines.push("Sending is not paused.".into());
    }
    lines.extend(v.pauses.iter().map(pause_line));
    if !v.pauses.is_empty() {
        lines.push(format!("Run `{RESUME}` to lift every pause."));
    }
    lines.push(format!(
        "Sends in the last hour: {} overall, {} from this station.",
        counter(&v.global_last_hour),
        counter(&v.station_last_hour)
    ));
    let c = &v.conversion;
    let s = &v.station_conversion;
    let mut conversion = format!(
        "Conversion: {} of {} verifications completed ({} sends) overall, {} of {} from this station",
        c.converted, c.verifications, c.sends, s.converted, s.verifications
    );
    if let Some(p) = &v.prefix_conversion {
        conversion.push_str(&format!(
            ", {} of {} to this number's prefix",
            p.converted, p.verifications
        ));
    }
    lines.push(if v.min_conversion <= 0.0 {
        format!(
            "{conversion}; the conversion guard is off (limits.min_conversion = 0, or console delivery, which sends nothing)."
        )
    } else {
        format!(
            "{conversion}; the guard needs {} sends and pauses a station, a prefix or (when the collapse is spread across them) every station below {:.0}%.",
            v.min_sends_for_conversion,
            v.min_conversion * 100.0
        )
    });
    if let Some(n) = &v.number {
        lines.push(format!(
            "{}{}: {} sends in the last hour, {} in 24 hours, {} to its prefix in the last hour; send streak {} (cooldown {}); {} wrong codes in a row.",
            n.phone,
            match n.country.as_deref() {
                Some(c) => format!(" ({c}, {} number)", n.number_type.describe()),
                None => format!(" ({} number)", n.number_type.describe()),
            },
            counter(&n.last_hour),
            counter(&n.last_day),
            counter(&n.prefix_last_hour),
            n.streak,
            duration(n.cooldown_seconds),
            n.consecutive_failures
        ));
    }
    if v.would_refuse.is_empty() {
        lines.push(if v.number.is_some() {
            "A send to this number would go out now.".into()
        } else {
            "A send would go out now (name a number to check its own limits).".into()
        });
    }
    for r in &v.would_refuse {
        lines.push(match &r.operator_action {
            // The pause lines above already say to run it.
            Some(a) if a == RESUME && !v.pauses.is_empty() => format!(
                "Would refuse ({}): sending is paused (see above).",
                r.limit.key()
            ),
            Some(a) => format!(
                "Would refuse ({}): {}; an operator must {}.",
                r.limit.key(),
                sanitize(&r.reason),
                operator_step(a)
            ),
            None => format!(
                "Would refuse ({}): {}; for {}.",
                r.limit.key(),
                sanitize(&r.reason),
                duration(r.retry_after_seconds)
            ),
        });
    }
    for r in &v.rate_limits {
        lines.extend(rate_limit_lines(r));
    }
    lines.join("\n")
}

/// A programmable rate limit of `otpd serve` (issue 26): each bucket and what it counted.
fn rate_limit_lines(r: &crate::domain::outcome::RateLimitView) -> Vec<String> {
    let name = sanitize(&r.unique_name);
    if r.buckets.is_empty() {
        return vec![format!(
            "Rate limit {name} ({}): no bucket, so it counts nothing.",
            r.sid
        )];
    }
    r.buckets
        .iter()
        .map(|b| {
            let full = if b.busiest >= b.max {
                "; at least one value is refused now"
            } else {
                ""
            };
            format!(
                "Rate limit {name}: {} per {}; {} creates from {} values in that window, at most {} from one{full}.",
                b.max,
                duration(i64::from(b.interval_seconds)),
                b.creates,
                b.values,
                b.busiest
            )
        })
        .collect()
}

/// `limits resume`: which pauses were lifted.
pub fn resumed_text(lifted: &[PauseView]) -> String {
    if lifted.is_empty() {
        return "Sending was not paused; nothing changed.".into();
    }
    let each: Vec<String> = lifted
        .iter()
        .map(|p| {
            format!(
                "{} (paused since {}: {})",
                scope_words(p),
                local_time(p.paused_at),
                sanitize(&p.reason)
            )
        })
        .collect();
    format!("Sending resumed for {}.", each.join("; "))
}
