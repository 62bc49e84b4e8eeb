//! `[limits]`: the abuse and cost limits, validated key by key against their ranges.

use chrono::TimeDelta;

use super::raw::RawLimits;
use super::{ConfigError, ranged};
use crate::domain::{FixedLineChannel, Limits};

/// `[limits]`: caps of 0 disable a cap; every range names its key. `fixed_line` is `[delivery]
/// fixed_line_channel`, decided with the number's type.
pub(super) fn limits(
    l: &RawLimits,
    base_cooldown: TimeDelta,
    fixed_line: Option<FixedLineChannel>,
) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    let cap = |key, v: Option<i64>, default: u32| {
        ranged(key, v, default.into(), 0..=1_000_000, " sends (0 disables)").map(|v| v as u32)
    };
    let allowed_countries = countries(l.allowed_countries.as_deref().unwrap_or_default())?;
    let max_cooldown = ranged(
        "limits.max_cooldown_seconds",
        l.max_cooldown_seconds,
        d.max_cooldown.num_seconds(),
        0..=86_400,
        " seconds",
    )?;
    let backoff_reset = ranged(
        "limits.backoff_reset_seconds",
        l.backoff_reset_seconds,
        d.backoff_reset.num_seconds(),
        1..=604_800,
        " seconds",
    )?;
    let min_conversion = l.min_conversion.unwrap_or(d.min_conversion);
    if !(0.0..=1.0).contains(&min_conversion) {
        return Err(ConfigError::Value {
            key: "limits.min_conversion",
            value: min_conversion.to_string(),
            expected: "use 0.0..=1.0 (a fraction of verifications; 0 disables)".into(),
        });
    }
    let max_failures = ranged(
        "limits.max_failures_per_number",
        l.max_failures_per_number,
        d.max_failures_per_number.into(),
        1..=100,
        " consecutive wrong codes",
    )?;
    let unlock_after = ranged(
        "limits.failures_before_unlock",
        l.failures_before_unlock,
        d.failures_before_unlock.into(),
        max_failures..=100,
        " consecutive wrong codes (NIST SP 800-63B: at most 100; at least max_failures_per_number)",
    )?;
    Ok(Limits {
        allowed_countries,
        refuse_types: super::phone::refuse_types(l.refuse_types.as_deref())?,
        fixed_line: fixed_line.unwrap_or_default(),
        base_cooldown,
        max_cooldown: TimeDelta::seconds(max_cooldown),
        backoff_reset: TimeDelta::seconds(backoff_reset),
        per_number_per_hour: cap(
            "limits.per_number_per_hour",
            l.per_number_per_hour,
            d.per_number_per_hour,
        )?,
        per_number_per_day: cap(
            "limits.per_number_per_day",
            l.per_number_per_day,
            d.per_number_per_day,
        )?,
        per_prefix_per_hour: cap(
            "limits.per_prefix_per_hour",
            l.per_prefix_per_hour,
            d.per_prefix_per_hour,
        )?,
        prefix_digits: ranged(
            "limits.prefix_digits",
            l.prefix_digits,
            d.prefix_digits as i64,
            0..=14,
            " national digits after the country code",
        )? as usize,
        per_station_per_hour: cap(
            "limits.per_station_per_hour",
            l.per_station_per_hour,
            d.per_station_per_hour,
        )?,
        global_per_hour: cap(
            "limits.global_per_hour",
            l.global_per_hour,
            d.global_per_hour,
        )?,
        min_conversion,
        min_sends_for_conversion: ranged(
            "limits.min_sends_for_conversion",
            l.min_sends_for_conversion,
            d.min_sends_for_conversion.into(),
            1..=1_000_000,
            " sends",
        )? as u32,
        max_failures_per_number: max_failures as u32,
        lockout: TimeDelta::seconds(ranged(
            "limits.lockout_seconds",
            l.lockout_seconds,
            d.lockout.num_seconds(),
            1..=2_592_000,
            " seconds",
        )?),
        failures_before_unlock: unlock_after as u32,
    })
}

/// `allowed_countries`: ISO 3166 region codes, upper-cased, each once.
fn countries(listed: &[String]) -> Result<Vec<String>, ConfigError> {
    let mut allowed_countries = Vec::new();
    for c in listed {
        let up = c.trim().to_ascii_uppercase();
        let known = up.len() == 2 && up.parse::<phonenumber::country::Id>().is_ok();
        if !known {
            return Err(ConfigError::Value {
                key: "limits.allowed_countries",
                value: format!("\"{}\"", crate::sanitize::sanitize(c)),
                expected: "use ISO 3166 two-letter region codes from the numbering plan, e.g. [\"US\", \"GB\"]".into(),
            });
        }
        if !allowed_countries.contains(&up) {
            allowed_countries.push(up);
        }
    }
    Ok(allowed_countries)
}
