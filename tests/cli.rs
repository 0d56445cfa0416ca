//! The `hashrig` command end to end: exit codes, output shape and every
//! kind of bad input.

use crate::common;
use crate::testpool;

// Bad input of every kind, and what a new user meets first.
#[path = "cli/input.rs"]
mod input;

// The man pages and shell completions.
#[path = "cli/generate.rs"]
mod generate;

use std::process::{Command, Output};

use common::mainnet_blocks;

fn hashrig(args: &[&str]) -> Output {
    command(args).output().expect("runs")
}

/// `hashrig args…` with the tests' calibration cache (never the user's
/// own) and no `HASHRIG_DEVICE` from the environment.
fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hashrig"));
    c.args(args).env_remove("HASHRIG_DEVICE").env(
        "XDG_CACHE_HOME",
        std::env::temp_dir().join("hashrig-cli-test-cache"),
    );
    c
}

/// Runs with the calibration cache under `cache` (never the user's own).
fn hashrig_with_cache(args: &[&str], cache: &std::path::Path) -> Output {
    command(args)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .expect("runs")
}

/// Starts `hashrig args…` with its output piped.
fn spawn(args: &[&str]) -> std::process::Child {
    command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends SIGINT to `child` and collects what it printed.
fn interrupt(child: std::process::Child) -> Output {
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

#[test]
fn mine_finds_real_blocks_and_exits_0() {
    for block in mainnet_blocks() {
        let nonce = block.header.nonce as u64;
        let start = nonce.saturating_sub(30_000).to_string();
        let hex = block.header.to_hex();
        let o = hashrig(&[
            "mine",
            "--backend",
            "cpu",
            "--header",
            &hex,
            "--start",
            &start,
            "--count",
            "70000",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains(&format!("nonce {nonce} ({nonce:#x})")),
            "{out}"
        );
        assert!(out.contains(&block.hash.to_string()), "{out}");
    }
}

#[test]
fn mine_json_lines() {
    let o = hashrig(&[
        "mine",
        "--backend",
        "cpu",
        "--header",
        GENESIS,
        "--zero-bits",
        "8",
        "--count",
        "5000",
        "--all",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let (solutions, rest): (Vec<_>, Vec<_>) = lines.iter().partition(|v| v["type"] == "solution");
    assert!(solutions.len() > 5);
    for s in &solutions {
        assert!(s["nonce"].is_u64());
        assert!(s["hash"].as_str().unwrap().starts_with("00"));
        assert_eq!(
            s["nonce_hex"].as_str().unwrap(),
            format!("{:#x}", s["nonce"].as_u64().unwrap())
        );
    }
    assert_eq!(rest.len(), 1);
    let summary = rest[0];
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["found"].as_u64().unwrap() as usize, solutions.len());
    assert_eq!(summary["hashes"], 5000);
    assert!(summary["mhs"].is_f64());
}

#[test]
fn mine_without_all_stops_at_the_first() {
    let o = hashrig(&[
        "mine",
        "--backend",
        "cpu",
        "--header",
        GENESIS,
        "--zero-bits",
        "4",
        "--count",
        "100000",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let lines = json_lines(&o);
    assert_eq!(lines.iter().filter(|v| v["type"] == "solution").count(), 1);
}

#[test]
fn mine_nothing_found_exits_1() {
    let o = hashrig(&[
        "mine",
        "--backend",
        "cpu",
        "--header",
        GENESIS,
        "--start",
        "0",
        "--count",
        "10000",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[test]
fn pow_generic_job() {
    let o = hashrig(&["pow", "--data", "hello", "--zero-bits", "12", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let hash = lines[0]["hash"].as_str().unwrap();
    assert!(hash.starts_with("000"), "{hash}");
    // Checked independently with sha2.
    use sha2::Digest;
    let nonce = lines[0]["nonce"].as_u64().unwrap();
    let mut msg = b"hello".to_vec();
    msg.extend_from_slice(&nonce.to_le_bytes());
    assert_eq!(hashrig::hex::encode(&sha2::Sha256::digest(&msg)), hash);

    let o = hashrig(&[
        "pow",
        "--data-hex",
        "00ff",
        "--suffix-hex",
        "aa",
        "--zero-bits",
        "8",
        "--double",
        "--nonce-endian",
        "be",
        "--start",
        "1000",
        "--count",
        "4000",
        "--all",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for v in json_lines(&o).iter().filter(|v| v["type"] == "solution") {
        let nonce = v["nonce"].as_u64().unwrap();
        let mut msg = vec![0, 0xff];
        msg.extend_from_slice(&nonce.to_be_bytes());
        msg.push(0xaa);
        let d = sha2::Sha256::digest(sha2::Sha256::digest(&msg));
        assert_eq!(hashrig::hex::encode(&d), v["hash"].as_str().unwrap());
        assert!((1000..5000).contains(&nonce));
    }
}

/// A generic job with megabytes of data, or a suffix of hundreds of blocks,
/// at an easy target: the candidates are judged from the data's midstate,
/// and the ranges and the watchdog follow what a nonce of the job costs, so
/// the CPU is not taken for a hung device (both failed with "stopped
/// answering: a range took over 10.4 s"). Each solution is checked with
/// sha2 over the whole message.
#[test]
fn pow_with_large_data_or_a_long_suffix() {
    use sha2::Digest;
    let mut rng = common::Rng(77);
    let data = rng.bytes(9_000_000);
    let path = std::env::temp_dir().join(format!("hashrig-big-{}", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let o = hashrig(&[
        "pow",
        "--data-file",
        path.to_str().unwrap(),
        "--zero-bits",
        "1",
        "--backend",
        "cpu",
        "--json",
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = &json_lines(&o)[0];
    let mut msg = data;
    msg.extend_from_slice(&v["nonce"].as_u64().unwrap().to_le_bytes());
    assert_eq!(
        hashrig::hex::encode(&sha2::Sha256::digest(&msg)),
        v["hash"].as_str().unwrap()
    );

    // 30,000 bytes after the nonce: 470 blocks a nonce.
    let suffix = rng.bytes(30_000);
    let o = hashrig(&[
        "pow",
        "--data",
        "abc",
        "--suffix-hex",
        &hashrig::hex::encode(&suffix),
        "--zero-bits",
        "10",
        "--backend",
        "cpu",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = &json_lines(&o)[0];
    let mut msg = b"abc".to_vec();
    msg.extend_from_slice(&v["nonce"].as_u64().unwrap().to_le_bytes());
    msg.extend_from_slice(&suffix);
    assert_eq!(
        hashrig::hex::encode(&sha2::Sha256::digest(&msg)),
        v["hash"].as_str().unwrap()
    );
}

#[test]
fn bench_json_shape() {
    let o = hashrig(&["bench", "--backend", "cpu", "--seconds", "1", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let device = lines.iter().find(|v| v["type"] == "device").unwrap();
    assert_eq!(device["kind"], "cpu");
    assert_eq!(device["state"], "hashing");
    assert_eq!(device["hardware_errors"], 0);
    let mhs = device["mhs"].as_f64().unwrap();
    assert!(mhs > 0.0);
    assert!(device["threads"].as_u64().unwrap() >= 1);
    assert!(device["kernel"].is_string());
    // Claimed and proof-derived rates agree on a healthy device (loosely
    // here: a one-second run holds a few hundred proofs).
    assert!(device["proofs"].as_u64().unwrap() > 50);
    let effective = device["effective_mhs"].as_f64().unwrap();
    assert!(
        (0.6..1.6).contains(&(effective / mhs)),
        "{effective} vs {mhs}"
    );
    let total = lines.iter().find(|v| v["type"] == "total").unwrap();
    assert!(total["mhs"].as_f64().unwrap() > 0.0);
    assert!(total["effective_mhs"].as_f64().unwrap() > 0.0);
}

#[test]
fn devices_and_selftest() {
    let o = hashrig(&["devices", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let lines = json_lines(&o);
    let cpu = lines.iter().find(|v| v["kind"] == "cpu").unwrap();
    assert!(cpu["kernels"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k == "soft"));

    let o = hashrig(&["selftest", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(json_lines(&o).iter().all(|v| v["ok"] == true));
}

#[test]
fn every_kernel_can_be_forced() {
    for kernel in hashrig::CpuKernel::available() {
        let o = hashrig(&[
            "mine",
            "--backend",
            "cpu",
            "--cpu-kernel",
            kernel.name(),
            "--threads",
            "1",
            "--header",
            GENESIS,
            "--start",
            "2083236000",
            "--count",
            "2000",
        ]);
        assert_eq!(o.status.code(), Some(0), "{kernel}: {}", stderr(&o));
    }
}

/// Whether a software GPU (lavapipe) is here; with HASHRIG_REQUIRE_GPU=1 its
/// absence fails the test instead of skipping it.
fn lavapipe_present() -> bool {
    let o = hashrig(&["devices", "--json"]);
    let found = json_lines(&o)
        .iter()
        .any(|v| v["kind"] == "gpu" && v["name"].as_str().unwrap_or("").contains("llvmpipe"));
    if !found {
        assert_ne!(
            std::env::var("HASHRIG_REQUIRE_GPU").as_deref(),
            Ok("1"),
            "HASHRIG_REQUIRE_GPU=1 but no llvmpipe adapter"
        );
        eprintln!("SKIPPED: no llvmpipe adapter (install mesa-vulkan-drivers)");
    }
    found
}

#[test]
fn gpu_mine_and_bench_on_lavapipe() {
    if !lavapipe_present() {
        return;
    }
    let o = hashrig(&[
        "mine",
        "--backend",
        "gpu",
        "--device",
        "llvmpipe",
        "--header",
        GENESIS,
        "--start",
        "2083000000",
        "--count",
        "1000000",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines[0]["nonce"], 2_083_236_893u64);
    assert!(lines[0]["device"].as_str().unwrap().contains("llvmpipe"));

    // The GPU and the CPU together, on one range, every nonce once.
    let o = hashrig(&[
        "mine",
        "--device",
        "llvmpipe",
        "--cpu",
        "on",
        "--header",
        GENESIS,
        "--start",
        "2080000000",
        "--count",
        "8000000",
        "--zero-bits",
        "20",
        "--all",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let summary = lines.iter().find(|v| v["type"] == "summary").unwrap();
    assert_eq!(summary["hashes"], 8_000_000);
    let names = summary["device"].as_str().unwrap();
    assert!(
        names.contains("llvmpipe") && names.contains("cpu"),
        "{names}"
    );
    let nonces: std::collections::BTreeSet<u64> = lines
        .iter()
        .filter(|v| v["type"] == "solution")
        .map(|v| v["nonce"].as_u64().unwrap())
        .collect();
    let header = hashrig::Header::from_hex(GENESIS).unwrap();
    let job = hashrig::Job::from(hashrig::HeaderJob::new(
        header,
        hashrig::Target::from_leading_zero_bits(20).unwrap(),
    ));
    let want: std::collections::BTreeSet<u64> = hashrig::search(
        &job,
        hashrig::NonceRange::new(2_080_000_000, 8_000_000),
        &Default::default(),
    )
    .unwrap()
    .solutions
    .iter()
    .map(|s| s.nonce)
    .collect();
    assert_eq!(nonces, want);
    assert_eq!(summary["found"].as_u64().unwrap() as usize, want.len());

    // Calibration: measured, cached, printed.
    let cache = std::env::temp_dir().join(format!("hashrig-cli-cal-{}", std::process::id()));
    let o = hashrig_with_cache(&["calibrate", "--device", "llvmpipe", "--json"], &cache);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines[0]["type"], "calibration");
    assert!([64, 128, 256].contains(&lines[0]["workgroup_size"].as_u64().unwrap()));
    assert!(lines[0]["mhs"].as_f64().unwrap() > 0.0);
    let cached = std::fs::read_to_string(cache.join("hashrig/gpu-launch.tsv")).unwrap();
    assert!(cached.contains("llvmpipe"));
    let _ = std::fs::remove_dir_all(&cache);

    let o = hashrig(&[
        "bench",
        "--backend",
        "gpu",
        "--device",
        "llvmpipe",
        "--seconds",
        "0.5",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let gpu = lines.iter().find(|v| v["type"] == "device").unwrap();
    assert_eq!(gpu["kind"], "gpu");
    assert!(gpu["mhs"].as_f64().unwrap() > 0.0);
    assert_eq!(gpu["hardware_errors"], 0);

    // A GPU named with --device is measured alone, as the help says; the
    // CPU joins it only when asked for.
    for (extra, cpu_wanted) in [(&[][..], false), (&["--cpu", "on"][..], true)] {
        let mut args = vec![
            "bench",
            "--device",
            "llvmpipe",
            "--seconds",
            "0.3",
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = hashrig(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let kinds: Vec<String> = json_lines(&o)
            .iter()
            .filter(|v| v["type"] == "device")
            .map(|v| v["kind"].as_str().unwrap().to_string())
            .collect();
        assert!(kinds.contains(&"gpu".to_string()), "{args:?}: {kinds:?}");
        assert_eq!(
            kinds.contains(&"cpu".to_string()),
            cpu_wanted,
            "{args:?}: {kinds:?}"
        );
    }
    // HASHRIG_DEVICE means what the same --device means: the GPU alone.
    let with_device = |args: &[&str]| {
        command(args)
            .env("HASHRIG_DEVICE", "llvmpipe")
            .output()
            .unwrap()
    };
    let o = with_device(&["bench", "--seconds", "0.3", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let kinds: Vec<String> = json_lines(&o)
        .iter()
        .filter(|v| v["type"] == "device")
        .map(|v| v["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["gpu"], "HASHRIG_DEVICE=llvmpipe: {kinds:?}");
    // ... and an explicit --backend cpu is not contradicted by it.
    let o = with_device(&["bench", "--backend", "cpu", "--seconds", "0.3", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // A selector that matches nothing is a one-line error.
    let o = hashrig(&[
        "mine",
        "--backend",
        "gpu",
        "--device",
        "no-such-gpu",
        "--header",
        GENESIS,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).lines().last().unwrap().contains("no-such-gpu"));
}

#[test]
fn mine_rolls_the_time_when_the_nonce_space_runs_out() {
    // One nonce left in the genesis header's space, and it is no solution:
    // the search goes on with the time field rolled forward.
    let o = hashrig(&[
        "mine",
        "--backend",
        "cpu",
        "--header",
        GENESIS,
        "--zero-bits",
        "16",
        "--start",
        "4294967295",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let solution = &lines[0];
    assert_eq!(solution["type"], "solution");
    let solved = hashrig::Header::from_hex(solution["header"].as_str().unwrap()).unwrap();
    let genesis = hashrig::Header::from_hex(GENESIS).unwrap();
    assert_eq!(solved.time, genesis.time + 1);
    assert_eq!(solved.merkle_root, genesis.merkle_root);
    assert_eq!(solved.nonce as u64, solution["nonce"].as_u64().unwrap());
    assert_eq!(solved.block_hash().to_string(), solution["hash"]);
    assert!(solution["hash"].as_str().unwrap().starts_with("0000"));
}

#[test]
fn mine_on_a_pool_until_interrupted() {
    let pool = testpool::TestPool::start(testpool::Behaviour::default());
    let url = pool.url();
    let child = spawn(&[
        "mine",
        "--pool",
        &url,
        "--user",
        "u",
        "--pass",
        "x",
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--json",
    ]);
    assert!(
        pool.wait_for(120, |p| p.accepted() >= 2),
        "no accepted shares"
    );
    let out = interrupt(child);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let lines = json_lines(&out);
    let of = |t: &'static str| lines.iter().filter(move |l| l["type"] == t);
    let events: Vec<&str> = of("pool").filter_map(|l| l["event"].as_str()).collect();
    for e in ["connected", "authorized", "difficulty", "job"] {
        assert!(events.contains(&e), "no pool {e} line in {events:?}");
    }
    let accepted = of("share").filter(|l| l["result"] == "accepted").count();
    let summary = of("summary").next_back().expect("a summary");
    assert_eq!(summary["accepted"], accepted as u64);
    // Every share the pool accepted was reported, and the other way round.
    assert_eq!(accepted, pool.accepted());
    let share = of("share").next().unwrap();
    for key in [
        "pool",
        "job",
        "nonce",
        "difficulty",
        "result",
        "latency_ms",
        "block",
    ] {
        assert!(
            share.get(key).is_some(),
            "share line without {key}: {share}"
        );
    }
}

#[test]
fn an_interrupted_search_prints_what_it_did() {
    // 64 zero bits: nothing is found, so only an interrupt ends it.
    let child = spawn(&[
        "mine",
        "--header",
        GENESIS,
        "--zero-bits",
        "64",
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--json",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let out = interrupt(child);
    // Nothing found: exit 1, with the summary of what was searched.
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let lines = json_lines(&out);
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["cancelled"], true);
    assert_eq!(summary["found"], 0);
    assert!(summary["hashes"].as_u64().unwrap() > 0, "{summary}");
}

/// A bench stopped by Ctrl-C says so: during the warm-up it says nothing
/// was measured and exits 1 (as `mine` stopped before finding anything);
/// later it reports the part it measured and exits 0.
#[test]
fn an_interrupted_bench_says_so() {
    // The warm-up is the first 2 s of a 20 s bench.
    let args = [
        "bench",
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--seconds",
        "20",
        "--json",
    ];
    for (wait_ms, measured) in [(1200, false), (4000, true)] {
        let child = spawn(&args);
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        let out = interrupt(child);
        let code = if measured { 0 } else { 1 };
        assert_eq!(out.status.code(), Some(code), "stderr: {}", stderr(&out));
        let lines = json_lines(&out);
        let total = lines.last().expect("a total line");
        assert_eq!(total["type"], "total", "{total}");
        assert_eq!(total["interrupted"], true, "{total}");
        let seconds = total["seconds"].as_f64().unwrap();
        assert_eq!(seconds > 0.0, measured, "{total}");
        assert_eq!(total["mhs"].as_f64().unwrap() > 0.0, measured, "{total}");
    }
    // In text, the total line says it.
    let child = spawn(&[
        "bench",
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--seconds",
        "20",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let out = interrupt(child);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("interrupted during the warm-up: nothing measured"),
        "{}",
        stdout(&out)
    );
}

/// Against an upstream that accepts the connection and never says a word
/// (a Stratum V2 pool mid-handshake, a node mid-call), Ctrl-C still ends
/// the run at once: the stop does not wait for the network's timeouts
/// (7 s for V2, 10 to 20 s for a node before).
#[test]
fn ctrl_c_is_prompt_against_a_silent_upstream() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for stream in silent.incoming().flatten() {
            keep.lock().unwrap().push(stream);
        }
    });
    let v2 = format!(
        "stratum2+tcp://127.0.0.1:{port}/9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72"
    );
    let node = format!("http://127.0.0.1:{port}");
    let runs: [Vec<&str>; 2] = [
        vec!["mine", "--pool", &v2, "--user", "w"],
        vec![
            "mine",
            "--node",
            &node,
            "--address",
            "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
            "--rpc-user",
            "u",
            "--rpc-pass",
            "p",
        ],
    ];
    for args in runs {
        let mut args = args.clone();
        args.extend_from_slice(&["--backend", "cpu", "--threads", "1", "--json"]);
        let child = spawn(&args);
        // Past the start, into the handshake or the RPC call.
        std::thread::sleep(std::time::Duration::from_millis(3000));
        let asked = std::time::Instant::now();
        let out = interrupt(child);
        let took = asked.elapsed();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            took < std::time::Duration::from_secs(3),
            "{args:?}: {took:?} from SIGINT to exit"
        );
        let summary = json_lines(&out).pop().expect("a summary");
        assert_eq!(summary["type"], "summary", "{summary}");
    }
}

/// `--backend gpu` where no GPU is usable (software adapters are never
/// chosen unnamed): one line that says how to name one, and nothing about
/// a CPU setting the user never gave.
#[test]
fn backend_gpu_without_a_usable_gpu_says_how_to_name_one() {
    let o = hashrig(&[
        "mine",
        "--header",
        GENESIS,
        "--backend",
        "gpu",
        "--count",
        "1000",
    ]);
    if o.status.code() != Some(2) {
        // A real GPU is usable here: the message does not apply.
        return;
    }
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--device llvmpipe"), "{err}");
    assert!(!err.to_lowercase().contains("cpu"), "{err}");
}
