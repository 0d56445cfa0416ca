//! The cgminer-compatible API as rig monitors read it: cgminer's commands
//! and field names in both request forms, the commands the ASIC firmwares
//! built on cgminer serve (`stats`, `devdetails`, `config`, `coin`, `GHS`
//! rates, joined commands), and the real pyasic (PyPI), the library that
//! miner-fleet tools are built on, reading hashrate, uptime, pools and
//! temperatures from a rig mining on the test pool.

use crate::rig;
use crate::testpool;

use std::path::PathBuf;
use std::process::Command;

use rig::*;
use serde_json::Value;

/// A bench with its cgminer API, once it has hashed.
fn hashing_rig() -> (Rig, std::net::SocketAddr) {
    let rig = bench_rig(&[]);
    let cg = rig.cgminer.unwrap();
    assert!(wait_until(30, || cgminer_json(cg, "summary")["SUMMARY"][0]
        ["Total MH"]
        .as_f64()
        .unwrap_or(0.0)
        > 0.0));
    (rig, cg)
}

#[test]
fn the_cgminer_api_answers_both_forms_with_cgminer_names() {
    let (_rig, cg) = hashing_rig();
    let s = cgminer_json(cg, "summary");
    assert_eq!(s["STATUS"][0]["STATUS"], "S");
    assert_eq!(s["STATUS"][0]["Code"], 11);
    assert_eq!(s["STATUS"][0]["Msg"], "Summary");
    assert_eq!(s["id"], 1);
    for key in [
        "Elapsed",
        "MHS av",
        "MHS 5s",
        "Accepted",
        "Rejected",
        "Hardware Errors",
        "Stale",
        "Total MH",
    ] {
        assert!(s["SUMMARY"][0].get(key).is_some(), "summary without {key}");
    }
    let d = cgminer_json(cg, "devs");
    let dev = &d["DEVS"][0];
    for key in [
        "CPU",
        "Enabled",
        "Status",
        "MHS av",
        "MHS 5s",
        "Accepted",
        "Hardware Errors",
    ] {
        assert!(dev.get(key).is_some(), "devs without {key}: {dev}");
    }
    assert_eq!(dev["Status"], "Alive");
    let v = cgminer_json(cg, "version");
    assert_eq!(v["VERSION"][0]["API"], "3.7");
    assert_eq!(v["STATUS"][0]["Msg"], "CGMiner versions");
    // The plain form: STATUS then records, `|`-separated.
    let plain = cgminer(cg, "summary");
    assert!(
        plain.starts_with("STATUS=S,When=") && plain.contains("|SUMMARY,Elapsed="),
        "{plain}"
    );
    assert!(
        plain.contains(",MHS av=") && plain.ends_with('|'),
        "{plain}"
    );
    let plain = cgminer(cg, "summary|\n");
    assert!(plain.contains("Msg=Summary"), "{plain}");
    // Unknown commands and bad JSON get cgminer's error status, not a closed socket.
    let e = cgminer(cg, "restart");
    assert!(e.starts_with("STATUS=E,") && e.contains("Code=14"), "{e}");
    let e = cgminer_json(cg, "quit");
    assert_eq!(e["STATUS"][0]["STATUS"], "E");
    assert_eq!(e["STATUS"][0]["Code"], 14);
    let e: Value = serde_json::from_str(&cgminer(cg, "{\"command\": 5}")).unwrap();
    assert_eq!(e["STATUS"][0]["Code"], 23);
    // No pools: cgminer's "No pools".
    assert_eq!(cgminer_json(cg, "pools")["STATUS"][0]["Code"], 8);
}

