//! The test pool's jobs and its judge: a coinbase split around the
//! extranonces, a merkle branch, a header, and each share rebuilt and
//! checked with rust-bitcoin alone.

use super::*;

/// A coinbase with room for the extranonces, split around it; a few other
/// transactions' ids; a real-looking header.
pub(super) fn make_job(st: &mut State, height: &AtomicU64, _clean: bool) -> PoolJob {
    st.next_job += 1;
    let n = st.next_job;
    let h = height.fetch_add(1, Ordering::Relaxed);
    // The coinbase's script holds a run of 0xee bytes exactly as long as
    // extranonce1 + extranonce2: coinb1 ends where it starts, coinb2
    // starts where it ends.
    let en1 = st.behaviour.extranonce1.len();
    let en2 = st.behaviour.extranonce2_size;
    let mut script = vec![0x03];
    script.extend_from_slice(&(h as u32).to_le_bytes()[..3]);
    script.push((en1 + en2) as u8);
    script.extend_from_slice(&vec![0xee; en1 + en2]);
    script.extend_from_slice(b"/hashrig-testpool/");
    let coinbase = Transaction {
        version: bitcoin::transaction::Version::ONE,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::from_bytes(script),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(312_500_000),
            script_pubkey: ScriptBuf::new_op_return([n as u8; 20]),
        }],
    };
    let bytes = serialize(&coinbase);
    let at2 = bytes
        .windows(en1 + en2)
        .position(|w| w.iter().all(|&b| b == 0xee))
        .expect("the extranonce space");
    let coinb1 = bytes[..at2].to_vec();
    let coinb2 = bytes[at2 + en1 + en2..].to_vec();
    let txids = (0..(n % 5 + 2))
        .map(|i| Txid::hash(format!("tx {n} {i}").as_bytes()))
        .collect();
    PoolJob {
        id: format!("{n:x}"),
        prev: BlockHash::hash(format!("block {h}").as_bytes()),
        coinb1,
        coinb2,
        txids,
        version: 0x2000_0000,
        bits: CompactTarget::from_consensus(0x1703_4219),
        ntime: 1_700_000_000 + n as u32,
        difficulty: st.behaviour.difficulty,
    }
}

/// The branch of the coinbase (index 0) through the tree of `txids`
/// (the pool's side of the protocol).
pub(super) fn branch(txids: &[Txid]) -> Vec<[u8; 32]> {
    let mut level: Vec<[u8; 32]> = std::iter::once([0u8; 32])
        .chain(txids.iter().map(|t| t.to_byte_array()))
        .collect();
    let mut out = Vec::new();
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            level.push(*level.last().unwrap());
        }
        out.push(level[1]);
        level = level
            .chunks(2)
            .map(|p| {
                let mut both = p[0].to_vec();
                both.extend_from_slice(&p[1]);
                bitcoin::hashes::sha256d::Hash::hash(&both).to_byte_array()
            })
            .collect();
    }
    out
}

pub(super) fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(super) fn notify_line(job: &PoolJob, clean: bool) -> String {
    // Stratum's prevhash: the internal byte order with each 4-byte word reversed.
    let mut prev = job.prev.to_byte_array();
    for w in prev.chunks_mut(4) {
        w.reverse();
    }
    let branches: Vec<String> = branch(&job.txids).iter().map(|b| hexs(b)).collect();
    json!({"id": null, "method": "mining.notify", "params": [
        job.id, hexs(&prev), hexs(&job.coinb1), hexs(&job.coinb2), branches,
        format!("{:08x}", job.version), format!("{:08x}", job.bits.to_consensus()),
        format!("{:x}", job.ntime), clean
    ]})
    .to_string()
}

/// Share target for difficulty `d`: 0xffff·2^208 / d (as pools compute it).
pub(super) fn share_target(d: f64) -> Target {
    let q = 65535.0 / d;
    let mut be = [0u8; 32];
    // q · 2^208 written out from its binary expansion.
    let (mut m, mut e) = (q, 208i32);
    while m >= 1.0 {
        m /= 2.0;
        e += 1;
    }
    // Now q·2^208 = m·2^e with 0.5 <= m < 1; emit 53 bits of m.
    for i in 0..60 {
        m *= 2.0;
        let bit = m >= 1.0;
        if bit {
            m -= 1.0;
        }
        let pos = e - 1 - i;
        if bit && (0..256).contains(&pos) {
            be[31 - (pos / 8) as usize] |= 1 << (pos % 8);
        }
    }
    Target::from_be_bytes(be)
}

pub(super) fn judge(st: &mut State, conn: u64, params: &Value) -> (bool, String, Option<Header>) {
    let p = match params.as_array() {
        Some(p) if p.len() >= 5 => p,
        _ => return (false, "bad params".into(), None),
    };
    let s = |i: usize| p[i].as_str().unwrap_or("").to_string();
    let job_id = s(1);
    let Some(job) = st.jobs.get(&job_id).cloned() else {
        return (false, "job not found".into(), None);
    };
    if st.voided.contains(&job_id) {
        return (false, "stale".into(), None);
    }
    let key = format!("{params}");
    if !st.seen.insert(key) {
        return (false, "duplicate".into(), None);
    }
    let en2 = hex_bytes(&s(2));
    let size = st
        .extranonce2_size
        .get(&conn)
        .copied()
        .unwrap_or(st.behaviour.extranonce2_size);
    if en2.len() != size {
        return (false, format!("extranonce2 of {} bytes", en2.len()), None);
    }
    let ntime = u32::from_str_radix(&s(3), 16).unwrap_or(0);
    let nonce = u32::from_str_radix(&s(4), 16).unwrap_or(0);
    let mask = st.mask.get(&conn).copied().unwrap_or(0);
    let mut version = job.version as u32;
    if let Some(bits) = p.get(5).and_then(Value::as_str) {
        let bits = u32::from_str_radix(bits, 16).unwrap_or(u32::MAX);
        if bits & !mask != 0 {
            return (false, "version bits outside the mask".into(), None);
        }
        version = (version & !mask) | (bits & mask);
    }
    if ntime < job.ntime || ntime > job.ntime + 7000 {
        return (false, "ntime out of range".into(), None);
    }
    let en1 = st.extranonce1.get(&conn).cloned().unwrap_or_default();
    let mut raw = job.coinb1.clone();
    raw.extend_from_slice(&en1);
    raw.extend_from_slice(&en2);
    raw.extend_from_slice(&job.coinb2);
    let coinbase: Transaction = match deserialize(&raw) {
        Ok(t) => t,
        Err(e) => return (false, format!("coinbase does not parse: {e}"), None),
    };
    let ids = std::iter::once(coinbase.compute_txid()).chain(job.txids.iter().copied());
    let root: TxMerkleNode = bitcoin::merkle_tree::calculate_root(ids.map(|t| t.to_raw_hash()))
        .map(TxMerkleNode::from_raw_hash)
        .unwrap();
    let header = Header {
        version: Version::from_consensus(version as i32),
        prev_blockhash: job.prev,
        merkle_root: root,
        time: ntime,
        bits: job.bits,
        nonce,
    };
    if share_target(job.difficulty).is_met_by(header.block_hash()) {
        (true, "ok".into(), Some(header))
    } else {
        (false, "low difficulty share".into(), Some(header))
    }
}

pub(super) fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}
