//! The pool client against a loopback Stratum v1 pool that judges every
//! share with rust-bitcoin (tests/testpool): each handshake variant,
//! version rolling on and off, difficulty changes, clean and non-clean
//! jobs, set_extranonce, dropped connections, failover and back, a pool
//! that rejects everything, TLS, the server's own requests, and hostile
//! input (in `stratum/hostile.rs`).

use crate::common;
use crate::testpool;

// Hostile and random lines from the pool.
#[path = "stratum/hostile.rs"]
mod hostile;

use std::time::{Duration, Instant};

use hashrig::engine::{Engine, Pauser};
use hashrig::stratum::{
    Pool, PoolChange, PoolEvent, PoolMiner, PoolState, ShareReport, ShareResult,
};
use hashrig::upstream::PoolOptions;
use serde_json::{json, Value};
use testpool::{Behaviour, Configure, Shape, TestPool};

fn pool(url: &str) -> Pool {
    Pool::new(url.parse().unwrap(), Some("worker.1"), Some("x")).unwrap()
}

fn options(urls: &[String]) -> PoolOptions {
    let mut o = PoolOptions::new(urls.iter().map(|u| pool(u).into()).collect());
    o.failover.backoff_start = Duration::from_millis(50);
    o.failover.backoff_max = Duration::from_millis(200);
    o.failover.primary_check = Duration::from_millis(300);
    o.poll = Duration::from_millis(20);
    o.failover.failures_before_switch = 2;
    o
}

fn start(o: PoolOptions) -> PoolMiner {
    PoolMiner::start(common::cpu_engine(), o).unwrap()
}

/// A default test pool and a miner on it that has had a share accepted.
fn mining_on_a_default_pool() -> (TestPool, PoolMiner) {
    let p = TestPool::start(Behaviour::default());
    let miner = start(options(&[p.url()]));
    assert!(p.wait_for(WAIT, |p| p.accepted() >= 1));
    (p, miner)
}

/// Every event queued now.
fn drain(miner: &PoolMiner) -> Vec<PoolEvent> {
    let mut out = Vec::new();
    while let Some(e) = miner.recv_timeout(Duration::from_millis(1)) {
        out.push(e);
    }
    out
}

/// The methods the pool received on connection `conn`.
fn methods(p: &TestPool, conn: u64) -> Vec<(String, Value)> {
    p.received()
        .into_iter()
        .filter(|(c, _)| *c == conn)
        .filter_map(|(_, l)| serde_json::from_str::<Value>(&l).ok())
        .filter_map(|v| Some((v["method"].as_str()?.to_string(), v["params"].clone())))
        .collect()
}

fn submits(p: &TestPool) -> Vec<Value> {
    p.judged().into_iter().map(|j| j.params).collect()
}

const WAIT: u64 = 120;

fn assert_all_accepted(p: &TestPool) {
    for j in p.judged() {
        assert!(j.accepted, "the pool rejected {}: {}", j.params, j.reason);
    }
}

fn handshake(configure: Configure, shape: Shape) -> (TestPool, PoolMiner) {
    let p = TestPool::start(Behaviour {
        configure,
        shape,
        ..Default::default()
    });
    let miner = start(options(&[p.url()]));
    assert!(
        p.wait_for(WAIT, |p| p.accepted() >= 3),
        "no shares accepted ({configure:?}, {shape:?})"
    );
    assert_all_accepted(&p);
    (p, miner)
}

#[test]
fn handshake_with_version_rolling_granted() {
    let (p, miner) = handshake(Configure::Grant(0x1fff_e000), Shape::Nested);
    let m = methods(&p, 1);
    assert_eq!(m[0].0, "mining.configure");
    assert_eq!(m[0].1[1]["version-rolling.mask"], "1fffe000");
    assert_eq!(m[0].1[1]["version-rolling.min-bit-count"], 2);
    assert_eq!(m[1].0, "mining.subscribe");
    assert!(m[1].1[0].as_str().unwrap().starts_with("hashrig/"));
    assert_eq!(m[2].0, "mining.authorize");
    assert!(submits(&p).iter().all(|s| s.as_array().unwrap().len() == 6));
    assert_eq!(miner.stats()[0].version_mask, 0x1fff_e000);
    miner.stop(Duration::from_secs(2));
}

#[test]
fn handshake_with_a_narrower_grant_and_a_flat_subscribe() {
    let (p, miner) = handshake(Configure::Grant(0x0000_e000), Shape::Flat);
    assert!(submits(&p).iter().all(|s| s.as_array().unwrap().len() == 6));
    assert_eq!(miner.stats()[0].version_mask, 0x0000_e000);
    miner.stop(Duration::from_secs(2));
}

