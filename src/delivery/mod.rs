//! Getting a code to a phone, behind one trait: `console` for development, `outbox` for
//! integrations and tests, `twilio` for real SMS, WhatsApp and voice.

pub mod console;
pub mod outbox;
#[cfg(test)]
mod recording;
pub mod twilio;

use chrono::{DateTime, Utc};

use crate::domain::{Channel, Code, PhoneNumber};
use crate::message::{AppHash, Body, Composer, Locale, Parts};

pub use console::ConsoleDelivery;
pub use outbox::OutboxDelivery;
#[cfg(test)]
pub use recording::RecordingDelivery;

/// One code to deliver.
pub struct Message<'a> {
    pub to: &'a PhoneNumber,
    pub channel: Channel,
    pub code: &'a Code,
    pub expires_at: DateTime<Utc>,
    /// Seconds the code stays valid from now; providers that can drop late messages use it.
    pub valid_for_seconds: i64,
    pub station: &'a str,
    pub challenge_id: i64,
    /// The checked `[message]` settings the text is composed with.
    pub composer: &'a Composer,
    /// This message's language (`send --locale`, a kiosk visitor's choice); `None`: the
    /// configured one.
    pub locale: Option<&'static Locale>,
    /// This message's SMS Retriever hash (the server's `AppHash`); `None`: the configured one.
    pub app_hash: Option<&'a AppHash>,
}

impl Message<'_> {
    /// What the channel carries: the SMS text (with the autofill lines), the WhatsApp text, or
    /// the call's TwiML. Holds the digits; wiped on drop.
    pub fn body(&self) -> Body {
        self.composed(self.channel)
    }

    /// The text a person reads, for a local delivery to show: for a call, the script it
    /// speaks (intro, the digits twice, goodbye), without markup.
    pub fn text(&self) -> Body {
        match self.channel {
            Channel::Call => self.composer.spoken(&Parts {
                code: self.code,
                valid_for_seconds: self.valid_for_seconds,
                locale: self.locale,
                app_hash: self.app_hash,
            }),
            other => self.composed(other),
        }
    }

    /// The language the message is in.
    pub fn locale(&self) -> &'static Locale {
        self.locale.unwrap_or_else(|| self.composer.locale())
    }

    fn composed(&self, channel: Channel) -> Body {
        self.composer.compose(
            channel,
            &Parts {
                code: self.code,
                valid_for_seconds: self.valid_for_seconds,
                locale: self.locale,
                app_hash: self.app_hash,
            },
        )
    }
}

impl std::fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("to", self.to)
            .field("channel", &self.channel)
            .field("code", self.code)
            .field("expires_at", &self.expires_at)
            .field("locale", &self.locale())
            .finish_non_exhaustive()
    }
}

/// What the provider said when it accepted the message.
#[derive(Debug, Clone, Default)]
pub struct Receipt {
    /// The provider's id for the message (a Twilio SID), if any.
    pub provider_ref: Option<String>,
    /// The provider's status at acceptance (`queued`, `sent`…), if any.
    pub status: Option<String>,
    /// A short human note for the audit log, e.g. "HTTP 201".
    pub detail: String,
    /// Each request made to the provider, in order (empty for local deliveries).
    pub attempts: Vec<AttemptNote>,
}

/// What one request to a provider came to, for the audit log: never a code or a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptNote {
    /// The HTTP status, when an answer came back.
    pub http_status: Option<u16>,
    /// The provider's error code (Twilio's `code`), if any.
    pub provider_code: Option<u32>,
    /// The provider's id for the message (a Twilio SID), if it accepted it.
    pub provider_ref: Option<String>,
    /// A few words: "accepted (queued)", "rate limited", "timed out after sending"…
    pub result: String,
    /// How long otpd waited before the next attempt, if it retried.
    pub retry_in_ms: Option<u64>,
}

impl std::fmt::Display for AttemptNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.result)?;
        if let Some(s) = self.http_status {
            write!(f, ", HTTP {s}")?;
        }
        if let Some(c) = self.provider_code {
            write!(f, ", error {c}")?;
        }
        if let Some(r) = &self.provider_ref {
            write!(f, ", sid {r}")?;
        }
        if let Some(ms) = self.retry_in_ms {
            write!(f, ", retry in {ms} ms")?;
        }
        Ok(())
    }
}

/// The attempts as one audit-log phrase, e.g. "attempt 1: rate limited, HTTP 429, …; attempt 2: …".
pub fn describe_attempts(attempts: &[AttemptNote]) -> String {
    attempts
        .iter()
        .enumerate()
        .map(|(i, a)| format!("attempt {}: {a}", i + 1))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The provider's current view of a message, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderStatus {
    pub status: String,
    pub error_code: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The provider refused or failed; nothing was sent.
    #[error("{message}")]
    Failed {
        message: String,
        provider_code: Option<u32>,
        http_status: Option<u16>,
        retryable: bool,
        attempts: Vec<AttemptNote>,
    },
    /// We cannot tell whether it was sent (e.g. a timeout after the request went out).
    #[error("{message}")]
    Unknown {
        message: String,
        attempts: Vec<AttemptNote>,
    },
}

impl DeliveryError {
    pub fn failed(message: impl Into<String>) -> Self {
        DeliveryError::Failed {
            message: message.into(),
            provider_code: None,
            http_status: None,
            retryable: false,
            attempts: Vec::new(),
        }
    }

    /// Each request made before giving up, in order.
    pub fn attempts(&self) -> &[AttemptNote] {
        match self {
            DeliveryError::Failed { attempts, .. } | DeliveryError::Unknown { attempts, .. } => {
                attempts
            }
        }
    }

    /// Worth trying again automatically (rate limits, provider outages).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            DeliveryError::Failed {
                retryable: true,
                ..
            }
        )
    }

    pub fn provider_code(&self) -> Option<u32> {
        match self {
            DeliveryError::Failed { provider_code, .. } => *provider_code,
            DeliveryError::Unknown { .. } => None,
        }
    }
}

/// A way to deliver codes.
pub trait Delivery {
    /// `console`, `outbox`, `twilio`…: shown in banners and the audit log.
    fn name(&self) -> &'static str;

    /// Whether this delivery shows codes on the local screen (kiosks refuse such a delivery).
    fn shows_codes_locally(&self) -> bool {
        false
    }

    /// Sends one message. Must not return before the provider accepted or refused it.
    fn deliver(&self, message: &Message<'_>) -> Result<Receipt, DeliveryError>;

    /// The provider's current status of a delivered message, where the provider can tell.
    fn fetch_status(&self, _provider_ref: &str) -> Result<Option<ProviderStatus>, DeliveryError> {
        Ok(None)
    }
}
