//! Stratum V2 as a protocol of the pool layer ([`crate::pool`]): to one
//! pool of the list, TCP, the Noise NX handshake pinned to the URL's
//! authority key (checked again on every connection), `SetupConnection`
//! and one channel, standard or extended; `Reconnect` followed to the same
//! host (elsewhere only where allowed). Solved headers are turned back
//! into shares by the same origins the Stratum v1 roller records.

use std::collections::VecDeque;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::channel::{Channel, ChannelKind, Opened as ChannelOpened};
use super::messages::{
    self, Device, Incoming, REQUIRES_EXTENDED_CHANNELS, REQUIRES_FIXED_VERSION,
    REQUIRES_STANDARD_JOBS, REQUIRES_VERSION_ROLLING,
};
use super::transport::HandshakeError;
use super::transport::{self, Frame, Reader, Writer};
use crate::pool::protocol::{Link, LinkError, Opened, Opening, Redirect};
use crate::pool::roller::Origins;
use crate::pool::{Pool, PoolUrl, Version};
use crate::Target;

/// Which Stratum V2 channel a pool miner opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Sv2Channel {
    /// A standard channel (header-only), or an extended one where the
    /// rig's rate would use up a standard channel's header space (2^32
    /// nonces times the version bits) in under a second, or where the pool
    /// serves only extended channels.
    #[default]
    Auto,
    /// Always a standard channel.
    Standard,
    /// Always an extended channel: the rig rolls an extranonce of its own
    /// and builds the coinbase and merkle root.
    Extended,
}

/// What Stratum V2 takes from a pool miner's options: its pools and how
/// it speaks to them.
#[derive(Clone, Debug)]
pub struct Sv2Settings {
    /// The Stratum V2 pools, in the order of the miner's list.
    pub pools: Vec<Pool>,
    /// The firmware string of `SetupConnection`.
    pub agent: String,
    /// Whether to ask for version rolling.
    pub version_rolling: bool,
    /// Whether `Reconnect` may send the miner to another host.
    pub allow_redirect: bool,
    /// The read timeout of the connection thread.
    pub poll: Duration,
    /// Which channel to open.
    pub channel: Sv2Channel,
    /// Whether a standard channel asks for standard jobs only
    /// (`REQUIRES_STANDARD_JOBS`).
    pub standard_jobs: bool,
    /// How long a handshake (Noise, connection setup, channel) may take.
    pub handshake_timeout: Duration,
}

/// A standard channel's header space per second of time: 2^32 nonces
/// times the 2^16 versions of BIP 320's bits. A rig faster than this opens
/// an extended channel.
const STANDARD_SPACE_PER_SECOND: f64 = 4_294_967_296.0 * 65_536.0;

/// The rate announced before any hashing (1 GH/s): the pool's first
/// target, corrected by `UpdateChannel` once the rate is measured.
const FIRST_RATE: f64 = 1e9;

/// How many extranonce bytes an extended channel asks for at least.
const EXTRANONCE_SIZE: u16 = 8;

/// Stratum V2 over the pools of one [`Sv2Settings`].
pub(crate) struct StratumV2 {
    options: Sv2Settings,
    origins: Arc<Mutex<Origins>>,
    /// Where `Reconnect` sent the miner, per pool.
    redirects: Mutex<Vec<Option<(String, u16)>>>,
}

impl StratumV2 {
    pub fn new(options: Sv2Settings, origins: Arc<Mutex<Origins>>) -> StratumV2 {
        let redirects = Mutex::new(vec![None; options.pools.len()]);
        StratumV2 {
            options,
            origins,
            redirects,
        }
    }

    fn redirects(&self) -> std::sync::MutexGuard<'_, Vec<Option<(String, u16)>>> {
        self.redirects.lock().expect("not poisoned")
    }
}

/// A connection being set up: the stream and both halves of the Noise
/// transport, and the frames read that belong to the channel.
struct Wire {
    stream: TcpStream,
    reader: Reader,
    writer: Writer,
    backlog: VecDeque<Frame>,
}

impl Wire {
    fn send(&mut self, frame: &Frame) -> Result<(), Opened> {
        use std::io::Write;
        let bytes = self
            .writer
            .encrypt(frame)
            .map_err(|e| Opened::Failed(LinkError::Protocol(format!("encrypting: {e}"))))?;
        (&self.stream)
            .write_all(&bytes)
            .map_err(|e| Opened::Failed(LinkError::Write(e)))
    }

