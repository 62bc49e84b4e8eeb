//! How long and what time, in words a person reads on a screen or in a message ("5 min",
//! "14:32"): shared by the message texts and by `render`, so both say it the same way.

use chrono::{DateTime, Local, Utc};

/// "5 min", "4 min 12 s", "45 s", "2 h 5 min".
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 if s % 60 == 0 => format!("{} min", s / 60),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ if s % 3600 / 60 == 0 => format!("{} h", s / 3600),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// A UTC instant as local wall-clock time, e.g. "14:32".
pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M").to_string()
}
