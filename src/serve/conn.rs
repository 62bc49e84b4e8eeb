//! The guards on one connection that hyper does not give (issue 21): a write deadline (an
//! answer the client does not read within `write_timeout_seconds` closes the connection, so a
//! client that pipelines requests and never reads cannot hold a slot), the idle clock of a
//! kept-alive connection, the per-address connection cap, and the mark of a request whose
//! client left before its answer.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A stream whose writes fail with `TimedOut` once one has made no progress for `limit`: the
/// peer's window stayed shut (it reads nothing) that long. hyper then drops the connection.
pub struct WriteDeadline<I> {
    io: I,
    limit: Duration,
    /// Running while a write (or flush, or shutdown) is stuck.
    stuck: Option<Pin<Box<Sleep>>>,
}

impl<I> WriteDeadline<I> {
    pub fn new(io: I, limit: Duration) -> WriteDeadline<I> {
        WriteDeadline {
            io,
            limit,
            stuck: None,
        }
    }

    /// `r` from the stream: progress resets the clock; no progress starts it or, once it has
    /// run out, fails.
    fn watch<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if r.is_ready() {
            self.stuck = None;
            return r;
        }
        let limit = self.limit;
        let timer = self
            .stuck
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client did not read its answer in time",
        )))
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for WriteDeadline<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_shutdown(cx);
        self.watch(cx, r)
    }
}

/// Whether a connection is answering a request, and since when it has not been.
pub struct Activity {
    busy: AtomicUsize,
    since: Mutex<Instant>,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            busy: AtomicUsize::new(0),
            since: Mutex::new(Instant::now()),
        })
    }

    /// A request starts; the returned guard ends it (and restarts the idle clock) when dropped.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// When the connection will have been idle for `limit`, if it is idle now.
    pub fn idle_until(&self, limit: Duration) -> Option<Instant> {
        if self.busy.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let since = *self.since.lock().unwrap_or_else(|p| p.into_inner());
        Some(since + limit)
    }
}

pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.since.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether the client left before its request's answer was ready (the connection closed
/// while the request ran on its own task).
#[derive(Clone, Default)]
pub struct Left(Arc<AtomicBool>);

impl Left {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// A guard that sets this when dropped, unless [`Watch::answered`] came first.
    pub fn watch(&self) -> Watch {
        Watch(Some(self.clone()))
    }
}

pub struct Watch(Option<Left>);

impl Watch {
    pub fn answered(mut self) {
        self.0 = None;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(left) = &self.0 {
            left.0.store(true, Ordering::SeqCst);
        }
    }
}

/// Open connections per peer address, at most `max` each.
pub struct PerClient {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerClient {
    pub fn new(max: usize) -> Arc<PerClient> {
        Arc::new(PerClient {
            max,
            open: Mutex::default(),
        })
    }

    /// A slot for one more connection from `addr`, or `None` if it has `max` open.
    pub fn take(self: &Arc<Self>, addr: IpAddr) -> Option<Ticket> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(addr).or_default();
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Ticket(self.clone(), addr))
    }
}

/// One connection's place under its address's cap, given back when dropped.
pub struct Ticket(Arc<PerClient>, IpAddr);

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.0.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_cap_and_its_slots_back() {
        let cap = PerClient::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let (t1, _t2) = (cap.take(a).unwrap(), cap.take(a).unwrap());
        assert!(cap.take(a).is_none());
        assert!(cap.take(b).is_some());
        drop(t1);
        assert!(cap.take(a).is_some());
    }

    #[tokio::test]
    async fn a_write_that_never_progresses_fails_after_the_limit() {
        // A duplex pipe of 16 bytes nobody reads from.
        let (near, _far) = tokio::io::duplex(16);
        let mut w = WriteDeadline::new(near, Duration::from_millis(50));
        use tokio::io::AsyncWriteExt;
        w.write_all(&[0; 16]).await.unwrap();
        let e = w.write_all(&[0; 16]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }
}
