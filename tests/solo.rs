//! Solo mining on a node (getblocktemplate) against the test node in
//! tests/testnode, which judges every block with rust-bitcoin alone: blocks
//! valid and paid to the address, long polling and polling, a tip change
//! mid-job, a fee-only update, the node's faults, a rejected block, an
//! address of the wrong network; and a real `bitcoind -regtest` where one
//! is on the PATH.

use crate::common;
use crate::testnode;
use crate::testpool;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::json_lines::{self, stop, wait_for};
use hashrig::node::{Auth, Node};
use hashrig::pool::{PoolChange, PoolEvent, PoolMiner, ShareResult};
use hashrig::upstream::PoolOptions;
use serde_json::Value;
use testnode::{Behaviour, TestNode, MAINNET_BLOCK, TESTNET_BLOCK};

/// A regtest address (P2WSH of `OP_TRUE`) and the script it pays.
fn regtest_address() -> (String, bitcoin::ScriptBuf) {
    let script = bitcoin::ScriptBuf::from_bytes(vec![0x51]);
    let a = bitcoin::Address::p2wsh(&script, bitcoin::KnownHrp::Regtest);
    (a.to_string(), a.script_pubkey())
}

fn hashrig(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hashrig"));
    cmd.args(args).env(
        "XDG_CACHE_HOME",
        std::env::temp_dir().join("hashrig-solo-test-cache"),
    );
    cmd
}

/// `hashrig mine --node …` on one CPU thread, its JSON lines as they come.
fn mine(node: &TestNode, address: &str, extra: &[&str]) -> (Child, mpsc::Receiver<Value>) {
    let url = node.url();
    let cookie = node.cookie.to_str().unwrap().to_string();
    let mut args = vec![
        "mine",
        "--node",
        &url,
        "--address",
        address,
        "--rpc-cookie",
        &cookie,
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--json",
    ];
    args.extend_from_slice(extra);
    json_lines::spawn(&mut hashrig(&args))
}

fn blocks(seen: &[Value], result: &str) -> Vec<Value> {
    seen.iter()
        .filter(|v| v["type"] == "block" && v["result"] == result)
        .cloned()
        .collect()
}

#[test]
fn blocks_on_real_transactions_are_valid_and_pay_the_address() {
    let (address, script) = regtest_address();
    let node = TestNode::start(MAINNET_BLOCK, Behaviour::default());
    let (child, rx) = mine(&node, &address, &["--coinbase-tag", "hashrig solo test"]);
    let mut seen = Vec::new();
    let got = wait_for(&rx, &mut seen, Duration::from_secs(90), |s| {
        blocks(s, "accepted").len() >= 3
    });
    assert_eq!(stop(child, &rx, &mut seen), Some(0));
    assert!(got, "{seen:#?}\n{:#?}", node.judged());
    let judged = node.judged();
    for j in &judged {
        assert!(j.faults.is_empty(), "{j:?}");
        assert_eq!(j.payout, vec![script.clone()], "{j:?}");
    }
    // Each accepted block was at the next height, as its line says.
    let accepted = blocks(&seen, "accepted");
    for (b, j) in accepted
        .iter()
        .zip(judged.iter().filter(|j| j.answer.is_none()))
    {
        assert_eq!(b["hash"], j.hash.to_string());
        assert_eq!(b["height"], j.height);
    }
    let heights: Vec<u64> = judged.iter().map(|j| j.height).collect();
    assert!(heights.windows(2).all(|w| w[1] == w[0] + 1), "{heights:?}");
    assert!(seen
        .iter()
        .any(|v| v["type"] == "summary" && v["blocks"].as_u64() >= Some(3)));
}

fn solo(node: &TestNode, address: &str) -> PoolOptions {
    let mut n = Node::new(
        node.url().parse().unwrap(),
        address,
        Some(Auth::Cookie(node.cookie.clone())),
    )
    .unwrap();
    n.timeout = Duration::from_millis(800);
    let mut o = PoolOptions::new(vec![n.into()]);
    o.failover.backoff_start = Duration::from_millis(50);
    o.failover.backoff_max = Duration::from_millis(300);
    o.poll = Duration::from_millis(20);
    o.node_poll = Duration::from_millis(200);
    o
}

/// Reads the miner's events until `until` holds for one; all kept.
fn events_until(
    miner: &PoolMiner,
    seen: &mut Vec<PoolEvent>,
    within: Duration,
    until: impl Fn(&PoolEvent) -> bool,
) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Some(e) = miner.recv_timeout(Duration::from_millis(50)) {
            let done = until(&e);
            seen.push(e);
            if done {
                return true;
            }
        }
    }
    false
}

