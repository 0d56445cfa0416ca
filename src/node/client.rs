//! Solo mining as a work source of the pool layer ([`crate::pool`]): to
//! one node of the list, `getblockchaininfo` (the network, which the payout
//! address must belong to; not while loading or in initial download), then
//! `getblocktemplate {"rules": ["segwit"]}` and long polling (or polling
//! where the node offers no long poll) on a thread of its own; each
//! template a job (a new tip voids the old ones, more fees for the same tip
//! do not); a solved header, verified by the layer, is assembled into its
//! block and sent with `submitblock` at once, the node's answer reported.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::address::{script_for, AddressError, Network};
use super::rpc::{Rpc, RpcError};
use super::template::{self, Coinbase, Template, TemplateError};
use super::Node;
use crate::pool::book::Verdict;
use crate::pool::protocol::{
    Draft, End, Feed, Handshake, Link, LinkError, Opened, Opening, Redirect, ShareWriter,
};
use crate::pool::roller::{Origins, Places};
use crate::pool::PoolChange;

/// BIP 320's general-purpose version bits.
const VERSION_MASK: u32 = 0x1fff_e000;

/// How many templates of the current tip are kept for their blocks.
const TEMPLATES_KEPT: usize = 32;

/// How many call timeouts a long poll waits before the node is checked
/// (a quick `getblockchaininfo`) and the long poll asked again: a node
/// that hangs is told from one with no news.
const LONG_POLL_TIMEOUTS: u32 = 3;

/// The nodes of one pool list, solo.
pub(crate) struct Solo {
    nodes: Vec<Node>,
    origins: Arc<Mutex<Origins>>,
    version_rolling: bool,
    /// How often to poll where the node offers no long poll.
    poll_every: Duration,
    /// The connection thread's read timeout.
    poll: Duration,
}

impl Solo {
    pub fn new(
        nodes: Vec<Node>,
        origins: Arc<Mutex<Origins>>,
        version_rolling: bool,
        poll_every: Duration,
        poll: Duration,
    ) -> Solo {
        Solo {
            nodes,
            origins,
            version_rolling,
            poll_every,
            poll,
        }
    }
}

