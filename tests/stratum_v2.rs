//! Stratum V2 against the Stratum Reference Implementation's own pool
//! (`pool_sv2` 0.7.0 from crates.io), fed by the template provider in
//! `sv2pool`: the shares SRI's pool accepts equal hashrig's accepted count,
//! none is rejected, the blocks reach the template provider and
//! rust-bitcoin finds them valid; the pool restarted, the measured rate
//! announced (`UpdateChannel`), a wrong authority key, and failover
//! between a V2 and a v1 pool.

use crate::common;
use crate::sv2pool;
use crate::testpool;

use std::process::{Child, Command};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::json_lines::{self, shares, stop, wait_for};
use hashrig::stratum::{Pool, PoolEvent, PoolMiner, ShareReport, ShareResult};
use hashrig::sv2::AuthorityKey;
use hashrig::upstream::{PoolOptions, Sv2Channel};
use serde_json::Value;
use sv2pool::{SriPool, TemplateProvider, AUTHORITY_PUBLIC};
use testpool::{Behaviour, TestPool};

/// `hashrig mine` on `pools` (one CPU thread), its JSON lines sent as they
/// come.
fn mine(pools: &[String], extra: &[&str]) -> (Child, mpsc::Receiver<Value>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hashrig"));
    cmd.arg("mine");
    for p in pools {
        cmd.args(["--pool", p]);
    }
    cmd.args([
        "--user",
        "hashrig.test",
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--json",
    ])
    .args(extra)
    .env(
        "XDG_CACHE_HOME",
        std::env::temp_dir().join("hashrig-sv2-test-cache"),
    );
    json_lines::spawn(&mut cmd)
}

fn v2_url(port: u16) -> String {
    format!("stratum2+tcp://127.0.0.1:{port}/{AUTHORITY_PUBLIC}")
}

#[test]
#[ignore = "needs SRI's pool_sv2 0.7.0 (cargo install --locked pool_sv2 --version 0.7.0); .ci/run installs it and runs the ignored tests"]
fn sri_pool_accepts_every_share_and_the_blocks_are_valid() {
    let Some(binary) = sv2pool::pool_binary() else {
        return;
    };
    let tp = TemplateProvider::start();
    let mut pool = SriPool::start(&binary, &tp, 600.0);
    let (child, rx) = mine(&[v2_url(pool.port)], &[]);
    let mut seen = Vec::new();
    let got = wait_for(&rx, &mut seen, Duration::from_secs(60), |seen| {
        shares(seen, "accepted") >= 5
    });
    assert!(
        got,
        "no 5 accepted shares: {seen:#?}\npool: {:#?}",
        pool.logged("")
    );

    // The pool restarted: hashrig connects, runs the handshake again and
    // goes on mining.
    pool.restart();
    let mark = pool.log_len();
    let before = shares(&seen, "accepted");
    let again = wait_for(&rx, &mut seen, Duration::from_secs(60), |seen| {
        shares(seen, "accepted") >= before + 3
    });
    assert!(again, "no shares after the pool restarted: {seen:#?}");
    // And a block (about one every 2^26 hashes) reached the template
    // provider through the pool.
    let until = Instant::now() + Duration::from_secs(60);
    while tp.blocks.lock().unwrap().is_empty() && Instant::now() < until {
        seen.extend(rx.recv_timeout(Duration::from_millis(200)));
    }
    stop(child, &rx, &mut seen);
    // What hashrig counted accepted since the restart is what the pool
    // accepted, as its log tells (hashrig has gone: every answer was
    // written before it left, and the log is read through a pipe, so it
    // is waited for).
    // (Counted from the connection to the restarted pool on: answers of
    // the old one may still have been on their way when it was killed.)
    let reconnected = seen
        .iter()
        .rposition(|v| v["type"] == "pool" && v["event"] == "connected")
        .unwrap();
    let ours = shares(&seen[reconnected..], "accepted") as u64;
    assert!(ours as usize <= shares(&seen, "accepted") - before + 1);
    let until = Instant::now() + Duration::from_secs(10);
    while pool.accepted_since(mark) != ours && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        pool.accepted_since(mark),
        ours,
        "the pool's verdicts: {:#?}",
        pool.logged("SubmitShares")
    );

    // Nothing rejected; only a share written just before the kill may
    // have had no answer, booked as such, before the reconnection, and a
    // share that raced a block of its own job to the pool may be refused
    // as stale (see `not_raced`).
    let lines: Vec<(usize, &Value)> = seen
        .iter()
        .enumerate()
        .filter(|(_, v)| v["type"] == "share")
        .collect();
    let verdicts = lines.iter().map(|(_, v)| {
        let verdict = match (v["result"].as_str(), v["block"] == true) {
            (Some("accepted"), true) => Verdict::Block,
            (Some("rejected"), _) if v["message"] == STALE_SHARE => Verdict::Stale,
            (Some("rejected"), _) => Verdict::Rejected,
            _ => Verdict::Other,
        };
        (
            v["pool"].as_u64().unwrap_or(0),
            v["job"].as_str().unwrap_or(""),
            verdict,
        )
    });
    let rejections: Vec<(usize, &Value)> =
        not_raced(verdicts).into_iter().map(|i| lines[i]).collect();
    assert!(
        rejections
            .iter()
            .all(|(at, v)| *at < reconnected && v["message"] == NO_ANSWER),
        "{rejections:#?}"
    );
    // Blocks: every one the pool submitted is valid.
    let blocks = tp.blocks.lock().unwrap().clone();
    for b in &blocks {
        assert!(b.faults.is_empty(), "block {b:?}");
    }
    let connected = seen
        .iter()
        .filter(|v| v["type"] == "pool" && v["event"] == "authorized")
        .count();
    assert!(connected >= 2, "{seen:#?}");
    assert!(!blocks.is_empty(), "no block reached the template provider");
    eprintln!(
        "accepted: {} ({ours} since the restart, as the pool counted), blocks: {}",
        shares(&seen, "accepted"),
        blocks.len()
    );
}

