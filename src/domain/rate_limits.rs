//! Programmable rate limits (Twilio Verify's `RateLimits` and `Buckets`, issue 26), pure: what a
//! rate limit and its buckets are, which names and numbers are accepted, and whether one more
//! create for a key fits every bucket given the creates already counted. The counting itself is
//! the store's, inside the write transaction that issues the code.

use chrono::{DateTime, TimeDelta, Utc};

/// At most this many rate limits per service (Twilio's 60207).
pub const MAX_RATE_LIMITS: usize = 100;
/// At most this many buckets per rate limit (Twilio's 60210).
pub const MAX_BUCKETS: usize = 10;
/// The longest bucket interval, in seconds (30 days): the counted creates are kept that long.
pub const MAX_INTERVAL: u32 = 30 * 24 * 3600;
/// The largest bucket `Max`.
pub const MAX_MAX: u32 = 1_000_000;
/// The longest `UniqueName`, `Description` and key value.
pub const MAX_NAME: usize = 64;
pub const MAX_DESCRIPTION: usize = 256;
pub const MAX_VALUE: usize = 256;
/// At most this many keys in one create's `RateLimits`.
pub const MAX_KEYS: usize = 10;

/// One rate limit: a name a create's `RateLimits` map uses as a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub sid: String,
    pub unique_name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One bucket: at most `max` creates per key in any `interval` seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub sid: String,
    pub rate_limit_sid: String,
    pub max: u32,
    pub interval: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a rate-limit or bucket request is refused, each with Twilio's error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateLimitError {
    /// 60200: a parameter is missing or out of range (the sentence names it).
    Invalid(String),
    /// 60207.
    TooManyRateLimits,
    /// 60208.
    NameTaken,
    /// 60209.
    BadName,
    /// 60210.
    TooManyBuckets,
    /// 60211.
    IntervalTaken,
    /// 20404: no such rate limit or bucket.
    NotFound,
}

impl RateLimitError {
    /// Twilio's code for this refusal.
    pub fn code(&self) -> u32 {
        match self {
            RateLimitError::Invalid(_) => 60200,
            RateLimitError::TooManyRateLimits => 60207,
            RateLimitError::NameTaken => 60208,
            RateLimitError::BadName => 60209,
            RateLimitError::TooManyBuckets => 60210,
            RateLimitError::IntervalTaken => 60211,
            RateLimitError::NotFound => 20404,
        }
    }
}

/// A `UniqueName`: 1 to 64 letters, digits, `_`, `-` and `.` (no spaces, nothing that could
/// carry a phone number's formatting).
pub fn check_name(name: &str) -> Result<(), RateLimitError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(RateLimitError::BadName)
    }
}

/// A `Description`: at most 256 characters, no control characters.
pub fn check_description(text: &str) -> Result<(), RateLimitError> {
    if text.chars().count() > MAX_DESCRIPTION || text.chars().any(char::is_control) {
        return Err(RateLimitError::Invalid(format!(
            "Description must be at most {MAX_DESCRIPTION} characters without control characters"
        )));
    }
    Ok(())
}

/// A bucket's `Max` and `Interval`.
pub fn check_bucket(max: u32, interval: u32) -> Result<(), RateLimitError> {
    if !(1..=MAX_MAX).contains(&max) {
        return Err(RateLimitError::Invalid(format!(
            "Max must be a whole number from 1 to {MAX_MAX}"
        )));
    }
    if !(1..=MAX_INTERVAL).contains(&interval) {
        return Err(RateLimitError::Invalid(format!(
            "Interval must be a whole number of seconds from 1 to {MAX_INTERVAL}"
        )));
    }
    Ok(())
}

/// One entry of a create's `RateLimits` map: the rate limit's `UniqueName` and the value the
/// create is counted under (an address, a session id…; stored only as a keyed hash).
#[derive(Clone, PartialEq, Eq)]
pub struct RateKey {
    pub name: String,
    pub value: String,
}

/// The value may be personal data (an end user's address): never shown.
impl std::fmt::Debug for RateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RateKey {{ name: {:?}, value: … }}", self.name)
    }
}

