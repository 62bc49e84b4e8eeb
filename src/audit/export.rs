//! `audit export` and the machine formats of the listing: one record shape, written as CSV
//! (the csv crate: quoting is its job) or as one JSON object per line, streamed so a
//! million-row export never sits in memory.

use std::io::Write;

use chrono::SecondsFormat;
use serde::Serialize;

use super::args::ExportFormat;
use crate::clock::from_ms;
use crate::error::Error;
use crate::sanitize::sanitize;
use crate::store::audit::RowRef;
use crate::store::audit_query::{self, Filter};
use crate::store::{Store, StoreError};

/// One event as programs read it. Never a full number: `phone` is masked, `phone_key` is the
/// keyed hash that stands for it.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub id: i64,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    pub station: String,
    pub event: &'a str,
    pub outcome: &'a str,
    pub phone: Option<&'a str>,
    pub phone_key: Option<&'a str>,
    pub challenge_id: Option<i64>,
    pub detail: String,
    pub prev_mac: &'a str,
    pub mac: &'a str,
}

impl<'a> Record<'a> {
    pub fn new(r: &RowRef<'a>) -> Record<'a> {
        Record {
            id: r.id,
            at: from_ms(r.at).to_rfc3339_opts(SecondsFormat::Millis, true),
            station: sanitize(r.station),
            event: r.event,
            outcome: r.outcome,
            phone: r.phone_masked,
            phone_key: r.phone_key,
            challenge_id: r.challenge_id,
            detail: sanitize(r.detail),
            prev_mac: r.prev_mac,
            mac: r.mac,
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

fn io(e: impl std::fmt::Display) -> Error {
    Error::Io(format!("cannot write the output: {e}"))
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
        let rec = Record::new(r);
        match &mut self.inner {
            Inner::Csv(w) => w.serialize(&rec).map_err(io),
            Inner::Json(w) => {
                serde_json::to_writer(&mut *w, &rec).map_err(io)?;
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

/// Streams every row matching `f`, oldest first, in one consistent snapshot. Returns how many
/// were written.
pub fn export(
    store: &mut Store,
    f: &Filter,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, Error> {
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut w = Writer::new(format, &mut buffered);
    let mut failed: Option<Error> = None;
    let n = store
        .read(|tx| {
            audit_query::stream(tx, f, |row| match w.write(row) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            })
        })
        .map_err(|e: StoreError| Error::Store(e))?;
    if let Some(e) = failed {
        return Err(e);
    }
    w.finish()?;
    buffered.flush().map_err(io)?;
    Ok(n)
}