fn options(urls: &[String]) -> PoolOptions {
    let pools = urls
        .iter()
        .map(|u| {
            Pool::new(u.parse().unwrap(), Some("hashrig.lib"), Some("x"))
                .unwrap()
                .into()
        })
        .collect();
    let mut o = PoolOptions::new(pools);
    o.failover.backoff_start = Duration::from_millis(50);
    o.failover.backoff_max = Duration::from_millis(400);
    o.failover.primary_check = Duration::from_millis(500);
    o.poll = Duration::from_millis(20);
    o.failover.failures_before_switch = 2;
    o
}

/// Reads the miner's events until `pool` has had `n` more shares
/// accepted; every share event read is kept in `shares`.
fn accepted_on(
    miner: &PoolMiner,
    pool: usize,
    n: usize,
    within: Duration,
    shares: &mut Vec<ShareReport>,
) -> bool {
    let end = Instant::now() + within;
    let mut got = 0;
    while Instant::now() < end {
        if let Some(PoolEvent::Share(s)) = miner.recv_timeout(Duration::from_millis(200)) {
            if s.pool == pool && s.result == ShareResult::Accepted {
                got += 1;
            }
            shares.push(*s);
            if got >= n {
                return true;
            }
        }
    }
    false
}

/// What hashrig books for a share written to a connection that then
/// ended before the pool answered it.
const NO_ANSWER: &str = "no answer before the connection ended";

/// SRI's answer to a share for a job whose tip has moved on.
const STALE_SHARE: &str = "stale-share";

/// What a share was, for [`not_raced`].
#[derive(Clone, Copy, PartialEq)]
enum Verdict {
    /// Accepted, and a block.
    Block,
    /// Refused by the pool as stale.
    Stale,
    /// Refused for any other reason.
    Rejected,
    /// Accepted, or stale before it was sent.
    Other,
}