/// Why a node cannot be mined on now.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The RPC call failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The node follows a chain hashrig does not know.
    #[error("node: an unknown chain {0:?}")]
    UnknownChain(String),
    /// The node is still downloading the chain.
    #[error("node: in initial block download (block {blocks} of {headers}): waiting")]
    InitialDownload {
        /// Blocks it has.
        blocks: u64,
        /// Headers it knows.
        headers: u64,
    },
    /// The node's chain is not SHA-256d (the rule its templates need).
    #[error("{}", foreign_chain(.0))]
    ForeignChain(&'static str),
    /// The template cannot be mined.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The payout address does not suit the node's network.
    #[error("--address: {0}")]
    Address(#[from] AddressError),
}

/// What `getblockchaininfo` says, checked for mining.
pub fn chain_of(rpc: &Rpc) -> Result<Network, NodeError> {
    let info = rpc.call("getblockchaininfo", json!([]))?;
    let chain = info.get("chain").and_then(Value::as_str).unwrap_or("");
    let network =
        Network::from_chain(chain).ok_or_else(|| NodeError::UnknownChain(chain.to_string()))?;
    if info.get("initialblockdownload").and_then(Value::as_bool) == Some(true) {
        let blocks = info.get("blocks").and_then(Value::as_u64).unwrap_or(0);
        let headers = info.get("headers").and_then(Value::as_u64).unwrap_or(0);
        return Err(NodeError::InitialDownload { blocks, headers });
    }
    Ok(network)
}

fn template_of(rpc: &Rpc, longpoll: Option<&str>, wait: Duration) -> Result<Template, NodeError> {
    let mut request = json!({"rules": ["segwit"]});
    if let Some(id) = longpoll {
        request["longpollid"] = json!(id);
    }
    let v = rpc
        .call_within("getblocktemplate", json!([request]), wait)
        .map_err(|e| match e.foreign_proof_of_work() {
            Some(rule) => NodeError::ForeignChain(rule),
            None => NodeError::Rpc(e),
        })?;
    Ok(Template::from_json(&v)?)
}

/// What to say of a node whose chain's proof of work is `rule`, not
/// SHA-256d.
pub fn foreign_chain(rule: &str) -> String {
    format!(
        "node: this node follows a chain whose proof of work is not SHA-256d (its templates need the {rule:?} rule); hashrig mines SHA-256d only"
    )
}

/// What the poller thread and the block writer tell the connection.
enum Update {
    Template(Box<Template>),
    Failed(NodeError),
    /// The node's answer to a block.
    Answer(BlockAnswer),
}

/// The node's answer to block `id`, built on the tip `prev`.
struct BlockAnswer {
    id: u64,
    verdict: Verdict,
    prev: [u8; 32],
}

impl crate::pool::protocol::Protocol for Solo {
    fn open(&self, pool: usize, _probe: bool, cx: &Opening<'_>) -> Result<Box<dyn Link>, Opened> {
        let node = &self.nodes[pool];
        let rpc = node.rpc();
        let started = Instant::now();
        let failed = |e: NodeError| Opened::Failed(LinkError::Upstream(Box::new(e)));
        let network = chain_of(&rpc).map_err(failed)?;
        let payout = script_for(&node.address, network).map_err(|e| failed(e.into()))?;
        let first = template_of(&rpc, None, rpc.timeout).map_err(failed)?;
        (cx.note)(format!(
            "solo on {network} at height {}: {} transactions, {} sat to {}",
            first.height,
            first.transactions.len(),
            first.coinbase_value,
            node.address
        ));
        let rtt = started.elapsed();
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        spawn_poller(
            rpc.clone(),
            &first,
            self.poll_every,
            tx.clone(),
            stop.clone(),
        );
        let jobs = Arc::new(Mutex::new(VecDeque::new()));
        let writer = Arc::new(BlockWriter {
            rpc,
            jobs: jobs.clone(),
            answers: Mutex::new(tx),
            spent: Arc::default(),
        });
        Ok(Box::new(NodeLink {
            first: Some(Box::new(first)),
            rx,
            stop,
            poll: self.poll,
            writer,
            jobs,
            payout,
            tag: node.tag.clone().into_bytes(),
            origins: self.origins.clone(),
            places: Places::default(),
            version_mask: if self.version_rolling {
                VERSION_MASK
            } else {
                0
            },
            current: None,
            serial: 0,
            rtt,
        }))
    }

    fn redirect(&self, _pool: usize, _to: &Redirect) -> String {
        "a node does not redirect".into()
    }

    fn forget_redirect(&self, _pool: usize) {}

    fn draft(&self, header: &crate::Header) -> Option<Draft> {
        crate::pool::roller::draft(&self.origins, header)
    }
}

/// Asks the node for templates: a long poll where it offers one, else
/// every `every`; until the connection ends.
fn spawn_poller(
    rpc: Rpc,
    first: &Template,
    every: Duration,
    tx: Sender<Update>,
    stop: Arc<AtomicBool>,
) {
    let mut longpoll = first.longpoll_id.clone();
    let _ = std::thread::Builder::new()
        .name("hashrig-node-poll".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let result = match &longpoll {
                    Some(id) => match template_of(&rpc, Some(id), rpc.timeout * LONG_POLL_TIMEOUTS)
                    {
                        // No news within the window: is the node alive?
                        Err(NodeError::Rpc(RpcError::TimedOut(_))) => match chain_of(&rpc) {
                            Ok(_) => continue,
                            Err(e) => Err(e),
                        },
                        other => other,
                    },
                    None => {
                        let until = Instant::now() + every;
                        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        template_of(&rpc, None, rpc.timeout)
                    }
                };
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let update = match result {
                    Ok(t) => {
                        longpoll = t.longpoll_id.clone();
                        Update::Template(Box::new(t))
                    }
                    Err(e) => Update::Failed(e),
                };
                let failed = matches!(update, Update::Failed(_));
                if tx.send(update).is_err() || failed {
                    return;
                }
            }
        });
}