#[test]
fn handshake_when_the_pool_declines_or_errs() {
    for (configure, shape) in [
        (Configure::Decline, Shape::Null),
        (Configure::Error, Shape::Nested),
    ] {
        let (p, miner) = handshake(configure, shape);
        assert!(submits(&p).iter().all(|s| s.as_array().unwrap().len() == 5));
        assert_eq!(miner.stats()[0].version_mask, 0);
        assert_eq!(p.connections(), 1);
        miner.stop(Duration::from_secs(2));
    }
}

#[test]
fn handshake_when_configure_gets_no_answer() {
    let (p, miner) = handshake(Configure::Ignore, Shape::Nested);
    assert!(submits(&p).iter().all(|s| s.as_array().unwrap().len() == 5));
    assert_eq!(p.connections(), 1);
    miner.stop(Duration::from_secs(2));
}

#[test]
fn handshake_again_without_configure_when_the_pool_closes() {
    let (p, miner) = handshake(Configure::Close, Shape::Nested);
    assert_eq!(p.connections(), 2);
    let second = methods(&p, 2);
    assert_eq!(second[0].0, "mining.subscribe");
    assert!(second.iter().all(|(m, _)| m != "mining.configure"));
    assert!(submits(&p).iter().all(|s| s.as_array().unwrap().len() == 5));
    miner.stop(Duration::from_secs(2));
}

#[test]
fn version_rolling_can_be_turned_off() {
    let p = TestPool::start(Behaviour::default());
    let mut o = options(&[p.url()]);
    o.version_rolling = false;
    let miner = start(o);
    assert!(p.wait_for(WAIT, |p| p.accepted() >= 2));
    assert_all_accepted(&p);
    assert!(methods(&p, 1).iter().all(|(m, _)| m != "mining.configure"));
    assert!(submits(&p).iter().all(|s| s.as_array().unwrap().len() == 5));
    miner.stop(Duration::from_secs(2));
}

#[test]
fn difficulty_applies_from_the_next_job() {
    let p = TestPool::start(Behaviour {
        difficulty: 0.0002,
        ..Default::default()
    });
    let miner = start(options(&[p.url()]));
    assert!(p.wait_for(WAIT, |p| p.accepted() >= 2));
    // Announced, but the current job keeps its difficulty.
    p.set_difficulty(0.0004);
    let before = p.accepted();
    assert!(p.wait_for(WAIT, |p| p.accepted() >= before + 2));
    let (job, _) = p.notify(true);
    assert!(p.wait_for(WAIT, |p| p
        .judged()
        .iter()
        .filter(|j| j.accepted && j.params[1] == job.as_str())
        .count()
        >= 2));
    assert_all_accepted(&p);
    // The pool counts a share before its answer reaches the miner: read
    // the miner's events until a share of the new job is among them.
    let mut shares = Vec::new();
    let until = Instant::now() + Duration::from_secs(WAIT);
    while Instant::now() < until && !shares.iter().any(|s: &ShareReport| s.job_id == job) {
        if let Some(PoolEvent::Share(s)) = miner.recv_timeout(Duration::from_millis(50)) {
            shares.push(*s);
        }
    }
    shares.extend(drain(&miner).into_iter().filter_map(|e| match e {
        PoolEvent::Share(s) => Some(*s),
        _ => None,
    }));
    for s in &shares {
        let want = if s.job_id == job { 0.0004 } else { 0.0002 };
        assert_eq!(s.target_difficulty, want, "job {}", s.job_id);
        assert!(s.difficulty >= want);
    }
    assert!(shares.iter().any(|s| s.job_id == job));
    assert_eq!(miner.stats()[0].difficulty, Some(0.0004));
    miner.stop(Duration::from_secs(2));
}