    /// The next frame that answers the handshake, keeping the others
    /// (jobs may come before the channel's success) for the channel.
    fn answer(
        &mut self,
        deadline: Instant,
        stop: &std::sync::atomic::AtomicBool,
        timeout: Duration,
    ) -> Result<Incoming, Opened> {
        loop {
            if stop.load(Ordering::Relaxed) {
                return Err(Opened::Stopped);
            }
            if Instant::now() >= deadline {
                return Err(Opened::Failed(LinkError::TimedOut {
                    what: "the Stratum V2 setup",
                    after: timeout,
                }));
            }
            let frame = match self.reader.read(&mut self.stream) {
                Ok(Some(f)) => f,
                Ok(None) => continue,
                Err(e) => return Err(Opened::Failed(LinkError::Upstream(Box::new(e)))),
            };
            match Incoming::parse(&frame) {
                Ok(
                    m @ (Incoming::SetupSuccess { .. }
                    | Incoming::SetupError { .. }
                    | Incoming::StandardOpened { .. }
                    | Incoming::ExtendedOpened { .. }
                    | Incoming::OpenError { .. }),
                ) => return Ok(m),
                _ => {
                    if self.backlog.len() >= 256 {
                        return Err(Opened::Failed(LinkError::Protocol(
                            "more than 256 messages before the channel opened".into(),
                        )));
                    }
                    self.backlog.push_back(frame);
                }
            }
        }
    }
}

fn connect(address: &str, poll: Duration) -> Result<TcpStream, LinkError> {
    let failed = |address: String, source| LinkError::Connect { address, source };
    let addrs = address
        .to_socket_addrs()
        .map_err(|e| failed(address.to_string(), e))?;
    let mut last = failed(
        address.to_string(),
        std::io::Error::new(std::io::ErrorKind::NotFound, "the name has no address"),
    );
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
            Ok(s) => {
                let setup = s
                    .set_nodelay(true)
                    .and_then(|_| s.set_read_timeout(Some(poll)))
                    .and_then(|_| s.set_write_timeout(Some(Duration::from_secs(10))));
                setup.map_err(|e| failed(addr.to_string(), e))?;
                return Ok(s);
            }
            Err(e) => last = failed(addr.to_string(), e),
        }
    }
    Err(last)
}

/// What failover is told of a failed Noise handshake.
fn handshake_failed(e: HandshakeError, timeout: Duration) -> LinkError {
    match e {
        HandshakeError::TimedOut(_) => LinkError::TimedOut {
            what: "the Noise handshake",
            after: timeout,
        },
        HandshakeError::Closed => LinkError::Closed(e.to_string()),
        HandshakeError::WrongKey(_) | HandshakeError::Expired { .. } => {
            LinkError::Authentication(Box::new(e))
        }
        e => LinkError::Upstream(Box::new(e)),
    }
}

