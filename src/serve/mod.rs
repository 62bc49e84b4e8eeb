//! `otpd serve`: a Twilio Verify–compatible HTTP API (issue 14), a front-end like the prompt
//! and the kiosk. Parse (form fields, Basic credentials) → the core on a bounded worker pool →
//! Twilio's JSON shapes. This file starts it: the `[server]` checks, the pool, and the accept
//! loop with its guards (a connection cap in all and per address, a header-read timeout
//! against slowloris, write and idle deadlines, each request on its own task so a client
//! leaving does not cancel it, a drain on SIGTERM). [`keys`] is `otpd keys`.

mod access;
mod api;
mod attempts;
mod client;
mod conn;
mod errors;
pub mod events;
mod exec;
mod ext;
mod ids;
pub mod keys;
mod log;
mod metrics;
mod params;
mod pool;
mod resources;
mod router;
mod routes;
pub use routes::{ROUTES, Route};
mod shapes;
mod tls;
mod twilio_status;

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::app::App;
use crate::config::Config;
use crate::config::server::listen_addr;
use crate::error::{Error, StartError, Usage};

/// How long in-flight requests get to finish after SIGTERM.
const DRAIN: Duration = Duration::from_secs(30);

/// Runs the server until SIGTERM or SIGINT; prints `listening on http://ADDR` and the service
/// SID on `out` once bound (`--listen 127.0.0.1:0` picks a free port).
/// `json_log`: the log on stderr as one JSON object a line.
/// `pages`: the web pages to serve beside the API (the crate root passes the pages front-end).
pub fn run(
    mut config: Config,
    listen: Option<&str>,
    json_log: bool,
    pages: Option<crate::web::Pages>,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    if let Some(l) = listen {
        config.server.listen = listen_addr("--listen", l)?;
    }
    let s = config.server.clone();
    // Both or neither (checked by the config); the files are read before anything else starts.
    let tls = match (&s.tls_cert, &s.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    };
    if tls.is_none() && !s.listen.ip().is_loopback() && !s.allow_plain_http {
        return Err(Usage::PlainHttpOffLoopback { listen: s.listen }.into());
    }
    let prepared = prepare(&config, json_log)?;
    let mut app = App::for_process(config.clone())?;
    // So `otpd store copy` can say that this server still writes to the store (cleared below).
    app.mark_serving()?;
    let usable_keys = app
        .list_keys()?
        .iter()
        .filter(|k| k.revoked_at.is_none() && !k.tampered)
        .count();
    drop(app);
    let workers = prepared.workers;
    let log = Arc::new(
        log::AccessLog::start(Box::new(std::io::stderr())).map_err(StartError::AccessLogWriter)?,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let note = move |text: &str| crate::render::serve::note(chrono::Utc::now(), text, json_log);
    let startup = crate::render::serve::Startup {
        workers,
        usable_keys,
        head_writable: crate::audit::head::writable(&config.audit.head_file),
    };
    for line in crate::render::serve::startup(&config, &startup) {
        log.line(note(&line));
    }
    let server_log = log.clone();
    // The probe's connection is a blocking client: it must be dropped outside the runtime
    // (its own runtime cannot stop inside another), so this handle outlives `runtime`.
    let health = prepared.health.clone();
    let metrics: Arc<metrics::Metrics> = Arc::default();
    let events_log = log.clone();
    let events = events::start(
        &config,
        prepared.service_sid.clone(),
        metrics.events.clone(),
        Box::new(move |line| events_log.line(note(line))),
    )?;
    let page_config = Arc::new(config.clone());
    let served = runtime.block_on(async move {
        let listener = TcpListener::bind(s.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: s.listen,
                source,
            })?;
        let local = listener.local_addr().map_err(StartError::BoundAddress)?;
        // Watched before anyone is told where to connect: a SIGTERM right after "listening"
        // drains and stops, rather than killing the process by the signal's default action.
        let watch = |kind| signal(kind).map_err(|e| Error::from(StartError::Signals(e)));
        let signals = (
            watch(SignalKind::terminate())?,
            watch(SignalKind::interrupt())?,
        );
        let scheme = if tls.is_some() { "https" } else { "http" };
        writeln!(out, "listening on {scheme}://{local}").map_err(Error::Output)?;
        writeln!(out, "service {}", prepared.service_sid).map_err(Error::Output)?;
        out.flush().map_err(Error::Output)?;
        let shared = prepared.shared(&s, server_log, metrics.clone(), scheme, local.to_string());
        let pages = pages.map(|p| p(mount(&shared, tls.is_some(), page_config)));
        let router = router::router(shared, pages);
        accept(listener, router, tls, &s, metrics, signals).await
    });
    // On an error the error's own line follows (from `run`'s caller).
    drop(runtime);
    drop(events);
    drop(health);
    let _ = App::for_process(config).and_then(|mut app| app.unmark_serving());
    let stopped = note("otpd serve: stopped");
    log.finish(served.is_ok().then_some(stopped.as_str()));
    served.map(|()| 0)
}

