//! The one place otpd reads the time, so the domain can take `now` as a value and tests never sleep.

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same time (tests, and `OTPD_FAKE_NOW` in debug builds).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The clock for this process: the system clock, or — in debug builds only, so a release binary
/// can never be told what time it is — the instant of `OTPD_FAKE_NOW` (read into
/// `Config::fake_now` at start-up), which lets the integration tests move time forward between
/// processes without sleeping.
pub fn for_process(
    fake_now: Option<DateTime<Utc>>,
    fake_clock: Option<&std::path::Path>,
) -> Box<dyn Clock> {
    #[cfg(debug_assertions)]
    if let Some(t) = fake_now {
        return Box::new(FixedClock(t));
    }
    #[cfg(debug_assertions)]
    if let Some(path) = fake_clock {
        return Box::new(FileClock(path.to_path_buf()));
    }
    #[cfg(not(debug_assertions))]
    let _ = (fake_now, fake_clock);
    Box::new(SystemClock)
}

/// Debug builds' `OTPD_FAKE_NOW=@FILE`: the instant written in FILE, read at every look (a test
/// moves a running server's time by rewriting it); the system clock if it cannot be read.
#[derive(Debug, Clone)]
pub struct FileClock(pub std::path::PathBuf);

impl Clock for FileClock {
    fn now(&self) -> DateTime<Utc> {
        std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
            .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
    }
}

/// Milliseconds since the Unix epoch, the storage form of every timestamp.
pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`to_ms`]; out-of-range values clamp to the epoch instead of panicking.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
