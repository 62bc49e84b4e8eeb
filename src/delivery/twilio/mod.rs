//! Twilio delivery: SMS and WhatsApp through the Messages API, voice through the Calls API, and
//! the provider's delivery status for `status` — over a blocking HTTPS client (rustls with the
//! ring provider, no OpenSSL, no async runtime in otpd), with bounded, safe retries.
//!
//! Only what cannot have been sent is retried (HTTP 429 and 5xx); a timeout after the request
//! went out is reported as unknown, never repeated, because the message may already be on its
//! way.

pub mod api;

use std::io::Read;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder};

use super::{AttemptNote, Delivery, DeliveryError, Message, ProviderStatus, Receipt};
use api::{ApiError, Resource};

pub use crate::config::twilio::{Credentials, TwilioConfig};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("otpd/", env!("CARGO_PKG_VERSION"));

/// Delivery through Twilio's REST API.
#[derive(Debug)]
pub struct TwilioDelivery {
    cfg: TwilioConfig,
    /// Built on first use, so commands that never reach Twilio (verify, cancel) do not pay
    /// for a TLS client (about 12 ms).
    client: OnceLock<Result<Client, String>>,
}

/// How one HTTP exchange ended.
enum Exchange {
    /// An answer came back (the body may be empty if it could not be read).
    Answered {
        status: u16,
        retry_after: Option<String>,
        body: String,
    },
    /// No connection was made: nothing was sent.
    NotSent(String),
    /// The request may have reached Twilio, but no answer came.
    Unknown(String),
}

/// The innermost cause of an error, e.g. "Connection refused (os error 111)".
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    crate::sanitize::sanitize(&cause.to_string())
}

/// The seconds the code has left once the time already spent on attempts is taken off.
fn still_valid_for(m: &Message<'_>, started: Instant) -> i64 {
    let elapsed = i64::try_from(started.elapsed().as_secs()).unwrap_or(i64::MAX);
    m.valid_for_seconds.saturating_sub(elapsed)
}

/// The note for an answer that refused the message, with the wait before the next try if any.
fn refused_note(status: u16, e: &ApiError, wait: Option<Duration>) -> AttemptNote {
    AttemptNote {
        http_status: Some(status),
        provider_code: e.code,
        result: e.short().to_string(),
        retry_in_ms: wait.map(|w| u64::try_from(w.as_millis()).unwrap_or(u64::MAX)),
        ..AttemptNote::default()
    }
}

/// The error when Twilio refused the message and no further try is allowed.
fn refused(
    m: &Message<'_>,
    attempt: u32,
    status: u16,
    e: &ApiError,
    notes: Vec<AttemptNote>,
) -> DeliveryError {
    DeliveryError::Failed {
        message: e.operator_message(m.to, attempt),
        provider_code: e.code,
        http_status: Some(status),
        retryable: e.retryable(),
        attempts: notes,
    }
}

/// The error when the request went out but no answer came: never retried, since the message
/// may already be on its way.
fn outcome_unknown(m: &Message<'_>, what: &str, mut notes: Vec<AttemptNote>) -> DeliveryError {
    notes.push(AttemptNote {
        result: format!("{what}; not retried"),
        ..AttemptNote::default()
    });
    DeliveryError::Unknown {
        message: format!(
            "{what} after the request was sent, so the {} may have been sent",
            match m.channel {
                crate::domain::Channel::Call => "call",
                _ => "message",
            }
        ),
        attempts: notes,
    }
}