fn job(e: &PoolEvent) -> Option<(String, bool)> {
    match e {
        PoolEvent::Pool {
            change: PoolChange::Job { job_id, clean, .. },
            ..
        } => Some((job_id.clone(), *clean)),
        _ => None,
    }
}

#[test]
fn tip_changes_and_fee_updates_by_long_poll_and_by_polling() {
    let (address, _) = regtest_address();
    for longpoll in [true, false] {
        // Blocks rare (difficulty 256: 2^40 hashes, hours on one thread;
        // at difficulty 1 one came in about one run of twenty), so that
        // only the node moves the tip.
        let node = TestNode::start(
            TESTNET_BLOCK,
            Behaviour {
                longpoll,
                bits: 0x1c00_ffff,
                ..Default::default()
            },
        );
        let miner = PoolMiner::start(common::cpu_engine(), solo(&node, &address)).unwrap();
        let mut seen = Vec::new();
        assert!(events_until(
            &miner,
            &mut seen,
            Duration::from_secs(20),
            |e| job(e).is_some()
        ));
        // A tip from elsewhere: a clean job at the next height, at once.
        let height = node.height();
        node.new_tip();
        let tip = events_until(&miner, &mut seen, Duration::from_secs(20), |e| {
            job(e).is_some_and(|(id, clean)| clean && id.starts_with(&format!("{}:", height + 1)))
        });
        assert!(tip, "longpoll {longpoll}: {seen:#?}");
        // More fees for the same tip: a new job that voids nothing.
        node.fee_update();
        let fees = events_until(&miner, &mut seen, Duration::from_secs(20), |e| {
            job(e).is_some_and(|(id, clean)| !clean && id.starts_with(&format!("{}:", height + 1)))
        });
        assert!(fees, "longpoll {longpoll}: {seen:#?}");
        // The node's clock alone moving on is not new work.
        std::thread::sleep(Duration::from_millis(2500));
        let mut quiet = Vec::new();
        while let Some(e) = miner.recv_timeout(Duration::from_millis(10)) {
            quiet.extend(job(&e));
        }
        miner.stop(Duration::from_secs(1));
        assert!(quiet.is_empty(), "longpoll {longpoll}: {quiet:?}");
        let calls = node.calls();
        assert!(calls.iter().any(|c| c == "getblocktemplate"), "{calls:?}");
    }
}

#[test]
fn the_witness_commitment_is_computed_where_the_node_leaves_it_out() {
    let (address, _) = regtest_address();
    let node = TestNode::start(
        MAINNET_BLOCK,
        Behaviour {
            witness_commitment: false,
            ..Default::default()
        },
    );
    let miner = PoolMiner::start(common::cpu_engine(), solo(&node, &address)).unwrap();
    let mut seen = Vec::new();
    let got = events_until(
        &miner,
        &mut seen,
        Duration::from_secs(60),
        |e| matches!(e, PoolEvent::Share(s) if s.result == ShareResult::Accepted),
    );
    miner.stop(Duration::from_secs(1));
    assert!(got, "{seen:#?}\n{:#?}", node.judged());
    assert!(
        node.judged().iter().all(|j| j.faults.is_empty()),
        "{:#?}",
        node.judged()
    );
}

