//! `audit verify`: recomputes the whole MAC chain in batches, without allocating per row, and
//! when it breaks says where and how — a row changed, deleted, inserted or moved, a truncated
//! tail (against a head kept elsewhere), or a forged retention anchor.

use std::time::{Duration, Instant};

use serde::Serialize;

use rusqlite::Connection;

use crate::crypto::{AuditKey, Secrets};
pub use crate::store::audit::is_mac;
use crate::store::audit::{self, Anchor, AuditRow, GENESIS_MAC, RowRef};
use crate::store::{Store, StoreError};

/// Rows per read transaction: large enough to amortise the query, small enough that a long
/// verify never pins an old WAL snapshot for the whole run.
const BATCH: i64 = if cfg!(test) { 700 } else { 100_000 };

/// A head recorded earlier (`audit head`, the head file): row `id` had MAC `mac`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub id: i64,
    pub mac: String,
}

impl Head {
    /// Parses `ID:MAC` (as printed by `audit head`; a trailing time is ignored).
    pub fn parse(s: &str) -> Result<Head, String> {
        let first = s.split_whitespace().next().unwrap_or_default();
        let bad = || {
            format!(
                "\"{}\" is not a head: use ID:MAC as printed by `otpd audit head`",
                crate::sanitize::truncate(&crate::sanitize::sanitize(s.trim()), 100)
            )
        };
        let (id, mac) = first.split_once(':').ok_or_else(bad)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        let mac = mac.to_ascii_lowercase();
        if id < 1 || mac.len() != 64 || !mac.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Head { id, mac })
    }
}

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
    pub head_file: Option<super::head::HeadFile>,
    pub broken: Option<Broken>,
    #[serde(skip)]
    pub elapsed: Duration,
}

/// Where the checker's reads run: the store (one short read transaction per batch, for
/// `audit verify`) or a transaction already open (`prune`, which must check exactly the rows it
/// is about to delete, under the write lock it deletes them with).
pub trait Source {
    type Error;
    fn read<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, Self::Error>;
}

impl Source for Store {
    type Error = StoreError;
    fn read<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        Store::read(self, |tx| f(tx))
    }
}

/// An open transaction (or connection) as a [`Source`].
pub struct InTransaction<'c>(pub &'c Connection);

impl Source for InTransaction<'_> {
    type Error = rusqlite::Error;
    fn read<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        f(self.0)
    }
}

/// Checks the chain from the anchor (or the genesis) to the end, then against `head` if given.
pub fn verify(
    store: &mut Store,
    secrets: &Secrets,
    head: Option<&Head>,
) -> Result<Report, StoreError> {
    verify_from(store, secrets, head, None)
}

/// What `prune` checks before removing anything: the chain from the current anchor (or the
/// genesis) through row `through` (the first row it keeps, whose `prev_mac` must link to the
/// last row it removes), with the same checker and the same verdicts as `audit verify`.
pub fn verify_through(
    c: &Connection,
    secrets: &Secrets,
    through: i64,
) -> rusqlite::Result<Option<Broken>> {
    Ok(verify_from(&mut InTransaction(c), secrets, None, Some(through))?.broken)
}