/// What a server needs before it serves, whether on a socket ([`run`]) or in-process
/// ([`InProcess`]): the database opened (and migrated) once, the service SID, the worker pool
/// with argon2 bounded to the workers, and the health probe.
struct Prepared {
    service_sid: String,
    /// Hashing workers (`[server] workers`, 0 resolved to the cores).
    workers: usize,
    /// The request ids of this server's log lines (a random prefix, then a count).
    ids: ids::RequestIds,
    /// The log on stderr as one JSON object a line.
    json_log: bool,
    pool: pool::WorkerPool,
    health: Arc<tokio::sync::Mutex<crate::store::health::Probe>>,
    callbacks: Option<twilio_status::Callbacks>,
}

fn prepare(config: &Config, json_log: bool) -> Result<Prepared, Error> {
    let s = &config.server;
    // Opens (and migrates) the database once before the workers do, and fixes the SID.
    let mut app = App::for_process(config.clone())?;
    let service_sid = app.service_sid()?;
    let ids = ids::RequestIds::new(app.random_sid("")[..8].to_string());
    drop(app);
    let workers = s.worker_count();
    // argon2 runs on at most `workers` threads at once, in memory held for exactly that many
    // (`crypto::memory`); the pool has twice the threads, so a use case waiting on the database
    // (a commit's fsync) does not leave a core idle that another could be hashing on.
    crate::crypto::bound_concurrent_hashes(workers);
    let pool = pool::WorkerPool::start(config, workers * pool::THREADS_PER_WORKER, s.queue)?;
    // Connected now, so the first `/healthz` does not open a database behind a long write.
    let mut probe = crate::store::health::Probe::new(&config.database);
    let _ = probe.check();
    let health = Arc::new(tokio::sync::Mutex::new(probe));
    Ok(Prepared {
        service_sid,
        workers,
        ids,
        json_log,
        pool,
        health,
        callbacks: twilio_status::Callbacks::of(config),
    })
}

impl Prepared {
    /// The state every handler reads.
    fn shared(
        self,
        s: &crate::config::server::ServerConfig,
        log: Arc<log::AccessLog>,
        metrics: Arc<metrics::Metrics>,
        scheme: &'static str,
        fallback_host: String,
    ) -> Arc<routes::Shared> {
        Arc::new(routes::Shared {
            pool: self.pool,
            metrics,
            trusted_proxies: s.trusted_proxies.clone(),
            log,
            service_sid: self.service_sid,
            scheme,
            fallback_host,
            body_timeout: Duration::from_secs(s.header_timeout_seconds),
            health: self.health,
            ids: self.ids,
            json_log: self.json_log,
            callbacks: self.callbacks,
        })
    }
}

/// The server's router over the configured database without a socket, signals or a runtime of
/// its own: the same handlers, pool, metrics and health probe [`run`] serves, for tests that
/// drive requests through it in-process (`tower::ServiceExt::oneshot`, inside the caller's
/// tokio runtime). Access log lines go to `log`. Drop it outside that runtime (the probe of
/// a PostgreSQL database holds a blocking client).
pub struct InProcess {
    pub router: axum::Router,
    pub service_sid: String,
    log: Arc<log::AccessLog>,
}

/// What the pages get from this server.
fn mount(shared: &Arc<routes::Shared>, tls: bool, config: Arc<Config>) -> crate::web::Mount {
    let log = shared.clone();
    crate::web::Mount {
        pool: shared.clone(),
        tls,
        config,
        note: Arc::new(move |text: &str| {
            let line = crate::render::serve::note(chrono::Utc::now(), text, log.json_log);
            log.log.line(line);
        }),
    }
}

impl InProcess {
    pub fn new(config: &Config, log: Box<dyn Write + Send>) -> Result<InProcess, Error> {
        InProcess::with_pages(config, log, None)
    }