/// The places of the rejections in `shares` (pool, job, verdict, in the
/// order answered), but for those that raced a block: the template
/// provider makes each block found the new tip, so a share of the same job
/// already on its way when the block moved the chain on reaches the pool
/// after the new tip, and the pool refuses it as stale. A live pool has
/// that race too. One such share is excused per block of its job, found
/// before it; any more are rejections.
fn not_raced<'a>(shares: impl Iterator<Item = (u64, &'a str, Verdict)>) -> Vec<usize> {
    let mut excuses: std::collections::HashMap<(u64, &str), u32> = Default::default();
    let mut out = Vec::new();
    for (at, (pool, job, verdict)) in shares.enumerate() {
        match verdict {
            Verdict::Block => *excuses.entry((pool, job)).or_default() += 1,
            Verdict::Stale if excuses.get(&(pool, job)).is_some_and(|&n| n > 0) => {
                *excuses.get_mut(&(pool, job)).unwrap() -= 1;
            }
            Verdict::Stale | Verdict::Rejected => out.push(at),
            Verdict::Other => {}
        }
    }
    out
}

#[test]
fn one_stale_share_is_excused_per_block_of_its_job() {
    use Verdict::*;
    let shares = [
        (0, "1", Stale),    // no block yet: a rejection
        (0, "1", Block),    // the block moves the tip
        (0, "1", Stale),    // raced it: excused
        (0, "1", Stale),    // a second one: a rejection
        (0, "2", Stale),    // another job's: a rejection
        (1, "1", Stale),    // another pool's: a rejection
        (0, "1", Rejected), // never excused
        (0, "1", Other),
    ];
    assert_eq!(not_raced(shares.into_iter()), [0, 3, 4, 5, 6]);
}

/// The shares a pool rejected, but for a share that raced a block of its
/// job ([`not_raced`]). A share that went stale before it was sent was
/// never the pool's to judge.
fn rejected(shares: &[ShareReport]) -> Vec<&ShareReport> {
    let verdicts = shares.iter().map(|s| {
        let verdict = match &s.result {
            ShareResult::Accepted if s.block => Verdict::Block,
            ShareResult::Rejected { message, .. } if message == STALE_SHARE => Verdict::Stale,
            ShareResult::Rejected { .. } => Verdict::Rejected,
            _ => Verdict::Other,
        };
        (s.pool as u64, s.job_id.as_str(), verdict)
    });
    not_raced(verdicts)
        .into_iter()
        .map(|at| &shares[at])
        .collect()
}

/// [`rejected`], but for the shares in flight when a test killed the pool:
/// those have no answer, and are booked as such.
fn rejected_but_lost_in_a_kill(shares: &[ShareReport]) -> Vec<&ShareReport> {
    rejected(shares)
        .into_iter()
        .filter(
            |s| !matches!(&s.result, ShareResult::Rejected { message, .. } if message == NO_ANSWER),
        )
        .collect()
}

#[test]
#[ignore = "needs SRI's pool_sv2 0.7.0 (cargo install --locked pool_sv2 --version 0.7.0); .ci/run installs it and runs the ignored tests"]
fn extended_channels_and_group_jobs_on_sri_pool() {
    let Some(binary) = sv2pool::pool_binary() else {
        return;
    };
    let tp = TemplateProvider::start();
    // Shares answered three at a time: one SubmitShares.Success accepts a
    // range of sequence numbers.
    let pool = SriPool::batched(&binary, &tp, 600.0, 3);
    // An extended channel (the rig rolls its own extranonce), then a
    // standard channel without REQUIRES_STANDARD_JOBS, which SRI's pool
    // feeds extended jobs for its group: hashrig builds both coinbases.
    for (channel, standard_jobs) in [(Sv2Channel::Extended, true), (Sv2Channel::Standard, false)] {
        let mut o = options(&[v2_url(pool.port)]);
        o.sv2_channel = channel;
        o.sv2_standard_jobs = standard_jobs;
        let miner = PoolMiner::start(common::cpu_engine(), o).unwrap();
        let mut shares = Vec::new();
        let ok = accepted_on(&miner, 0, 4, Duration::from_secs(60), &mut shares);
        miner.stop(Duration::from_secs(2));
        assert!(ok, "{channel:?}: {shares:#?}\n{:#?}", miner.stats());
        assert!(rejected(&shares).is_empty(), "{channel:?}: {shares:#?}");
        if channel == Sv2Channel::Extended {
            // The extranonce the rig rolled is in every share.
            assert!(
                shares.iter().all(|s| !s.extranonce2.is_empty()),
                "{shares:#?}"
            );
        }
    }
    for b in tp.blocks.lock().unwrap().iter() {
        assert!(b.faults.is_empty(), "block {b:?}");
    }
}

