//! `audit verify`: recomputes the whole MAC chain in batches, without allocating per row, and
//! when it breaks says where and how — a row changed, deleted, inserted or moved, a truncated
//! tail (against a head kept elsewhere), or a forged retention anchor.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::crypto::{AuditKey, Secrets};
pub use crate::store::audit::is_mac;
use crate::store::audit::{self, Anchor, AuditRow, GENESIS_MAC, RowRef};
use crate::store::{Backend, StoreError, Tx};

use super::head::{Head, HeadFile};

mod chain;

use chain::{Failure, Start, check_chain};

/// What is wrong with the first bad row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// Its contents (or its MACs) no longer match what was sealed.
    Changed,
    /// Rows `from..=to` are missing from the middle or the start of the chain.
    Deleted { from: i64, to: i64 },
    /// It links to a row that is no longer in the log (rows deleted and the rest renumbered).
    PredecessorMissing,
    /// It was not in the chain: the next row links past it.
    Inserted,
    /// Its contents belong after row `follows`, not after the row before it.
    Reordered { follows: i64 },
    /// The log ends at `last_id` but a recorded head says row `head_id` existed.
    Truncated { head_id: i64, last_id: i64 },
    /// The recorded head's MAC differs from the row's.
    HeadMismatch,
    /// The retention anchor's seal does not match: it was edited or forged.
    AnchorChanged,
}

impl Problem {
    pub fn name(&self) -> &'static str {
        match self {
            Problem::Changed => "changed",
            Problem::Deleted { .. } | Problem::PredecessorMissing => "deleted",
            Problem::Inserted => "inserted",
            Problem::Reordered { .. } => "reordered",
            Problem::Truncated { .. } => "truncated",
            Problem::HeadMismatch => "head_mismatch",
            Problem::AnchorChanged => "anchor_changed",
        }
    }
}

/// The first bad row and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    pub row: i64,
    #[serde(flatten)]
    pub problem: Problem,
}

/// How a recorded head compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadStatus {
    Matches,
    /// The head row was removed by retention; the anchor vouches for what came before.
    BeforeAnchor,
}

/// The result of a verification.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Rows whose MAC and link were checked and found good.
    pub rows: u64,
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
    /// Where the chain starts when retention removed a prefix.
    pub anchor_last_id: Option<i64>,
    pub head: Option<(Head, HeadStatus)>,
    /// Whether the head came from a head file, or which one was expected and missing (set by
    /// the caller that chose the head).
    #[serde(skip)]
    pub head_file: Option<HeadFile>,
    pub broken: Option<Broken>,
    #[serde(skip)]
    pub elapsed: Duration,
}

/// Where the checker's reads run: the store (one short read transaction per batch, for
/// `audit verify`) or a transaction already open (`prune`, which must check exactly the rows it
/// is about to delete, under the write lock it deletes them with).
pub trait Source {
    fn read<T>(
        &mut self,
        f: impl FnMut(&mut dyn Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;

    /// Where the reader reports the id of the last row it read, page after page (for a check
    /// that shows its progress); `None` when nobody watches.
    fn progress(&self) -> Option<Arc<AtomicI64>> {
        None
    }
}

/// A store whose check reports its progress ([`verify_watched`]).
struct Watched<'a> {
    store: Snapshots<'a>,
    progress: Arc<AtomicI64>,
}

impl Source for Watched<'_> {
    fn read<T>(
        &mut self,
        f: impl FnMut(&mut dyn Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.store.read(f)
    }

    fn progress(&self) -> Option<Arc<AtomicI64>> {
        Some(self.progress.clone())
    }
}

/// [`verify`], storing the id of the last row read into `progress` as it goes (the audit
/// pages show how far a long check has come).
pub fn verify_watched(
    store: &mut dyn Backend,
    secrets: &Secrets,
    head: Option<&Head>,
    progress: Arc<AtomicI64>,
) -> Result<Report, StoreError> {
    let mut source = Watched {
        store: Snapshots(store),
        progress,
    };
    verify_from(&mut source, secrets, head, None)
}

/// A store as a [`Source`]: each read is its own read transaction.
pub struct Snapshots<'a>(pub &'a mut dyn Backend);

impl Source for Snapshots<'_> {
    fn read<T>(
        &mut self,
        f: impl FnMut(&mut dyn Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.0.snapshot(f)
    }
}

