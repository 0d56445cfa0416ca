//! How a pool miner behaves ([`PoolOptions`]): its one failover list of
//! pools and nodes, what each protocol asks for, and the failover every
//! protocol shares, checked in one place.

use std::time::Duration;

use super::UpstreamUrl;
use crate::node::Node;
use crate::pool::{FailoverOptions, Pool, Version};
use crate::stratum::V1Settings;
use crate::sv2::{Sv2Channel, Sv2Settings};
use crate::{Error, PoolError};

/// One entry of the failover list: a Stratum v1 or V2 pool, or a node to
/// mine on solo. Its URL's scheme says which ([`UpstreamUrl`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// A Stratum v1 or V2 pool.
    Pool(Pool),
    /// A node, for solo mining (getblocktemplate).
    Node(Node),
}

impl Upstream {
    /// Its URL.
    pub fn url(&self) -> UpstreamUrl {
        match self {
            Upstream::Pool(p) => UpstreamUrl::Pool(p.url.clone()),
            Upstream::Node(n) => UpstreamUrl::Node(n.url.clone()),
        }
    }
}

impl From<Pool> for Upstream {
    fn from(pool: Pool) -> Upstream {
        Upstream::Pool(pool)
    }
}

impl From<Node> for Upstream {
    fn from(node: Node) -> Upstream {
        Upstream::Node(node)
    }
}

/// How a [`PoolMiner`](crate::pool::PoolMiner) behaves. The defaults are what a rig wants; tests
/// shorten the times.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// The failover list, first choice first, where pools and nodes mix
    /// (a node first and a pool as its backup, say). The miner's
    /// statistics and events number the upstreams in this order.
    pub upstreams: Vec<Upstream>,
    /// Extra trust anchors (PEM) for TLS pools, beside Mozilla's roots.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// The user agent sent in `mining.subscribe`.
    pub agent: String,
    /// Whether to ask for BIP 310 version rolling.
    pub version_rolling: bool,
    /// Whether `client.reconnect` may send the miner to another host.
    pub allow_redirect: bool,
    /// How the miner reconnects, fails over and comes back (the same for
    /// every protocol).
    pub failover: FailoverOptions,
    /// The read timeout of the connection thread (how quickly it notices
    /// a stop or a timer).
    pub poll: Duration,
    /// Whether Stratum V2 pools whose URL names no authority key may be
    /// used: encrypted, but anyone on the path could stand in for the pool.
    pub allow_unauthenticated: bool,
    /// Which Stratum V2 channel to open.
    pub sv2_channel: Sv2Channel,
    /// Whether a Stratum V2 standard channel asks for standard jobs only
    /// (`REQUIRES_STANDARD_JOBS`); without, a pool may send extended jobs
    /// for the channel's group, which hashrig then builds itself.
    pub sv2_standard_jobs: bool,
    /// How long a Stratum V2 handshake (Noise, connection setup, channel)
    /// may take.
    pub handshake_timeout: Duration,
    /// How often a node that offers no long poll is asked for a template.
    pub node_poll: Duration,
}

impl PoolOptions {
    /// Defaults for the failover list `upstreams`, first choice first.
    pub fn new(upstreams: Vec<Upstream>) -> PoolOptions {
        PoolOptions {
            upstreams,
            extra_ca_pem: None,
            agent: format!("hashrig/{}", env!("CARGO_PKG_VERSION")),
            version_rolling: true,
            allow_redirect: false,
            failover: FailoverOptions::default(),
            poll: Duration::from_millis(100),
            allow_unauthenticated: false,
            sv2_channel: Sv2Channel::Auto,
            sv2_standard_jobs: true,
            handshake_timeout: Duration::from_secs(10),
            node_poll: Duration::from_secs(5),
        }
    }
}

impl PoolOptions {
    /// The pools of the failover list, in its order.
    pub fn pools(&self) -> impl Iterator<Item = &Pool> {
        self.upstreams.iter().filter_map(|u| match u {
            Upstream::Pool(p) => Some(p),
            Upstream::Node(_) => None,
        })
    }

    /// The nodes of the failover list, in its order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.upstreams.iter().filter_map(|u| match u {
            Upstream::Node(n) => Some(n),
            Upstream::Pool(_) => None,
        })
    }

    /// What Stratum v1 takes from these options.
    pub(crate) fn v1_settings(&self) -> V1Settings {
        V1Settings {
            pools: self.pools().cloned().collect(),
            extra_ca_pem: self.extra_ca_pem.clone(),
            agent: self.agent.clone(),
            version_rolling: self.version_rolling,
            allow_redirect: self.allow_redirect,
            poll: self.poll,
        }
    }

    /// What Stratum V2 takes from these options.
    pub(crate) fn sv2_settings(&self) -> Sv2Settings {
        Sv2Settings {
            pools: self.pools().cloned().collect(),
            agent: self.agent.clone(),
            version_rolling: self.version_rolling,
            allow_redirect: self.allow_redirect,
            poll: self.poll,
            channel: self.sv2_channel,
            standard_jobs: self.sv2_standard_jobs,
            handshake_timeout: self.handshake_timeout,
        }
    }

    /// Checks every option: what [`PoolMiner::start`](crate::pool::PoolMiner::start) calls first.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |option: &'static str, reason: &str| {
            Err(Error::Options {
                option,
                reason: reason.to_string(),
            })
        };
        if self.upstreams.is_empty() {
            return Err(PoolError::Empty.into());
        }
        if self.node_poll.is_zero() {
            return bad("node-poll", "must be longer than zero");
        }
        // The CA file as the connection will read it: a file with no
        // certificate is refused now, not at the first TLS connection.
        if let Some(pem) = &self.extra_ca_pem {
            crate::stratum::tls_config(Some(pem))?;
        }
        self.failover.validate()?;
        for p in self.pools() {
            if p.url.version
                == (Version::V2 {
                    authority_key: None,
                })
                && !self.allow_unauthenticated
            {
                return Err(PoolError::NoAuthorityKey(p.url.to_string()).into());
            }
        }
        if self.handshake_timeout.is_zero() {
            return bad("handshake-timeout", "must be longer than zero");
        }
        if self.poll.is_zero() {
            return bad("poll", "must be longer than zero");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Auth;

    #[test]
    fn the_failover_list_is_one_list_in_its_order() {
        let pool =
            |w: &str| Pool::new("stratum+tcp://p:1".parse().unwrap(), Some(w), None).unwrap();
        let auth = Auth::UserPass("u".into(), "p".into());
        let node = Node::new("http://127.0.0.1:18443".parse().unwrap(), "a", Some(auth)).unwrap();
        let o = PoolOptions::new(vec![
            node.clone().into(),
            pool("a").into(),
            pool("b").into(),
        ]);
        assert!(o.validate().is_ok());
        assert_eq!(o.nodes().collect::<Vec<_>>(), [&node]);
        let users: Vec<_> = o.pools().map(|p| p.user.clone()).collect();
        assert_eq!(users, ["a", "b"]);
        assert_eq!(o.upstreams[0].url().to_string(), "http://127.0.0.1:18443");
        assert!(matches!(
            PoolOptions::new(Vec::new()).validate(),
            Err(Error::Pool(PoolError::Empty))
        ));
    }
}
