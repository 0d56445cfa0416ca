//! How a pool miner behaves ([`PoolOptions`]): its pools and nodes, what
//! each protocol asks for, and the failover every protocol shares,
//! checked in one place.

use std::time::Duration;

use crate::pool::{FailoverOptions, Pool, Version};
use crate::stratum::V1Settings;
use crate::sv2::{Sv2Channel, Sv2Settings};
use crate::{Error, PoolError};

/// One entry of the failover list: a pool of [`PoolOptions::pools`] or a
/// node of [`PoolOptions::nodes`], by its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// `pools[i]`.
    Pool(usize),
    /// `nodes[i]`.
    Node(usize),
}

/// How a [`PoolMiner`](crate::pool::PoolMiner) behaves. The defaults are what a rig wants; tests
/// shorten the times.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// The pools, first choice first.
    pub pools: Vec<Pool>,
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
    /// Nodes to mine on solo (getblocktemplate); in the failover list
    /// after the pools, unless [`order`](Self::order) says otherwise.
    pub nodes: Vec<crate::node::Node>,
    /// The failover list, first choice first, where pools and nodes mix
    /// (a node first and a pool as its backup, say): every pool and every
    /// node exactly once. Empty: the pools in their order, then the nodes.
    /// The miner's statistics and events number the pools in this order.
    pub order: Vec<Upstream>,
    /// How often a node that offers no long poll is asked for a template.
    pub node_poll: Duration,
}

impl PoolOptions {
    /// Defaults for `pools` (add nodes to [`nodes`](Self::nodes)).
    pub fn new(pools: Vec<Pool>) -> PoolOptions {
        PoolOptions {
            pools,
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
            nodes: Vec::new(),
            order: Vec::new(),
            node_poll: Duration::from_secs(5),
        }
    }
}

impl PoolOptions {
    /// What Stratum v1 takes from these options.
    pub(crate) fn v1_settings(&self) -> V1Settings {
        V1Settings {
            pools: self.pools.clone(),
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
            pools: self.pools.clone(),
            agent: self.agent.clone(),
            version_rolling: self.version_rolling,
            allow_redirect: self.allow_redirect,
            poll: self.poll,
            channel: self.sv2_channel,
            standard_jobs: self.sv2_standard_jobs,
            handshake_timeout: self.handshake_timeout,
        }
    }

    /// The failover list: [`order`](Self::order), or the pools and then
    /// the nodes where it is empty.
    pub fn upstreams(&self) -> Vec<Upstream> {
        if self.order.is_empty() {
            self.default_order()
        } else {
            self.order.clone()
        }
    }

    fn default_order(&self) -> Vec<Upstream> {
        (0..self.pools.len())
            .map(Upstream::Pool)
            .chain((0..self.nodes.len()).map(Upstream::Node))
            .collect()
    }

    /// Checks every option: what [`PoolMiner::start`](crate::pool::PoolMiner::start) calls first.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |option: &'static str, reason: &str| {
            Err(Error::Options {
                option,
                reason: reason.to_string(),
            })
        };
        if self.pools.is_empty() && self.nodes.is_empty() {
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
        if !self.order.is_empty() {
            let mut sorted = self.order.clone();
            sorted.sort_by_key(|u| match *u {
                Upstream::Pool(i) => (0, i),
                Upstream::Node(i) => (1, i),
            });
            if sorted != self.default_order() {
                return bad("order", "must name every pool and every node exactly once");
            }
        }
        for p in &self.pools {
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
    use crate::node::{Auth, Node};

    fn mixed() -> PoolOptions {
        let pool = Pool::new("stratum+tcp://p:1".parse().unwrap(), Some("w"), None).unwrap();
        let mut o = PoolOptions::new(vec![pool.clone(), pool]);
        let auth = Auth::UserPass("u".into(), "p".into());
        let node = Node::new("http://127.0.0.1:18443".parse().unwrap(), "a", Some(auth)).unwrap();
        o.nodes = vec![node];
        o
    }

    #[test]
    fn the_failover_list_is_the_order_given_or_pools_then_nodes() {
        let mut o = mixed();
        assert_eq!(
            o.upstreams(),
            [Upstream::Pool(0), Upstream::Pool(1), Upstream::Node(0)]
        );
        o.order = vec![Upstream::Node(0), Upstream::Pool(1), Upstream::Pool(0)];
        assert!(o.validate().is_ok());
        assert_eq!(o.upstreams(), o.order);
        // Every pool and node once: none missing, none twice, none unknown.
        for order in [
            vec![Upstream::Node(0), Upstream::Pool(0)],
            vec![Upstream::Node(0), Upstream::Pool(0), Upstream::Pool(0)],
            vec![Upstream::Node(1), Upstream::Pool(0), Upstream::Pool(1)],
        ] {
            o.order = order;
            assert!(
                matches!(
                    o.validate(),
                    Err(Error::Options {
                        option: "order",
                        ..
                    })
                ),
                "{:?}",
                o.order
            );
        }
    }
}