/// An open transaction as a [`Source`].
pub struct InTransaction<'a, 'b>(pub &'a mut (dyn Tx + 'b));

impl Source for InTransaction<'_, '_> {
    fn read<T>(
        &mut self,
        f: impl FnMut(&mut dyn Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut f = f;
        f(&mut *self.0)
    }
}

/// Checks the chain from the anchor (or the genesis) to the end, then against `head` if given.
pub fn verify(
    store: &mut dyn Backend,
    secrets: &Secrets,
    head: Option<&Head>,
) -> Result<Report, StoreError> {
    verify_from(&mut Snapshots(store), secrets, head, None)
}

/// What `prune` checks before removing anything: the chain from the current anchor (or the
/// genesis) through row `through` (the first row it keeps, whose `prev_mac` must link to the
/// last row it removes), with the same checker and the same verdicts as `audit verify`.
pub fn verify_through(
    tx: &mut dyn Tx,
    secrets: &Secrets,
    through: i64,
) -> Result<Option<Broken>, StoreError> {
    Ok(verify_from(&mut InTransaction(tx), secrets, None, Some(through))?.broken)
}

/// The checker behind [`verify`] and [`verify_through`]: stops after row `through` when given.
fn verify_from<S: Source>(
    store: &mut S,
    secrets: &Secrets,
    head: Option<&Head>,
    through: Option<i64>,
) -> Result<Report, StoreError> {
    let started = Instant::now();
    let key = secrets.audit_key();
    let anchor = store.read(|tx| tx.audit_latest_anchor())?;
    let mut report = Report {
        rows: 0,
        first_id: None,
        last_id: None,
        anchor_last_id: anchor.as_ref().map(|a| a.last_id),
        head: None,
        head_file: None,
        broken: None,
        elapsed: Duration::ZERO,
    };
    let start = chain_start(anchor.as_ref());
    report.broken = match untrusted_start(store, secrets, anchor.as_ref(), start.id)? {
        Some(broken) => Some(broken),
        None => check_rows(
            store,
            &key,
            start,
            anchor.as_ref(),
            head,
            through,
            &mut report,
        )?,
    };
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Where the chain begins: after the retention anchor, or at the genesis.
fn chain_start(anchor: Option<&Anchor>) -> Start {
    match anchor {
        Some(a) => Start {
            id: a.last_id + 1,
            prev: a.last_mac.clone(),
        },
        None => Start {
            id: 1,
            prev: GENESIS_MAC.to_string(),
        },
    }
}

/// What breaks the chain before its first row is read: a forged anchor, or a row below `first`.
fn untrusted_start<S: Source>(
    store: &mut S,
    secrets: &Secrets,
    anchor: Option<&Anchor>,
    first: i64,
) -> Result<Option<Broken>, StoreError> {
    // A sealed anchor whose MAC is no MAC was sealed from a tampered row (older otpd sealed
    // whatever the last removed row held): it vouches for nothing.
    if let Some(a) = anchor
        && !(anchor_sealed(secrets, a) && is_mac(&a.last_mac))
    {
        return Ok(Some(Broken {
            row: first,
            problem: Problem::AnchorChanged,
        }));
    }
    // The scan starts after the anchor (or at id 1): a row slipped in below that point would
    // never be visited, so look for one first.
    if let Some(low) = store.read(|tx| tx.audit_min_id())?
        && low < first
    {
        return Ok(Some(Broken {
            row: low,
            problem: Problem::Inserted,
        }));
    }
    Ok(None)
}

/// Checks every row from `start` (counting them into `report`), then explains the first bad
/// row, or, when all are good, compares `head` (recording how it compared in `report`).
fn check_rows<S: Source>(
    store: &mut S,
    key: &AuditKey,
    start: Start,
    anchor: Option<&Anchor>,
    head: Option<&Head>,
    through: Option<i64>,
    report: &mut Report,
) -> Result<Option<Broken>, StoreError> {
    let (checked, head_mac_seen) = check_chain(store, key, start, head, through)?;
    report.rows = checked.rows;
    report.first_id = checked.first_id;
    report.last_id = checked.last_id;
    Ok(match checked.failure {
        Some(Failure::Unreadable(b)) => Some(b),
        Some(Failure::At(at)) => Some(explain_break(
            store,
            key,
            at,
            checked.expected_id,
            &checked.prev,
        )?),
        None => head.and_then(|h| {
            let last = checked.last_id.unwrap_or(checked.expected_id - 1);
            match compare_head(h, head_mac_seen, last, anchor) {
                Ok(status) => {
                    report.head = Some((h.clone(), status));
                    None
                }
                Err(broken) => Some(broken),
            }
        }),
    })
}

/// Reads what [`classify`] needs about row `at`, where the good chain (ending before
/// `expected_id`, with MAC `prev`) broke, and explains it.
fn explain_break<S: Source>(
    store: &mut S,
    key: &AuditKey,
    at: i64,
    expected_id: i64,
    prev: &str,
) -> Result<Broken, StoreError> {
    store.read(|tx| {
        let row = tx.audit_row(at)?;
        let next = tx.audit_next_row(at)?;
        let owner = match &row {
            Some(r) if r.prev_mac != prev => tx.audit_id_with_mac(&r.prev_mac)?,
            _ => None,
        };
        Ok(classify(
            key,
            expected_id,
            prev,
            row.as_ref(),
            next.as_ref(),
            owner,
            at,
        ))
    })
}

/// Compares a recorded head with a good chain ending at `last`: `seen` says whether the head's
/// row was read and carried the head's MAC (`None`: the row was not read).
fn compare_head(
    h: &Head,
    seen: Option<bool>,
    last: i64,
    anchor: Option<&Anchor>,
) -> Result<HeadStatus, Broken> {
    match seen {
        Some(true) => Ok(HeadStatus::Matches),
        Some(false) => Err(Broken {
            row: h.id,
            problem: Problem::HeadMismatch,
        }),
        None if h.id > last => Err(Broken {
            row: last + 1,
            problem: Problem::Truncated {
                head_id: h.id,
                last_id: last,
            },
        }),
        None => match anchor {
            Some(a) if a.last_id == h.id && a.last_mac != h.mac => Err(Broken {
                row: h.id,
                problem: Problem::HeadMismatch,
            }),
            _ => Ok(HeadStatus::BeforeAnchor),
        },
    }
}

fn anchor_sealed(secrets: &Secrets, a: &Anchor) -> bool {
    audit::anchor_mac(secrets, a.last_id, &a.last_mac, a.removed, a.at) == a.mac
}

/// Whether `row.mac` is the MAC of `prev_mac ‖ canonical(row)`.
fn sealed(key: &AuditKey, buf: &mut Vec<u8>, row: &RowRef<'_>, prev_mac: &str) -> bool {
    audit::canonical_into(buf, row);
    let mac = key.mac(&[prev_mac.as_bytes(), buf]);
    let mut hex = [0u8; 64];
    // 32 bytes always fit 64 hex digits.
    hex::encode_to_slice(mac, &mut hex).is_ok() && row.mac.as_bytes() == hex
}

/// Explains the first bad row. `expected_id`/`prev` are where the good chain ended; `row` is
/// the row found there (or after a gap), `next` the one after it, and `owner` the id of the
/// row whose MAC `row.prev_mac` names, if any.
fn classify(
    key: &AuditKey,
    expected_id: i64,
    prev: &str,
    row: Option<&AuditRow>,
    next: Option<&AuditRow>,
    owner: Option<i64>,
    at: i64,
) -> Broken {
    let mut buf = Vec::new();
    let Some(row) = row else {
        // Vanished between the scan and now: a concurrent deletion.
        return Broken {
            row: at,
            problem: Problem::Deleted { from: at, to: at },
        };
    };
    if row.id > expected_id {
        return Broken {
            row: expected_id,
            problem: Problem::Deleted {
                from: expected_id,
                to: row.id - 1,
            },
        };
    }
    let r = row.as_ref();
    let problem = if row.prev_mac == prev {
        if next.is_some_and(|n| n.prev_mac == row.prev_mac) {
            Problem::Inserted
        } else {
            Problem::Changed
        }
    } else if sealed(key, &mut buf, &r, prev) {
        // Only the stored prev_mac was altered.
        Problem::Changed
    } else if let Some(follows) = owner.filter(|o| *o != row.id - 1) {
        Problem::Reordered { follows }
    } else {
        Problem::PredecessorMissing
    };
    Broken {
        row: row.id,
        problem,
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