#[test]
fn the_firmware_commands_and_joined_commands_are_served() {
    let (_rig, cg) = hashing_rig();
    // GHS beside MHS, the same rate.
    let s = cgminer_json(cg, "summary");
    let (mhs, ghs) = (
        s["SUMMARY"][0]["MHS av"].as_f64().unwrap(),
        s["SUMMARY"][0]["GHS av"].as_f64().unwrap(),
    );
    assert!(
        ghs > 0.0 && (mhs / 1000.0 - ghs).abs() <= 1e-3 * mhs.max(1.0),
        "{s}"
    );
    assert!(cgminer_json(cg, "devs")["DEVS"][0].get("GHS 5s").is_some());
    // stats: the miner's record, then one per device with its uptime.
    let st = cgminer_json(cg, "stats");
    assert_eq!(st["STATUS"][0]["STATUS"], "S", "{st}");
    assert_eq!(st["STATS"][0]["Type"], "hashrig");
    assert_eq!(st["STATS"][1]["ID"], "CPU0");
    assert!(st["STATS"][1]["Elapsed"].as_u64().is_some(), "{st}");
    let d = cgminer_json(cg, "devdetails");
    assert_eq!(d["DEVDETAILS"][0]["Name"], "CPU");
    assert_eq!(d["DEVDETAILS"][0]["Driver"], "hashrig");
    let c = cgminer_json(cg, "config");
    assert_eq!(c["CONFIG"][0]["CPU Count"], 1);
    assert_eq!(c["CONFIG"][0]["Pool Count"], 0);
    assert_eq!(cgminer_json(cg, "coin")["COIN"][0]["Hash Method"], "sha256");
    // Joined: each command's whole answer under its name, as cgminer does.
    let joined = cgminer_json(cg, "summary+devs+stats");
    assert_eq!(
        joined["summary"][0]["STATUS"][0]["Msg"], "Summary",
        "{joined}"
    );
    assert!(joined["devs"][0]["DEVS"][0].get("MHS 5s").is_some());
    assert!(joined["stats"][0]["STATS"][1].get("Elapsed").is_some());
    assert_eq!(joined["id"], 1);
    // A join with an unknown command is refused whole; the plain form
    // does not join (as in cgminer).
    let bad = cgminer_json(cg, "summary+restart");
    assert_eq!(bad["STATUS"][0]["STATUS"], "E", "{bad}");
    let plain = cgminer(cg, "summary+devs");
    assert!(plain.starts_with("STATUS=E,"), "{plain}");
}

/// The Python with pyasic installed: `$HASHRIG_PYASIC_PYTHON`, else the
/// venv `.ci/run` makes under target/; `None` (said on stderr) where
/// neither has it, unless `HASHRIG_REQUIRE_PYASIC=1`.
fn pyasic_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("HASHRIG_PYASIC_PYTHON").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/pyasic-venv/bin/python"
        ))),
    ];
    let found = candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", "import pyasic"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert_ne!(
            std::env::var("HASHRIG_REQUIRE_PYASIC").as_deref(),
            Ok("1"),
            "HASHRIG_REQUIRE_PYASIC=1 but no Python with pyasic"
        );
        eprintln!("SKIPPED: pyasic is not installed (see .ci/run); the pyasic test did not run");
    }
    found
}

#[test]
#[ignore = "needs Python with pyasic 0.79 (HASHRIG_PYASIC_PYTHON); .ci/run installs it in a venv and runs the ignored tests"]
fn pyasic_reads_hashrate_uptime_pools_and_temperatures() {
    let Some(python) = pyasic_python() else {
        return;
    };
    let pool = testpool::TestPool::start(testpool::Behaviour::default());
    let root = scratch("pyasic-sysfs");
    fake_cpu_hwmon(&root, 61.5);
    let url = pool.url();
    let rig = Rig::start(
        &[
            "mine",
            "--pool",
            &url,
            "--user",
            "rig.1",
            "--backend",
            "cpu",
            "--threads",
            "1",
            "--api",
            "127.0.0.1:0",
            "--cgminer-api",
            "127.0.0.1:0",
        ],
        &[("HASHRIG_SYSFS_ROOT", &root)],
    );
    assert!(pool.wait_for(120, |p| p.accepted() >= 2), "no shares");
    assert!(wait_until(30, || rig.summary()["devices"][0]
        ["temperature_c"]
        == 61.5));
    let cg = rig.cgminer.unwrap();
    let out = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/pyasic/read_rig.py"
        ))
        .arg(cg.ip().to_string())
        .arg(cg.port().to_string())
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pyasic failed: {stderr}");
    let read: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let summary = rig.summary();
    // The 5 s rates of two moments, in H/s.
    let theirs = read["hashrate_hs"].as_f64().expect("a hashrate");
    let ours = summary["total"]["hashrate"]["5s"].as_f64().unwrap();
    assert!(
        theirs > 0.0 && theirs / ours > 0.5 && theirs / ours < 2.0,
        "{read} vs {ours}"
    );
    let uptime = read["uptime"].as_u64().expect("an uptime");
    assert!(
        uptime <= summary["uptime_s"].as_f64().unwrap() as u64 + 1,
        "{read}"
    );
    let elapsed = read["stats_elapsed"].as_u64().expect("stats Elapsed");
    assert!(elapsed >= uptime && elapsed <= uptime + 2, "{read}");
    let pools = read["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 1, "{read}");
    assert_eq!(pools[0]["user"], "rig.1");
    assert_eq!(pools[0]["active"], true);
    assert_eq!(pools[0]["alive"], true);
    let accepted = pools[0]["accepted"].as_u64().unwrap();
    assert!(
        accepted >= 2 && accepted <= pool.accepted() as u64,
        "{read}"
    );
    assert!(
        pools[0]["url"].as_str().unwrap().contains("127.0.0.1"),
        "{read}"
    );
    assert_eq!(read["temperatures"][0], 61.5, "{read}");
    assert_eq!(read["api_ver"], "3.7");
}
