//! The Verify Service resource's settings (issue 26): what otpd really applies, as a service
//! reads them — the code length, the app name messages carry (`FriendlyName`), how landlines
//! are handled — and the one that can change while servers run, the app name: stored in the
//! database (so every server and worker uses it from its next send), audited.

use chrono::{DateTime, Utc};

use super::rate_limits::{Denied, Managed};
use super::{Result, Service};
use crate::clock::{from_ms, to_ms};
use crate::domain::rate_limits::RateLimitError;
use crate::domain::{FixedLineChannel, Privilege};
use crate::store::audit::Event;

/// The server setting holding the app name set through the API.
pub const FRIENDLY_NAME: &str = "service.friendly_name";
/// When the service's settings last changed (UTC ms).
const UPDATED_AT: &str = "service.updated_at";

/// The settings a Service resource shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceView {
    /// The app name messages carry: the one set through the API, else `message.app_name`.
    pub friendly_name: Option<String>,
    pub code_length: usize,
    /// An SMS to a landline is not sent as an SMS (called instead, or refused).
    pub skip_sms_to_landlines: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Service<'_> {
    /// The service's settings as they apply now.
    pub fn service_settings(&mut self) -> Result<ServiceView> {
        let (name, updated) = self.store.snapshot(|tx| {
            Ok((
                tx.server_setting(FRIENDLY_NAME)?,
                tx.server_setting(UPDATED_AT)?,
            ))
        })?;
        let cx = self.cx;
        Ok(ServiceView {
            friendly_name: name.or_else(|| cx.composer.app_name().map(str::to_string)),
            code_length: cx.policy.code_length,
            skip_sms_to_landlines: cx.limits.fixed_line != FixedLineChannel::Sms,
            updated_at: updated.and_then(|t| t.parse().ok()).map(from_ms),
        })
    }

    /// Sets the app name messages carry from the next send on (admins only; audited).
    pub fn set_friendly_name(
        &mut self,
        now: DateTime<Utc>,
        name: &str,
    ) -> Result<Managed<ServiceView>> {
        if let Err(p) = self.cx.caller.require(Privilege::ManageService) {
            return Ok(Err(Denied::Forbidden(p)));
        }
        let checked = match self.cx.composer.with_app_name(name) {
            Ok(c) => c.app_name().unwrap_or_default().to_string(),
            Err(e) => {
                let why = format!("FriendlyName: {e}").replace("message.app_name: ", "");
                return Ok(Err(Denied::Rule(RateLimitError::Invalid(why))));
            }
        };
        let cx = self.cx;
        self.store.transaction(|tx| {
            tx.put_server_setting(FRIENDLY_NAME, Some(&checked))?;
            tx.put_server_setting(UPDATED_AT, Some(&to_ms(now).to_string()))?;
            let detail = format!("service friendly_name set to {checked:?}");
            cx.record(tx, now, Event::ServiceChanged, None, None, detail)
        })?;
        Ok(Ok(self.service_settings()?))
    }
}
