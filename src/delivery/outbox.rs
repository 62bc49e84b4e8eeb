//! File delivery: one JSON object per line, fsynced before `deliver` returns — the hand-off
//! point for other programs and the way tests read codes.

use std::{
    fs::OpenOptions,
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use chrono::{SecondsFormat, Utc};

use super::{Delivery, DeliveryError, Message, Receipt};

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

impl Delivery for OutboxDelivery {
    fn name(&self) -> &'static str {
        "outbox"
    }

    fn deliver(&self, m: &Message<'_>) -> Result<Receipt, DeliveryError> {
        let line = serde_json::json!({
            "to": m.to.e164(),
            "channel": m.channel,
            "body": m.body(),
            "code": m.code.expose_digits(),
            "created_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "expires_at": m.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "station": m.station,
            "challenge_id": m.challenge_id,
        });
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        let fail = |e: std::io::Error| {
            DeliveryError::failed(format!(
                "cannot write to the outbox {}: {e}",
                self.path.display()
            ))
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        // The file holds live codes: readable by its owner only. One write call per line, in
        // append mode, so concurrent writers never interleave within a line.
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(fail)?;
        file.write_all(&bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        Ok(Receipt {
            detail: "written to the outbox".into(),
            ..Receipt::default()
        })
    }
}
