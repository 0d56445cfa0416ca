//! A `hashrig` command run with `--json` by a test: its JSON lines as they
//! come, its stderr echoed, waits on what it printed, and a stop with
//! SIGINT as a user's Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Starts `cmd` with its stdout read as JSON lines (sent as they come) and
/// its stderr echoed with a `hashrig:` prefix.
pub fn spawn(cmd: &mut Command) -> (Child, mpsc::Receiver<Value>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hashrig runs");
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if tx.send(v).is_err() {
                    return;
                }
            }
        }
    });
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            eprintln!("hashrig: {line}");
        }
    });
    (child, rx)
}

/// Reads lines into `seen` until `until` holds for what was seen (the
/// newest line last), or the time is up.
pub fn wait_for(
    rx: &mpsc::Receiver<Value>,
    seen: &mut Vec<Value>,
    within: Duration,
    until: impl Fn(&[Value]) -> bool,
) -> bool {
    let end = Instant::now() + within;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(v) => {
                seen.push(v);
                if until(seen) {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

/// Sends `which` (`-INT`, `-STOP`, …) to the process.
pub fn signal(child: &Child, which: &str) {
    let _ = Command::new("kill")
        .args([which, &child.id().to_string()])
        .status();
}

/// Stops the command with SIGINT, collects what it prints until it exits
/// (ten seconds at most, then it is killed), and gives its exit code.
pub fn stop(mut child: Child, rx: &mpsc::Receiver<Value>, seen: &mut Vec<Value>) -> Option<i32> {
    signal(&child, "-INT");
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(v) => seen.push(v),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(_) => {}
        }
    }
    let _ = child.kill();
    child.wait().ok()?.code()
}

/// The `share` lines of `seen` with this `result`.
pub fn shares(seen: &[Value], result: &str) -> usize {
    seen.iter()
        .filter(|v| v["type"] == "share" && v["result"] == result)
        .count()
}