/// A template handed out, by job id.
struct Job {
    id: String,
    template: Arc<Template>,
    coinbase: Coinbase,
    /// The template's transactions as hex, ready for `submitblock`.
    transactions_hex: Arc<String>,
}

type Jobs = Arc<Mutex<VecDeque<Job>>>;

/// A node connection ready to mine.
struct NodeLink {
    first: Option<Box<Template>>,
    rx: Receiver<Update>,
    stop: Arc<AtomicBool>,
    poll: Duration,
    writer: Arc<BlockWriter>,
    jobs: Jobs,
    payout: Vec<u8>,
    tag: Vec<u8>,
    origins: Arc<Mutex<Origins>>,
    places: Places,
    version_mask: u32,
    current: Option<Arc<Template>>,
    serial: u64,
    rtt: Duration,
}

impl Drop for NodeLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl NodeLink {
    fn template(&mut self, feed: &mut dyn Feed, t: Template, read_at: Instant) {
        if self.current.as_deref().is_some_and(|c| same_work(c, &t)) {
            return;
        }
        let new_tip = self
            .current
            .as_ref()
            .is_none_or(|c| c.prev_hash != t.prev_hash);
        self.serial += 1;
        let id = format!("{}:{}", t.height, self.serial);
        let coinbase = Coinbase::build(&t, &self.payout, &self.tag);
        let mut job = template::pool_job(&t, &coinbase, id.clone(), self.version_mask);
        // A template for the same tip (more fees) replaces the work but
        // voids nothing: a block of the older one is as good.
        job.clean = new_tip;
        let t = Arc::new(t);
        let transactions_hex = match self.jobs.lock().expect("not poisoned").back() {
            Some(j) if j.template.transactions == t.transactions => j.transactions_hex.clone(),
            _ => {
                let mut hex = String::new();
                for tx in &t.transactions {
                    hex.push_str(&crate::hex::encode(&tx.data));
                }
                Arc::new(hex)
            }
        };
        {
            let mut jobs = self.jobs.lock().expect("not poisoned");
            if new_tip {
                jobs.clear();
            }
            jobs.push_back(Job {
                id,
                template: t.clone(),
                coinbase,
                transactions_hex,
            });
            while jobs.len() > TEMPLATES_KEPT {
                jobs.pop_front();
            }
        }
        feed.job_arrived();
        let first = self.current.is_none();
        if self.current.as_ref().is_none_or(|c| c.bits != t.bits) {
            // The network's difficulty is the "share" difficulty of solo.
            feed.difficulty(job.difficulty);
        }
        self.current = Some(t);
        self.places
            .hand_out(feed, job, first, &self.origins, read_at);
    }
}

/// Whether two templates describe the same block but for the node's
/// clock (polling sees a new `curtime` every second: not new work).
fn same_work(a: &Template, b: &Template) -> bool {
    a.prev_hash == b.prev_hash
        && a.version == b.version
        && a.bits == b.bits
        && a.coinbase_value == b.coinbase_value
        && a.transactions == b.transactions
        && a.default_witness_commitment == b.default_witness_commitment
}

impl Link for NodeLink {
    fn handshake(&self) -> Handshake {
        Handshake {
            rtt: self.rtt,
            version_mask: self.version_mask,
            authorized: PoolChange::Authorized {
                extranonce1: String::new(),
                extranonce2_size: template::EXTRANONCE_SIZE,
                version_mask: self.version_mask,
            },
        }
    }