/// The `nominal_hash_rate` of each `UpdateChannel` the pool logged.
fn rates_announced(pool: &SriPool) -> Vec<f64> {
    pool.logged("UpdateChannel(channel_id=")
        .iter()
        .filter_map(|l| {
            let rest = l.split("nominal_hash_rate=").nth(1)?;
            rest.split(',').next()?.trim().parse().ok()
        })
        .collect()
}

#[test]
#[ignore = "needs SRI's pool_sv2 0.7.0 (cargo install --locked pool_sv2 --version 0.7.0); .ci/run installs it and runs the ignored tests"]
fn the_pool_is_told_the_measured_rate() {
    let Some(binary) = sv2pool::pool_binary() else {
        return;
    };
    let tp = TemplateProvider::start();
    let pool = SriPool::start(&binary, &tp, 600.0);
    // A fresh engine has measured nothing when the channel opens, so the
    // channel opens on a guess (1 GH/s, far above one CPU thread); ten
    // seconds in, the measured rate is announced.
    let engine = common::cpu_engine();
    let miner = PoolMiner::start(engine.clone(), options(&[v2_url(pool.port)])).unwrap();
    let mut shares = Vec::new();
    let until = Instant::now() + Duration::from_secs(40);
    while rates_announced(&pool).is_empty() && Instant::now() < until {
        if let Some(PoolEvent::Share(s)) = miner.recv_timeout(Duration::from_millis(200)) {
            shares.push(*s);
        }
    }
    let measured: f64 = engine.stats().iter().map(|d| d.rate_avg).sum();
    let announced = rates_announced(&pool);
    // Then the pool re-targets the channel, and shares go on being
    // accepted at the new target.
    let after = accepted_on(&miner, 0, 3, Duration::from_secs(40), &mut shares);
    miner.stop(Duration::from_secs(2));
    assert_eq!(announced.len(), 1, "{:#?}", pool.logged("UpdateChannel"));
    let ratio = announced[0] / measured;
    assert!(
        (0.5..=2.0).contains(&ratio),
        "announced {} H/s, measured {measured:.0} H/s",
        announced[0]
    );
    assert!(
        pool.logged("UpdateChannelError").is_empty(),
        "{:#?}",
        pool.logged("UpdateChannel")
    );
    assert!(after, "no shares after the update: {shares:#?}");
    assert!(rejected(&shares).is_empty(), "{shares:#?}");
    eprintln!("announced {} H/s, measured {measured:.0} H/s", announced[0]);
}