/// The checker behind [`verify`] and [`verify_through`]: stops after row `through` when given.
fn verify_from<S: Source>(
    store: &mut S,
    secrets: &Secrets,
    head: Option<&Head>,
    through: Option<i64>,
) -> Result<Report, S::Error> {
    let started = Instant::now();
    let key = secrets.audit_key();
    let anchor = store.read(audit::latest_anchor)?;
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
    let (mut expected_id, mut prev): (i64, String) = match &anchor {
        Some(a) => (a.last_id + 1, a.last_mac.clone()),
        None => (1, GENESIS_MAC.to_string()),
    };
    // A sealed anchor whose MAC is no MAC was sealed from a tampered row (older otpd sealed
    // whatever the last removed row held): it vouches for nothing.
    if let Some(a) = &anchor
        && !(anchor_sealed(secrets, a) && is_mac(&a.last_mac))
    {
        report.broken = Some(Broken {
            row: expected_id,
            problem: Problem::AnchorChanged,
        });
        report.elapsed = started.elapsed();
        return Ok(report);
    }

    // The scan starts after the anchor (or at id 1): a row slipped in below that point would
    // never be visited, so look for one first.
    if let Some(low) = store.read(audit::min_id)?
        && low < expected_id
    {
        report.broken = Some(Broken {
            row: low,
            problem: Problem::Inserted,
        });
        report.elapsed = started.elapsed();
        return Ok(report);
    }

    let start = Start {
        id: expected_id,
        prev: prev.clone(),
    };
    let (checked, head_mac_seen) = check_chain(store, &key, start, head, through)?;
    report.rows = checked.rows;
    report.first_id = checked.first_id;
    report.last_id = checked.last_id;
    expected_id = checked.expected_id;
    prev = checked.prev;
    let (bad_at, unreadable) = match checked.failure {
        None => (None, None),
        Some(Failure::At(id)) => (Some(id), None),
        Some(Failure::Unreadable(b)) => (Some(b.row), Some(b)),
    };

    if let Some(b) = unreadable {
        report.broken = Some(b);
    } else if let Some(at) = bad_at {
        report.broken = Some(store.read(|tx: &Connection| {
            let row = audit::row(tx, at)?;
            let next = audit::next_row(tx, at)?;
            let owner = match &row {
                Some(r) if r.prev_mac != prev => audit::id_with_mac(tx, &r.prev_mac)?,
                _ => None,
            };
            Ok(classify(
                &key,
                expected_id,
                &prev,
                row.as_ref(),
                next.as_ref(),
                owner,
                at,
            ))
        })?);
    } else if let Some(h) = head {
        let last = report.last_id.unwrap_or(expected_id - 1);
        report.broken = match head_mac_seen {
            Some(true) => {
                report.head = Some((h.clone(), HeadStatus::Matches));
                None
            }
            Some(false) => Some(Broken {
                row: h.id,
                problem: Problem::HeadMismatch,
            }),
            None if h.id > last => Some(Broken {
                row: last + 1,
                problem: Problem::Truncated {
                    head_id: h.id,
                    last_id: last,
                },
            }),
            None => match &anchor {
                Some(a) if a.last_id == h.id && a.last_mac != h.mac => Some(Broken {
                    row: h.id,
                    problem: Problem::HeadMismatch,
                }),
                _ => {
                    report.head = Some((h.clone(), HeadStatus::BeforeAnchor));
                    None
                }
            },
        };
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Where the chain under check begins: the first id and the MAC it must link to.
struct Start {
    id: i64,
    prev: String,
}

/// Why checking stopped early.
enum Failure {
    /// This row is where the chain breaks (explained by [`classify`]).
    At(i64),
    /// A row held bytes otpd never writes.
    Unreadable(Broken),
}

/// What the checking thread found.
struct Checked {
    rows: u64,
    first_id: Option<i64>,
    last_id: Option<i64>,
    /// The id after the last good row, and that row's MAC.
    expected_id: i64,
    prev: String,
    failure: Option<Failure>,
}

/// Rows handed from the reading thread to the checking thread in one go: each row's MACs and
/// canonical bytes packed into one reused buffer.
#[derive(Default)]
struct Chunk {
    rows: Vec<Packed>,
    data: Vec<u8>,
}

struct Packed {
    id: i64,
    /// `None` when the row could not be read as otpd writes it.
    spans: Option<[(usize, usize); 3]>,
}

/// Rows per [`Chunk`].
const CHUNK: usize = if cfg!(test) { 64 } else { 4096 };

impl Chunk {
    fn push(&mut self, row: Result<&RowRef<'_>, i64>, canon: &mut Vec<u8>) {
        let row = match row {
            Ok(r) => r,
            Err(id) => {
                self.rows.push(Packed { id, spans: None });
                return;
            }
        };
        audit::canonical_into(canon, row);
        let mut span = |bytes: &[u8]| {
            let at = self.data.len();
            self.data.extend_from_slice(bytes);
            (at, bytes.len())
        };
        let spans = [
            span(row.prev_mac.as_bytes()),
            span(row.mac.as_bytes()),
            span(canon),
        ];
        self.rows.push(Packed {
            id: row.id,
            spans: Some(spans),
        });
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.data.clear();
    }
}

/// Reads the chain in batches on this thread (SQLite) while a second thread computes the MACs,
/// so the two costs overlap instead of adding up. Buffers circulate between the threads; no
/// allocation per row. Also notes whether `head`'s row carries `head`'s MAC. Reads no row
/// after `through`, when given.
fn check_chain<S: Source>(
    store: &mut S,
    key: &AuditKey,
    start: Start,
    head: Option<&Head>,
    through: Option<i64>,
) -> Result<(Checked, Option<bool>), S::Error> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;

    let stop = AtomicBool::new(false);
    let (full_tx, full_rx) = mpsc::sync_channel::<Chunk>(2);
    let (empty_tx, empty_rx) = mpsc::channel::<Chunk>();
    std::thread::scope(|scope| {
        let checker = scope.spawn(|| {
            let mut c = Checked {
                rows: 0,
                first_id: None,
                last_id: None,
                expected_id: start.id,
                prev: start.prev.clone(),
                failure: None,
            };
            let mut prev: Vec<u8> = start.prev.as_bytes().to_vec();
            for chunk in full_rx {
                if c.failure.is_none() {
                    check_chunk(key, &chunk, &mut c, &mut prev);
                    if c.failure.is_some() {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                let _ = empty_tx.send(chunk);
            }
            c.prev = String::from_utf8_lossy(&prev).into_owned();
            c
        });

        let mut head_mac_seen = None;
        let mut chunk = Chunk::default();
        let mut canon = Vec::with_capacity(512);
        let mut after = start.id - 1;
        let mut done = false;
        let read = loop {
            let mut last = after;
            let visited = store.read(|tx| {
                audit::scan(tx, after, BATCH, |row| {
                    match row {
                        Ok(r) => {
                            last = r.id;
                            if let Some(h) = head
                                && h.id == r.id
                            {
                                head_mac_seen = Some(h.mac == r.mac);
                            }
                        }
                        Err(id) => last = id,
                    }
                    chunk.push(row, &mut canon);
                    if through.is_some_and(|t| last >= t) {
                        done = true;
                        return false;
                    }
                    if chunk.rows.len() >= CHUNK {
                        let next = empty_rx.try_recv().unwrap_or_default();
                        let full = std::mem::replace(&mut chunk, next);
                        if full_tx.send(full).is_err() {
                            return false;
                        }
                        chunk.clear();
                        return !stop.load(Ordering::Relaxed);
                    }
                    true
                })
            });
            match visited {
                Ok(n) if n < BATCH || done || stop.load(Ordering::Relaxed) => break Ok(()),
                Ok(_) => after = last,
                Err(e) => break Err(e),
            }
        };
        if !chunk.rows.is_empty() {
            let _ = full_tx.send(chunk);
        }
        drop(full_tx);
        // The checker ends when the channel closes; a panic there is a bug, passed on as is.
        let checked = match checker.join() {
            Ok(c) => c,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        read.map(|()| (checked, head_mac_seen))
    })
}

/// Checks one chunk's rows in order, continuing the chain state in `c` and `prev`.
fn check_chunk(key: &AuditKey, chunk: &Chunk, c: &mut Checked, prev: &mut Vec<u8>) {
    let mut hex = [0u8; 64];
    for row in &chunk.rows {
        let Some([p, m, k]) = row.spans else {
            c.failure = Some(Failure::Unreadable(if row.id == c.expected_id {
                Broken {
                    row: row.id,
                    problem: Problem::Changed,
                }
            } else {
                Broken {
                    row: c.expected_id,
                    problem: Problem::Deleted {
                        from: c.expected_id,
                        to: row.id - 1,
                    },
                }
            }));
            return;
        };
        let bytes = |(at, len): (usize, usize)| &chunk.data[at..at + len];
        let (prev_mac, mac, canon) = (bytes(p), bytes(m), bytes(k));
        let ok = row.id == c.expected_id
            && prev_mac == prev.as_slice()
            && hex::encode_to_slice(key.mac(&[prev_mac, canon]), &mut hex).is_ok()
            && mac == hex;
        if !ok {
            c.failure = Some(Failure::At(row.id));
            return;
        }
        c.first_id.get_or_insert(row.id);
        c.last_id = Some(row.id);
        c.rows += 1;
        c.expected_id += 1;
        prev.clear();
        prev.extend_from_slice(mac);
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
