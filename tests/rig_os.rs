//! The rig operating systems' custom-miner packages as those systems run
//! them, against the test pool.
//!
//! HiveOS (docs/hiveos): h-config.sh sourced after h-manifest.conf with a
//! flight sheet's variables writes a configuration `hashrig config
//! --check` accepts; h-run.sh mines on it; h-stats.sh, sourced the way
//! HiveOS's agent sources it, sets `$khs` and `$stats` from the running
//! rig, and says 0 and null when hashrig does not answer.
//!
//! mmpOS (docs/mmpos): mmp-launch.sh runs hashrig with a miner profile's
//! generic arguments; mmp-stats.sh prints hashrig's `/mmpos`, the document
//! mmpOS's agent reads.
//!
//! RaveOS (docs/raveos): start.py builds hashrig's command line from a
//! task and runs it; stats.py fills RaveOS's statistics object. RaveOS's
//! own `ravinos` module exists only inside RaveOS: tests/raveos/ravinos.py
//! stands in for it, from RaveOS's custom-mining README.

use crate::rig::{free_port, scratch, wait_until};
use crate::testpool;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// A package's folder as the system unpacks it: the scripts of
/// `docs/{source}` and the binary.
fn unpack_from(source: &str, dir: &Path) {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join(source);
    std::fs::create_dir_all(dir).unwrap();
    for f in std::fs::read_dir(&scripts).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.join(f.file_name())).unwrap();
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hashrig"), dir.join("hashrig")).unwrap();
}

fn unpack(dir: &Path) {
    unpack_from("hiveos", dir);
}

/// A script and its miner in a process group of their own, ended as a
/// group when the test ends, passing or not.
struct Group(std::process::Child);

impl Group {
    /// Starts `command` (its output dropped) at the head of a new group.
    fn spawn(mut command: Command) -> Group {
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        Group(command.spawn().unwrap())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["--", &group]).status();
        let _ = self.0.wait();
    }
}