impl crate::pool::protocol::Protocol for StratumV2 {
    fn open(&self, pool: usize, probe: bool, cx: &Opening<'_>) -> Result<Box<dyn Link>, Opened> {
        let p = &self.options.pools[pool];
        let Version::V2 { authority_key } = p.url.version else {
            return Err(Opened::Failed(LinkError::Protocol(format!(
                "{} is not a Stratum V2 pool",
                p.url
            ))));
        };
        let (host, port) = match (&self.redirects()[pool], probe) {
            (Some((h, port)), false) => (h.clone(), *port),
            _ => (p.url.host.clone(), p.url.port),
        };
        let target = PoolUrl {
            host: host.clone(),
            port,
            ..p.url.clone()
        };
        let timeout = self.options.handshake_timeout;
        let deadline = Instant::now() + timeout;
        let started = Instant::now();
        let mut stream = connect(&target.address(), self.options.poll).map_err(Opened::Failed)?;
        let (reader, writer) = transport::handshake(&mut stream, authority_key.as_ref(), timeout)
            .map_err(|e| Opened::Failed(handshake_failed(e, timeout)))?;
        if authority_key.is_none() {
            (cx.note)(
                "connected without an authority key: encrypted, but the pool is NOT authenticated"
                    .into(),
            );
        }
        let mut wire = Wire {
            stream,
            reader,
            writer,
            backlog: VecDeque::new(),
        };

        let extended_for_rate = cx.hashrate > STANDARD_SPACE_PER_SECOND;
        let mut kind = match self.options.channel {
            Sv2Channel::Extended => ChannelKind::Extended,
            Sv2Channel::Standard => ChannelKind::Standard,
            Sv2Channel::Auto if extended_for_rate => ChannelKind::Extended,
            Sv2Channel::Auto => ChannelKind::Standard,
        };
        let mut flags = 0;
        if self.options.version_rolling {
            flags |= REQUIRES_VERSION_ROLLING;
        }
        if kind == ChannelKind::Standard && self.options.standard_jobs {
            flags |= REQUIRES_STANDARD_JOBS;
        }
        let agent = &self.options.agent;
        let device = Device {
            endpoint_host: &host,
            endpoint_port: port,
            vendor: "hashrig",
            hardware: "gpu-cpu",
            firmware: agent,
            device_id: &p.user,
        };
        wire.send(&messages::setup_connection(flags, &device))?;
        let server_flags = match wire.answer(deadline, cx.stop, timeout)? {
            Incoming::SetupSuccess {
                used_version: 2,
                flags,
            } => flags,
            Incoming::SetupSuccess { used_version, .. } => {
                return Err(Opened::Failed(LinkError::Protocol(format!(
                    "the pool set up protocol version {used_version}, not 2"
                ))))
            }
            Incoming::SetupError { flags, code } => {
                return Err(Opened::Failed(LinkError::Refused(format!(
                    "the pool refused the connection: {code} (flags {flags:#x})"
                ))))
            }
            other => {
                return Err(Opened::Failed(LinkError::Protocol(format!(
                    "the pool answered SetupConnection with {other:?}"
                ))))
            }
        };
        if server_flags & REQUIRES_EXTENDED_CHANNELS != 0 && kind == ChannelKind::Standard {
            (cx.note)("the pool serves extended channels only: opening one".into());
            kind = ChannelKind::Extended;
        }
        let version_rolling =
            self.options.version_rolling && server_flags & REQUIRES_FIXED_VERSION == 0;
        let rate = if cx.hashrate > 0.0 {
            cx.hashrate
        } else {
            FIRST_RATE
        } as f32;
        let open = match kind {
            ChannelKind::Standard => messages::open_standard(1, &p.user, rate, &Target::MAX),
            ChannelKind::Extended => {
                messages::open_extended(1, &p.user, rate, &Target::MAX, EXTRANONCE_SIZE)
            }
        };
        wire.send(&open)?;
        let opened = match wire.answer(deadline, cx.stop, timeout)? {
            Incoming::StandardOpened {
                channel_id,
                target,
                extranonce_prefix,
                group_channel_id,
                ..
            } if kind == ChannelKind::Standard => ChannelOpened {
                kind,
                channel_id,
                group_channel_id,
                target,
                extranonce_prefix,
                extranonce_size: 0,
            },
            Incoming::ExtendedOpened {
                channel_id,
                target,
                extranonce_size,
                extranonce_prefix,
                group_channel_id,
                ..
            } if kind == ChannelKind::Extended => {
                if extranonce_size == 0 || extranonce_size > 32 {
                    return Err(Opened::Failed(LinkError::Protocol(format!(
                        "the pool granted an extranonce of {extranonce_size} bytes (1 to 32 are usable)"
                    ))));
                }
                ChannelOpened {
                    kind,
                    channel_id,
                    group_channel_id,
                    target,
                    extranonce_prefix,
                    extranonce_size: extranonce_size as usize,
                }
            }
            Incoming::OpenError { code, .. } => {
                return Err(Opened::Failed(LinkError::Refused(format!(
                    "the pool did not open the channel: {code}"
                ))))
            }
            other => {
                return Err(Opened::Failed(LinkError::Protocol(format!(
                    "the pool answered the channel request with {other:?}"
                ))))
            }
        };
        let rtt = started.elapsed();
        let reader_stream = wire
            .stream
            .try_clone()
            .map_err(|source| Opened::Failed(LinkError::Io(source)))?;
        Ok(Box::new(Channel::new(
            opened,
            super::channel::Parts {
                stream: reader_stream,
                write_stream: wire.stream,
                reader: wire.reader,
                writer: wire.writer,
                backlog: wire.backlog,
            },
            self.origins.clone(),
            rtt,
            version_rolling,
            rate,
        )))
    }

    fn redirect(&self, pool: usize, to: &Redirect) -> String {
        let p = &self.options.pools[pool].url;
        let same_host = to.host.as_ref().is_none_or(|h| *h == p.host);
        if !(same_host || self.options.allow_redirect) {
            return "the pool asked to reconnect to another host (not followed without --allow-redirect); reconnecting here".into();
        }
        let mut redirects = self.redirects();
        let (mut host, mut port) = redirects[pool]
            .clone()
            .unwrap_or_else(|| (p.host.clone(), p.port));
        if let Some(h) = &to.host {
            host = h.clone();
        }
        if let Some(n) = to.port.filter(|&n| n != 0) {
            port = n;
        }
        let text = format!("the pool asked to reconnect to {host}:{port}");
        redirects[pool] = Some((host, port));
        text
    }

    fn forget_redirect(&self, pool: usize) {
        self.redirects()[pool] = None;
    }

    fn draft(&self, header: &crate::Header) -> Option<crate::pool::protocol::Draft> {
        crate::pool::roller::draft(&self.origins, header)
    }
}
