//! `audit` (list): turns the filter options into a store [`Filter`] — the phone through its
//! keyed hash, times through [`when`] — and fetches one newest-first page.

use chrono::{DateTime, Utc};

use super::args::{FilterArgs, ListArgs, TimeArgs};
use super::when;
use super::zone::Zone;
use crate::clock::to_ms;
use crate::crypto::Secrets;
use crate::domain::{PhoneNumber, Region};
use crate::error::{Error, Usage};
use crate::store::Backend;
use crate::store::audit::AuditRow;
use crate::store::audit_query::Filter;

/// One page of the listing.
#[derive(Debug, Clone)]
pub struct Page {
    /// Newest first.
    pub rows: Vec<AuditRow>,
    /// Whether older matching rows exist (continue with `--before <last id>`).
    pub more: bool,
}

/// The time bounds as a filter (everything else open).
pub fn time_filter(t: &TimeArgs, now: DateTime<Utc>, zone: Zone) -> Result<Filter, Error> {
    let instant = |flag: &'static str, v: &Option<String>| -> Result<Option<i64>, Error> {
        v.as_deref()
            .map(|s| {
                when::parse_instant(s, now, zone).map(to_ms).map_err(|e| {
                    Error::from(Usage::BadValue {
                        flag,
                        detail: e.to_string(),
                    })
                })
            })
            .transpose()
    };
    let since_ms = instant("--since", &t.since)?;
    let until_ms = instant("--until", &t.until)?;
    if let (Some(a), Some(b)) = (since_ms, until_ms)
        && a >= b
    {
        return Err(Usage::SinceNotBeforeUntil.into());
    }
    Ok(Filter {
        since_ms,
        until_ms,
        ..Filter::default()
    })
}

/// Every filter option as a store filter; `--phone` read as `send` reads a number (national
/// numbers of `region`, from `--region` / `OTPD_REGION` / `[phone] default_region`).
pub fn filter(
    args: &FilterArgs,
    secrets: &Secrets,
    (now, zone): (DateTime<Utc>, Zone),
    region: Option<Region>,
) -> Result<Filter, Error> {
    let mut f = time_filter(&args.time, now, zone)?;
    if let Some(words) = &args.phone {
        let phone =
            PhoneNumber::parse_in(&words.join(" "), region).map_err(|e| Usage::BadValue {
                flag: "--phone",
                detail: e.to_string(),
            })?;
        f.phone_key = Some(secrets.phone_key(phone.e164()));
    }
    f.station = args.station.clone();
    f.events = args.events.iter().map(|e| e.as_str()).collect();
    f.outcome = args.outcome;
    Ok(f)
}

/// The newest `args.limit` matching rows.
pub fn list(
    store: &mut dyn Backend,
    secrets: &Secrets,
    args: &ListArgs,
    (now, zone): (DateTime<Utc>, Zone),
    region: Option<Region>,
) -> Result<Page, Error> {
    let mut f = filter(&args.filter, secrets, (now, zone), region)?;
    f.before_id = args.before;
    let limit = i64::from(args.limit);
    let mut rows = store.snapshot(|tx| tx.audit_list(&f, limit + 1))?;
    let more = rows.len() as i64 > limit;
    rows.truncate(args.limit as usize);
    Ok(Page { rows, more })
}
