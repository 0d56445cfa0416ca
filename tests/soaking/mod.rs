//! A rig left alone against a pool that misbehaves the way real ones and
//! real networks do: `hashrig mine` on the test pool while the pool drops
//! the connection, stalls, writes each line one byte at a time, writes many
//! lines in one go, changes the difficulty and sends clean jobs every few
//! seconds. The process's resident memory, open descriptors and threads
//! are sampled as it runs, and its shares are accounted for against what
//! the pool judged. `tests/soak.rs` runs it for a minute and bounds the
//! growth; `benches/soak.rs` runs it for half an hour and reports it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::testpool::{Behaviour, TestPool};

/// One look at the process.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Since the start.
    pub at: Duration,
    /// Resident memory, KiB.
    pub rss_kib: u64,
    /// Open file descriptors.
    pub fds: usize,
    /// Threads.
    pub threads: usize,
}

/// What a soak measured.
#[derive(Debug)]
pub struct Soak {
    pub samples: Vec<Sample>,
    /// The disturbances made, in order.
    pub disturbances: Vec<&'static str>,
    /// hashrig's closing `summary` line.
    pub summary: serde_json::Value,
    /// Shares the pool judged, and accepted.
    pub pool_judged: usize,
    pub pool_accepted: usize,
    /// Shares the pool saw twice (the same header).
    pub duplicates: usize,
    pub exit: Option<i32>,
    pub stderr_tail: Vec<String>,
}

/// `/proc` figures of `pid`, if it is still there.
fn sample(pid: u32, at: Duration) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some(Sample {
        at,
        rss_kib: field("VmRSS:")?,
        threads: field("Threads:")? as usize,
        fds: std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count(),
    })
}

/// The growth per hour of `f` over the samples after the first fifth (the
/// warm-up), by a least-squares line.
pub fn growth_per_hour(samples: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    let settled = &samples[samples.len() / 5..];
    let n = settled.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let xs: Vec<f64> = settled.iter().map(|s| s.at.as_secs_f64()).collect();
    let ys: Vec<f64> = settled.iter().map(&f).collect();
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let var: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    if var == 0.0 {
        0.0
    } else {
        cov / var * 3600.0
    }
}

/// Runs the soak for `total`, sampling every `every`, with a disturbance
/// every `disturb`.
pub fn soak(total: Duration, every: Duration, disturb: Duration) -> Soak {
    let pool = TestPool::start(Behaviour {
        difficulty: 0.002,
        ..Default::default()
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_hashrig"))
        .args([
            "mine",
            "--pool",
            &pool.url(),
            "--user",
            "soak.1",
            "--backend",
            "cpu",
            "--threads",
            "1",
            "--json",
        ])
        .env_remove("HASHRIG_DEVICE")
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("hashrig-cli-test-cache"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hashrig runs");
    let pid = child.id();
    // Only the last summary line and the last stderr lines are kept.
    let summary = Arc::new(Mutex::new(serde_json::Value::Null));
    let stdout = child.stdout.take().unwrap();
    {
        let summary = summary.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["type"] == "summary" {
                        *summary.lock().unwrap() = v;
                    }
                }
            }
        });
    }
    let stderr_tail = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    {
        let tail = stderr_tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut t = tail.lock().unwrap();
                t.push(line);
                if t.len() > 20 {
                    t.remove(0);
                }
            }
        });
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut disturbances = Vec::new();
    let (mut next_sample, mut next_disturbance) = (Duration::ZERO, disturb);
    let mut turn = 0usize;
    let mut difficulty = 0.002;
    while started.elapsed() < total {
        let now = started.elapsed();
        if now >= next_sample {
            samples.extend(sample(pid, now));
            next_sample += every;
        }
        if now >= next_disturbance {
            pool.set(|b| b.fragment = false);
            let what = match turn % 6 {
                0 => {
                    pool.drop_connections();
                    "dropped the connection"
                }
                1 => {
                    pool.stall(disturb / 2);
                    "stalled"
                }
                2 => {
                    pool.set(|b| b.fragment = true);
                    pool.notify(false);
                    "wrote lines a byte at a time"
                }
                3 => {
                    difficulty = if difficulty > 0.002 { 0.002 } else { 0.004 };
                    pool.set(|b| b.difficulty = difficulty);
                    let set = serde_json::json!({"id": null, "method": "mining.set_difficulty", "params": [difficulty]});
                    let (id, _) = pool.notify(true);
                    let again = pool.job_line(&id, false).expect("the job just sent");
                    pool.broadcast_together(&[set.to_string(), again]);
                    "many lines in one write"
                }
                4 => {
                    pool.set_difficulty(difficulty);
                    "changed the difficulty"
                }
                _ => {
                    pool.notify(true);
                    "sent a clean job"
                }
            };
            disturbances.push(what);
            turn += 1;
            next_disturbance += disturb;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pool.set(|b| b.fragment = false);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(300)); // the pipes drain
    let judged = pool.judged();
    let mut headers = std::collections::HashSet::new();
    let duplicates = judged
        .iter()
        .filter_map(|j| j.header)
        .filter(|h| !headers.insert(h.block_hash()))
        .count();
    let summary = summary.lock().unwrap().clone();
    let stderr_tail = stderr_tail.lock().unwrap().clone();
    Soak {
        samples,
        disturbances,
        summary,
        pool_judged: judged.len(),
        pool_accepted: judged.iter().filter(|j| j.accepted).count(),
        duplicates,
        exit,
        stderr_tail,
    }
}