/// bash in `dir` with the flight sheet's variables, running `args`.
fn bash_command(dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> Command {
    let mut c = Command::new("bash");
    c.args(args).current_dir(dir).envs(vars.iter().copied());
    c
}

/// Runs `script` in bash in `dir` with the flight sheet's variables.
fn bash(dir: &Path, vars: &[(&str, &str)], script: &str) -> std::process::Output {
    bash_command(dir, vars, &["-c", script]).output().unwrap()
}

/// `$khs` and `$stats` as h-stats.sh sets them.
fn stats(dir: &Path, port: &str) -> (f64, Value) {
    let out = bash(
        dir,
        &[("HASHRIG_API_PORT", port)],
        ". ./h-stats.sh; echo \"$khs\"; echo \"$stats\"",
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let khs = lines.next().unwrap().parse().unwrap();
    (khs, serde_json::from_str(lines.next().unwrap()).unwrap())
}

#[test]
fn hiveos_writes_the_config_runs_the_miner_and_reads_its_stats() {
    let pool = testpool::TestPool::start(testpool::Behaviour::default());
    let root = scratch("hiveos");
    let dir = root.join("hashrig");
    unpack(&dir);
    let config = root.join("hashrig.toml");
    let port = free_port().to_string();
    let url = pool.url();
    let vars = [
        ("CUSTOM_CONFIG_FILENAME", config.to_str().unwrap()),
        (
            "CUSTOM_LOG_BASENAME",
            &*root.join("log/hashrig").to_string_lossy().into_owned(),
        ),
        ("HASHRIG_API_PORT", &*port),
        ("CUSTOM_URL", &*url),
        ("CUSTOM_TEMPLATE", "wallet.rig1"),
        ("CUSTOM_USER_CONFIG", "backend = \"cpu\"\nthreads = 1"),
    ]
    .map(|(k, v)| (k, v.to_string()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // Nothing answers yet: h-stats says so instead of failing.
    assert_eq!(stats(&dir, &port), (0.0, Value::Null));

    let out = bash(&dir, &vars, ". ./h-manifest.conf; . ./h-config.sh");
    assert!(out.status.success(), "{out:?}");
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains(&format!("url = \"{url}\"")), "{written}");
    assert!(written.contains("user = \"wallet.rig1\""), "{written}");

    let running = Group::spawn(bash_command(&dir, &vars, &["./h-run.sh"]));
    let mined = pool.wait_for(120, |p| p.accepted() >= 1);
    let mut seen = (0.0, Value::Null);
    let read = wait_until(30, || {
        seen = stats(&dir, &port);
        seen.0 > 0.0 && seen.1["ar"][0].as_u64().unwrap_or(0) >= 1
    });
    drop(running);
    assert!(mined, "no share reached the pool");
    assert!(read, "h-stats.sh: {seen:?}");
    let (khs, s) = seen;
    assert_eq!(s["hs_units"], "khs");
    assert_eq!(s["algo"], "sha256d");
    assert_eq!(s["ver"], env!("CARGO_PKG_VERSION"));
    let hs: f64 = s["hs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_f64().unwrap())
        .sum();
    assert!((hs - khs).abs() <= khs * 1e-9 + 1e-9, "{khs} against {s}");
    for key in ["temp", "fan", "bus_numbers"] {
        assert_eq!(
            s[key].as_array().unwrap().len(),
            s["hs"].as_array().unwrap().len(),
            "{s}"
        );
    }
    assert!(s["uptime"].as_u64().is_some(), "{s}");
    let log = std::fs::read_to_string(root.join("log/hashrig.log")).unwrap();
    assert!(!log.is_empty());
}

#[test]
fn a_flight_sheet_hashrig_cannot_run_fails_in_h_config() {
    let root = scratch("hiveos-bad");
    let dir = root.join("hashrig");
    unpack(&dir);
    let config = root.join("hashrig.toml");
    let out = bash(
        &dir,
        &[
            ("CUSTOM_CONFIG_FILENAME", config.to_str().unwrap()),
            ("CUSTOM_URL", "ftp://pool.example.com:3333"),
            ("CUSTOM_TEMPLATE", "wallet.rig1"),
        ],
        ". ./h-manifest.conf; . ./h-config.sh",
    );
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ftp"), "{err}");
}

#[test]
fn mmpos_launches_hashrig_with_a_profiles_arguments_and_reads_its_stats() {
    let pool = testpool::TestPool::start(testpool::Behaviour::default());
    let root = scratch("mmpos");
    let dir = root.join("hashrig");
    unpack_from("mmpos", &dir);
    let port = free_port().to_string();
    let url = pool.url();

    // Nothing answers yet.
    let out = bash(&dir, &[], "./mmp-stats.sh 1 /dev/null");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Miner API connection failed"
    );

    let args = [
        "./mmp-launch.sh",
        "--pool",
        &url,
        "--user",
        "wallet.rig1",
        "--password",
        "x",
        "--algo",
        "sha256d",
        "--api-port",
        &port,
        "--backend",
        "cpu",
        "--threads",
        "1",
    ];
    let running = Group::spawn(bash_command(&dir, &[], &args));
    let mined = pool.wait_for(120, |p| p.accepted() >= 1);
    let mut seen = Value::Null;
    let read = wait_until(30, || {
        let out = bash(&dir, &[], "./mmp-stats.sh 1 /dev/null");
        seen = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        seen["air"][0].as_str().and_then(|a| a.parse::<u64>().ok()) >= Some(1)
    });
    drop(running);
    assert!(mined, "no share reached the pool");
    assert!(read, "mmp-stats.sh: {seen}");
    assert_eq!(seen["busid"], serde_json::json!(["cpu"]), "{seen}");
    assert!(seen["hash"][0].as_f64().unwrap() > 0.0, "{seen}");
    assert_eq!(seen["units"], "mhs");
    assert_eq!(seen["air"].as_array().unwrap().len(), 3);
    assert!(
        seen["shares"]["accepted"][0].as_u64().unwrap() >= 1,
        "{seen}"
    );
    assert_eq!(seen["miner_name"], "hashrig");
    assert_eq!(seen["miner_version"], env!("CARGO_PKG_VERSION"));
    let conf = std::fs::read_to_string(dir.join("mmp-external.conf")).unwrap();
    assert!(conf.contains(&format!("CUSTOM_API_PORT={port}")), "{conf}");
}

#[test]
fn mmpos_refuses_another_algorithm() {
    let root = scratch("mmpos-algo");
    let dir = root.join("hashrig");
    unpack_from("mmpos", &dir);
    let out = bash(
        &dir,
        &[],
        "./mmp-launch.sh --algo ethash --pool stratum+tcp://127.0.0.1:1",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ethash"));
}

/// The RaveOS package's folder: RAVINOS/ with its scripts, and the binary.
fn unpack_raveos(dir: &Path) {
    unpack_from("raveos/RAVINOS", &dir.join("RAVINOS"));
    std::fs::rename(dir.join("RAVINOS/hashrig"), dir.join("hashrig")).unwrap();
}

/// Runs a RaveOS script with the `ravinos` stand-in on its path.
fn python(dir: &Path, vars: &[(&str, &str)], args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.args(args)
        .current_dir(dir)
        .env(
            "PYTHONPATH",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/raveos"),
        )
        .envs(vars.iter().copied());
    c
}

#[test]
fn raveos_starts_hashrig_for_a_task_and_reads_its_stats() {
    let pool = testpool::TestPool::start(testpool::Behaviour::default());
    let root = scratch("raveos");
    let dir = root.join("miner");
    unpack_raveos(&dir);
    let port = free_port();
    let task = serde_json::json!({
        "coins": [{"pools": [{"url": pool.url(), "user": "wallet.rig1", "password": "x"}]}],
        "miner_dir": dir,
        "api_port": port,
        "args": "--backend cpu --threads 1",
        "mpus": [],
    });
    let config = root.join("task.json");
    std::fs::write(&config, task.to_string()).unwrap();
    let stats_in = root.join("stats.json");
    std::fs::write(
        &stats_in,
        serde_json::json!({"mpu": [], "api_port": port}).to_string(),
    )
    .unwrap();
    let stats_out = root.join("stats-out.json");
    let vars = [
        ("RAVINOS_CONFIG", config.to_str().unwrap()),
        ("RAVINOS_STATS", stats_in.to_str().unwrap()),
        ("RAVINOS_STATS_OUT", stats_out.to_str().unwrap()),
    ];
    let running = Group::spawn(python(&dir, &vars, &["RAVINOS/start.py"]));
    let mined = pool.wait_for(120, |p| p.accepted() >= 1);
    let mut seen = Value::Null;
    let read = wait_until(30, || {
        let ok = python(&dir, &vars, &["RAVINOS/stats.py"])
            .status()
            .unwrap()
            .success();
        seen = std::fs::read(&stats_out)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        ok && seen["shares"]["accepted"].as_u64() >= Some(1)
    });
    drop(running);
    assert!(mined, "no share reached the pool");
    assert!(read, "stats.py: {seen}");
    assert_eq!(seen["api_port"], port, "{seen}");

    // An MPU is matched to hashrig's device by its PCI bus id.
    let out = python(
        &dir.join("RAVINOS"),
        &[],
        &[
            "-c",
            r#"
import json, stats
s = stats.fill({"mpu": [{"pci": "03:00.0"}]}, {
    "devices": [{"kind": "gpu", "pci_bus_id": "0000:03:00.0", "hashrate": {"60s": 5e8},
                 "temperature_c": 61.4, "fan_percent": 40, "hardware_errors": 1,
                 "shares": {"accepted": 7, "rejected": 2}}],
    "total": {"hardware_errors": 1, "shares": {"accepted": 7, "rejected": 2}}})
print(json.dumps(s))
"#,
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["mpu"][0]["hash_rate1"], 5e8);
    assert_eq!(s["mpu"][0]["temp"], 61);
    assert_eq!(
        s["mpu"][0]["shares"],
        serde_json::json!({"accepted": 7, "invalid": 1, "rejected": 2})
    );
    assert_eq!(s["fans"][0]["percent"], 40);
}

#[test]
fn raveos_start_names_the_pools_the_api_and_the_gpus() {
    let root = scratch("raveos-cmd");
    let dir = root.join("miner");
    unpack_raveos(&dir);
    let out = python(
        &dir.join("RAVINOS"),
        &[],
        &[
            "-c",
            r#"
import start
print(start.command_line({
    "miner_dir": "/m",
    "coins": [{"pools": [{"url": "stratum+tcp://a:1", "user": "w.r", "password": "p"},
                         {"url": "stratum+tcp://b:2", "user": "w.r"}]}],
    "api_port": 4100, "args": "--backend gpu",
    "mpus": [{"pci": "01:00.0"}, {"pci": "0000:0a:00.0"}]}))
"#,
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "/m/hashrig mine --pool stratum+tcp://a:1 --user w.r --pass p \
         --pool stratum+tcp://b:2 --user w.r --pass x --api 127.0.0.1:4100 \
         --device 0000:01:00.0 --device 0000:0a:00.0 --backend gpu"
    );
}