#[test]
#[ignore = "needs SRI's pool_sv2 0.7.0 (cargo install --locked pool_sv2 --version 0.7.0); .ci/run installs it and runs the ignored tests"]
fn fails_over_between_a_v2_and_a_v1_pool_and_back() {
    let Some(binary) = sv2pool::pool_binary() else {
        return;
    };
    let tp = TemplateProvider::start();
    let mut sri = SriPool::start(&binary, &tp, 600.0);
    let v1 = TestPool::start(Behaviour::default());
    let miner =
        PoolMiner::start(common::cpu_engine(), options(&[v2_url(sri.port), v1.url()])).unwrap();
    let mut shares = Vec::new();
    assert!(accepted_on(
        &miner,
        0,
        2,
        Duration::from_secs(60),
        &mut shares
    ));
    // The V2 pool goes away: the v1 pool takes over.
    sri.kill();
    assert!(
        accepted_on(&miner, 1, 2, Duration::from_secs(60), &mut shares),
        "{shares:#?}\n{:#?}",
        miner.stats()
    );
    assert!(v1.accepted() >= 2);
    // It comes back: the miner returns to it.
    sri.restart();
    assert!(
        accepted_on(&miner, 0, 2, Duration::from_secs(60), &mut shares),
        "{shares:#?}\n{:#?}",
        miner.stats()
    );
    miner.stop(Duration::from_secs(2));
    assert!(
        rejected_but_lost_in_a_kill(&shares).is_empty(),
        "{shares:#?}"
    );
    // The v1 pool judged every share with rust-bitcoin: all accepted.
    assert!(
        v1.judged().iter().all(|j| j.accepted),
        "{:#?}",
        v1.judged().len()
    );
}

#[test]
#[ignore = "needs SRI's pool_sv2 0.7.0 (cargo install --locked pool_sv2 --version 0.7.0); .ci/run installs it and runs the ignored tests"]
fn a_wrong_authority_key_is_refused_and_nothing_is_mined() {
    let Some(binary) = sv2pool::pool_binary() else {
        return;
    };
    let tp = TemplateProvider::start();
    let pool = SriPool::start(&binary, &tp, 600.0);
    // A valid key (secp256k1's generator), not the pool's.
    let wrong = AuthorityKey::from_bytes(
        hashrig::hex::decode_array(
            "key",
            "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
        )
        .unwrap(),
    );
    let url = format!("stratum2+tcp://127.0.0.1:{}/{wrong}", pool.port);
    let (child, rx) = mine(&[url], &[]);
    let mut seen = Vec::new();
    let refused = wait_for(&rx, &mut seen, Duration::from_secs(20), |seen| {
        let v = &seen[seen.len() - 1];
        v["type"] == "pool"
            && v["reason"]
                .as_str()
                .is_some_and(|r| r.contains("not signed by the authority key"))
    });
    std::thread::sleep(Duration::from_secs(2));
    stop(child, &rx, &mut seen);
    assert!(refused, "{seen:#?}");
    assert_eq!(shares(&seen, "accepted") + shares(&seen, "rejected"), 0);
    assert!(
        !seen.iter().any(|v| v["event"] == "authorized"),
        "{seen:#?}"
    );
    assert!(
        !seen
            .iter()
            .any(|v| v["type"] == "mining" && v["paused"] == false),
        "{seen:#?}"
    );
}

#[test]
#[ignore = "needs SRI's pool_sv2 0.7.0 and translator_sv2 0.6.0 (cargo install --locked); .ci/run installs them and runs the ignored tests"]
fn sri_translator_judges_hashrigs_v1_shares_with_version_rolling() {
    let (Some(pool_bin), Some(tproxy_bin)) = (sv2pool::pool_binary(), sv2pool::translator_binary())
    else {
        return;
    };
    let tp = TemplateProvider::start();
    let pool = SriPool::start(&pool_bin, &tp, 600.0);
    let tproxy = sv2pool::Translator::start(&tproxy_bin, &pool);
    let (child, rx) = mine(&[format!("stratum+tcp://127.0.0.1:{}", tproxy.port)], &[]);
    let mut seen = Vec::new();
    let got = wait_for(&rx, &mut seen, Duration::from_secs(60), |seen| {
        shares(seen, "accepted") >= 6
    });
    stop(child, &rx, &mut seen);
    assert!(
        got,
        "{seen:#?}\ntranslator: {:#?}",
        tproxy.log.lock().unwrap()
    );
    assert_eq!(shares(&seen, "rejected"), 0, "{seen:#?}");
    // The translator granted version rolling (BIP 310); the shares'
    // version bits (rolled once a version's 2^32 nonces are searched) are
    // judged with them.
    let mask = seen
        .iter()
        .find(|v| v["event"] == "authorized")
        .and_then(|v| v["version_mask"].as_str())
        .unwrap_or("00000000");
    assert_ne!(mask, "00000000", "{seen:#?}");
    for b in tp.blocks.lock().unwrap().iter() {
        assert!(b.faults.is_empty(), "block {b:?}");
    }
}