/// The disconnection reasons and notes the miner reported.
fn said(seen: &[PoolEvent]) -> Vec<String> {
    seen.iter()
        .filter_map(|e| match e {
            PoolEvent::Pool {
                change: PoolChange::Disconnected(r),
                ..
            } => Some(r.clone()),
            PoolEvent::Mining { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn node_faults_pause_the_devices_and_mining_resumes() {
    let (address, _) = regtest_address();
    let node = TestNode::start(
        TESTNET_BLOCK,
        Behaviour {
            loading: 3,
            ..Default::default()
        },
    );
    let miner = PoolMiner::start(common::cpu_engine(), solo(&node, &address)).unwrap();
    let mut seen = Vec::new();
    // Still loading at first (-28): retried, then mined.
    assert!(events_until(
        &miner,
        &mut seen,
        Duration::from_secs(20),
        |e| job(e).is_some()
    ));
    assert!(
        said(&seen).iter().any(|r| r.contains("still starting")),
        "{seen:#?}"
    );
    // In initial block download, then hung, then down: each said, the
    // devices paused; back to normal, mining resumes.
    for (fault, words) in [
        ("ibd", "initial block download"),
        ("stall", "timed out"),
        ("down", "node"),
    ] {
        node.set(|b| match fault {
            "ibd" => b.ibd = true,
            "stall" => b.stall = true,
            _ => b.down = true,
        });
        node.new_tip();
        let paused = events_until(&miner, &mut seen, Duration::from_secs(30), |e| {
            matches!(e, PoolEvent::Mining { paused: true, .. })
        });
        assert!(paused, "{fault}: {seen:#?}");
        let until = Instant::now() + Duration::from_secs(20);
        while !said(&seen).iter().any(|r| r.contains(words)) && Instant::now() < until {
            seen.extend(miner.recv_timeout(Duration::from_millis(50)));
        }
        assert!(
            said(&seen).iter().any(|r| r.contains(words)),
            "{fault}: {:#?}",
            said(&seen)
        );
        node.set(|b| {
            b.ibd = false;
            b.stall = false;
            b.down = false;
        });
        let resumed = events_until(&miner, &mut seen, Duration::from_secs(30), |e| {
            matches!(e, PoolEvent::Mining { paused: false, .. })
        });
        assert!(resumed, "{fault}: {seen:#?}");
    }
    miner.stop(Duration::from_secs(1));
}

#[test]
fn a_rejected_block_is_reported_with_the_nodes_reason() {
    let (address, _) = regtest_address();
    let node = TestNode::start(
        TESTNET_BLOCK,
        Behaviour {
            reject: Some("bad-version(0x20000000)"),
            ..Default::default()
        },
    );
    let (child, rx) = mine(&node, &address, &[]);
    let mut seen = Vec::new();
    let got = wait_for(&rx, &mut seen, Duration::from_secs(60), |s| {
        !blocks(s, "rejected").is_empty()
    });
    stop(child, &rx, &mut seen);
    assert!(got, "{seen:#?}");
    let b = &blocks(&seen, "rejected")[0];
    assert_eq!(b["reason"], "bad-version(0x20000000)", "{b}");
}

#[test]
fn wrong_credentials_and_an_address_of_another_network_exit_2() {
    let node = TestNode::start(
        TESTNET_BLOCK,
        Behaviour {
            unauthorized: true,
            ..Default::default()
        },
    );
    let (address, _) = regtest_address();
    let url = node.url();
    let cookie = node.cookie.to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let out = hashrig(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let mine = |address: &str| {
        run(&[
            "mine",
            "--node",
            &url,
            "--address",
            address,
            "--rpc-cookie",
            &cookie,
            "--backend",
            "cpu",
        ])
    };
    let (code, err) = mine(&address);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("401") && err.lines().count() == 1, "{err}");
    node.set(|b| b.unauthorized = false);
    // A mainnet address for a regtest node.
    let (code, err) = mine("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not a regtest address"), "{err}");
    // Not an address at all.
    let (code, err) = mine("bc1qnotanaddress");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("not a Bitcoin address"), "{err}");
}

/// A node on Bitcoin Knots' BLAKE2b chain answers hashrig's template
/// request with `-8`: one line says the chain's proof of work is not
/// SHA-256d, and the exit status is 2 (not endless retries).
#[test]
fn a_node_on_a_chain_that_left_sha256d_exits_2() {
    let node = TestNode::start(
        TESTNET_BLOCK,
        Behaviour {
            blake2b: true,
            ..Default::default()
        },
    );
    let (address, _) = regtest_address();
    let out = hashrig(&[
        "mine",
        "--node",
        &node.url(),
        "--address",
        &address,
        "--rpc-cookie",
        node.cookie.to_str().unwrap(),
        "--backend",
        "cpu",
    ])
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("proof of work is not SHA-256d") && err.contains("blake2b"),
        "{err}"
    );
}

/// A real `bitcoind -regtest`, where one is on the PATH: from an empty
/// chain to blocks found by hashrig and accepted by Bitcoin Core.
#[test]
#[ignore = "needs bitcoind on the PATH (Bitcoin Core has no Debian package); run with --include-ignored where it is installed"]
fn mines_on_a_real_bitcoind_regtest_where_one_is_installed() {
    let Ok(found) = Command::new("bitcoind").arg("-version").output() else {
        eprintln!("SKIPPED: no bitcoind on the PATH (this test runs hashrig against a real bitcoind -regtest where one is installed)");
        return;
    };
    assert!(found.status.success());
    let dir = std::env::temp_dir().join(format!("hashrig-bitcoind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut bitcoind = Command::new("bitcoind")
        .args([
            "-regtest",
            "-server",
            "-listen=0",
            &format!("-datadir={}", dir.display()),
            &format!("-rpcport={port}"),
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let cookie = dir.join("regtest/.cookie");
    let until = Instant::now() + Duration::from_secs(30);
    while !cookie.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (address, _) = regtest_address();
    let url = format!("http://127.0.0.1:{port}");
    // A fresh regtest chain counts as in initial download until it has a
    // recent block: one made by the node itself first (as the README's
    // commands do).
    let rpc = hashrig::node::Rpc {
        address: format!("127.0.0.1:{port}"),
        auth: Auth::Cookie(cookie.clone()),
        timeout: Duration::from_secs(30),
    };
    let until = Instant::now() + Duration::from_secs(30);
    while rpc
        .call("generatetoaddress", serde_json::json!([1, address]))
        .is_err()
    {
        assert!(Instant::now() < until, "bitcoind did not answer");
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut child = hashrig(&[
        "mine",
        "--node",
        &url,
        "--address",
        &address,
        "--rpc-cookie",
        cookie.to_str().unwrap(),
        "--backend",
        "cpu",
        "--json",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let out = child.stdout.take().unwrap();
    let mut accepted = 0;
    for line in BufReader::new(out).lines().map_while(Result::ok) {
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if v["type"] == "block" && v["result"] == "accepted" {
                accepted += 1;
                if accepted == 2 {
                    break;
                }
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = bitcoind.kill();
    let _ = bitcoind.wait();
    assert_eq!(accepted, 2);
}

/// A node that is not running (its port refuses connections).
fn down_node() -> TestNode {
    TestNode::start(
        TESTNET_BLOCK,
        Behaviour {
            down: true,
            ..Default::default()
        },
    )
}

#[test]
fn a_second_node_takes_over_when_the_first_is_down() {
    let (address, _) = regtest_address();
    let down = down_node();
    let up = TestNode::start(TESTNET_BLOCK, Behaviour::default());
    let mut o = solo(&down, &address);
    let second = solo(&up, &address).upstreams.remove(0);
    o.upstreams.push(second);
    o.failover.failures_before_switch = 2;
    let miner = PoolMiner::start(common::cpu_engine(), o).unwrap();
    let mut seen = Vec::new();
    let got = events_until(
        &miner,
        &mut seen,
        Duration::from_secs(60),
        |e| matches!(e, PoolEvent::Share(s) if s.pool == 1 && s.result == ShareResult::Accepted),
    );
    miner.stop(Duration::from_secs(1));
    assert!(got, "{seen:#?}");
    assert!(
        seen.iter().any(|e| matches!(
            e,
            PoolEvent::Pool {
                pool: 1,
                change: PoolChange::Failover { from: 0 },
                ..
            }
        )),
        "{seen:#?}"
    );
    assert!(up.judged().iter().all(|j| j.faults.is_empty()));
}

#[test]
fn a_node_first_and_a_pool_as_its_backup() {
    // `--node` before `--pool`: the node is the first choice. It is down,
    // so the pool takes over as the second of the list.
    let (address, _) = regtest_address();
    let down = down_node();
    let pool = testpool::TestPool::start(testpool::Behaviour::default());
    let pool_url = pool.url();
    let (child, rx) = mine(&down, &address, &["--pool", &pool_url, "--user", "w"]);
    let mut seen = Vec::new();
    let on_backup = |seen: &[Value]| {
        seen.iter()
            .filter(|v| v["type"] == "share" && v["pool"] == 1 && v["result"] == "accepted")
            .count()
            >= 2
    };
    let got = wait_for(&rx, &mut seen, Duration::from_secs(60), on_backup);
    stop(child, &rx, &mut seen);
    assert!(got, "{seen:#?}");
    let url_of = |pool: u64| {
        seen.iter()
            .find(|v| v["type"] == "pool" && v["pool"] == pool)
            .and_then(|v| v["url"].as_str())
            .map(str::to_string)
    };
    assert_eq!(url_of(0), Some(down.url()), "{seen:#?}");
    assert_eq!(url_of(1).as_deref(), Some(pool_url.as_str()), "{seen:#?}");
    assert!(pool.accepted() >= 2);
    assert!(blocks(&seen, "accepted").is_empty());
}
