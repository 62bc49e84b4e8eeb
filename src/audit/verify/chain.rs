//! The two-thread pipeline behind `audit verify`: this thread reads the chain from the store in
//! batches (pages of rows in id order, [`crate::store::AuditTx::audit_scan`]) while a second one
//! recomputes the MACs, with the row buffers passed back and forth so that nothing is allocated
//! per row.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::{Broken, Head, Problem, Source};
use crate::crypto::AuditKey;
use crate::store::StoreError;
use crate::store::audit::{self, AuditBatch, RowRef};
use crate::store::audit_query::Filter;

/// Rows per read transaction: large enough to amortise the query, small enough that a long
/// verify never pins an old WAL snapshot for the whole run.
const BATCH: usize = if cfg!(test) { 700 } else { 100_000 };

/// Rows per page read inside a batch's transaction: bounds the memory a page holds.
const PAGE: usize = if cfg!(test) { 50 } else { 4096 };

/// Where the chain under check begins: the first id and the MAC it must link to.
pub(super) struct Start {
    pub(super) id: i64,
    pub(super) prev: String,
}

/// Why checking stopped early.
pub(super) enum Failure {
    /// This row is where the chain breaks (explained by [`super::classify`]).
    At(i64),
    /// A row held bytes otpd never writes.
    Unreadable(Broken),
}

/// What the checking thread found.
pub(super) struct Checked {
    pub(super) rows: u64,
    pub(super) first_id: Option<i64>,
    pub(super) last_id: Option<i64>,
    /// The id after the last good row, and that row's MAC.
    pub(super) expected_id: i64,
    pub(super) prev: String,
    pub(super) failure: Option<Failure>,
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

/// Reads the chain in batches on this thread (the store) while a second thread computes the MACs,
/// so the two costs overlap instead of adding up. Buffers circulate between the threads; no
/// allocation per row. Also notes whether `head`'s row carries `head`'s MAC. Reads no row
/// after `through`, when given.
pub(super) fn check_chain<S: Source>(
    store: &mut S,
    key: &AuditKey,
    start: Start,
    head: Option<&Head>,
    through: Option<i64>,
) -> Result<(Checked, Option<bool>), StoreError> {
    let stop = AtomicBool::new(false);
    let (full_tx, full_rx) = mpsc::sync_channel::<Chunk>(2);
    let (empty_tx, empty_rx) = mpsc::channel::<Chunk>();
    std::thread::scope(|scope| {
        let checker = scope.spawn(|| run_checker(key, &start, full_rx, &empty_tx, &stop));
        let mut reader = Reader {
            head,
            through,
            full: full_tx,
            empty: &empty_rx,
            stop: &stop,
            chunk: Chunk::default(),
            canon: Vec::with_capacity(512),
            head_mac_seen: None,
            done: false,
        };
        let read = reader.read_batches(store, start.id - 1);
        let head_mac_seen = reader.finish();
        // The checker ends when the channel closes; a panic there is a bug, passed on as is.
        let checked = match checker.join() {
            Ok(c) => c,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        read.map(|()| (checked, head_mac_seen))
    })
}

/// The checking thread of [`check_chain`]: checks the chunks in order until one fails (then
/// raises `stop`), handing every chunk back to be refilled.
fn run_checker(
    key: &AuditKey,
    start: &Start,
    full: mpsc::Receiver<Chunk>,
    empty: &mpsc::Sender<Chunk>,
    stop: &AtomicBool,
) -> Checked {
    let mut c = Checked {
        rows: 0,
        first_id: None,
        last_id: None,
        expected_id: start.id,
        prev: start.prev.clone(),
        failure: None,
    };
    let mut prev: Vec<u8> = start.prev.as_bytes().to_vec();
    for chunk in full {
        if c.failure.is_none() {
            check_chunk(key, &chunk, &mut c, &mut prev);
            if c.failure.is_some() {
                stop.store(true, Ordering::Relaxed);
            }
        }
        let _ = empty.send(chunk);
    }
    c.prev = String::from_utf8_lossy(&prev).into_owned();
    c
}

/// The reading side of [`check_chain`]: fills chunks from SQLite and hands them to the checker.
struct Reader<'a> {
    head: Option<&'a Head>,
    through: Option<i64>,
    /// Full chunks to the checker; dropped by [`Reader::finish`] so the checker ends.
    full: mpsc::SyncSender<Chunk>,
    /// Chunks the checker is done with, to refill.
    empty: &'a mpsc::Receiver<Chunk>,
    /// Raised by the checker when the chain broke: reading further is pointless.
    stop: &'a AtomicBool,
    chunk: Chunk,
    canon: Vec<u8>,
    /// Whether `head`'s row carried `head`'s MAC, once that row was read.
    head_mac_seen: Option<bool>,
    /// Row `through` was read.
    done: bool,
}

impl Reader<'_> {
    /// Reads batch after batch of rows after `after`: to the end, to row `through`, or until
    /// the checker stops. Each batch is one read transaction of up to [`BATCH`] rows, read in
    /// pages of [`PAGE`].
    fn read_batches<S: Source>(&mut self, store: &mut S, mut after: i64) -> Result<(), StoreError> {
        let all = Filter::default();
        let mut page = AuditBatch::default();
        let progress = store.progress();
        loop {
            let ended = store.read(|tx| {
                let mut read = 0;
                loop {
                    let want = (BATCH - read).min(PAGE);
                    tx.audit_scan(&all, Some(after), want, &mut page)?;
                    for row in page.iter() {
                        if !self.take(row.as_ref().map_err(|id| *id), &mut after) {
                            return Ok(true);
                        }
                    }
                    read += page.len();
                    if let Some(p) = &progress {
                        p.store(after, Ordering::Relaxed);
                    }
                    if page.len() < want {
                        return Ok(true);
                    }
                    if read >= BATCH {
                        return Ok(false);
                    }
                }
            })?;
            if ended || self.done || self.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
        }
    }

    /// Adds one scanned row (or the id of one that could not be read) to the chunk, noting its
    /// id in `last`; `false` ends the scan.
    fn take(&mut self, row: Result<&RowRef<'_>, i64>, last: &mut i64) -> bool {
        match row {
            Ok(r) => {
                *last = r.id;
                if let Some(h) = self.head
                    && h.id == r.id
                {
                    self.head_mac_seen = Some(h.mac == r.mac);
                }
            }
            Err(id) => *last = id,
        }
        self.chunk.push(row, &mut self.canon);
        if self.through.is_some_and(|t| *last >= t) {
            self.done = true;
            return false;
        }
        if self.chunk.rows.len() >= CHUNK {
            return self.hand_over();
        }
        true
    }

    /// Sends the full chunk to the checker and carries on in an emptied one (a returned chunk
    /// when there is one); `false` when the checker is gone or has stopped.
    fn hand_over(&mut self) -> bool {
        let next = self.empty.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.chunk, next);
        if self.full.send(full).is_err() {
            return false;
        }
        self.chunk.clear();
        !self.stop.load(Ordering::Relaxed)
    }

    /// Sends the last, partly filled chunk and closes the channel, so the checker ends; returns
    /// whether `head`'s row carried `head`'s MAC.
    fn finish(self) -> Option<bool> {
        if !self.chunk.rows.is_empty() {
            let _ = self.full.send(self.chunk);
        }
        self.head_mac_seen
    }
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
