//! A small miner daemon on hashrig's public API: jobs come in as JSON Lines
//! on stdin, solutions and statistics go out as JSON Lines on stdout.
//!
//! Input, one object per line:
//! - `{"header": "<160 hex>"}` mines the header at its own nBits; add
//!   `"target": "<64 hex>"` or `"zero_bits": n` for another target. Each
//!   job replaces the one before at once.
//! - `{"stats": true}` prints one `stats` line per device.
//! - `{"pause": true}` / `{"resume": true}`.
//!
//! End of input stops the daemon. Try:
//!
//! ```sh
//! echo '{"header": "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c", "zero_bits": 20}' \
//!   | cargo run --release --example daemon
//! ```

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use hashrig::engine::{Engine, EngineOptions, Event, RollTime, Work};
use hashrig::{Header, HeaderJob, Job, Target};
use serde_json::{json, Value};

fn parse_job(line: &Value) -> Result<Job, String> {
    let header = line["header"].as_str().ok_or("no \"header\"")?;
    let header = Header::from_hex(header).map_err(|e| e.to_string())?;
    let target = if let Some(t) = line["target"].as_str() {
        Target::from_hex(t).map_err(|e| e.to_string())?
    } else if let Some(bits) = line["zero_bits"].as_u64() {
        Target::from_leading_zero_bits(bits as u32).map_err(|e| e.to_string())?
    } else {
        Target::from_compact(header.bits).map_err(|e| e.to_string())?
    };
    Ok(Job::from(HeaderJob::new(header, target)))
}

fn print(line: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn main() {
    let engine = match Engine::start(EngineOptions::default()) {
        Ok(e) => Arc::new(e),
        Err(e) => {
            eprintln!("daemon: {e}");
            std::process::exit(2);
        }
    };
    for w in engine.warnings() {
        eprintln!("daemon: {w}");
    }

    // Events go out on their own thread while stdin is read here.
    let printer = {
        let engine = engine.clone();
        std::thread::spawn(move || loop {
            match engine.recv_timeout(Duration::from_millis(100)) {
                Some(Event::Solution(s)) => print(json!({
                    "type": "solution", "job": s.job.0, "nonce": s.solution.nonce,
                    "hash": s.work.display_hash(&s.solution.hash),
                    "device": s.device, "stale": s.stale,
                })),
                Some(Event::Exhausted(id)) => print(json!({"type": "exhausted", "job": id.0})),
                Some(Event::DeviceFailed { device, reason }) => {
                    print(json!({"type": "device_failed", "device": device, "reason": reason}))
                }
                None if Arc::strong_count(&engine) == 1 => return,
                None => {}
            }
        })
    };

    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                print(json!({"type": "error", "error": format!("not JSON: {e}")}));
                continue;
            }
        };
        if value["stats"] == true {
            for d in engine.stats() {
                print(json!({
                    "type": "stats", "device": d.name, "state": d.state.name(),
                    "mhs_5s": d.rate_5s / 1e6, "mhs_60s": d.rate_60s / 1e6,
                    "effective_mhs": d.effective_rate / 1e6, "hashes": d.hashes,
                    "solutions": d.solutions, "stale": d.stale,
                    "hardware_errors": d.hardware_errors,
                }));
            }
        } else if value["pause"] == true {
            engine.pause();
        } else if value["resume"] == true {
            engine.resume();
        } else {
            match parse_job(&value).and_then(|job| {
                engine
                    .submit(Work::new(job).then(RollTime))
                    .map_err(|e| e.to_string())
            }) {
                Ok(id) => print(json!({"type": "job", "job": id.0})),
                Err(e) => print(json!({"type": "error", "error": e})),
            }
        }
    }
    engine.stop();
    drop(engine);
    let _ = printer.join();
}
