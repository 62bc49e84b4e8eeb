//! `otpd serve`: a Twilio Verify–compatible HTTP API (issue 14), a front-end like the prompt
//! and the kiosk. Parse (form fields, Basic credentials) → the core on a bounded worker pool →
//! Twilio's JSON shapes. This file starts it: the `[server]` checks, the pool, and the accept
//! loop with its guards (a connection cap, a header-read timeout against slowloris, a drain on
//! SIGTERM). [`keys`] is `otpd keys`.

mod api;
mod errors;
mod exec;
mod ext;
pub mod keys;
mod log;
mod metrics;
mod pool;
mod routes;
mod shapes;
mod tls;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::app::App;
use crate::config::Config;
use crate::config::server::listen_addr;
use crate::error::Error;

/// How long in-flight requests get to finish after SIGTERM.
const DRAIN: Duration = Duration::from_secs(30);

/// Runs the server until SIGTERM or SIGINT; prints `listening on http://ADDR` and the service
/// SID on `out` once bound (`--listen 127.0.0.1:0` picks a free port).
pub fn run(mut config: Config, listen: Option<&str>, out: &mut dyn Write) -> Result<u8, Error> {
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
        return Err(Error::Usage(format!(
            "refusing to listen on {} without TLS: clients' API secrets would cross the network in clear; listen on 127.0.0.1, or set server.allow_plain_http = true when a TLS-terminating proxy is in front",
            s.listen
        )));
    }
    // Opens (and migrates) the database once before the workers do, and fixes the SID.
    let service_sid = App::for_process(config.clone())?.service_sid()?;
    let workers = match s.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    // argon2 runs on at most `workers` threads at once, in memory held for exactly that many
    // (`crypto::memory`); the pool has twice the threads, so a use case waiting on the database
    // (a commit's fsync) does not leave a core idle that another could be hashing on.
    crate::crypto::bound_concurrent_hashes(workers);
    let pool = pool::Pool::start(&config, workers * pool::THREADS_PER_WORKER, s.queue)?;
    // Connected now, so the first `/healthz` does not open a database behind a long write.
    let mut probe = crate::store::health::Probe::new(&config.database);
    let _ = probe.check();
    let health = Arc::new(tokio::sync::Mutex::new(probe));
    let log = Arc::new(
        log::AccessLog::start(Box::new(std::io::stderr()))
            .map_err(|e| Error::Io(format!("cannot start the access log's writer: {e}")))?,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the server's runtime: {e}")))?;
    let server_log = log.clone();
    // The probe's connection is a blocking client: it must be dropped outside the runtime
    // (its own runtime cannot stop inside another), so this handle outlives `runtime`.
    let probe = health.clone();
    let served = runtime.block_on(async move {
        let listener = TcpListener::bind(s.listen)
            .await
            .map_err(|e| Error::Io(format!("cannot listen on {}: {e}", s.listen)))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::Io(format!("cannot read the bound address: {e}")))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        writeln!(out, "listening on {scheme}://{local}").map_err(Error::Output)?;
        writeln!(out, "service {service_sid}").map_err(Error::Output)?;
        out.flush().map_err(Error::Output)?;
        let shared = Arc::new(routes::Shared {
            pool,
            metrics: Arc::default(),
            log: server_log,
            service_sid,
            scheme,
            fallback_host: local.to_string(),
            body_timeout: Duration::from_secs(s.header_timeout_seconds),
            health: probe,
        });
        let router = routes::router(shared);
        accept(listener, router, tls, &s).await
    });
    // On an error the error's own line follows (from `run`'s caller).
    drop(runtime);
    drop(health);
    log.finish(served.is_ok().then_some("otpd serve: stopped"));
    served.map(|()| 0)
}

/// Accepts connections until SIGTERM/SIGINT, then stops accepting and lets the open ones
/// finish (at most [`DRAIN`]).
async fn accept(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<TlsAcceptor>,
    s: &crate::config::server::ServerConfig,
) -> Result<(), Error> {
    let signals = |kind| signal(kind).map_err(|e| Error::Io(format!("cannot watch signals: {e}")));
    let (mut term, mut int) = (
        signals(SignalKind::terminate())?,
        signals(SignalKind::interrupt())?,
    );
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(s.max_connections));
    let header_timeout = Duration::from_secs(s.header_timeout_seconds);
    loop {
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
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
        let (router, watcher, tls) = (router.clone(), graceful.watcher(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => serve(stream, router, watcher, header_timeout).await,
                // The handshake is held to the same deadline as the headers.
                Some(tls) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(header_timeout, tls.accept(stream)).await
                    {
                        serve(stream, router, watcher, header_timeout).await;
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    Ok(())
}

/// One connection, plain or TLS: HTTP/1.1 with the header-read timeout, watched for the drain.
async fn serve<I>(stream: I, router: axum::Router, watcher: Watcher, header_timeout: Duration)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(64 * 1024);
    let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    let _ = watcher.watch(conn).await;
}
