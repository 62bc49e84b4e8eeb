//! The Verify Events delivery task of `otpd serve`: a thread of its own (never a worker that
//! answers clients, never the async threads) with its own application — its own store
//! connection and the injected clock — that sweeps expired verifications into the outbox,
//! leases the due events, posts each to its sink signed with the sink's secret, and records
//! the answer (delivered: gone; failed: retried after an exponential back-off, parked after
//! `[events] max_attempts`). The outbox is in the database, so what a stopped or crashed
//! server did not deliver is delivered by the next one. [`tick`] is one round, for tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use secrecy::ExposeSecret;

use super::shapes::Base;
use crate::app::App;
use crate::config::Config;
use crate::config::events::EventsConfig;
use crate::crypto::signatures::{EVENT_SIGNATURE_HEADER, event_signature};
use crate::domain::events::{Sids, cloud_event};
use crate::error::{Error, StartError};
use crate::store::events::OutboxRow;

/// How often the task looks for due events (and sweeps expiries) when idle.
const POLL: Duration = Duration::from_millis(250);
/// Events leased per round.
const BATCH: usize = 32;

/// The task's counters, shown by `/metrics`.
#[derive(Default)]
pub struct EventCounters {
    pub delivered: AtomicU64,
    /// Failed attempts that will be retried.
    pub retries: AtomicU64,
    /// Events parked as failed after their last attempt.
    pub failed: AtomicU64,
    /// Events queued (pending or parked) at the last look, all sinks together.
    pub pending: AtomicI64,
    pub parked: AtomicI64,
    pub dropped: AtomicI64,
}

/// The running task; stopped (and joined) on drop.
pub struct Worker {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the task when `[[events.sink]]` names any sink; `log` receives one line per problem
/// (a sink refusing, the store unreachable), never a secret or a number.
pub fn start(
    config: &Config,
    service_sid: String,
    counters: Arc<EventCounters>,
    log: Box<dyn Fn(&str) + Send>,
) -> Result<Option<Worker>, Error> {
    if config.events.sinks.is_empty() {
        return Ok(None);
    }
    let config = config.clone();
    let (stop, stopped) = channel::<()>();
    let (ready_tx, ready) = channel::<Result<(), Error>>();
    let thread = std::thread::Builder::new()
        .name("otpd-events".into())
        .spawn(move || {
            let opened = App::for_process(config.clone()).and_then(|app| {
                let client = client(&config.events)?;
                Ok((app, client))
            });
            let (mut app, client) = match opened {
                Ok(o) => {
                    let _ = ready_tx.send(Ok(()));
                    o
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            run(&mut app, &client, &service_sid, &counters, &*log, &stopped);
        })
        .map_err(|e| StartError::EventsThread(Some(e)))?;
    match ready.recv() {
        Ok(Ok(())) => Ok(Some(Worker {
            stop: Some(stop),
            thread: Some(thread),
        })),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(StartError::EventsThread(None).into()),
    }
}

fn run(
    app: &mut App,
    client: &reqwest::blocking::Client,
    service_sid: &str,
    counters: &EventCounters,
    log: &dyn Fn(&str),
    stopped: &Receiver<()>,
) {
    loop {
        if let Err(e) = tick(app, client, service_sid, counters) {
            log(&crate::render::serve::events_problem(&e.to_string()));
        }
        match stopped.recv_timeout(POLL) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// `otpd events status [--json]`: each sink's queue, read from the store.
pub fn status(config: Config, json: bool, out: &mut dyn std::io::Write) -> Result<u8, Error> {
    let sinks = App::for_process(config)?.events_status()?;
    let text = crate::render::events::events_status(&sinks, json);
    writeln!(out, "{text}").map_err(Error::Output)?;
    Ok(crate::render::events::exit_status(&sinks))
}

/// The HTTP client events are posted with: no redirects (a signed body goes where it was
/// configured to, nowhere else), no proxy for plain http to this machine, the per-request
/// timeout of `[events] timeout_seconds`.
pub fn client(cfg: &EventsConfig) -> Result<reqwest::blocking::Client, Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::blocking::Client::builder();
    if cfg.sinks.iter().any(|s| s.url.starts_with("http://")) {
        b = b.no_proxy();
    }
    b.user_agent(concat!("otpd/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(cfg.timeout)
        .timeout(cfg.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| {
            Error::from(StartError::EventsClient {
                detail: e.to_string(),
            })
        })
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub expired: usize,
    pub delivered: usize,
    pub failed: usize,
}

/// One round at the application's clock: sweep expiries, then send every due event.
pub fn tick(
    app: &mut App,
    client: &reqwest::blocking::Client,
    service_sid: &str,
    counters: &EventCounters,
) -> Result<Round, Error> {
    let mut round = Round {
        expired: app.sweep_expired_events()?,
        ..Round::default()
    };
    loop {
        let rows = app.lease_events(BATCH)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            match send(app, client, service_sid, row) {
                Ok(()) => {
                    app.event_delivered(row)?;
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                    round.delivered += 1;
                }
                Err(why) => {
                    let next = app.event_failed(row, &why)?;
                    let counter = match next {
                        Some(_) => &counters.retries,
                        None => &counters.failed,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    round.failed += 1;
                }
            }
        }
        if rows.len() < BATCH {
            break;
        }
    }
    let status = app.events_status()?;
    let sum = |f: &dyn Fn(&crate::app::SinkStatus) -> u64| {
        i64::try_from(status.iter().map(f).sum::<u64>()).unwrap_or(i64::MAX)
    };
    counters
        .pending
        .store(sum(&|s| s.backlog.pending), Ordering::Relaxed);
    counters
        .parked
        .store(sum(&|s| s.backlog.failed), Ordering::Relaxed);
    counters
        .dropped
        .store(sum(&|s| s.dropped), Ordering::Relaxed);
    Ok(round)
}

/// Posts one event: `Err` says why it was not accepted (no number, no secret in it).
fn send(
    app: &mut App,
    client: &reqwest::blocking::Client,
    service_sid: &str,
    row: &OutboxRow,
) -> Result<(), String> {
    let Some(sink) = app.config().events.sinks.iter().find(|s| s.url == row.sink) else {
        return Err("this sink is no longer in [[events.sink]]".into());
    };
    let (url, secret) = (sink.url.clone(), sink.secret.clone());
    let stored: serde_json::Value =
        serde_json::from_str(&row.data).map_err(|_| "the stored event is not JSON".to_string())?;
    let verification_sid = app
        .verification_sid(row.challenge_id)
        .map_err(|e| format!("cannot read the verification's SID: {e}"))?;
    let base = Base {
        origin: String::new(),
        service_sid: service_sid.to_string(),
    };
    let sids = Sids {
        account_sid: &base.account_sid(),
        service_sid,
        verification_sid: &verification_sid,
    };
    let event = cloud_event(
        &row.event_type,
        (row.audit_id, row.challenge_id),
        row.created_at,
        &stored,
        &sids,
    );
    let body = serde_json::Value::Array(vec![event]).to_string();
    let signature = event_signature(secret.expose_secret().as_bytes(), body.as_bytes());
    let answer = client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_SIGNATURE_HEADER, signature)
        .body(body)
        .send();
    match answer {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("the sink answered HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Err("the sink did not answer in time".into()),
        Err(e) if e.is_connect() => Err("cannot connect to the sink".into()),
        Err(_) => Err("the request to the sink failed".into()),
    }
}
