//! Verify's Attempts (issue 26), read from the audit log: every code handed to delivery (`sent`,
//! `resent`) is an attempt, and the one whose code the user then entered (`approved`) is
//! converted — Twilio's `conversion_status`, "the user was able to provide the correct code". For
//! auditors and admins; the numbers stay as the log holds them, masked.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Result, Service};
use crate::clock::{from_ms, to_ms};
use crate::domain::{Channel, PhoneNumber, Privilege};
use crate::store::audit::AuditBatch;
use crate::store::audit_query::Filter;

/// Which attempts to list (every field optional; all given must hold).
#[derive(Debug, Clone, Default)]
pub struct AttemptQuery {
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub phone: Option<PhoneNumber>,
    /// ISO 3166 region, e.g. `US`.
    pub country: Option<String>,
    pub channel: Option<Channel>,
    pub converted: Option<bool>,
    /// A verification's `VE…` SID.
    pub verification_sid: Option<String>,
}

/// One attempt: the `index`-th code sent for a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub challenge_id: i64,
    /// 0 for the first code, then one per resend.
    pub index: u32,
    pub at: DateTime<Utc>,
    pub channel: Channel,
    pub converted: bool,
    /// When the code was entered (converted attempts only).
    pub converted_at: Option<DateTime<Utc>>,
    pub verification_sid: Option<String>,
    pub phone_masked: Option<String>,
    pub country: Option<String>,
    pub station: String,
}

/// Rows read per page of the audit scan.
const PAGE: usize = 1000;

impl Service<'_> {
    /// The attempts `q` selects, newest first; `Err` names the privilege the caller lacks.
    pub fn attempts(
        &mut self,
        q: &AttemptQuery,
    ) -> Result<std::result::Result<Vec<Attempt>, Privilege>> {
        if let Err(p) = self.cx.caller.require(Privilege::ReadAudit) {
            return Ok(Err(p));
        }
        let cx = self.cx;
        let filter = Filter {
            phone_key: q.phone.as_ref().map(|p| cx.secrets.phone_key(p.e164())),
            events: vec!["sent", "resent", "approved"],
            since_ms: q.created_after.map(to_ms),
            ..Filter::default()
        };
        let found = self.store.snapshot(|tx| {
            let only = match &q.verification_sid {
                Some(sid) => match tx.challenge_by_sid(sid)? {
                    Some(ch) => Some(ch.id),
                    None => return Ok(Vec::new()),
                },
                None => None,
            };
            let mut attempts: Vec<Attempt> = Vec::new();
            // Each verification's newest attempt so far (its index in `attempts`).
            let mut last: HashMap<i64, usize> = HashMap::new();
            let mut batch = AuditBatch::default();
            let mut after = None;
            loop {
                tx.audit_scan(&filter, after, PAGE, &mut batch)?;
                for row in batch.iter() {
                    let Ok(row) = row else { continue };
                    after = Some(row.id);
                    let Some(id) = row.challenge_id else { continue };
                    if only.is_some_and(|o| o != id) {
                        continue;
                    }
                    if row.event == "approved" {
                        if let Some(&i) = last.get(&id) {
                            attempts[i].converted = true;
                            attempts[i].converted_at = Some(from_ms(row.at));
                        }
                        continue;
                    }
                    let word = row.detail.split([';', ' ']).next().unwrap_or_default();
                    let Ok(channel) = word.parse::<Channel>() else {
                        continue;
                    };
                    let index = last.get(&id).map_or(0, |&i| attempts[i].index + 1);
                    last.insert(id, attempts.len());
                    attempts.push(Attempt {
                        challenge_id: id,
                        index,
                        at: from_ms(row.at),
                        channel,
                        converted: false,
                        converted_at: None,
                        verification_sid: None,
                        phone_masked: row.phone_masked.map(str::to_string),
                        country: None,
                        station: row.station.to_string(),
                    });
                }
                if batch.len() < PAGE {
                    break;
                }
            }
            attempts.retain(|a| {
                q.created_before.is_none_or(|b| a.at < b)
                    && q.channel.is_none_or(|c| a.channel == c)
                    && q.converted.is_none_or(|c| a.converted == c)
            });
            // What only the verification's row knows (gone once pruned).
            let mut region: HashMap<i64, Option<String>> = HashMap::new();
            for a in &mut attempts {
                if let std::collections::hash_map::Entry::Vacant(e) = region.entry(a.challenge_id) {
                    let r = tx
                        .challenge(a.challenge_id)?
                        .and_then(|ch| ch.phone.region().map(str::to_string));
                    e.insert(r);
                }
                a.country = region[&a.challenge_id].clone();
                a.verification_sid = tx.verification_sid(a.challenge_id)?;
            }
            if let Some(c) = &q.country {
                attempts.retain(|a| a.country.as_deref() == Some(c.as_str()));
            }
            attempts.reverse();
            Ok(attempts)
        })?;
        Ok(Ok(found))
    }
}
