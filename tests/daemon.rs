//! examples/daemon.rs end to end: a job in on stdin, verified solutions and
//! statistics out on stdout as JSON Lines, a clean exit at end of input.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

/// The example's binary: a whole `cargo test` builds the examples beside
/// the test binaries' folder (a run filtered to one test may not).
fn daemon_exe() -> std::path::PathBuf {
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
    exe
}

#[test]
fn daemon_mines_jobs_from_stdin() {
    let exe = daemon_exe();
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
    // The line says which header it solves, and that header has that hash.
    let solved = hashrig::Header::from_hex(solution["header"].as_str().unwrap()).unwrap();
    assert_eq!(solved.block_hash().to_string(), solution["hash"]);

    // Every bad line gets an error naming its field; the daemon goes on.
    stdin.write_all(b"\xff\xfe not utf-8\n").unwrap();
    writeln!(stdin, "not json").unwrap();
    writeln!(
        stdin,
        "{{\"header\": \"{GENESIS}\", \"zero_bits\": 4294967316}}"
    )
    .unwrap();
    writeln!(
        stdin,
        "{{\"header\": \"{GENESIS}\", \"zero_bits\": \"20\"}}"
    )
    .unwrap();
    writeln!(stdin, "{{\"header\": \"{GENESIS}\", \"zerobits\": 20}}").unwrap();
    writeln!(stdin, "{{\"stats\": \"yes\"}}").unwrap();
    writeln!(stdin, "{{\"stats\": true}}").unwrap();
    let mut errors = Vec::new();
    loop {
        let v = next();
        if v["type"] == "error" {
            errors.push(v["error"].as_str().unwrap().to_string());
        }
        if v["type"] == "stats" {
            assert!(v["hashes"].as_u64().unwrap() > 0);
            break;
        }
    }
    assert_eq!(errors.len(), 6, "{errors:?}");
    assert!(errors[0].contains("UTF-8"), "{errors:?}");
    assert!(errors[1].contains("not JSON"), "{errors:?}");
    assert!(errors[2].starts_with("zero_bits:"), "{errors:?}");
    assert!(errors[3].starts_with("zero_bits:"), "{errors:?}");
    assert!(errors[4].starts_with("zerobits: unknown"), "{errors:?}");
    assert!(errors[5].starts_with("stats:"), "{errors:?}");

    // After the time roll, the header given is the rolled one: mine the end
    // of the nonce space at an easy target until a solution of the next
    // second comes.
    let late = hashrig::Header::from_hex(GENESIS).unwrap();
    writeln!(
        stdin,
        "{{\"header\": \"{GENESIS}\", \"zero_bits\": 8, \"start\": {}}}",
        u32::MAX - 20_000
    )
    .unwrap();
    let rolled = loop {
        let v = next();
        if v["type"] == "solution" && v["stale"] == false {
            let h = hashrig::Header::from_hex(v["header"].as_str().unwrap()).unwrap();
            assert_eq!(h.block_hash().to_string(), v["hash"], "{v}");
            assert_eq!(h.nonce, v["nonce"].as_u64().unwrap() as u32);
            if h.time != late.time {
                break h;
            }
        }
    };
    assert_eq!(rolled.time, late.time + 1);
    // End of input stops the daemon once what it still prints is read.
    drop(stdin);
    for line in lines {
        line.unwrap();
    }
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_library_user_gets_no_mesa_runtime_dir_errors() {
    // A service has no XDG_RUNTIME_DIR; the daemon (a plain library user)
    // calls hashrig::gpu::set_runtime_dir first, so Mesa's Vulkan layer,
    // which lists the GPUs, prints nothing.
    let out = Command::new(daemon_exe())
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("HASHRIG_DEVICE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
}
