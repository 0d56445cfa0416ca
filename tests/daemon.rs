//! examples/daemon.rs end to end: a job in on stdin, verified solutions and
//! statistics out on stdout as JSON Lines, a clean exit at end of input.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

#[test]
fn daemon_mines_jobs_from_stdin() {
    // A whole `cargo test` builds the examples beside the test binaries'
    // folder (a run filtered to this test alone may not).
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let exe = deps
        .parent()
        .unwrap()
        .join("examples")
        .join(format!("daemon{}", std::env::consts::EXE_SUFFIX));
    assert!(
        exe.exists(),
        "no example binary at {}: run the whole `cargo test` or `cargo build --examples` first",
        exe.display()
    );
    let mut child = Command::new(&exe)
        .env_remove("HASHRIG_DEVICE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || -> serde_json::Value {
        serde_json::from_str(&lines.next().expect("a line").unwrap()).unwrap()
    };

    writeln!(stdin, "{{\"header\": \"{GENESIS}\", \"zero_bits\": 18}}").unwrap();
    let job = next();
    assert_eq!(job["type"], "job");
    let solution = loop {
        let v = next();
        if v["type"] == "solution" {
            break v;
        }
    };
    assert_eq!(solution["job"], job["job"]);
    assert_eq!(solution["stale"], false);
    let nonce = solution["nonce"].as_u64().unwrap() as u32;
    let header = hashrig::Header::from_hex(GENESIS)
        .unwrap()
        .with_nonce(nonce);
    assert_eq!(header.block_hash().to_string(), solution["hash"]);
    assert!(solution["hash"].as_str().unwrap().starts_with("0000"));

    writeln!(stdin, "not json").unwrap();
    writeln!(stdin, "{{\"stats\": true}}").unwrap();
    let (mut error, mut stats) = (false, false);
    while !(error && stats) {
        let v = next();
        error |= v["type"] == "error";
        if v["type"] == "stats" {
            stats = true;
            assert!(v["hashes"].as_u64().unwrap() > 0);
        }
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