impl TwilioDelivery {
    /// The HTTPS client: ring as the rustls crypto provider, the user agent with otpd's
    /// version, connect and request timeouts, no redirects (credentials stay with Twilio), no
    /// automatic retries or pooled connections (otpd decides what is safe to send again, and a
    /// fresh connection makes "could not connect" mean "nothing was sent").
    fn build_client(cfg: &TwilioConfig) -> Result<Client, String> {
        // Errs only if a provider is already installed, which is then used.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = Client::builder();
        if cfg.api_base.starts_with("http://") {
            // Plain http (a local fake Twilio only): the credentials go straight there, never
            // in clear to a proxy named by the environment (`http_proxy`, `ALL_PROXY`).
            builder = builder.no_proxy();
        }
        builder
            .user_agent(USER_AGENT)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| {
                format!(
                    "cannot start the HTTPS client for Twilio: {}; nothing was sent",
                    root_cause(&e)
                )
            })
    }

    pub fn new(cfg: TwilioConfig) -> Self {
        TwilioDelivery {
            cfg,
            client: OnceLock::new(),
        }
    }

    /// The HTTPS client, built on first use.
    fn client(&self) -> Result<&Client, DeliveryError> {
        self.client
            .get_or_init(|| Self::build_client(&self.cfg))
            .as_ref()
            .map_err(|e| DeliveryError::failed(e.clone()))
    }

    pub fn config(&self) -> &TwilioConfig {
        &self.cfg
    }

    /// Sends one request with Basic auth and reads at most [`api::MAX_BODY`] of the answer.
    fn exchange(&self, request: RequestBuilder) -> Exchange {
        let creds = &self.cfg.credentials;
        let request = request.basic_auth(
            creds.username(&self.cfg.account_sid),
            Some(creds.password()),
        );
        match request.send() {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let mut body = String::new();
                // An unreadable body is treated as an empty one: the status decides.
                if response
                    .take(api::MAX_BODY)
                    .read_to_string(&mut body)
                    .is_err()
                {
                    body.clear();
                }
                Exchange::Answered {
                    status,
                    retry_after,
                    body,
                }
            }
            Err(e) if e.is_connect() => Exchange::NotSent(root_cause(&e)),
            Err(e) if e.is_timeout() => Exchange::Unknown(format!(
                "Twilio did not answer within {} s",
                self.cfg.timeout.as_secs()
            )),
            Err(e) => Exchange::Unknown(format!(
                "the connection to Twilio failed after the request was sent ({})",
                root_cause(&e)
            )),
        }
    }

    /// Posts the message's form (valid for `valid_for` more seconds) and waits for the answer.
    fn post_message(
        &self,
        client: &Client,
        url: &str,
        m: &Message<'_>,
        valid_for: i64,
    ) -> Result<Exchange, DeliveryError> {
        let form = api::form(&self.cfg, m, valid_for).map_err(DeliveryError::failed)?;
        // The form's values are wiped when it is dropped; reqwest's encoded copy of the
        // body is beyond otpd's reach.
        let exchange = self.exchange(client.post(url).form(&*form));
        drop(form);
        Ok(exchange)
    }

    /// How long to wait before trying again after `e`, or `None` when no retry is allowed.
    fn retry_wait(&self, e: &ApiError, attempt: u32, valid_for: i64) -> Option<Duration> {
        api::next_wait(
            e,
            attempt,
            self.cfg.retry_base,
            rand::random::<f64>(),
            Duration::from_secs(valid_for.max(0).unsigned_abs()),
        )
    }

    /// The receipt for a message Twilio accepted, with the last attempt's note added.
    fn accepted(&self, status: u16, body: &str, mut notes: Vec<AttemptNote>) -> Receipt {
        let created = api::parse_created(body);
        notes.push(AttemptNote {
            http_status: Some(status),
            provider_ref: created.sid.clone(),
            result: format!(
                "accepted ({})",
                created.status.as_deref().unwrap_or("no status")
            ),
            ..AttemptNote::default()
        });
        Receipt {
            detail: format!("HTTP {status} from {}", self.cfg.api_base),
            provider_ref: created.sid,
            status: created.status,
            attempts: notes,
        }
    }

    /// The error when no connection could be made: nothing was sent, so trying later is safe.
    fn not_sent(&self, cause: &str, mut notes: Vec<AttemptNote>) -> DeliveryError {
        notes.push(AttemptNote {
            result: format!("could not connect ({cause})"),
            ..AttemptNote::default()
        });
        DeliveryError::Failed {
            message: format!(
                "cannot reach Twilio at {} ({cause}); nothing was sent",
                self.cfg.api_base
            ),
            provider_code: None,
            http_status: None,
            retryable: true,
            attempts: notes,
        }
    }
}

impl Delivery for TwilioDelivery {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn deliver(&self, m: &Message<'_>) -> Result<Receipt, DeliveryError> {
        let started = Instant::now();
        let resource = Resource::for_channel(m.channel);
        let url = api::list_url(&self.cfg, resource);
        let client = self.client()?;
        let mut notes: Vec<AttemptNote> = Vec::new();
        let mut attempt: u32 = 1;
        loop {
            let valid_for = still_valid_for(m, started);
            match self.post_message(client, &url, m, valid_for)? {
                Exchange::Answered { status, body, .. } if (200..300).contains(&status) => {
                    return Ok(self.accepted(status, &body, notes));
                }
                Exchange::Answered {
                    status,
                    retry_after,
                    body,
                } => {
                    let e =
                        ApiError::from_response(status, retry_after.as_deref(), &body, Some(m.to));
                    let wait = self.retry_wait(&e, attempt, valid_for);
                    notes.push(refused_note(status, &e, wait));
                    let Some(w) = wait else {
                        return Err(refused(m, attempt, status, &e, notes));
                    };
                    std::thread::sleep(w);
                    attempt += 1;
                }
                Exchange::NotSent(cause) => return Err(self.not_sent(&cause, notes)),
                Exchange::Unknown(what) => return Err(outcome_unknown(m, &what, notes)),
            }
        }
    }

    fn fetch_status(&self, provider_ref: &str) -> Result<Option<ProviderStatus>, DeliveryError> {
        let Some(resource) = Resource::for_sid(provider_ref) else {
            return Ok(None);
        };
        let url = api::instance_url(&self.cfg, resource, provider_ref);
        match self.exchange(self.client()?.get(&url)) {
            Exchange::Answered { status, body, .. } if (200..300).contains(&status) => {
                Ok(api::parse_status(&body))
            }
            Exchange::Answered {
                status,
                retry_after,
                body,
            } => {
                // No number to mask here, so Twilio's own text is left out.
                let e = ApiError::from_response(status, retry_after.as_deref(), &body, None);
                Err(DeliveryError::Failed {
                    message: format!("Twilio answered: {} ({})", e.short(), e.codes()),
                    provider_code: e.code,
                    http_status: Some(status),
                    retryable: e.retryable(),
                    attempts: Vec::new(),
                })
            }
            Exchange::NotSent(cause) => Err(DeliveryError::Failed {
                message: format!("cannot reach Twilio ({cause})"),
                provider_code: None,
                http_status: None,
                retryable: true,
                attempts: Vec::new(),
            }),
            Exchange::Unknown(what) => Err(DeliveryError::Unknown {
                message: what,
                attempts: Vec::new(),
            }),
        }
    }
}