#[test]
fn clean_and_non_clean_jobs() {
    let (p, miner) = mining_on_a_default_pool();
    // Not clean: the old job stays valid, the new one is mined.
    let (second, _) = p.notify(false);
    assert!(p.wait_for(WAIT, |p| p
        .judged()
        .iter()
        .any(|j| j.params[1] == second.as_str())));
    // Clean: nothing of the older jobs is submitted once a share of the
    // new one has been.
    let (third, _) = p.notify(true);
    assert!(p.wait_for(WAIT, |p| p
        .judged()
        .iter()
        .filter(|j| j.params[1] == third.as_str())
        .count()
        >= 2));
    let all = p.judged();
    let first_new = all
        .iter()
        .position(|j| j.params[1] == third.as_str())
        .unwrap();
    for j in &all[first_new..] {
        assert_eq!(
            j.params[1],
            third.as_str(),
            "a share of a replaced job after the clean job"
        );
    }
    // Shares judged before the switch reached the pool may be stale there;
    // everything else is accepted.
    for j in &all {
        assert!(
            j.accepted || j.reason == "stale",
            "{}: {}",
            j.params,
            j.reason
        );
    }
    miner.stop(Duration::from_secs(2));
}

#[test]
fn set_extranonce_applies_from_the_next_job() {
    let p = TestPool::start(Behaviour::default());
    let miner = start(options(&[format!("{}#xnsub", p.url())]));
    assert!(p.wait_for(WAIT, |p| p.accepted() >= 1));
    assert!(methods(&p, 1)
        .iter()
        .any(|(m, _)| m == "mining.extranonce.subscribe"));
    p.set_extranonce(&[0xab, 0xcd, 0xef], 2);
    let (job, _) = p.notify(true);
    assert!(p.wait_for(WAIT, |p| p
        .judged()
        .iter()
        .filter(|j| j.accepted && j.params[1] == job.as_str())
        .count()
        >= 2));
    for j in p.judged().iter().filter(|j| j.params[1] == job.as_str()) {
        assert!(j.accepted, "{}: {}", j.params, j.reason);
        assert_eq!(
            j.params[2].as_str().unwrap().len(),
            4,
            "2 bytes of extranonce2"
        );
    }
    miner.stop(Duration::from_secs(2));
}

#[test]
fn reconnects_and_resumes_after_the_pool_drops() {
    let (p, miner) = mining_on_a_default_pool();
    p.drop_connections();
    assert!(p.wait_for(WAIT, |p| p
        .judged()
        .iter()
        .any(|j| j.accepted && j.connection >= 2)));
    let second = methods(&p, 2);
    let subscribe = second
        .iter()
        .find(|(m, _)| m == "mining.subscribe")
        .unwrap();
    assert_eq!(subscribe.1[1], "s1", "resumes the first session");
    let events = drain(&miner);
    assert!(events.iter().any(|e| matches!(
        e,
        PoolEvent::Pool {
            change: PoolChange::Disconnected(_),
            ..
        }
    )));
    assert!(events
        .iter()
        .any(|e| matches!(e, PoolEvent::Mining { paused: true, .. })));
    assert!(miner.stats()[0].connections >= 2);
    miner.stop(Duration::from_secs(2));
}

#[test]
fn fails_over_to_the_second_pool_and_comes_back() {
    let a = TestPool::start(Behaviour::default());
    let b = TestPool::start(Behaviour::default());
    let miner = start(options(&[a.url(), b.url()]));
    assert!(a.wait_for(WAIT, |p| p.accepted() >= 1));
    a.refuse(true);
    a.drop_connections();
    assert!(
        b.wait_for(WAIT, |p| p.accepted() >= 1),
        "no share on the backup pool"
    );
    assert_eq!(miner.stats()[1].state, PoolState::Mining);
    let a_before = a.connections();
    a.refuse(false);
    assert!(
        a.wait_for(WAIT, |p| p
            .judged()
            .iter()
            .any(|j| j.accepted && j.connection > a_before)),
        "never came back to the first pool"
    );
    assert_eq!(miner.stats()[0].state, PoolState::Mining);
    assert_ne!(miner.stats()[1].state, PoolState::Mining);
    let failovers = drain(&miner)
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                PoolEvent::Pool {
                    change: PoolChange::Failover { .. },
                    ..
                }
            )
        })
        .count();
    assert!(failovers >= 2, "{failovers} failover events");
    assert_all_accepted(&b);
    miner.stop(Duration::from_secs(2));
}

#[test]
fn a_pool_that_rejects_everything_is_left() {
    let a = TestPool::start(Behaviour {
        reject_all: true,
        ..Default::default()
    });
    let b = TestPool::start(Behaviour::default());
    let mut o = options(&[a.url(), b.url()]);
    o.failover.reject_limit = 3;
    o.failover.primary_check = Duration::from_secs(3600);
    let miner = start(o);
    assert!(b.wait_for(WAIT, |p| p.accepted() >= 2));
    // The pool counts a share before its answer reaches the miner.
    common::until(Duration::from_secs(WAIT), || miner.stats()[1].accepted >= 2);
    let s = miner.stats();
    assert!(s[0].rejected >= 3, "{:?}", s[0]);
    assert_eq!(s[0].accepted, 0);
    assert!(s[1].accepted >= 2);
    let rejected = drain(&miner).into_iter().find_map(|e| match e {
        PoolEvent::Share(s) if s.pool == 0 => Some(s.result),
        _ => None,
    });
    assert!(
        matches!(rejected, Some(ShareResult::Rejected { code: Some(23), .. })),
        "{rejected:?}"
    );
    miner.stop(Duration::from_secs(2));
}

