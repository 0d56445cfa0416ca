//! A bounded TCP server on `std::net`: one thread accepts, a fixed set of
//! threads serve, at most `queue` connections wait, and every connection
//! has read and write timeouts and a deadline. A connection over the cap
//! is closed at once; nothing a client does reaches the devices.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::Error;

/// The bounds every API connection lives within.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Threads serving connections.
    pub workers: usize,
    /// Accepted connections waiting for a worker; more are closed at once.
    pub queue: usize,
    /// The longest a request may take to arrive.
    pub read_deadline: Duration,
    /// The longest one read or write may wait.
    pub io_timeout: Duration,
    /// The largest request (head and body), in bytes.
    pub max_request: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            workers: 8,
            queue: 64,
            read_deadline: Duration::from_secs(2),
            io_timeout: Duration::from_secs(2),
            max_request: 16 * 1024,
        }
    }
}

/// One connection as a handler sees it.
pub(super) struct Conn {
    pub stream: TcpStream,
    pub limits: Limits,
    /// Answers carry their head only (an HTTP `HEAD` request).
    pub head_only: bool,
    started: Instant,
}

/// How a read of a request ended.
pub(super) enum ReadEnd {
    /// `complete` said the request is whole.
    Complete,
    /// The client closed its side.
    Eof,
    /// Over `max_request` bytes.
    TooLarge,
    /// The deadline passed first.
    TimedOut,
}

impl Conn {
    /// Reads into `buf` until `complete(buf)` says the request is whole,
    /// the client closes, the request passes the size limit, or the
    /// deadline passes.
    pub fn read_request(&mut self, buf: &mut Vec<u8>, complete: impl Fn(&[u8]) -> bool) -> ReadEnd {
        let mut chunk = [0u8; 4096];
        loop {
            // The size first: a request over the limit is refused even
            // when it arrived whole in one read.
            if buf.len() > self.limits.max_request {
                return ReadEnd::TooLarge;
            }
            if complete(buf) {
                return ReadEnd::Complete;
            }
            let left = self
                .limits
                .read_deadline
                .saturating_sub(self.started.elapsed());
            if left.is_zero() {
                return ReadEnd::TimedOut;
            }
            let _ = self
                .stream
                .set_read_timeout(Some(left.min(self.limits.io_timeout)));
            match self.stream.read(&mut chunk) {
                Ok(0) => return ReadEnd::Eof,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return ReadEnd::TimedOut,
            }
        }
    }
}

impl Conn {
    /// After an early answer: closes the sending side and reads what the
    /// client still sends, at most 64 KiB for at most 200 ms, so that the
    /// close does not reset the connection before the answer is read.
    pub fn linger(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let until = Instant::now() + Duration::from_millis(200);
        let mut chunk = [0u8; 4096];
        let mut left: usize = 64 * 1024;
        while left > 0 && Instant::now() < until {
            let _ = self.stream.set_read_timeout(Some(
                until
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            ));
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    }
}

type Handler = Arc<dyn Fn(&mut Conn) + Send + Sync>;

/// A running server; stops when dropped.
pub(super) struct Server {
    addr: SocketAddr,
    done: Arc<AtomicBool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Server {
    /// Binds `addr` and serves each connection with `handler`.
    pub fn start(
        name: &'static str,
        addr: SocketAddr,
        limits: Limits,
        handler: Handler,
    ) -> Result<Server, Error> {
        let listen = |source| Error::Listen {
            what: name,
            addr,
            source,
        };
        let listener = TcpListener::bind(addr).map_err(listen)?;
        let addr = listener.local_addr().map_err(listen)?;
        let done = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::sync_channel::<(TcpStream, Instant)>(limits.queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let spawn = |label: String, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(label)
                .spawn(f)
                .map_err(|source| Error::Spawn {
                    what: format!("a thread of the {name} server"),
                    source,
                })
        };
        let mut threads = Vec::new();
        for i in 0..limits.workers.max(1) {
            let (rx, handler, done) = (rx.clone(), handler.clone(), done.clone());
            threads.push(spawn(
                format!("hashrig-{name}-{i}"),
                Box::new(move || serve(rx, handler, limits, done)),
            )?);
        }
        let acceptor_done = done.clone();
        threads.push(spawn(
            format!("hashrig-{name}"),
            Box::new(move || accept(listener, tx, limits, acceptor_done)),
        )?);
        Ok(Server {
            addr,
            done,
            threads: Mutex::new(threads),
        })
    }

    /// The address it listens on (the port chosen when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for the threads.
    pub fn stop(&self) {
        if self.done.swap(true, Ordering::Relaxed) {
            return;
        }
        // The acceptor waits in a blocking accept: one connection wakes it.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let woken = TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok();
        let mut threads = std::mem::take(&mut *self.threads.lock().expect("not poisoned"));
        if !woken {
            // The acceptor (started last) cannot be woken: leave it behind;
            // it ends with its first connection or with the process.
            threads.pop();
        }
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept(
    listener: TcpListener,
    tx: SyncSender<(TcpStream, Instant)>,
    limits: Limits,
    done: Arc<AtomicBool>,
) {
    loop {
        let accepted = listener.accept();
        if done.load(Ordering::Relaxed) {
            return;
        }
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_write_timeout(Some(limits.io_timeout));
                let _ = stream.set_nodelay(true);
                // The deadline counts from here: a connection that waited in the
                // queue past it is closed as soon as a worker takes it.
                match tx.try_send((stream, Instant::now())) {
                    Ok(()) => {}
                    // Over the cap: closed at once (dropped).
                    Err(TrySendError::Full(_)) => {}
                    Err(TrySendError::Disconnected(_)) => return,
                }
            }
            // Out of descriptors or a connection reset before accept:
            // wait a moment and go on.
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn serve(
    rx: Arc<Mutex<Receiver<(TcpStream, Instant)>>>,
    handler: Handler,
    limits: Limits,
    done: Arc<AtomicBool>,
) {
    while !done.load(Ordering::Relaxed) {
        let next = rx
            .lock()
            .expect("not poisoned")
            .recv_timeout(Duration::from_millis(100));
        let (stream, started) = match next {
            Ok(s) => s,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut conn = Conn {
            stream,
            limits,
            head_only: false,
            started,
        };
        // A handler that panics loses its connection, not the server.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&mut conn)));
        let _ = conn.stream.shutdown(std::net::Shutdown::Both);
    }
}
