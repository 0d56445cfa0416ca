//! A small miner daemon on hashrig's public API: jobs come in as JSON Lines
//! on stdin, solutions and statistics go out as JSON Lines on stdout.
//!
//! Input, one object per line:
//! - `{"header": "<160 hex>"}` mines the header at its own nBits; add
//!   `"target": "<64 hex>"` or `"zero_bits": n` for another target, and
//!   `"start": n` to begin at another nonce than 0. Each job replaces the
//!   one before at once; when its nonces run out, the time is rolled.
//! - `{"stats": true}` prints one `stats` line per device.
//! - `{"pause": true}` / `{"resume": true}`.
//!
//! Every solution line carries the exact header it solves (`header`): once
//! a job's nonces run out, the time field is rolled and the header differs
//! from the one submitted. A bad line (not UTF-8, not JSON, an unknown key,
//! a wrong type or an out-of-range value) gets an `error` line naming the
//! field, and the daemon goes on. End of input stops the daemon. Try (the
//! build comes first, so that the three seconds are the daemon's, not the
//! compiler's):
//!
//! ```sh
//! cargo build --release --example daemon && \
//! (echo '{"header": "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c", "zero_bits": 20}'; \
//!  sleep 3; echo '{"stats": true}') | target/release/examples/daemon
//! ```

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use hashrig::engine::{Engine, EngineOptions, Event, RollTime, Work};
use hashrig::{Header, HeaderJob, Job, Target};
use serde_json::{json, Value};

/// What one input line asks for.
enum Request {
    Job(Job, u64),
    Stats,
    Pause,
    Resume,
}

/// Checks every field of a line: its name, its type and its range.
fn parse(line: &Value) -> Result<Request, String> {
    let fields = line.as_object().ok_or("a line must be a JSON object")?;
    for key in fields.keys() {
        let known = [
            "header",
            "target",
            "zero_bits",
            "start",
            "stats",
            "pause",
            "resume",
        ];
        if !known.contains(&key.as_str()) {
            return Err(format!("{key}: unknown field"));
        }
    }
    let flag = |key: &str| match fields.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("{key}: expected true or false, got {other}")),
    };
    if flag("stats")? {
        return Ok(Request::Stats);
    }
    if flag("pause")? {
        return Ok(Request::Pause);
    }
    if flag("resume")? {
        return Ok(Request::Resume);
    }
    let header = match fields.get("header") {
        // The parser's errors name the field themselves.
        Some(Value::String(h)) => Header::from_hex(h).map_err(|e| e.to_string())?,
        Some(other) => return Err(format!("header: expected 160 hex digits, got {other}")),
        None => return Err("header: missing".into()),
    };
    let target = match (fields.get("target"), fields.get("zero_bits")) {
        (Some(_), Some(_)) => return Err("target, zero_bits: give one, not both".into()),
        (Some(Value::String(t)), None) => {
            Target::from_hex(t).map_err(|e| format!("target: {e}"))?
        }
        (Some(other), None) => return Err(format!("target: expected 64 hex digits, got {other}")),
        (None, Some(bits)) => {
            let bits = bits
                .as_u64()
                .and_then(|b| u32::try_from(b).ok())
                .ok_or_else(|| {
                    format!("zero_bits: expected an integer from 0 to 255, got {bits}")
                })?;
            Target::from_leading_zero_bits(bits).map_err(|e| format!("zero_bits: {e}"))?
        }
        (None, None) => Target::from_compact(header.bits).map_err(|e| format!("header: {e}"))?,
    };
    let start = match fields.get("start") {
        None => 0,
        Some(n) => n
            .as_u64()
            .filter(|n| *n <= u32::MAX as u64)
            .ok_or_else(|| format!("start: expected a nonce from 0 to 4294967295, got {n}"))?,
    };
    Ok(Request::Job(
        Job::from(HeaderJob::new(header, target)),
        start,
    ))
}

fn print(line: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn main() {
    // SAFETY: first thing in main, before any other thread starts.
    unsafe {
        hashrig::gpu::set_runtime_dir();
    }
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
                    // The exact header solved (its time may be rolled).
                    "header": s.work.solved_header(s.solution.nonce).map(|h| h.to_hex()),
                    "device": s.device, "stale": s.stale,
                })),
                Some(Event::Exhausted(id)) => print(json!({"type": "exhausted", "job": id.0})),
                Some(Event::DeviceFailed { device, reason }) => {
                    print(json!({"type": "device_failed", "device": device, "reason": reason}))
                }
                Some(Event::DeviceRecovered { device, attempt }) => {
                    print(json!({"type": "device_recovered", "device": device, "attempt": attempt}))
                }
                None if Arc::strong_count(&engine) == 1 => return,
                None => {}
            }
        })
    };

    let mut stdin = std::io::stdin().lock();
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match stdin.read_until(b'\n', &mut raw) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("daemon: reading stdin: {e}");
                break;
            }
        }
        let Ok(line) = std::str::from_utf8(&raw) else {
            print(json!({"type": "error", "error": "the line is not UTF-8"}));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                print(json!({"type": "error", "error": format!("not JSON: {e}")}));
                continue;
            }
        };
        let request = match parse(&value) {
            Ok(r) => r,
            Err(e) => {
                print(json!({"type": "error", "error": e}));
                continue;
            }
        };
        match request {
            Request::Stats => {
                for d in engine.stats() {
                    print(json!({
                        "type": "stats", "device": d.name, "state": d.state.name(),
                        "mhs_5s": d.rate_5s / 1e6, "mhs_60s": d.rate_60s / 1e6,
                        "effective_mhs": d.effective_rate / 1e6, "hashes": d.hashes,
                        "solutions": d.solutions, "stale": d.stale,
                        "hardware_errors": d.hardware_errors,
                    }));
                }
            }
            Request::Pause => engine.pause(),
            Request::Resume => engine.resume(),
            Request::Job(job, start) => {
                match engine.submit(Work::new(job).from_nonce(start).then(RollTime)) {
                    Ok(id) => print(json!({"type": "job", "job": id.0})),
                    Err(e) => print(json!({"type": "error", "error": e.to_string()})),
                }
            }
        }
    }
    engine.stop();
    drop(engine);
    let _ = printer.join();
}
