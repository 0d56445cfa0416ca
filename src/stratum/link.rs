//! The byte stream to a pool, plain TCP or TLS (rustls), split into a
//! reading half (the connection's thread, with a short read timeout so it
//! can notice a stop) and a writing half that any thread may use at once,
//! so that a share is written the moment it is found, not when the reader
//! next wakes up. Lines are read with a hard size limit.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};

use super::message::MAX_LINE;
use crate::pool::PoolUrl;
use crate::{Error, PoolError};

/// How long a connect, a TLS handshake or a write may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The trust anchors for `stratum+ssl://`: Mozilla's roots, plus the
/// certificates of a PEM file for private pools.
pub fn tls_config(extra_ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        let bad = |reason: String| Error::Options {
            option: "pool-ca",
            reason,
        };
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| bad(e.to_string()))?;
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("no certificate in the file".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Pool(PoolError::Tls(Box::new(e))))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

enum Stream {
    Plain,
    Tls(Arc<Mutex<rustls::ClientConnection>>),
}

/// The reading half of a connection.
pub struct LinkReader {
    sock: TcpStream,
    stream: Stream,
    buf: Vec<u8>,
    /// Set once the peer closed the connection.
    eof: bool,
}

/// The writing half; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct LinkWriter {
    sock: Arc<TcpStream>,
    tls: Option<Arc<Mutex<rustls::ClientConnection>>>,
    /// Plain-TCP writes from several threads go through this lock so that
    /// lines never interleave.
    plain: Arc<Mutex<()>>,
}

/// Connects to `url` (TLS when it says so), with `poll` as the read
/// timeout of the reading half.
pub fn connect(
    url: &PoolUrl,
    tls: &Arc<rustls::ClientConfig>,
    poll: Duration,
) -> io::Result<(LinkReader, LinkWriter)> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    let mut sock = None;
    for addr in url.address().to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, IO_TIMEOUT) {
            Ok(s) => {
                sock = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let mut sock = sock.ok_or(last)?;
    sock.set_nodelay(true)?;
    sock.set_write_timeout(Some(IO_TIMEOUT))?;
    let stream = if url.tls {
        let name = ServerName::try_from(url.host.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut conn =
            rustls::ClientConnection::new(tls.clone(), name).map_err(io::Error::other)?;
        sock.set_read_timeout(Some(IO_TIMEOUT))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)?;
        }
        Stream::Tls(Arc::new(Mutex::new(conn)))
    } else {
        Stream::Plain
    };
    sock.set_read_timeout(Some(poll))?;
    let writer = LinkWriter {
        sock: Arc::new(sock.try_clone()?),
        tls: match &stream {
            Stream::Tls(c) => Some(c.clone()),
            Stream::Plain => None,
        },
        plain: Arc::new(Mutex::new(())),
    };
    Ok((
        LinkReader {
            sock,
            stream,
            buf: Vec::new(),
            eof: false,
        },
        writer,
    ))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

impl LinkReader {
    /// The next line without its newline; `Ok(None)` when the read timeout
    /// passed first. A line over [`MAX_LINE`] bytes, bytes that are not
    /// UTF-8, or the peer closing are errors (the connection is then
    /// reset: a stream cannot be trusted to resynchronize).
    pub fn read_line(&mut self) -> io::Result<Option<String>> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return String::from_utf8(line).map(Some).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "a line that is not UTF-8")
                });
            }
            if self.buf.len() > MAX_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a line over {MAX_LINE} bytes"),
                ));
            }
            if self.eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the pool closed the connection",
                ));
            }
            let mut chunk = [0u8; 4096];
            match self.read_some(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    fn read_some(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let conn = match &self.stream {
            Stream::Plain => return self.sock.read(out),
            Stream::Tls(c) => c.clone(),
        };
        loop {
            {
                let mut c = conn.lock().expect("not poisoned");
                match c.reader().read(out) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            // Raw bytes are read without the lock, so writers never wait on
            // a quiet pool.
            let mut raw = [0u8; 4096];
            let n = self.sock.read(&mut raw)?;
            let mut c = conn.lock().expect("not poisoned");
            if n == 0 {
                return Ok(0);
            }
            let mut rest = &raw[..n];
            while !rest.is_empty() {
                c.read_tls(&mut rest)?;
                c.process_new_packets().map_err(io::Error::other)?;
            }
            while c.wants_write() {
                c.write_tls(&mut &self.sock)?;
            }
        }
    }
}

impl LinkWriter {
    /// Writes one whole line.
    pub fn write_line(&self, line: &str) -> io::Result<()> {
        match &self.tls {
            None => {
                let _one = self.plain.lock().expect("not poisoned");
                (&*self.sock).write_all(line.as_bytes())
            }
            Some(conn) => {
                let mut c = conn.lock().expect("not poisoned");
                c.writer().write_all(line.as_bytes())?;
                while c.wants_write() {
                    c.write_tls(&mut &*self.sock)?;
                }
                Ok(())
            }
        }
    }

    /// Closes both halves (the reader then sees the end).
    pub fn shutdown(&self) {
        if let Some(conn) = &self.tls {
            if let Ok(mut c) = conn.lock() {
                c.send_close_notify();
                let _ = c.write_tls(&mut &*self.sock);
            }
        }
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
    }
}
