//! The HiveOS custom-miner scripts (docs/hiveos) as HiveOS runs them:
//! h-config.sh sourced after h-manifest.conf with a flight sheet's
//! variables writes a configuration `hashrig config --check` accepts;
//! h-run.sh mines on it against the test pool; h-stats.sh, sourced the way
//! HiveOS's agent sources it, sets `$khs` and `$stats` from the running
//! rig, and says 0 and null when hashrig does not answer.

use crate::rig::{free_port, scratch, wait_until};
use crate::testpool;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The package's folder as HiveOS unpacks it: the scripts and the binary.
fn unpack(dir: &Path) {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/hiveos");
    std::fs::create_dir_all(dir).unwrap();
    for f in ["h-manifest.conf", "h-config.sh", "h-run.sh", "h-stats.sh"] {
        std::fs::copy(scripts.join(f), dir.join(f)).unwrap();
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hashrig"), dir.join("hashrig")).unwrap();
}

/// Runs `script` in bash in `dir` with the flight sheet's variables.
fn bash(dir: &Path, vars: &[(&str, &str)], script: &str) -> std::process::Output {
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .envs(vars.iter().copied())
        .output()
        .unwrap()
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

    let mut run = Command::new("bash");
    run.arg("./h-run.sh")
        .current_dir(&dir)
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    // The script and its miner in a process group of their own, ended as
    // a group when the test ends, passing or not.
    struct Group(std::process::Child);
    impl Drop for Group {
        fn drop(&mut self) {
            let group = format!("-{}", self.0.id());
            let _ = Command::new("kill").args(["--", &group]).status();
            let _ = self.0.wait();
        }
    }
    let running = Group(run.spawn().unwrap());
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
