//! From a node's `getblocktemplate` (BIP 22, 23, 9, 141, 145) to the
//! header a device hashes and back to the block `submitblock` takes:
//! hashrig builds the coinbase itself (the BIP 34 height, an extranonce it
//! rolls, a tag, the payout output for `coinbasevalue` exactly, the witness
//! commitment with the coinbase's reserved value), the merkle branch over
//! the template's transactions, and the header fields from the template.
//! Usable on its own, by tools that build work from a template.

use serde_json::Value;

use crate::pool::{CoinbaseParts, ExtranonceLayout, PoolJob};
use crate::sha256::sha256d;
use crate::{CompactTarget, Digest, Target};

/// How many extranonce bytes the coinbase carries for rolling.
pub const EXTRANONCE_SIZE: usize = 8;

/// A transaction of the template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateTx {
    /// The serialized transaction (with its witness).
    pub data: Vec<u8>,
    /// Its txid, in internal byte order.
    pub txid: [u8; 32],
    /// Its wtxid, in internal byte order.
    pub wtxid: [u8; 32],
}

/// A block template, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The block version (BIP 9 signalling set by the node).
    pub version: u32,
    /// The tip, in the header's byte order.
    pub prev_hash: [u8; 32],
    /// The tip as the node writes it (hex, display order).
    pub prev_hex: String,
    /// The transactions after the coinbase.
    pub transactions: Vec<TemplateTx>,
    /// What the coinbase may pay: subsidy and fees.
    pub coinbase_value: u64,
    /// The network target.
    pub bits: CompactTarget,
    /// The block's height.
    pub height: u64,
    /// The node's clock when it made the template.
    pub cur_time: u32,
    /// The earliest time the header may carry.
    pub min_time: u32,
    /// The witness commitment output script the node computed, if any.
    pub default_witness_commitment: Option<Vec<u8>>,
    /// Whether segwit is active (a witness commitment is due).
    pub segwit: bool,
    /// The long-poll id, where the node offers long polling.
    pub longpoll_id: Option<String>,
    /// Whether the version field may be changed (`version/force` absent
    /// from `mutable`, or BIP 320's bits).
    pub version_mutable: bool,
}

/// Why a template is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("getblocktemplate: {0}")]
pub struct TemplateError(pub String);

fn hex_field(v: &Value, key: &str) -> Result<Vec<u8>, TemplateError> {
    let text = v
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| TemplateError(format!("no {key}")))?;
    crate::hex::decode("template", text).map_err(|_| TemplateError(format!("{key} is not hex")))
}

fn hash_field(v: &Value, key: &str) -> Result<[u8; 32], TemplateError> {
    let mut bytes: [u8; 32] = hex_field(v, key)?
        .try_into()
        .map_err(|_| TemplateError(format!("{key} is not 32 bytes")))?;
    // Displayed big-endian; the header and merkle tree use the reverse.
    bytes.reverse();
    Ok(bytes)
}

fn u64_field(v: &Value, key: &str) -> Result<u64, TemplateError> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| TemplateError(format!("no {key} (a whole number)")))
}