#[test]
fn hostile_v2_servers_never_stop_the_miner() {
    let port = sv2pool::hostile::serve();
    let v1 = TestPool::start(Behaviour::default());
    let (mut child, rx) = mine(&[v2_url(port), v1.url()], &[]);
    let mut seen = Vec::new();
    let mined = wait_for(&rx, &mut seen, Duration::from_secs(40), |seen| {
        seen.iter()
            .filter(|v| v["type"] == "share" && v["pool"] == 1 && v["result"] == "accepted")
            .count()
            >= 3
    });
    let alive = child.try_wait().unwrap().is_none();
    stop(child, &rx, &mut seen);
    assert!(alive, "hashrig ended: {seen:#?}");
    assert!(mined, "no shares on the v1 pool: {seen:#?}");
    // Each misbehaviour was named: the oversized frame, the garbage, the
    // server that stopped mid-frame.
    let reasons: Vec<&str> = seen
        .iter()
        .filter(|v| v["type"] == "pool" && v["pool"] == 0 && v["event"] == "disconnected")
        .filter_map(|v| v["reason"].as_str())
        .collect();
    for named in ["longer than", "undecryptable", "bytes into a frame"] {
        assert!(
            reasons.iter().any(|r| r.contains(named)),
            "{named:?} not in {reasons:#?}"
        );
    }
    assert_eq!(shares(&seen, "rejected"), 0, "{seen:#?}");
}

#[path = "sv2pool/loopback.rs"]
mod loopback;

fn loopback_pool() -> loopback::Loopback {
    loopback::Loopback::at_difficulty(0.0005)
}

#[test]
fn reconnect_and_close_channel_are_followed() {
    let a = loopback_pool();
    let b = loopback_pool();
    let miner = PoolMiner::start(common::cpu_engine(), options(&[a.url()])).unwrap();
    assert!(common::until(Duration::from_secs(30), || a
        .shares
        .load(Ordering::Relaxed)
        >= 1));
    // Reconnect to another port of the same host: followed.
    let host = binary_sv2::Str0255::try_from("127.0.0.1").unwrap();
    let reconnect = common_messages_sv2::Reconnect {
        new_host: host,
        new_port: b.port,
    };
    assert!(a.send(
        reconnect,
        common_messages_sv2::MESSAGE_TYPE_RECONNECT,
        false
    ));
    assert!(
        common::until(Duration::from_secs(30), || b.shares.load(Ordering::Relaxed)
            >= 1),
        "{:#?}",
        miner.stats()
    );
    // CloseChannel: the miner opens a channel again.
    let reason = binary_sv2::Str0255::try_from("maintenance").unwrap();
    let close = mining_sv2::CloseChannel {
        channel_id: 1,
        reason_code: reason,
    };
    let before = b.channels.load(Ordering::Relaxed);
    assert!(b.send(close, mining_sv2::MESSAGE_TYPE_CLOSE_CHANNEL, true));
    assert!(common::until(Duration::from_secs(30), || b
        .channels
        .load(Ordering::Relaxed)
        > before));
    let mut seen = Vec::new();
    while let Some(e) = miner.recv_timeout(Duration::from_millis(100)) {
        seen.push(e);
    }
    miner.stop(Duration::from_secs(1));
    let said = |needle: &str| {
        seen.iter().any(|e| matches!(e,
            PoolEvent::Pool { change: hashrig::pool::PoolChange::Disconnected(r), .. } if r.contains(needle)))
    };
    assert!(said("reconnect to 127.0.0.1:"), "{seen:#?}");
    assert!(said("closed the channel: maintenance"), "{seen:#?}");
}
