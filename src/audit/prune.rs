//! `otpd prune`: deletes finished verifications (and with them the full phone numbers) older
//! than an age, and — only when `[audit] retention_days` is set — the old prefix of the audit
//! chain, leaving a sealed anchor. One write transaction; both steps are themselves audited.
//! Before removing anything, that transaction verifies the chain from the current anchor
//! through the first row it keeps; if the chain is broken it refuses and removes nothing, so
//! retention can never seal over (and erase) rows someone edited, deleted or inserted.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::Serialize;

use super::verify::{self, Broken};
use crate::clock::to_ms;
use crate::crypto::Secrets;
use crate::domain::outcome::exit;
use crate::error::Error;
use crate::store::Backend;
use crate::store::audit::{Event, NewEvent};

/// What `prune` did.
#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    /// Verifications removed.
    pub challenges: usize,
    /// Their codes had expired before this instant.
    pub cutoff: DateTime<Utc>,
    pub older_than_seconds: i64,
    /// Audit rows removed by retention, and the row the chain is now anchored at.
    pub audit_rows_removed: i64,
    pub anchored_at: Option<i64>,
    pub retention_days: Option<u32>,
}

/// What `prune` answers: done, or refused because the chain it would cut is broken.
#[derive(Debug, Clone)]
pub enum Outcome {
    Pruned(Pruned),
    /// Nothing was removed: the chain is broken at this row (as `audit verify` says).
    Refused(Broken),
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Pruned(_) => exit::OK,
            Outcome::Refused(_) => exit::REFUSED,
        }
    }
}

/// Prunes in one transaction.
pub fn prune(
    store: &mut dyn Backend,
    secrets: &Secrets,
    station: &str,
    older_than: TimeDelta,
    retention_days: Option<u32>,
    now: DateTime<Utc>,
) -> Result<Outcome, Error> {
    if older_than < TimeDelta::zero() {
        return Err(crate::error::Usage::NegativeAge.into());
    }
    let cutoff = now - older_than;
    let event = |event, detail: String| NewEvent::about_nothing(now, station, event, detail);
    let done = store.transaction(|tx| {
        let mut anchor = None;
        if let Some(days) = retention_days {
            let audit_cutoff = now - TimeDelta::days(i64::from(days));
            if let Some(cut) = tx.audit_plan_cut(to_ms(audit_cutoff))? {
                let through = cut.first_kept.unwrap_or(cut.last_removed);
                if let Some(broken) = verify::verify_through(tx, secrets, through)? {
                    return Ok(Err(broken));
                }
                super::rollup::forget(tx, cut.last_removed)?;
                let a = tx.audit_truncate(secrets, cut, to_ms(now))?;
                tx.append_event(
                    secrets,
                    &event(
                        Event::AuditTruncated,
                        format!(
                            "removed {} rows up to row {} (older than {days} days); anchor {}:{}",
                            a.removed, a.last_id, a.last_id, a.last_mac
                        ),
                    ),
                )?;
                anchor = Some(a);
            }
        }
        let n = tx.delete_finished_challenges(to_ms(cutoff), to_ms(now))?;
        tx.append_event(
            secrets,
            &event(
                Event::Pruned,
                format!(
                    "removed {n} finished verifications that expired before {}",
                    cutoff.to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
            ),
        )?;
        Ok(Ok((n, anchor)))
    })?;
    let (challenges, anchor) = match done {
        Ok(done) => done,
        Err(broken) => return Ok(Outcome::Refused(broken)),
    };
    Ok(Outcome::Pruned(Pruned {
        challenges,
        cutoff,
        older_than_seconds: older_than.num_seconds(),
        audit_rows_removed: anchor.as_ref().map_or(0, |a| a.removed),
        anchored_at: anchor.map(|a| a.last_id),
        retention_days,
    }))
}