#[test]
fn tls_with_a_self_signed_certificate() {
    let (config, pem) = testpool::self_signed();
    let p = TestPool::start_tls(Behaviour::default(), config);
    // Without the certificate the pool is not trusted.
    let untrusted = start(options(&[p.tls_url()]));
    let until = Instant::now() + Duration::from_secs(10);
    while untrusted.stats()[0].last_error.is_none() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let why = untrusted.stats()[0].last_error.clone().unwrap_or_default();
    assert!(why.to_lowercase().contains("certificate"), "{why}");
    untrusted.stop(Duration::ZERO);
    assert_eq!(p.accepted(), 0);

    let mut o = options(&[p.tls_url()]);
    o.extra_ca_pem = Some(pem.into_bytes());
    let miner = start(o);
    assert!(p.wait_for(WAIT, |p| p.accepted() >= 2));
    assert_all_accepted(&p);
    miner.stop(Duration::from_secs(2));
}

#[test]
fn answers_the_pools_requests() {
    let (p, miner) = mining_on_a_default_pool();
    p.broadcast(r#"{"id":"v1","method":"client.get_version","params":[]}"#);
    p.broadcast(r#"{"id":77,"method":"mining.ping","params":[]}"#);
    p.broadcast(r#"{"id":78,"method":"mining.teleport","params":[1]}"#);
    p.broadcast(r#"{"id":null,"method":"client.show_message","params":["maintenance at noon"]}"#);
    let replies = |p: &TestPool| -> Vec<Value> {
        p.received()
            .into_iter()
            .filter_map(|(_, l)| serde_json::from_str::<Value>(&l).ok())
            .filter(|v| v.get("method").is_none())
            .collect()
    };
    assert!(p.wait_for(10, |p| replies(p).len() >= 3));
    let r = replies(&p);
    let by_id = |id: Value| r.iter().find(|v| v["id"] == id).cloned().unwrap();
    assert!(by_id(json!("v1"))["result"]
        .as_str()
        .unwrap()
        .starts_with("hashrig/"));
    assert_eq!(by_id(json!(77))["result"], "pong");
    assert_eq!(by_id(json!(78))["error"][0], 20);
    // The connection stays up and mining goes on.
    let before = p.accepted();
    assert!(p.wait_for(WAIT, |p| p.accepted() > before));
    assert_eq!(p.connections(), 1);
    let events = drain(&miner);
    assert!(events.iter().any(|e| matches!(e,
        PoolEvent::Pool { change: PoolChange::Message(m), .. } if m.contains("maintenance at noon"))));
    miner.stop(Duration::from_secs(2));
}

#[test]
fn reconnect_requests_are_followed_only_to_the_same_host() {
    let (p, miner) = mining_on_a_default_pool();
    p.broadcast(
        r#"{"id":null,"method":"client.reconnect","params":["pool.example.invalid",3333,0]}"#,
    );
    assert!(
        p.wait_for(10, |p| p.connections() >= 2),
        "reconnects to the same pool"
    );
    // Mining on the new connection (not only accepted by the pool's
    // listener) before the next request goes out on it.
    assert!(p.wait_for(WAIT, |p| p
        .judged()
        .iter()
        .any(|j| j.accepted && j.connection >= 2)));
    p.broadcast(&format!(
        r#"{{"id":null,"method":"client.reconnect","params":["127.0.0.1",{},0]}}"#,
        p.addr.port()
    ));
    assert!(p.wait_for(10, |p| p.connections() >= 3));
    assert!(p.wait_for(WAIT, |p| p
        .judged()
        .iter()
        .any(|j| j.accepted && j.connection >= 3)));
    let events = drain(&miner);
    assert!(
        events.iter().any(|e| matches!(e,
        PoolEvent::Pool { change: PoolChange::Disconnected(m), .. } if m.contains("not followed")))
    );
    miner.stop(Duration::from_secs(2));
}

#[test]
fn stop_flushes_and_returns() {
    let (p, miner) = mining_on_a_default_pool();
    let t = Instant::now();
    miner.stop(Duration::from_secs(2));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        p.wait_for(5, |p| p.open_connections() == 0),
        "the connection is closed"
    );
    let s = miner.stats();
    assert_eq!(s[0].accepted as usize, p.accepted());
}

/// The operator's pause (the API's control, the C ABI, a daemon) holds
/// through the pool miner's own pause and resume: a reconnection with a new
/// job does not set the devices hashing again.
#[test]
fn the_operators_pause_outlasts_a_reconnection() {
    let (p, miner) = mining_on_a_default_pool();
    let engine = miner.engine().clone();
    engine.pause();
    p.refuse(true);
    p.drop_connections();
    assert!(
        common::until(Duration::from_secs(WAIT), || miner.stats()[0].state
            != PoolState::Mining),
        "the pool never went away"
    );
    let connections = p.connections();
    p.refuse(false);
    // Back on the pool, with a job: the miner lifts its own pause.
    assert!(p.wait_for(WAIT, |p| p.connections() > connections));
    assert!(
        common::until(Duration::from_secs(WAIT), || miner.stats()[0].state
            == PoolState::Mining
            && !engine.is_paused_by(Pauser::Source)),
        "the miner did not resume"
    );
    assert!(engine.is_paused_by(Pauser::Operator));
    let hashes = |e: &Engine| e.stats().iter().map(|d| d.hashes).sum::<u64>();
    std::thread::sleep(Duration::from_millis(300));
    let before = hashes(&engine);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hashes(&engine), before, "hashing while the operator paused");
    let accepted = p.accepted();
    engine.resume();
    assert!(
        p.wait_for(WAIT, |p| p.accepted() > accepted),
        "no share after resume"
    );
    miner.stop(Duration::from_secs(2));
}

/// Polls `f` for up to WAIT seconds.
#[test]
fn a_job_sent_again_is_not_hashed_again() {
    let p = TestPool::start(Behaviour::default());
    let miner = start(options(&[p.url()]));
    assert!(p.wait_for(WAIT, |p| p.accepted() >= 1));
    let (id, _) = p.notify(true);
    let hashes = |m: &PoolMiner| m.engine().stats().iter().map(|d| d.hashes).sum::<u64>();
    std::thread::sleep(Duration::from_millis(300));
    let (before_hashes, before_shares) = (hashes(&miner), p.judged().len());
    // The same job every 100 ms after the same difficulty, as varDiff
    // pools send it: each time a device would start it over at
    // extranonce2 0 and nonce 0 if it did not keep its place.
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        p.set_difficulty(Behaviour::default().difficulty);
        p.renotify(&id);
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let searched = hashes(&miner) - before_hashes;
    let shares = p.judged().len() - before_shares;
    // Shares expected from the hashes searched: difficulty 1 is 2^32
    // hashes a share.
    let expected = searched as f64 / (Behaviour::default().difficulty * 2f64.powi(32));
    assert!(
        expected > 20.0,
        "too little hashed to judge: {searched} hashes"
    );
    assert!(
        shares as f64 > 0.5 * expected,
        "{shares} shares from {searched} hashes, where {expected:.0} were due: work was repeated"
    );
    assert_all_accepted(&p);
    let headers: Vec<_> = p.judged().iter().filter_map(|j| j.header).collect();
    let distinct: std::collections::HashSet<_> = headers.iter().map(|h| h.block_hash()).collect();
    assert_eq!(
        distinct.len(),
        headers.len(),
        "a header was submitted twice"
    );
}

#[test]
fn a_stop_is_reported_as_stopping_not_as_a_lost_pool() {
    let (_p, miner) = mining_on_a_default_pool();
    drain(&miner);
    miner.stop(Duration::from_secs(2));
    let events = drain(&miner);
    for e in &events {
        match e {
            PoolEvent::Mining {
                paused: true,
                reason,
            } => {
                panic!("a stop reported as a pause: {reason}")
            }
            PoolEvent::Pool {
                change: PoolChange::Disconnected(why),
                ..
            } => assert_eq!(why, "hashrig is stopping"),
            _ => {}
        }
    }
    assert!(
        events.iter().any(|e| matches!(
            e,
            PoolEvent::Pool {
                change: PoolChange::Disconnected(_),
                ..
            }
        )),
        "the stop is not reported: {events:?}"
    );
    assert_eq!(miner.stats()[0].state, PoolState::Idle);
}