impl Template {
    /// Checks and reads a `getblocktemplate` result.
    pub fn from_json(v: &Value) -> Result<Template, TemplateError> {
        let version = v
            .get("version")
            .and_then(Value::as_i64)
            .filter(|&x| (0..=u32::MAX as i64).contains(&x))
            .ok_or_else(|| TemplateError("no version".into()))? as u32;
        let prev_hash = hash_field(v, "previousblockhash")?;
        let prev_hex = v["previousblockhash"].as_str().unwrap_or("").to_string();
        let bits_bytes: [u8; 4] = hex_field(v, "bits")?
            .try_into()
            .map_err(|_| TemplateError("bits is not 4 bytes".into()))?;
        let bits = CompactTarget::from_consensus(u32::from_be_bytes(bits_bytes));
        Target::from_compact(bits).map_err(|e| TemplateError(format!("bits: {e}")))?;
        let height = u64_field(v, "height")?;
        let coinbase_value = u64_field(v, "coinbasevalue")?;
        if coinbase_value > 21_000_000 * 100_000_000 {
            return Err(TemplateError(
                "coinbasevalue above 21 million bitcoin".into(),
            ));
        }
        let cur_time = u64_field(v, "curtime")? as u32;
        let min_time = v.get("mintime").and_then(Value::as_u64).unwrap_or(0) as u32;
        let txs = v
            .get("transactions")
            .and_then(Value::as_array)
            .ok_or_else(|| TemplateError("no transactions list".into()))?;
        let mut transactions = Vec::with_capacity(txs.len());
        for (i, t) in txs.iter().enumerate() {
            let data = hex_field(t, "data")
                .map_err(|e| TemplateError(format!("transaction {i}: {}", e.0)))?;
            // The node's txid where it gives one, else worked out (the
            // serialization without its witness is not recomputed here:
            // Core always gives both).
            let txid = hash_field(t, "txid")
                .map_err(|e| TemplateError(format!("transaction {i}: {}", e.0)))?;
            let wtxid = hash_field(t, "hash").unwrap_or(txid);
            transactions.push(TemplateTx { data, txid, wtxid });
        }
        let rules: Vec<&str> = v
            .get("rules")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let segwit = rules.iter().any(|r| r.trim_start_matches('!') == "segwit");
        let default_witness_commitment = match v.get("default_witness_commitment") {
            Some(Value::String(_)) => Some(hex_field(v, "default_witness_commitment")?),
            _ => None,
        };
        let mutable: Vec<&str> = v
            .get("mutable")
            .and_then(Value::as_array)
            .map(|m| m.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        Ok(Template {
            version,
            prev_hash,
            prev_hex,
            transactions,
            coinbase_value,
            bits,
            height,
            cur_time,
            min_time,
            segwit: segwit || default_witness_commitment.is_some(),
            default_witness_commitment,
            longpoll_id: v
                .get("longpollid")
                .and_then(Value::as_str)
                .map(str::to_string),
            version_mutable: !mutable.contains(&"version/force"),
        })
    }

    /// The time a header starts at: the node's, never before `mintime`.
    pub fn start_time(&self) -> u32 {
        self.cur_time.max(self.min_time)
    }

    /// The witness commitment output script: the node's, or worked out
    /// from the wtxids (the coinbase's counted as zero) and the reserved
    /// value (32 zero bytes).
    pub fn witness_commitment(&self) -> Vec<u8> {
        if let Some(c) = &self.default_witness_commitment {
            return c.clone();
        }
        let mut leaves = vec![[0u8; 32]];
        leaves.extend(self.transactions.iter().map(|t| t.wtxid));
        let root = merkle_root(leaves);
        let mut data = root.to_vec();
        data.extend_from_slice(&[0u8; 32]);
        let commitment = sha256d(&data);
        let mut script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
        script.extend_from_slice(commitment.as_bytes());
        script
    }

    /// The merkle branch of the coinbase: the hashes it is paired with, up
    /// the tree.
    pub fn merkle_branch(&self) -> Vec<[u8; 32]> {
        let mut level: Vec<Option<[u8; 32]>> = std::iter::once(None)
            .chain(self.transactions.iter().map(|t| Some(t.txid)))
            .collect();
        let mut branch = Vec::new();
        while level.len() > 1 {
            if level.len() % 2 == 1 {
                let last = *level.last().expect("not empty");
                level.push(last);
            }
            branch.push(level[1].expect("only the first is the coinbase"));
            let mut next = vec![None];
            for pair in level[2..].chunks(2) {
                let mut both = pair[0].expect("not the coinbase").to_vec();
                both.extend_from_slice(&pair[1].expect("not the coinbase"));
                next.push(Some(*sha256d(&both).as_bytes()));
            }
            level = next;
        }
        branch
    }
}

fn merkle_root(mut level: Vec<[u8; 32]>) -> [u8; 32] {
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            level.push(*level.last().expect("not empty"));
        }
        level = level
            .chunks(2)
            .map(|p| {
                let mut both = p[0].to_vec();
                both.extend_from_slice(&p[1]);
                *sha256d(&both).as_bytes()
            })
            .collect();
    }
    level[0]
}

fn var_int(n: usize, out: &mut Vec<u8>) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }
}

/// The BIP 34 height as Bitcoin Core writes it (`CScript() << height`):
/// `OP_0` and `OP_1`…`OP_16` for the smallest, else a minimal push.
pub fn bip34_height(height: u64) -> Vec<u8> {
    match height {
        0 => vec![0x00],
        1..=16 => vec![0x50 + height as u8],
        _ => {
            let mut n = height;
            let mut bytes = Vec::new();
            while n > 0 {
                bytes.push(n as u8);
                n >>= 8;
            }
            if bytes.last().is_some_and(|b| b & 0x80 != 0) {
                bytes.push(0);
            }
            let mut out = vec![bytes.len() as u8];
            out.extend(bytes);
            out
        }
    }
}

/// A coinbase built for a template, split around the extranonce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coinbase {
    /// The transaction without its witness, before the extranonce.
    pub before: Vec<u8>,
    /// The transaction without its witness, after the extranonce.
    pub after: Vec<u8>,
    /// Whether it carries a witness (the reserved value) in the block.
    pub witness: bool,
}

