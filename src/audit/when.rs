//! Turns what people type for a time — RFC 3339, a date, or an age like `2h` — into an instant,
//! relative to the `now` read once at the edge (so tests can pin it).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

use super::zone::Zone;

/// An age such as `30m`, `2h`, `7d`, `2w` or `45s`.
pub fn parse_age(s: &str) -> Result<TimeDelta, String> {
    let t = s.trim();
    let bad = || {
        format!(
            "\"{}\" is not an age: use a number and a unit, e.g. 30m, 2h, 7d, 2w",
            crate::sanitize::sanitize(t)
        )
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let secs_per = match unit {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(secs_per)
        .filter(|s| *s <= 100 * 365 * 86_400)
        .map(TimeDelta::seconds)
        .ok_or_else(bad)
}

/// An instant: RFC 3339 (`2026-11-28T10:00:00Z`), a date in `zone` (`2026-11-28`, midnight),
/// a date and time in `zone` (`2026-11-28 14:30`), or an age before `now` (`2h`, `7d`).
pub fn parse_instant(s: &str, now: DateTime<Utc>, zone: Zone) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return local(zone, d.and_hms_opt(0, 0, 0).unwrap_or_default(), t);
    }
    for fmt in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, fmt) {
            return local(zone, d, t);
        }
    }
    if t == "now" {
        return Ok(now);
    }
    match parse_age(t) {
        Ok(age) => Ok(now - age),
        Err(_) => Err(format!(
            "\"{}\" is not a time: use RFC 3339 (2026-11-28T10:00:00Z), a date (2026-11-28) or an age (30m, 2h, 7d)",
            crate::sanitize::sanitize(t)
        )),
    }
}

fn local(zone: Zone, d: NaiveDateTime, shown: &str) -> Result<DateTime<Utc>, String> {
    zone.instant(d).ok_or_else(|| {
        format!(
            "\"{}\" does not exist in the time zone (a clock change skips it)",
            crate::sanitize::sanitize(shown)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn ages_and_instants() {
        let now = at("2026-11-28T10:00:00Z");
        let cases = [
            ("2h", Some(at("2026-11-28T08:00:00Z"))),
            ("30m", Some(at("2026-11-28T09:30:00Z"))),
            ("7d", Some(at("2026-11-21T10:00:00Z"))),
            ("2w", Some(at("2026-11-14T10:00:00Z"))),
            ("45s", Some(at("2026-11-28T09:59:15Z"))),
            ("now", Some(now)),
            (
                "2026-11-27T23:00:00+01:00",
                Some(at("2026-11-27T22:00:00Z")),
            ),
            ("2026-11-28T10:00:00Z", Some(now)),
            ("2h30", None),
            ("h", None),
            ("-2h", None),
            ("yesterday", None),
            ("2026-13-01", None),
            ("99999999999999999999d", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_instant(input, now, Zone::Local).ok(), want, "{input}");
        }
        // Dates are local midnight; compare against chrono's own conversion.
        use chrono::{Local, TimeZone};
        let midnight = Local
            .from_local_datetime(
                &NaiveDate::from_ymd_opt(2026, 11, 28)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
            )
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_instant("2026-11-28", now, Zone::Local).unwrap(),
            midnight
        );
        // In a named zone, that zone's midnight, whatever this machine's zone.
        let paris = Zone::named("Europe/Paris").unwrap();
        assert_eq!(
            parse_instant("2026-11-28", now, paris).ok(),
            Some(at("2026-11-27T23:00:00Z"))
        );
        assert_eq!(
            parse_instant("2026-11-28 14:30", now, paris).ok(),
            Some(at("2026-11-28T13:30:00Z"))
        );
        assert!(parse_age("0d").is_ok());
        assert!(parse_age("3x").unwrap_err().contains("30m"));
    }
}
