//! `hashrig mine --node URL --address ADDR`: solo mining on one's own
//! node, the options, the check before mining (credentials and the payout
//! address's network: exit 2 when wrong), and the `block` lines.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

use crate::report::Report;
use hashrig::node::{address::script_for, Auth, Network, Node, NodeUrl, RpcError};

/// The solo-mining options of `hashrig mine`.
#[derive(Args, Clone, Default)]
pub(crate) struct NodeArgs {
    /// Mine solo on this node's getblocktemplate (its RPC address, for
    /// example http://127.0.0.1:8332). Repeat for failover; nodes and
    /// --pool URLs form one failover list in the order given.
    #[arg(long = "node", value_name = "URL", value_parser = parse_node)]
    pub nodes: Vec<NodeUrl>,
    /// The address the coinbase pays (checked for the node's network).
    #[arg(long, value_name = "ADDR")]
    pub address: Option<String>,
    /// The node's cookie file (default: the node's standard data
    /// directory for the network of the URL's port).
    #[arg(long, value_name = "PATH")]
    pub rpc_cookie: Option<PathBuf>,
    /// The node's rpcuser (with --rpc-pass), instead of the cookie.
    #[arg(long, value_name = "USER", requires = "rpc_pass")]
    pub rpc_user: Option<String>,
    /// The node's rpcpassword.
    #[arg(long, value_name = "PASSWORD", requires = "rpc_user")]
    pub rpc_pass: Option<String>,
    /// Text written into the coinbase of each block (default hashrig).
    #[arg(long, value_name = "TEXT")]
    pub coinbase_tag: Option<String>,
}

fn parse_node(text: &str) -> Result<NodeUrl, hashrig::Error> {
    text.parse()
}

/// The nodes the arguments stand for, checked.
pub(crate) fn nodes(a: &NodeArgs) -> Result<Vec<Node>> {
    if a.nodes.is_empty() {
        if a.address.is_some() {
            bail!("address: give --node URL too (solo mining on a node)");
        }
        return Ok(Vec::new());
    }
    let Some(address) = &a.address else {
        bail!("address: solo mining needs --address (the address the blocks pay)");
    };
    // The address must be one on some network; which one is known once
    // the node says.
    let known = [Network::Main, Network::Test, Network::Regtest]
        .iter()
        .any(|n| script_for(address, *n).is_ok());
    if !known {
        bail!("address: {address:?} is not a Bitcoin address (base58check or bech32)");
    }
    if let Some(tag) = &a.coinbase_tag {
        if tag.len() > 60 {
            bail!("coinbase-tag: at most 60 bytes, not {}", tag.len());
        }
    }
    // One way to log in: a cookie and a user beside it would leave which
    // one is used to a rule nobody reads.
    if a.rpc_cookie.is_some() && (a.rpc_user.is_some() || a.rpc_pass.is_some()) {
        bail!("rpc-cookie: give either --rpc-cookie or --rpc-user with --rpc-pass, not both");
    }
    let auth = match (&a.rpc_user, &a.rpc_pass, &a.rpc_cookie) {
        (Some(u), Some(p), _) => Some(Auth::UserPass(u.clone(), p.clone())),
        (_, _, Some(c)) => Some(Auth::Cookie(c.clone())),
        _ => None,
    };
    a.nodes
        .iter()
        .map(|url| {
            let mut n = Node::new(url.clone(), address, auth.clone())?;
            if let Some(tag) = &a.coinbase_tag {
                n.tag = tag.clone();
            }
            Ok(n)
        })
        .collect()
}

/// Before mining: each node that answers must take the credentials, and
/// the address must be of its network (exit 2 otherwise); a node that
/// does not answer yet is waited for while mining.
pub(crate) fn preflight<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> Result<()> {
    // A short wait: a node that does not answer at once is retried while
    // mining, and Ctrl-C is not held up here.
    let wait = std::time::Duration::from_secs(2);
    for n in nodes {
        let rpc = n.rpc();
        let info = match rpc.call_within("getblockchaininfo", serde_json::json!([]), wait) {
            Ok(info) => info,
            Err(RpcError::Unauthorized) => {
                bail!("node {}: the RPC credentials were refused (HTTP 401): check --rpc-cookie or --rpc-user/--rpc-pass", n.url)
            }
            Err(e) => {
                crate::status::above(|| {
                    eprintln!("hashrig: {}: {e}; retrying while mining", n.url)
                });
                continue;
            }
        };
        let chain = info.get("chain").and_then(|c| c.as_str()).unwrap_or("");
        if let Some(network) = Network::from_chain(chain) {
            if let Err(e) = script_for(&n.address, network) {
                bail!("address: {e} (the node at {} is on {network})", n.url);
            }
        }
        // A node on a chain that left SHA-256d says so when asked for a
        // template as hashrig asks: it can never be mined.
        let request = serde_json::json!([{"rules": ["segwit"]}]);
        if let Err(e) = rpc.call_within("getblocktemplate", request, wait) {
            if let Some(rule) = e.foreign_proof_of_work() {
                bail!("{} ({})", hashrig::node::foreign_chain(rule), n.url);
            }
        }
    }
    Ok(())
}

/// A `block` line: a block a node was sent, and its answer.
#[derive(Serialize)]
pub(crate) struct BlockLine {
    pub pool: usize,
    pub url: String,
    pub hash: String,
    pub height: Option<u64>,
    /// `accepted` or `rejected`.
    pub result: &'static str,
    /// The node's reason, when rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Report for BlockLine {
    const TYPE: &'static str = "block";
    fn text(&self) -> String {
        let height = self
            .height
            .map_or(String::new(), |h| format!(" at height {h}"));
        match &self.reason {
            None => format!(
                "hashrig: BLOCK {}{height} accepted by {}",
                self.hash, self.url
            ),
            Some(r) => format!(
                "hashrig: block {}{height} rejected by {}: {r}",
                self.hash, self.url
            ),
        }
    }
}

/// The height in a node job's id (`HEIGHT:SERIAL`).
pub(crate) fn height_of(job_id: &str) -> Option<u64> {
    job_id.split_once(':')?.0.parse().ok()
}
