//! File delivery: one JSON object per line, fsynced before `deliver` returns — the hand-off
//! point for other programs and the way tests read codes.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use chrono::{SecondsFormat, Utc};
use zeroize::Zeroizing;

use super::{Delivery, DeliveryError, Message, Receipt};
use crate::domain::Channel;
use crate::secret_file;

#[derive(Debug)]
pub struct OutboxDelivery {
    path: PathBuf,
}

impl OutboxDelivery {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One outbox line, keys in alphabetical order as before. Borrowed, so the code and the body
/// live only in wiped buffers.
#[derive(serde::Serialize)]
struct Line<'a> {
    body: &'a str,
    challenge_id: i64,
    channel: Channel,
    code: &'a str,
    created_at: String,
    expires_at: String,
    locale: &'a str,
    station: &'a str,
    to: &'a str,
}

impl Delivery for OutboxDelivery {
    fn name(&self) -> &'static str {
        "outbox"
    }

    fn deliver(&self, m: &Message<'_>) -> Result<Receipt, DeliveryError> {
        let body = m.text();
        let line = Line {
            body: body.expose(),
            challenge_id: m.challenge_id,
            channel: m.channel,
            code: m.code.expose_digits(),
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            expires_at: m.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            locale: m.locale().tag(),
            station: m.station,
            to: m.to.e164(),
        };
        // Sized up front so the buffer is not reallocated (leaving unwiped copies) as it grows.
        let mut bytes = Zeroizing::new(Vec::with_capacity(1024));
        serde_json::to_writer(&mut *bytes, &line)
            .map_err(|e| DeliveryError::failed(format!("cannot encode the outbox line: {e}")))?;
        bytes.push(b'\n');
        let fail = |e: &dyn std::fmt::Display| {
            DeliveryError::failed(format!(
                "cannot write to the outbox {}: {e}",
                self.path.display()
            ))
        };
        if let Some(dir) = self.path.parent() {
            secret_file::create_private_dirs(dir).map_err(|e| fail(&e))?;
        }
        // The file holds live codes: a regular file of ours, readable by its owner only (looser
        // bits are repaired), never reached through a link. One write call per line, in append
        // mode, so concurrent writers never interleave within a line.
        let mut file = secret_file::open_append(&self.path).map_err(|e| fail(&e))?;
        file.write_all(&bytes).map_err(|e| fail(&e))?;
        file.sync_all().map_err(|e| fail(&e))?;
        Ok(Receipt {
            detail: "written to the outbox".into(),
            ..Receipt::default()
        })
    }
}
