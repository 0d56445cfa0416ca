//! One connection to one pool, up to the point where it can mine: connect
//! (TLS when asked), `mining.configure` for BIP 310 version rolling, then
//! `mining.subscribe` and `mining.authorize`. Every wait has a deadline;
//! whatever the pool sends meanwhile is kept, in order, for the miner.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::link::{self, LinkReader, LinkWriter};
use super::message::{
    authorize_request, configure_request, extranonce_subscribe_request, subscribe_request,
    ProtocolError, Reply, RpcError, ServerMessage, Subscription, BIP320_MASK,
};
use crate::pool::{Pool, PoolUrl};

/// Request ids of the handshake; submits count up from [`FIRST_SUBMIT_ID`].
const CONFIGURE_ID: u64 = 1;
const SUBSCRIBE_ID: u64 = 2;
const AUTHORIZE_ID: u64 = 3;
/// The id of `mining.extranonce.subscribe` (its answer is not awaited).
pub const EXTRANONCE_SUBSCRIBE_ID: u64 = 4;
/// The first id used for `mining.submit`.
pub const FIRST_SUBMIT_ID: u64 = 100;

/// How long a pool has to answer `mining.configure` before hashrig goes
/// on without version rolling.
const CONFIGURE_WAIT: Duration = Duration::from_secs(5);
/// How long a pool has to answer subscribe and authorize.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(15);

/// What the handshake needs to know.
pub struct Hello<'a> {
    /// The pool and credentials.
    pub pool: &'a Pool,
    /// Where to connect (the pool's URL, or where it redirected us).
    pub url: &'a PoolUrl,
    /// TLS trust.
    pub tls: &'a Arc<rustls::ClientConfig>,
    /// Whether to send `mining.configure` first.
    pub configure: bool,
    /// The session id to resume.
    pub resume: Option<&'a str>,
    /// The user agent.
    pub agent: &'a str,
    /// The read timeout, so that waits notice `stop`.
    pub poll: Duration,
    /// Set when the miner is stopping.
    pub stop: &'a AtomicBool,
}

/// A connection that is subscribed and authorized.
pub struct Session {
    /// The reading half.
    pub reader: LinkReader,
    /// The writing half.
    pub writer: LinkWriter,
    /// What `mining.subscribe` gave.
    pub subscription: Subscription,
    /// The version bits the pool let us roll (0: none).
    pub version_mask: u32,
    /// What arrived before the handshake finished, in order.
    pub backlog: VecDeque<Result<ServerMessage, ProtocolError>>,
    /// Round-trip time of the subscribe request.
    pub rtt: Duration,
}

/// Why a connection could not be made ready.
#[derive(Debug)]
pub enum HelloError {
    /// Connecting, reading or writing failed, or a wait passed its deadline.
    Io(io::Error),
    /// The pool closed the connection while `mining.configure` was
    /// unanswered: try again without it.
    ClosedOnConfigure,
    /// The pool refused subscribe or authorize.
    Refused(String),
    /// The miner is stopping.
    Stopped,
}

impl std::fmt::Display for HelloError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HelloError::Io(e) => write!(f, "{e}"),
            HelloError::ClosedOnConfigure => {
                f.write_str("the pool closed the connection on mining.configure")
            }
            HelloError::Refused(why) => f.write_str(why),
            HelloError::Stopped => f.write_str("stopping"),
        }
    }
}

impl From<io::Error> for HelloError {
    fn from(e: io::Error) -> Self {
        HelloError::Io(e)
    }
}

/// An answer to one of the handshake's requests.
struct Answer {
    result: Reply,
    error: Option<RpcError>,
}

/// Connects and runs the handshake.
pub fn open(hello: &Hello<'_>) -> Result<Session, HelloError> {
    let (mut reader, writer) = link::connect(hello.url, hello.tls, hello.poll)?;
    let mut backlog = VecDeque::new();
    let mut version_mask = 0;
    if hello.configure {
        writer.write_line(&configure_request(CONFIGURE_ID, BIP320_MASK))?;
        match wait_for(
            &mut reader,
            &mut backlog,
            CONFIGURE_ID,
            CONFIGURE_WAIT,
            hello.stop,
        ) {
            Ok(Some(Answer {
                result,
                error: None,
            })) => {
                // A malformed grant is treated as a refusal.
                version_mask = result
                    .granted_mask()
                    .ok()
                    .flatten()
                    .map_or(0, |m| m & BIP320_MASK);
            }
            Ok(_) => {}
            Err(HelloError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(HelloError::ClosedOnConfigure)
            }
            Err(e) => return Err(e),
        }
    }
    let sent = Instant::now();
    writer.write_line(&subscribe_request(SUBSCRIBE_ID, hello.agent, hello.resume))?;
    let answer = wait_for(
        &mut reader,
        &mut backlog,
        SUBSCRIBE_ID,
        HANDSHAKE_WAIT,
        hello.stop,
    )?
    .ok_or_else(|| deadline("mining.subscribe"))?;
    let rtt = sent.elapsed();
    if let Some(e) = answer.error {
        return Err(HelloError::Refused(format!(
            "mining.subscribe refused: {e}"
        )));
    }
    let subscription: Subscription = answer
        .result
        .subscription()
        .map_err(|e| HelloError::Refused(e.to_string()))?;
    if hello.url.extranonce_subscribe {
        writer.write_line(&extranonce_subscribe_request(EXTRANONCE_SUBSCRIBE_ID))?;
    }
    writer.write_line(&authorize_request(
        AUTHORIZE_ID,
        &hello.pool.user,
        &hello.pool.pass,
    ))?;
    let answer = wait_for(
        &mut reader,
        &mut backlog,
        AUTHORIZE_ID,
        HANDSHAKE_WAIT,
        hello.stop,
    )?
    .ok_or_else(|| deadline("mining.authorize"))?;
    if answer.error.is_some() || !answer.result.is_true() {
        let why = answer
            .error
            .map(|e| e.to_string())
            .unwrap_or_else(|| answer.result.describe(80));
        return Err(HelloError::Refused(format!(
            "mining.authorize refused for {}: {why}",
            hello.pool.user
        )));
    }
    Ok(Session {
        reader,
        writer,
        subscription,
        version_mask,
        backlog,
        rtt,
    })
}

fn deadline(method: &str) -> HelloError {
    HelloError::Io(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no answer to {method}"),
    ))
}

/// Reads until the answer to `id` comes (`Some`), the deadline passes
/// (`None`), or the connection fails. Everything else is kept in `backlog`.
fn wait_for(
    reader: &mut LinkReader,
    backlog: &mut VecDeque<Result<ServerMessage, ProtocolError>>,
    id: u64,
    wait: Duration,
    stop: &AtomicBool,
) -> Result<Option<Answer>, HelloError> {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return Err(HelloError::Stopped);
        }
        let Some(line) = reader.read_line()? else {
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        match ServerMessage::parse(&line) {
            Ok(ServerMessage::Response {
                id: got,
                result,
                error,
            }) if got == id => return Ok(Some(Answer { result, error })),
            other => {
                if backlog.len() < 256 {
                    backlog.push_back(other);
                }
            }
        }
    }
    Ok(None)
}
