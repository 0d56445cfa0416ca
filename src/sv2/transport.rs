//! The Stratum V2 transport over a `std::net` stream: the Noise NX
//! handshake (`Noise_NX_Secp256k1+EllSwift_ChaChaPoly_SHA256`, run by SRI's
//! `noise_sv2` through `codec_sv2`), with the server's certificate checked
//! against the pinned authority key and the clock, then encrypted frames
//! both ways. The reader never blocks longer than the stream's read
//! timeout and never buffers more than [`MAX_FRAME`] bytes of one frame,
//! whatever the server sends.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use codec_sv2::{
    Decrypted, Handshake, NoiseDecoder, NoiseEncoder, TransportDecryptState, TransportEncryptState,
};
use framing_sv2::framing::SerializedFrame;
use framing_sv2::header::Header;
use noise_sv2::{Initiator, INITIATOR_EXPECTED_HANDSHAKE_MESSAGE_SIZE};

use crate::pool::AuthorityKey;

/// The most encrypted bytes one frame may take. The mining protocol's
/// largest message (an extended job with two 64 KiB coinbase halves and a
/// full merkle path) is under 140 KiB; anything longer is refused before
/// it is buffered.
pub const MAX_FRAME: usize = 256 * 1024;

/// One Stratum V2 frame, decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The extension (0 for the base protocol), without the channel bit.
    pub extension: u16,
    /// Whether the message is addressed to a channel (its first four
    /// payload bytes are the channel id).
    pub channel_msg: bool,
    /// The message type.
    pub msg_type: u8,
    /// The serialized message.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The frame's bytes before encryption: the six-byte header, then the
    /// payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        let ext = self.extension & 0x7fff | if self.channel_msg { 0x8000 } else { 0 };
        let len = self.payload.len() as u32;
        let mut out = Vec::with_capacity(6 + self.payload.len());
        out.extend_from_slice(&ext.to_le_bytes());
        out.push(self.msg_type);
        out.extend_from_slice(&len.to_le_bytes()[..3]);
        out.extend_from_slice(&self.payload);
        out
    }
}

/// Why the handshake failed.
#[derive(Debug)]
pub enum HandshakeError {
    /// Reading or writing failed.
    Io(io::Error),
    /// The server closed the connection during the handshake.
    Closed,
    /// The server did not answer in time.
    TimedOut(Duration),
    /// The certificate is not signed by the pinned authority key: this is
    /// not the pool the URL names.
    WrongKey(AuthorityKey),
    /// The certificate is signed, but not valid now.
    Expired {
        /// Valid from (Unix seconds).
        valid_from: u32,
        /// Not valid after (Unix seconds).
        not_valid_after: u32,
        /// The local clock.
        now: u32,
    },
    /// The server's handshake message does not decrypt or decode.
    Bad(String),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Io(e) => write!(f, "Noise handshake: {e}"),
            HandshakeError::Closed => f.write_str("the server closed the connection during the Noise handshake"),
            HandshakeError::TimedOut(t) => write!(f, "no Noise handshake answer within {:.1} s", t.as_secs_f64()),
            HandshakeError::WrongKey(k) => write!(
                f,
                "the server's certificate is not signed by the authority key {k}: not the pool the URL names (refused)"
            ),
            HandshakeError::Expired { valid_from, not_valid_after, now } => write!(
                f,
                "the server's certificate is valid from {valid_from} to {not_valid_after} (Unix time), and the clock says {now} (refused)"
            ),
            HandshakeError::Bad(why) => write!(f, "bad Noise handshake from the server: {why}"),
        }
    }
}

impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HandshakeError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Why reading a frame failed; the connection is unusable after any.
#[derive(Debug)]
pub enum ReadError {
    /// The stream failed.
    Io(io::Error),
    /// The server closed the connection (mid-frame when bytes were left).
    Closed {
        /// Bytes of an unfinished frame.
        partial: usize,
    },
    /// A frame longer than [`MAX_FRAME`].
    TooLong,
    /// A frame that does not decrypt (a bad MAC) or whose header is bad.
    Bad(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "reading from the pool: {e}"),
            ReadError::Closed { partial: 0 } => f.write_str("the pool closed the connection"),
            ReadError::Closed { partial } => {
                write!(
                    f,
                    "the pool closed the connection {partial} bytes into a frame"
                )
            }
            ReadError::TooLong => write!(
                f,
                "a frame longer than {MAX_FRAME} bytes (dropped the connection)"
            ),
            ReadError::Bad(why) => {
                write!(f, "an undecryptable frame ({why}): dropped the connection")
            }
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

fn now_unix() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

/// Reads exactly `buf.len()` bytes before `deadline` (the stream's read
/// timeout must be set; each read waits at most that long).
fn read_exact_by(
    stream: &mut impl Read,
    buf: &mut [u8],
    deadline: Instant,
    timeout: Duration,
) -> Result<(), HandshakeError> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => return Err(HandshakeError::Closed),
            Ok(n) => got += n,
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(HandshakeError::Io(e)),
        }
        if got < buf.len() && Instant::now() >= deadline {
            return Err(HandshakeError::TimedOut(timeout));
        }
    }
    Ok(())
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Runs the initiator's side of the Noise NX handshake on `stream` (whose
/// read timeout must be set), within `timeout`. With `key`, the server's
/// certificate must be signed by it and valid at the local clock; without,
/// the connection is encrypted but not authenticated.
pub fn handshake<S: Read + Write>(
    stream: &mut S,
    key: Option<&AuthorityKey>,
    timeout: Duration,
) -> Result<(Reader, Writer), HandshakeError> {
    let deadline = Instant::now() + timeout;
    let initiator = match key {
        Some(k) => Initiator::from_raw_k(k.to_bytes())
            .map_err(|_| HandshakeError::Bad(format!("{k} is not a point on secp256k1")))?,
        None => Initiator::without_pk().map_err(|e| HandshakeError::Bad(format!("{e:?}")))?,
    };
    let (first, sent) = Handshake::initiator(initiator)
        .step_0()
        .map_err(|e| HandshakeError::Bad(e.to_string()))?;
    stream
        .write_all(first.payload())
        .and_then(|_| stream.flush())
        .map_err(HandshakeError::Io)?;
    let mut answer = [0u8; INITIATOR_EXPECTED_HANDSHAKE_MESSAGE_SIZE];
    read_exact_by(stream, &mut answer, deadline, timeout)?;
    let now = now_unix();
    let transport = sent.step_2_with_now(answer, now).map_err(|e| match e {
        codec_sv2::Error::NoiseSv2Error(noise_sv2::Error::InvalidCertificate(cert)) => match key {
            Some(_) if now < cert.valid_from || now > cert.not_valid_after => {
                HandshakeError::Expired {
                    valid_from: cert.valid_from,
                    not_valid_after: cert.not_valid_after,
                    now,
                }
            }
            Some(k) => HandshakeError::WrongKey(*k),
            None => HandshakeError::Bad("an invalid certificate".into()),
        },
        other => HandshakeError::Bad(other.to_string()),
    })?;
    let (encrypt, decrypt) = transport.split();
    Ok((Reader::new(decrypt), Writer::new(encrypt)))
}

/// The decrypting half of a connection.
pub struct Reader {
    decoder: NoiseDecoder,
    state: Option<TransportDecryptState>,
    /// Bytes read from the stream that the decoder has not taken yet.
    pending: Vec<u8>,
    /// Bytes of the frame being decoded so far.
    in_frame: usize,
}

impl Reader {
    fn new(state: TransportDecryptState) -> Reader {
        Reader {
            decoder: NoiseDecoder::new(),
            state: Some(state),
            pending: Vec::new(),
            in_frame: 0,
        }
    }

