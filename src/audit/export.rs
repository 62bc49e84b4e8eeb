//! `audit export` and the machine formats of the listing: one record shape, written as CSV
//! (the csv crate: quoting is its job; neutralising formula cells is ours) or as one JSON
//! object per line, streamed so a million-row export never sits in memory.

use std::borrow::Cow;
use std::io::Write;

use chrono::SecondsFormat;
use serde::Serialize;

use super::args::ExportFormat;
use crate::clock::from_ms;
use crate::error::Error;
use crate::sanitize::{clean, csv_cell};
use crate::store::audit::{AuditBatch, RowRef};
use crate::store::audit_query::Filter;
use crate::store::{Backend, Tx};

/// One event as programs read it. Never a full number: `phone` is masked, `phone_key` is the
/// keyed hash that stands for it. Every text field comes from the database and is sanitised;
/// in CSV, cells a spreadsheet would evaluate are also quoted ([`csv_cell`]).
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub id: i64,
    /// RFC 3339, UTC, milliseconds.
    pub at: Cow<'a, str>,
    pub station: Cow<'a, str>,
    pub event: Cow<'a, str>,
    pub outcome: Cow<'a, str>,
    pub phone: Option<Cow<'a, str>>,
    pub phone_key: Option<Cow<'a, str>>,
    pub challenge_id: Option<i64>,
    pub detail: Cow<'a, str>,
    pub prev_mac: Cow<'a, str>,
    pub mac: Cow<'a, str>,
}

impl<'a> Record<'a> {
    /// The record for JSON lines: text sanitised.
    pub fn new(r: &RowRef<'a>) -> Record<'a> {
        Record::with(r, clean)
    }

    /// The record for CSV: text sanitised, formula cells quoted.
    pub fn csv(r: &RowRef<'a>) -> Record<'a> {
        Record::with(r, csv_cell)
    }

    fn with(r: &RowRef<'a>, text: fn(&str) -> Cow<'_, str>) -> Record<'a> {
        let at = from_ms(r.at).to_rfc3339_opts(SecondsFormat::Millis, true);
        Record {
            id: r.id,
            at: Cow::Owned(text(&at).into_owned()),
            station: text(r.station),
            event: text(r.event),
            outcome: text(r.outcome),
            phone: r.phone_masked.map(text),
            phone_key: r.phone_key.map(text),
            challenge_id: r.challenge_id,
            detail: text(r.detail),
            prev_mac: text(r.prev_mac),
            mac: text(r.mac),
        }
    }
}

/// Writes records in one format.
pub struct Writer<'w> {
    inner: Inner<'w>,
}

enum Inner<'w> {
    Csv(Box<csv::Writer<&'w mut dyn Write>>),
    Json(&'w mut dyn Write),
}

/// Writing failed: an output error, whichever writer (csv, serde_json, io) noticed it.
fn io(e: impl Into<std::io::Error>) -> Error {
    Error::Output(e.into())
}

impl<'w> Writer<'w> {
    pub fn new(format: ExportFormat, out: &'w mut dyn Write) -> Writer<'w> {
        let inner = match format {
            ExportFormat::Csv => Inner::Csv(Box::new(csv::Writer::from_writer(out))),
            ExportFormat::Json => Inner::Json(out),
        };
        Writer { inner }
    }

    pub fn write(&mut self, r: &RowRef<'_>) -> Result<(), Error> {
        match &mut self.inner {
            Inner::Csv(w) => w.serialize(Record::csv(r)).map_err(io),
            Inner::Json(w) => {
                serde_json::to_writer(&mut *w, &Record::new(r)).map_err(io)?;
                w.write_all(b"\n").map_err(io)
            }
        }
    }

    pub fn finish(self) -> Result<(), Error> {
        match self.inner {
            Inner::Csv(mut w) => w.flush().map_err(io),
            Inner::Json(w) => w.flush().map_err(io),
        }
    }
}

/// Rows per page read from the store.
const PAGE: usize = if cfg!(test) { 3 } else { 4096 };

/// Streams every row matching `f`, oldest first, in one consistent snapshot read page by page.
/// Returns how many were written.
pub fn export(
    store: &mut dyn Backend,
    f: &Filter,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut w = Writer::new(format, &mut buffered);
    let n = store.snapshot(|tx| Ok(write_rows(tx, f, &mut w)))??;
    w.finish()?;
    buffered.flush().map_err(io)?;
    Ok(n)
}

/// Writes every row matching `f` to `w`, page after page. A row the page could not hold as
/// otpd writes it is read again whole, so the store says what is wrong with it.
fn write_rows(tx: &mut dyn Tx, f: &Filter, w: &mut Writer<'_>) -> Result<u64, Error> {
    let mut page = AuditBatch::default();
    let mut after = None;
    let mut n = 0;
    loop {
        tx.audit_scan(f, after, PAGE, &mut page)?;
        for row in page.iter() {
            match row {
                Ok(r) => {
                    after = Some(r.id);
                    w.write(&r)?;
                }
                Err(id) => {
                    after = Some(id);
                    if let Some(r) = tx.audit_row(id)? {
                        w.write(&r.as_ref())?;
                    }
                }
            }
            n += 1;
        }
        if page.len() < PAGE {
            return Ok(n);
        }
    }
}

/// The most one answer over HTTP carries of an export (the API's `audit export`, the pages'
/// export links): an answer is one body, built in memory by a worker, so a larger export is
/// refused with the way out (a narrower window, or the server's own machine) rather than
/// holding an unbounded log in memory.
pub const MAX_EXPORT_BYTES: usize = 32 << 20;

/// A buffer that refuses to grow past [`MAX_EXPORT_BYTES`] and remembers that it did.
#[derive(Default)]
pub struct Capped {
    pub buf: Vec<u8>,
    pub over: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + bytes.len() > MAX_EXPORT_BYTES {
            self.over = true;
            return Err(std::io::Error::other("the answer is full"));
        }
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