/// A create's `RateLimits`: a JSON object of names to strings (or numbers), as Twilio's helper
/// libraries send it. `Err` is the sentence naming what is wrong and what is accepted.
pub fn parse_keys(json: &str) -> Result<Vec<RateKey>, String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|_| {
        "RateLimits must be a JSON object of rate limit names to values, e.g. {\"end_user_ip_address\": \"203.0.113.7\"}".to_string()
    })?;
    let map = value.as_object().ok_or_else(|| {
        "RateLimits must be a JSON object of rate limit names to values, e.g. {\"end_user_ip_address\": \"203.0.113.7\"}".to_string()
    })?;
    if map.len() > MAX_KEYS {
        return Err(format!(
            "RateLimits may name at most {MAX_KEYS} rate limits"
        ));
    }
    let mut keys = Vec::with_capacity(map.len());
    for (name, v) in map {
        let value = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                return Err(
                    "RateLimits values must be strings or numbers (the value counted under)".into(),
                );
            }
        };
        if value.is_empty() || value.len() > MAX_VALUE {
            return Err(format!(
                "RateLimits values must be 1 to {MAX_VALUE} characters"
            ));
        }
        keys.push(RateKey {
            name: name.clone(),
            value,
        });
    }
    Ok(keys)
}

/// The counts of one bucket for one key: creates counted in its window, and the oldest of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketUse {
    pub count: u32,
    /// The `max`-th newest create in the window: the bucket has room again once it leaves.
    pub nth_newest: Option<DateTime<Utc>>,
}

/// A create over a bucket: which, and how long until it has room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Over {
    pub name: String,
    pub max: u32,
    pub interval: u32,
    pub wait: TimeDelta,
}

/// Whether one more create fits `bucket`, given its use: `Some` when it is full.
pub fn over(name: &str, bucket: &Bucket, used: BucketUse, now: DateTime<Utc>) -> Option<Over> {
    if used.count < bucket.max {
        return None;
    }
    let window = TimeDelta::seconds(i64::from(bucket.interval));
    let wait = used
        .nth_newest
        .map(|t| t + window - now)
        .filter(|w| *w > TimeDelta::zero())
        .unwrap_or(TimeDelta::seconds(1));
    Some(Over {
        name: name.to_string(),
        max: bucket.max,
        interval: bucket.interval,
        wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(max: u32, interval: u32) -> Bucket {
        let t = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        Bucket {
            sid: "BL0".into(),
            rate_limit_sid: "RK0".into(),
            max,
            interval,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn names_values_and_buckets_are_checked() {
        assert!(check_name("end_user_ip_address").is_ok());
        assert!(check_name("session.id-2").is_ok());
        for bad in ["", "has space", "+14155552671 x", &"n".repeat(65), "é"] {
            assert_eq!(check_name(bad), Err(RateLimitError::BadName), "{bad:?}");
        }
        assert!(check_bucket(1, 1).is_ok() && check_bucket(MAX_MAX, MAX_INTERVAL).is_ok());
        for (m, i) in [(0, 60), (1, 0), (MAX_MAX + 1, 60), (1, MAX_INTERVAL + 1)] {
            assert!(matches!(
                check_bucket(m, i),
                Err(RateLimitError::Invalid(_))
            ));
        }
        assert!(check_description("for the sign-up form").is_ok());
        assert!(check_description("a\u{1b}[31m").is_err());
    }

    #[test]
    fn the_rate_limits_map_is_parsed_and_its_values_never_shown() {
        let keys = parse_keys(r#"{"end_user_ip_address": "203.0.113.7", "n": 42}"#).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.iter().any(|k| k.name == "n" && k.value == "42"));
        assert!(!format!("{keys:?}").contains("203.0.113.7"));
        let eleven: Vec<String> = (0..11).map(|i| format!("\"k{i}\": \"v\"")).collect();
        let eleven = format!("{{{}}}", eleven.join(", "));
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_VALUE + 1));
        for bad in [
            "[]",
            "nope",
            r#"{"a": {}}"#,
            r#"{"a": ""}"#,
            r#"{"a": null}"#,
            &eleven,
            &long,
        ] {
            let e = parse_keys(bad).unwrap_err();
            assert!(e.starts_with("RateLimits"), "{e}");
        }
    }

    #[test]
    fn a_full_bucket_refuses_until_its_nth_newest_create_leaves_the_window() {
        let now = DateTime::<Utc>::from_timestamp(1_700_000_100, 0).unwrap();
        let b = bucket(2, 60);
        let one = BucketUse {
            count: 1,
            nth_newest: None,
        };
        assert_eq!(over("ip", &b, one, now), None);
        let full = BucketUse {
            count: 2,
            nth_newest: Some(now - TimeDelta::seconds(45)),
        };
        let o = over("ip", &b, full, now).unwrap();
        assert_eq!((o.max, o.interval, o.wait), (2, 60, TimeDelta::seconds(15)));
    }
}
