//! Accepting connections within bounds: at most `--max-connections` at once (beyond it,
//! new ones wait in the kernel's listen queue, not in our file descriptors), at most
//! `--max-connections-per-address` of one address (beyond it, closed at once), each closed
//! when it sends no request head for `--idle-timeout-s` or reads nothing of an answer for
//! as long (`WriteProgress`), and enough file descriptors
//! kept in reserve (checked at start) that accept does not run out of them. If it still
//! does (EMFILE/ENFILE: descriptors used elsewhere), it pauses instead of spinning.

use crate::fair::{client_of, ClientShares};
use crate::service::{handle, State};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Descriptors beyond the connections and the pool: the listener, stdio, the runtime's
/// own (epoll, eventfd), DNS and TLS files, a CA file read at start.
pub const RESERVED_FDS: u64 = 64;

#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    pub max_connections: usize,
    /// Connections one address may hold: one alone could otherwise hold every one of
    /// `max_connections`, idle, while every other client waited in the listen queue.
    pub max_per_address: usize,
    /// hyper's header read timeout: it runs from the moment a connection waits for a
    /// request head, so it is the keep-alive idle timeout too.
    pub idle_timeout: Duration,
}

/// Accepts until `shutdown` completes; connections are watched by `graceful`.
pub async fn accept_loop(
    listener: &TcpListener,
    state: Arc<State>,
    limits: ConnLimits,
    graceful: &GracefulShutdown,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = ClientShares::new(limits.max_per_address);
    let mut errors = ErrorLog::default();
    let mut refusals = ErrorLog::default();
    tokio::pin!(shutdown);
    loop {
        // A slot before accept: at the cap, new connections stay in the listen queue
        // (the client waits) until an open one closes or idles out.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    errors.note(&e);
                    // Out of descriptors: wait for some to close rather than spin; other
                    // errors (a client that reset before accept) are per connection.
                    let pause = if out_of_descriptors(&e) { 100 } else { 1 };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let mut share = per_address.start(&client_of(None, peer.ip()));
        if !share.grow(1) {
            // Closed unread: the address already holds its share of the connections.
            refusals.note(&io::Error::other(format!(
                "{} holds {} connections (--max-connections-per-address): closed a new one",
                peer.ip(),
                limits.max_per_address
            )));
            continue;
        }
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let stream = WriteProgress::new(stream, limits.idle_timeout);
        let connection =
            http1::Builder::new().timer(TokioTimer::new()).header_read_timeout(limits.idle_timeout).serve_connection(
                TokioIo::new(stream),
                service_fn(move |request| handle(request, state.clone(), peer.ip())),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that hangs up or times out: nothing to do but free the slot.
            let _ = connection.await;
            drop((permit, share));
        });
    }
}

/// A connection whose writes must make progress: one that cannot write a byte for `limit`
/// fails with `TimedOut`, and hyper closes it. hyper's timeouts cover reading a request
/// head (and ours its body), not writing the answer: a client that pipelined requests
/// and never read the answers (its receive window closed) held its connection, and a
/// slot of `--max-connections`, for good, and a few hundred such sockets locked every
/// client out.
pub struct WriteProgress<S> {
    inner: S,
    limit: Duration,
    /// Since when a write has been waiting, as a timer.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> WriteProgress<S> {
    pub fn new(inner: S, limit: Duration) -> Self {
        WriteProgress { inner, limit, stalled: None }
    }

    /// After the inner write answered: progress clears the timer, waiting starts it (or
    /// fails once it ran out).
    fn check<T>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.limit;
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing of its answer for {} s", limit.as_secs()),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteProgress<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteProgress<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.check(cx, polled)
    }
}

pub fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Accept errors on stderr, at most one line a second (a flood would fill the disk).
#[derive(Default)]
struct ErrorLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl ErrorLog {
    fn note(&mut self, e: &io::Error) {
        if self.last.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            self.suppressed += 1;
            return;
        }
        let more = match self.suppressed {
            0 => String::new(),
            n => format!(" ({n} more since the last line)"),
        };
        eprintln!("llm-clusters-server: accept: {e}{more}");
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}

/// Makes sure `needed` file descriptors may be open: raises the soft limit towards the
/// hard one if it must, else says which setting to change. Returns the limit in force.
pub fn ensure_descriptors(needed: u64, what: &str) -> Result<u64, String> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("cannot read the file descriptor limit: {}", io::Error::last_os_error()));
    }
    let (soft, hard): (u64, u64) = (limit.rlim_cur, limit.rlim_max);
    if soft >= needed {
        return Ok(soft);
    }
    if hard < needed {
        return Err(format!(
            "{what} needs {needed} file descriptors, the limit is {soft} (hard {hard}): \
             lower --max-connections or raise the limit (ulimit -n, LimitNOFILE= under systemd)"
        ));
    }
    let raised = libc::rlimit { rlim_cur: needed, rlim_max: limit.rlim_max };
    // SAFETY: setrlimit reads the struct we own; raising the soft limit up to the hard one
    // needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(format!("cannot raise the file descriptor limit to {needed}: {}", io::Error::last_os_error()));
    }
    Ok(needed)
}