impl Coinbase {
    /// The coinbase for `template` paying `payout` (an output script),
    /// tagged with `tag` (cut to fit the 100-byte script).
    pub fn build(template: &Template, payout: &[u8], tag: &[u8]) -> Coinbase {
        let height = bip34_height(template.height);
        let room = 100 - height.len() - 1 - EXTRANONCE_SIZE - 1;
        let tag = &tag[..tag.len().min(room).min(75)];
        let script_len = height.len() + 1 + EXTRANONCE_SIZE + 1 + tag.len();
        let mut before = Vec::new();
        before.extend_from_slice(&2u32.to_le_bytes());
        before.push(1); // one input
        before.extend_from_slice(&[0u8; 32]);
        before.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
        var_int(script_len, &mut before);
        before.extend_from_slice(&height);
        before.push(EXTRANONCE_SIZE as u8);
        let mut after = Vec::new();
        after.push(tag.len() as u8);
        after.extend_from_slice(tag);
        after.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
        let commitment = template.segwit.then(|| template.witness_commitment());
        var_int(1 + commitment.is_some() as usize, &mut after);
        after.extend_from_slice(&template.coinbase_value.to_le_bytes());
        var_int(payout.len(), &mut after);
        after.extend_from_slice(payout);
        if let Some(c) = &commitment {
            after.extend_from_slice(&0u64.to_le_bytes());
            var_int(c.len(), &mut after);
            after.extend_from_slice(c);
        }
        after.extend_from_slice(&0u32.to_le_bytes());
        Coinbase {
            before,
            after,
            witness: commitment.is_some(),
        }
    }

    /// The coinbase as the block carries it, with `extranonce`: with the
    /// witness marker and the reserved value where segwit is active.
    pub fn in_block(&self, extranonce: &[u8]) -> Vec<u8> {
        let mut tx = Vec::new();
        tx.extend_from_slice(&self.before[..4]);
        if self.witness {
            tx.extend_from_slice(&[0x00, 0x01]);
        }
        tx.extend_from_slice(&self.before[4..]);
        tx.extend_from_slice(extranonce);
        let locktime_at = self.after.len() - 4;
        tx.extend_from_slice(&self.after[..locktime_at]);
        if self.witness {
            tx.extend_from_slice(&[0x01, 0x20]);
            tx.extend_from_slice(&[0u8; 32]);
        }
        tx.extend_from_slice(&self.after[locktime_at..]);
        tx
    }
}

/// The pool job (in the vocabulary every work source shares) for
/// `template`: blocks are the shares, so the share target is the network's.
pub fn pool_job(
    template: &Template,
    coinbase: &Coinbase,
    job_id: String,
    version_mask: u32,
) -> PoolJob {
    let target = Target::from_compact(template.bits).expect("checked when read");
    PoolJob {
        job_id,
        prev_hash: crate::BlockHash::from_digest(Digest::from_bytes(template.prev_hash)),
        coinbase: CoinbaseParts {
            prefix: coinbase.before.clone(),
            suffix: coinbase.after.clone(),
        },
        merkle_branch: template
            .merkle_branch()
            .into_iter()
            .map(Digest::from_bytes)
            .collect(),
        version: template.version,
        bits: template.bits,
        ntime: template.start_time(),
        clean: true,
        extranonce: ExtranonceLayout {
            fixed: Vec::new(),
            rolled: EXTRANONCE_SIZE,
        },
        difficulty: target.difficulty(),
        version_mask: if template.version_mutable {
            version_mask
        } else {
            0
        },
        given_root: None,
        target: Some(target),
    }
}

/// The whole block for `submitblock`: the solved header, the coinbase with
/// `extranonce`, and the template's transactions.
pub fn block(
    header: &crate::Header,
    template: &Template,
    coinbase: &Coinbase,
    extranonce: &[u8],
) -> Vec<u8> {
    let mut out = header.to_bytes().to_vec();
    var_int(1 + template.transactions.len(), &mut out);
    out.extend_from_slice(&coinbase.in_block(extranonce));
    for t in &template.transactions {
        out.extend_from_slice(&t.data);
    }
    out
}

/// The merkle root of a coinbase whose txid is `coinbase_txid`, under
/// `template`'s transactions (a check of [`Template::merkle_branch`]).
pub fn merkle_root_with(template: &Template, coinbase_txid: Digest) -> Digest {
    let mut leaves = vec![*coinbase_txid.as_bytes()];
    leaves.extend(template.transactions.iter().map(|t| t.txid));
    Digest::from_bytes(merkle_root(leaves))
}