    /// The next frame: `Ok(None)` when the stream's read timeout passed
    /// before one was complete (what was read is kept for the next call).
    pub fn read(&mut self, stream: &mut impl Read) -> Result<Option<Frame>, ReadError> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(frame) = self.decode()? {
                return Ok(Some(frame));
            }
            match stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(ReadError::Closed {
                        partial: self.in_frame + self.pending.len(),
                    })
                }
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Ok(None),
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
    }

    /// Decodes from the bytes already read: a frame, or `None` when more
    /// bytes are needed.
    pub fn decode(&mut self) -> Result<Option<Frame>, ReadError> {
        loop {
            let need = self.decoder.writable_len();
            if need > self.pending.len() {
                return Ok(None);
            }
            if need > 0 {
                self.in_frame += need;
                if self.in_frame > MAX_FRAME {
                    self.state = None;
                    return Err(ReadError::TooLong);
                }
                self.decoder
                    .writable()
                    .copy_from_slice(&self.pending[..need]);
                self.pending.drain(..need);
            }
            let state = self
                .state
                .take()
                .ok_or_else(|| ReadError::Bad("the connection failed before".into()))?;
            match self.decoder.next_transport_frame(state) {
                Ok(Decrypted::Frame(frame, state)) => {
                    self.state = Some(state);
                    self.in_frame = 0;
                    return Ok(Some(to_frame(frame)));
                }
                Ok(Decrypted::Incomplete(_, state)) => self.state = Some(state),
                Err(e) => return Err(ReadError::Bad(e.to_string())),
            }
        }
    }
}

fn to_frame(mut frame: codec_sv2::SerializedFrame) -> Frame {
    let header = frame.header();
    Frame {
        extension: header.ext_type_without_channel_msg(),
        channel_msg: header.channel_msg(),
        msg_type: header.msg_type(),
        payload: frame.payload().to_vec(),
    }
}

/// The encrypting half of a connection.
pub struct Writer {
    encoder: NoiseEncoder,
    state: TransportEncryptState,
}

impl Writer {
    fn new(state: TransportEncryptState) -> Writer {
        Writer {
            encoder: NoiseEncoder::new(),
            state,
        }
    }

    /// `frame` encrypted, ready to be written.
    pub fn encrypt(&mut self, frame: &Frame) -> io::Result<Vec<u8>> {
        let bad = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
        if frame.payload.len() >= 1 << 24 {
            return Err(bad("a frame longer than 16 MiB".into()));
        }
        let bytes = frame.to_bytes();
        let header = Header::from_bytes(&bytes).map_err(|e| bad(e.to_string()))?;
        let serialized = SerializedFrame::from_parts(header, bytes);
        let out = self
            .encoder
            .encode_transport(serialized, &mut self.state)
            .map_err(|e| bad(e.to_string()))?;
        let bytes: &[u8] = out.as_ref();
        Ok(bytes.to_vec())
    }
}

/// Waits for the initiator's first handshake message (64 bytes): the
/// start of a responder's side.
fn read_handshake_start(
    stream: &mut impl Read,
    timeout: Duration,
) -> Result<[u8; noise_sv2::ELLSWIFT_ENCODING_SIZE], HandshakeError> {
    let mut first = [0u8; noise_sv2::ELLSWIFT_ENCODING_SIZE];
    read_exact_by(stream, &mut first, Instant::now() + timeout, timeout)?;
    Ok(first)
}

/// Runs the responder's side of the handshake with `responder` on
/// `stream`: what a pool or a template provider does (tests and tools).
pub fn respond<S: Read + Write>(
    stream: &mut S,
    responder: Box<noise_sv2::Responder>,
    timeout: Duration,
) -> Result<(Reader, Writer), HandshakeError> {
    let first = read_handshake_start(stream, timeout)?;
    let (answer, transport) = Handshake::responder(responder)
        .step_1(first)
        .map_err(|e| HandshakeError::Bad(e.to_string()))?;
    stream
        .write_all(answer.payload())
        .and_then(|_| stream.flush())
        .map_err(HandshakeError::Io)?;
    let (encrypt, decrypt) = transport.split();
    Ok((Reader::new(decrypt), Writer::new(encrypt)))
}
