//! Stratum v1 as a protocol of the pool layer ([`crate::pool`]): the
//! handshake to one pool of the list (without `mining.configure` for a
//! pool that closes the connection on it, resuming the last session),
//! `client.reconnect` followed to the same host (elsewhere only where
//! allowed), and a solved header turned back into its share through the
//! merkle roots the roller recorded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::connection::Connection;
use super::session::{self, Hello, HelloError};
use crate::pool::protocol::{Draft, Link, LinkError, Opened, Opening, Protocol, Redirect};
use crate::pool::roller::Origins;
use crate::pool::{Pool, PoolUrl};
use crate::Header;

/// What Stratum v1 takes from a pool miner's options: its pools and how
/// it speaks to them.
#[derive(Clone, Debug)]
pub struct V1Settings {
    /// The Stratum v1 pools, in the order of the miner's list.
    pub pools: Vec<Pool>,
    /// Extra trust anchors (PEM) for TLS pools, beside Mozilla's roots.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// The user agent sent in `mining.subscribe`.
    pub agent: String,
    /// Whether to ask for BIP 310 version rolling.
    pub version_rolling: bool,
    /// Whether `client.reconnect` may send the miner to another host.
    pub allow_redirect: bool,
    /// The read timeout of the connection thread.
    pub poll: Duration,
}

/// What Stratum v1 remembers per pool across connections.
#[derive(Default, Clone)]
struct Memory {
    /// The pool closed the connection on `mining.configure`.
    no_configure: bool,
    /// The session id to resume.
    resume: Option<String>,
    /// Where `client.reconnect` sent the miner.
    redirect: Option<PoolUrl>,
}

/// Stratum v1 over the pools of one [`V1Settings`].
pub(crate) struct StratumV1 {
    pub options: V1Settings,
    tls: Arc<rustls::ClientConfig>,
    /// Headers handed out, by merkle root.
    pub origins: Arc<Mutex<Origins>>,
    memory: Mutex<Vec<Memory>>,
}

impl StratumV1 {
    pub fn new(options: V1Settings) -> Result<StratumV1, crate::Error> {
        let tls = super::link::tls_config(options.extra_ca_pem.as_deref())?;
        let memory = Mutex::new(vec![Memory::default(); options.pools.len()]);
        Ok(StratumV1 {
            options,
            tls,
            origins: Arc::new(Mutex::new(Origins::default())),
            memory,
        })
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Vec<Memory>> {
        self.memory.lock().expect("not poisoned")
    }

    fn hello(
        &self,
        pool: usize,
        probe: bool,
        cx: &Opening<'_>,
    ) -> Result<session::Session, HelloError> {
        let p = &self.options.pools[pool];
        let memory = self.memory()[pool].clone();
        let url = match (&memory.redirect, probe) {
            (Some(to), false) => to.clone(),
            _ => p.url.clone(),
        };
        let hello = Hello {
            pool: p,
            url: &url,
            tls: &self.tls,
            configure: self.options.version_rolling && !memory.no_configure,
            resume: if probe {
                None
            } else {
                memory.resume.as_deref()
            },
            agent: &self.options.agent,
            poll: self.options.poll,
            stop: cx.stop,
        };
        match session::open(&hello) {
            Err(HelloError::ClosedOnConfigure) if !probe => {
                self.memory()[pool].no_configure = true;
                (cx.note)(
                    "the pool closed the connection on mining.configure; trying without version rolling".into(),
                );
                self.hello(pool, probe, cx)
            }
            other => other,
        }
    }
}

impl Protocol for StratumV1 {
    fn open(&self, pool: usize, probe: bool, cx: &Opening<'_>) -> Result<Box<dyn Link>, Opened> {
        match self.hello(pool, probe, cx) {
            Ok(session) => {
                self.memory()[pool].resume = session.subscription.session_id.clone();
                let worker = self.options.pools[pool].user.clone();
                let origins = self.origins.clone();
                let agent = self.options.agent.clone();
                Ok(Box::new(Connection::new(session, worker, origins, agent)))
            }
            Err(HelloError::Stopped) => Err(Opened::Stopped),
            Err(HelloError::Io(source)) => Err(Opened::Failed(LinkError::Io(source))),
            Err(e @ HelloError::ClosedOnConfigure) => {
                Err(Opened::Failed(LinkError::Closed(e.to_string())))
            }
            Err(HelloError::Refused(why)) => Err(Opened::Failed(LinkError::Refused(why))),
        }
    }

    fn redirect(&self, pool: usize, to: &Redirect) -> String {
        let p = &self.options.pools[pool].url;
        let same_host = to.host.as_ref().is_none_or(|h| *h == p.host);
        if !(same_host || self.options.allow_redirect) {
            return "the pool asked to reconnect to another host (not followed without --allow-redirect); reconnecting here".into();
        }
        let mut memory = self.memory();
        let mut url = memory[pool].redirect.clone().unwrap_or_else(|| p.clone());
        if let Some(h) = &to.host {
            url.host = h.clone();
        }
        if let Some(port) = to.port.filter(|&p| p != 0) {
            url.port = port;
        }
        memory[pool].redirect = Some(url.clone());
        format!("the pool asked to reconnect to {url}")
    }

    fn forget_redirect(&self, pool: usize) {
        self.memory()[pool].redirect = None;
    }

    fn draft(&self, header: &Header) -> Option<Draft> {
        crate::pool::roller::draft(&self.origins, header)
    }
}
