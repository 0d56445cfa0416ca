//! Solo mining on one's own node: getblocktemplate (BIP 22, 23) as a work
//! source beside the Stratum pools, in one failover list. hashrig builds
//! the coinbase to the payout address itself, follows the node's new tips
//! by long polling, and sends each block it finds with `submitblock` the
//! moment it is verified.
//!
//! The pieces work on their own: [`rpc`] (JSON-RPC over HTTP), [`template`]
//! (a template to the header a device hashes, and back to the block) and
//! [`address`] (payout addresses for a network).

pub mod address;
pub(crate) mod client;
pub mod rpc;
pub mod template;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::{Error, PoolError};
pub use address::{AddressError, Network};
pub use client::{foreign_chain, NodeError};
pub use rpc::{Auth, Rpc, RpcError};
pub use template::{Coinbase, Template, TemplateError};

/// A node's RPC address: `http://HOST:PORT` (the port defaults to 8332).
#[derive(Clone, PartialEq, Eq)]
pub struct NodeUrl {
    /// The host.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl NodeUrl {
    /// `host:port`.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Where the node keeps its cookie by default for the network its
    /// standard RPC port stands for (`~/.bitcoin`, or `$BITCOIN_DATADIR`).
    pub fn default_cookie(&self) -> Option<PathBuf> {
        let dir = std::env::var_os("BITCOIN_DATADIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".bitcoin")))?;
        let sub = match self.port {
            18332 => "testnet3",
            48332 => "testnet4",
            38332 => "signet",
            18443 => "regtest",
            _ => "",
        };
        Some(dir.join(sub).join(".cookie"))
    }
}

impl fmt::Display for NodeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.address())
    }
}

impl fmt::Debug for NodeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeUrl({self})")
    }
}

impl std::str::FromStr for NodeUrl {
    type Err = Error;

    fn from_str(text: &str) -> Result<NodeUrl, Error> {
        let fail = |why: &str| {
            Error::Pool(PoolError::Url {
                kind: "node",
                url: text.to_string(),
                reason: why.to_string(),
            })
        };
        let rest = text
            .trim()
            .strip_prefix("http://")
            .ok_or_else(|| {
                fail("no http:// (the node's RPC address, for example http://127.0.0.1:8332)")
            })?
            .trim_end_matches('/');
        if rest.contains('@') {
            return Err(fail(
                "credentials (give them with --rpc-user and --rpc-pass, or --rpc-cookie)",
            ));
        }
        if rest.contains('/') {
            return Err(fail("a path after host:port"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, p) = v6.split_once(']').ok_or_else(|| fail("an unclosed '['"))?;
            match p {
                "" => (h, None),
                p => (
                    h,
                    Some(p.strip_prefix(':').ok_or_else(|| fail("a bad host"))?),
                ),
            }
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        if !crate::pool::usable_host(host, rest.starts_with('[')) {
            return Err(fail("a bad host"));
        }
        let port = match port {
            None => 8332,
            Some(p) => p
                .parse()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| fail("a port that is not 1 to 65535"))?,
        };
        Ok(NodeUrl {
            host: host.to_string(),
            port,
        })
    }
}

/// A node to mine on solo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its RPC address.
    pub url: NodeUrl,
    /// The credentials.
    pub auth: Auth,
    /// The payout address (checked against the node's network when
    /// connecting).
    pub address: String,
    /// Text in the coinbase (cut to fit its script).
    pub tag: String,
    /// How long a connection and an ordinary call may take.
    pub timeout: Duration,
}

impl Node {
    /// A node at `url` paying `address`, with the node's default cookie
    /// where no credentials are given.
    pub fn new(url: NodeUrl, address: &str, auth: Option<Auth>) -> Result<Node, Error> {
        if address.trim().is_empty() {
            return Err(PoolError::NoPayout(url.to_string()).into());
        }
        let auth = match auth {
            Some(a) => a,
            None => Auth::Cookie(
                url.default_cookie()
                    .ok_or_else(|| Error::from(PoolError::NoCredentials(url.to_string())))?,
            ),
        };
        Ok(Node {
            url,
            auth,
            address: address.trim().to_string(),
            tag: "hashrig".into(),
            timeout: Duration::from_secs(10),
        })
    }

    /// The node's RPC endpoint.
    pub fn rpc(&self) -> Rpc {
        Rpc {
            address: self.url.address(),
            auth: self.auth.clone(),
            timeout: self.timeout,
        }
    }
}

#[cfg(test)]
mod tests;
