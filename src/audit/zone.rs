//! The time zone audit times are shown and read in. On a terminal with its own database that is
//! the machine's (`Local`); through `otpd serve` the server renders the review, so the terminal
//! sends the IANA name of its zone and the server shows and reads times in that zone — an
//! auditor sees the same clock times either way, whatever zone the server runs in.

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Zone {
    /// This machine's zone (the `TZ` variable, else the system's).
    #[default]
    Local,
    /// A zone of the IANA database, by name.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// The zone an IANA name (`Europe/Paris`, `UTC`) stands for; `None` for anything else.
    pub fn named(name: &str) -> Option<Zone> {
        name.parse::<chrono_tz::Tz>().ok().map(Zone::Named)
    }

    /// The IANA name of this machine's zone, as a server needs it: `tz` (the `TZ` variable,
    /// read with the rest of the environment by `config`) when it holds a name
    /// (`Europe/Paris`, `:Europe/Paris`, `/usr/share/zoneinfo/Europe/Paris`), else the
    /// system's setting. `None` when neither names a zone (e.g. a POSIX rule such as
    /// `CET-1CEST`): the server then uses its own.
    pub fn this_machine(tz: Option<&str>) -> Option<String> {
        let name = match tz.map(tz_name) {
            Some(t) if !t.is_empty() => t,
            Some(_) => "UTC".to_string(),
            None => iana_time_zone::get_timezone().ok()?,
        };
        Zone::named(&name).map(|_| name)
    }

    /// `t` as a wall-clock time in this zone.
    pub fn wall(self, t: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Local => t.with_timezone(&Local).naive_local(),
            Zone::Named(tz) => t.with_timezone(&tz).naive_local(),
        }
    }

    /// The instant a wall-clock time in this zone names (the earlier of two in a repeated
    /// hour); `None` for a time skipped by a clock change.
    pub fn instant(self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        fn earliest<T: TimeZone>(tz: &T, wall: &NaiveDateTime) -> Option<DateTime<Utc>> {
            tz.from_local_datetime(wall)
                .earliest()
                .map(|d| d.with_timezone(&Utc))
        }
        match self {
            Zone::Local => earliest(&Local, &wall),
            Zone::Named(tz) => earliest(&tz, &wall),
        }
    }
}

/// The zone name in a `TZ` value: without a leading `:` or a path up to `zoneinfo/`.
fn tz_name(tz: &str) -> String {
    let t = tz.trim_start_matches(':');
    t.rsplit_once("zoneinfo/")
        .map_or(t, |(_, name)| name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn a_named_zone_shows_and_reads_its_own_wall_clock_across_a_clock_change() {
        let paris = Zone::named("Europe/Paris").unwrap();
        let summer = DateTime::parse_from_rfc3339("2026-07-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let winter = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(paris.wall(summer).to_string(), "2026-07-01 12:00:00");
        assert_eq!(paris.wall(winter).to_string(), "2026-12-01 11:00:00");
        let midnight = NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(
            paris.instant(midnight).unwrap().to_rfc3339(),
            "2026-11-30T23:00:00+00:00"
        );
        // 02:30 on the last Sunday of March does not exist in Paris.
        let skipped = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(paris.instant(skipped), None);
        assert_eq!(Zone::named("Mars/Olympus_Mons"), None);
        assert_eq!(Zone::named("CET-1CEST"), None);
    }

    #[test]
    fn tz_values_name_their_zone() {
        for (tz, name) in [
            ("Europe/Paris", "Europe/Paris"),
            (":Europe/Paris", "Europe/Paris"),
            ("/usr/share/zoneinfo/Asia/Tokyo", "Asia/Tokyo"),
            (":/usr/share/zoneinfo/UTC", "UTC"),
            ("", ""),
        ] {
            assert_eq!(tz_name(tz), name, "{tz}");
        }
        assert_eq!(
            Zone::this_machine(Some(":Asia/Tokyo")).as_deref(),
            Some("Asia/Tokyo")
        );
        assert_eq!(Zone::this_machine(Some("")).as_deref(), Some("UTC"));
        assert_eq!(Zone::this_machine(Some("CET-1CEST")), None);
    }
}