    /// The router with the web pages `pages` builds mounted beside the API.
    pub fn with_pages(
        config: &Config,
        log: Box<dyn Write + Send>,
        pages: Option<crate::web::Pages>,
    ) -> Result<InProcess, Error> {
        let prepared = prepare(config, false)?;
        let service_sid = prepared.service_sid.clone();
        let log = Arc::new(log::AccessLog::start(log).map_err(StartError::AccessLogWriter)?);
        let shared = prepared.shared(
            &config.server,
            log.clone(),
            Arc::default(),
            "http",
            "localhost".into(),
        );
        let pages = pages.map(|p| p(mount(&shared, false, Arc::new(config.clone()))));
        Ok(InProcess {
            router: router::router(shared, pages),
            service_sid,
            log,
        })
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.log.finish(None);
    }
}

/// Accepts connections until SIGTERM/SIGINT, then stops accepting and lets the open ones
/// finish (at most [`DRAIN`]), and the requests still running for clients that went away.
async fn accept(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<TlsAcceptor>,
    s: &crate::config::server::ServerConfig,
    metrics: Arc<metrics::Metrics>,
    (mut term, mut int): (tokio::signal::unix::Signal, tokio::signal::unix::Signal),
) -> Result<(), Error> {
    let (stop, stopping) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(s.max_connections));
    let per_client = conn::PerClient::new(s.max_connections_per_client);
    let limits = Limits {
        header: Duration::from_secs(s.header_timeout_seconds),
        write: Duration::from_secs(s.write_timeout_seconds),
        idle: Duration::from_secs(s.idle_timeout_seconds),
    };
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                // Out of descriptors and the like: wait a moment rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        };
        // Over the cap: closed at once, before a byte is read.
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        // One address over its own cap likewise (a trusted proxy carries many clients: only
        // the whole cap applies to it).
        let peer = peer.ip().to_canonical();
        let ticket = if client::trusted(&s.trusted_proxies, peer) {
            None
        } else {
            match per_client.take(peer) {
                Some(t) => Some(t),
                None => continue,
            }
        };
        let (router, stopping, tls) = (router.clone(), stopping.clone(), tls.clone());
        tokio::spawn(async move {
            let stream = conn::WriteDeadline::new(stream, limits.write);
            match tls {
                None => serve(stream, peer, router, stopping, limits).await,
                // The handshake is held to the same deadline as the headers.
                Some(tls) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(limits.header, tls.accept(stream)).await
                    {
                        serve(stream, peer, router, stopping, limits).await;
                    }
                }
            }
            drop((slot, ticket));
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let deadline = tokio::time::Instant::now() + DRAIN;
    let all = u32::try_from(s.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout_at(deadline, slots.acquire_many(all)).await;
    // A request whose client went away runs on to its end (and its log line) without a
    // connection: wait for those too.
    while metrics.in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// A connection's deadlines.
#[derive(Clone, Copy)]
struct Limits {
    header: Duration,
    write: Duration,
    idle: Duration,
}

/// One connection, plain or TLS: HTTP/1.1 with the header-read timeout, each request marked
/// with the peer's address, closed once idle for `limits.idle` or when the server stops (after
/// the answer in progress).
async fn serve<I>(
    stream: I,
    peer: IpAddr,
    router: axum::Router,
    mut stopping: watch::Receiver<bool>,
    limits: Limits,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header)
        .max_buf_size(64 * 1024);
    let activity = conn::Activity::new();
    let inner = TowerToHyperService::new(router);
    let marked = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let left = conn::Left::default();
        req.extensions_mut().insert(client::Peer(peer));
        req.extensions_mut().insert(left.clone());
        let busy = marked.begin();
        // Its own task: if the client goes away, hyper drops this future but the request runs
        // to its end (an SMS may be out already), leaves its log line and leaves the gauge.
        let answer = tokio::spawn(inner.call(req));
        let watch = left.watch();
        async move {
            let r = answer.await;
            watch.answered();
            drop(busy);
            r.unwrap_or_else(|_| {
                Ok(errors::ApiError::internal()
                    .because("the request's task stopped before answering (a panic)")
                    .into_response())
            })
        }
    });
    let conn = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        // Idle: closes when its time is up; busy: looks again a full period later.
        let wake = activity
            .idle_until(limits.idle)
            .unwrap_or_else(|| tokio::time::Instant::now() + limits.idle);
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = stopping.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = tokio::time::sleep_until(wake), if !closing => {
                if activity
                    .idle_until(limits.idle)
                    .is_some_and(|t| t <= tokio::time::Instant::now())
                {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}