    fn writer(&self) -> Arc<dyn ShareWriter> {
        self.writer.clone()
    }

    fn step(&mut self, feed: &mut dyn Feed) -> Result<bool, End> {
        if let Some(t) = self.first.take() {
            self.template(feed, *t, Instant::now());
            return Ok(true);
        }
        match self.rx.recv_timeout(self.poll) {
            Ok(Update::Template(t)) => {
                self.template(feed, *t, Instant::now());
                Ok(true)
            }
            Ok(Update::Answer(BlockAnswer { id, verdict, prev })) => {
                let accepted = matches!(verdict, Verdict::Accepted);
                feed.answer(id, verdict)?;
                let still_on_it = self.current.as_ref().is_some_and(|c| c.prev_hash == prev);
                if accepted && still_on_it {
                    // The block is the node's tip now: every other solution
                    // on the old tip would be stale; none is sent while the
                    // new template is on its way.
                    feed.epoch(true);
                }
                Ok(true)
            }
            Ok(Update::Failed(e)) => Err(End::Lost(LinkError::Upstream(Box::new(e)))),
            Err(RecvTimeoutError::Timeout) => Ok(false),
            Err(RecvTimeoutError::Disconnected) => Err(End::Lost(LinkError::Closed(
                "the node poller stopped".into(),
            ))),
        }
    }
}

/// Sends blocks with `submitblock`.
struct BlockWriter {
    rpc: Rpc,
    jobs: Jobs,
    answers: Mutex<Sender<Update>>,
    /// The tip a block was just sent for: other solutions on it are stale
    /// unless the node rejects that block.
    spent: Arc<Mutex<Option<[u8; 32]>>>,
}

impl ShareWriter for BlockWriter {
    fn submit(&self, id: u64, draft: &Draft, _version_bits: Option<u32>) -> std::io::Result<()> {
        let bad = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
        let block = {
            let jobs = self.jobs.lock().expect("not poisoned");
            let job = jobs
                .iter()
                .find(|j| j.id == draft.job_id)
                .ok_or_else(|| bad(format!("template {} is forgotten", draft.job_id)))?;
            template::block(
                &draft.rebuilt,
                &job.template,
                &job.coinbase,
                &draft.extranonce2,
            )
        };
        let hex = crate::hex::encode(&block);
        // Sent and answered on a thread of its own (checking a block can
        // take the node a while).
        let rpc = self.rpc.clone();
        let tx = self.answers.lock().expect("not poisoned").clone();
        let prev = *draft.rebuilt.prev_blockhash.digest().as_bytes();
        *self.spent.lock().expect("not poisoned") = Some(prev);
        let spent = self.spent.clone();
        let _ = std::thread::Builder::new()
            .name("hashrig-submitblock".into())
            .spawn(move || {
                let verdict =
                    match rpc.call_within("submitblock", json!([hex]), Duration::from_secs(60)) {
                        Ok(Value::Null) => Verdict::Accepted,
                        Ok(Value::String(reason)) => Verdict::Rejected(None, reason),
                        Ok(other) => Verdict::Rejected(None, other.to_string()),
                        Err(RpcError::Rpc { code, message }) => {
                            Verdict::Rejected(Some(code), message)
                        }
                        Err(e) => Verdict::Rejected(None, e.to_string()),
                    };
                if !matches!(verdict, Verdict::Accepted) {
                    // The tip stays: solutions on it count again.
                    let mut s = spent.lock().expect("not poisoned");
                    if *s == Some(prev) {
                        *s = None;
                    }
                }
                let _ = tx.send(Update::Answer(BlockAnswer { id, verdict, prev }));
            });
        Ok(())
    }

    fn shutdown(&self) {}

    fn stale(&self, draft: &Draft) -> bool {
        let prev = *draft.rebuilt.prev_blockhash.digest().as_bytes();
        *self.spent.lock().expect("not poisoned") == Some(prev)
    }
}
