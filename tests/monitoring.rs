//! Watching a running `hashrig`: a real Prometheus server scraping it, the
//! figures of /metrics, /summary and the cgminer API against what the test
//! pool accepted, control and its token, hostile API clients, temperature
//! limits on a fake hwmon tree, and the config file (in
//! `monitoring/config.rs`). The cgminer API as rig monitors read it is in
//! tests/rig_monitors.rs.

use crate::rig;
use crate::testpool;

// The config file and the service.
#[path = "monitoring/config.rs"]
mod config;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rig::*;
use serde_json::Value;

/// Prometheus and promtool, or a visible skip where they are absent and
/// `HASHRIG_REQUIRE_PROMETHEUS` is unset.
fn prometheus() -> Option<(PathBuf, PathBuf)> {
    match (which("prometheus"), which("promtool")) {
        (Some(p), Some(t)) => Some((p, t)),
        _ if std::env::var_os("HASHRIG_REQUIRE_PROMETHEUS").is_some() => {
            panic!("HASHRIG_REQUIRE_PROMETHEUS is set but prometheus or promtool is not installed")
        }
        _ => {
            eprintln!("SKIPPED: prometheus/promtool not installed (apt-get install prometheus)");
            None
        }
    }
}

#[test]
fn a_real_prometheus_scrapes_a_running_bench() {
    let Some((server, promtool)) = prometheus() else {
        return;
    };
    let rig = bench_rig(&[]);
    let api = rig.api.unwrap();
    // promtool accepts the exposition as curl gets it.
    let (status, text) = http(api, "GET", "/metrics", &[]);
    assert_eq!(status, 200);
    let mut check = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let dir = scratch("prometheus");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: hashrig\n    static_configs:\n      - targets: ['{api}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let mut prom = Command::new(&server)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prometheus starts");
    let prom_log = collect(prom.stderr.take().unwrap());
    let query = |q: &str| -> Option<f64> {
        let (status, body) = try_http(
            format!("127.0.0.1:{port}").parse().unwrap(),
            "GET",
            &format!("/api/v1/query?query={}", percent_encoded(q)),
            &[],
        )?;
        if status != 200 {
            return None;
        }
        let v: Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let mut first = None;
    let found = wait_until(60, || {
        first = query("hashrig_hashes_total");
        first.is_some()
    });
    let log = || prom_log.lock().unwrap().join("\n");
    assert!(
        found,
        "Prometheus never had hashrig_hashes_total: {}",
        log()
    );
    let first = first.unwrap();
    let mut later = first;
    let rose = wait_until(30, || {
        later = query("hashrig_hashes_total").unwrap_or(later);
        later > first
    });
    assert!(rose, "hashrig_hashes_total stayed at {first}");
    assert_eq!(query("up"), Some(1.0));
    assert_eq!(query("hashrig_build_info"), Some(1.0));
    assert!(query("hashrig_hashrate_hashes_per_second{window=\"5s\"}").unwrap_or(0.0) > 0.0);
    let _ = prom.kill();
    let _ = prom.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_figures_agree_with_what_the_pool_accepted() {
    let pool = testpool::TestPool::start(testpool::Behaviour::default());
    let url = pool.url();
    let mut rig = Rig::start(
        &[
            "mine",
            "--pool",
            &url,
            // A backup that is never needed, so never connected.
            "--pool",
            "stratum+tcp://127.0.0.1:9",
            "--user",
            "u",
            "--pass",
            "x",
            "--backend",
            "cpu",
            "--threads",
            "1",
            "--json",
            "--api",
            "127.0.0.1:0",
            "--cgminer-api",
            "127.0.0.1:0",
            "--api-token",
            "s3cret",
        ],
        &[],
    );
    let (api, cg) = (rig.api.unwrap(), rig.cgminer.unwrap());
    assert!(
        pool.wait_for(120, |p| p.accepted() >= 3),
        "no accepted shares"
    );
    let auth = "Authorization: Bearer s3cret";
    assert_eq!(http(api, "POST", "/control/pause", &[auth]).0, 200);
    // Paused: wait until every answer is in and nothing moves for a second.
    let accepted_metric = || {
        let (_, text) = http(api, "GET", "/metrics", &[]);
        sample(
            &text,
            "hashrig_shares_total",
            &[&format!("pool=\"{url}\""), "result=\"accepted\""],
        )
    };
    let mut last = (usize::MAX, None);
    let settled = wait_until(30, || {
        let now = (pool.accepted(), accepted_metric());
        let same = now == last && now.1 == Some(now.0 as f64);
        last = now;
        if !same {
            std::thread::sleep(Duration::from_millis(900));
        }
        same
    });
    assert!(settled, "the figures did not settle: {last:?}");
    let accepted = pool.accepted() as u64;

    let summary = rig.summary();
    assert_eq!(summary["paused"], true);
    assert_eq!(summary["pools"][0]["shares"]["accepted"], accepted);
    assert_eq!(summary["total"]["shares"]["accepted"], accepted);
    let by_devices: u64 = summary["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["shares"]["accepted"].as_u64().unwrap())
        .sum();
    assert_eq!(by_devices, accepted);
    assert_eq!(summary["pools"][0]["url"], url);
    assert_eq!(summary["pools"][0]["up"], true);

    let (_, text) = http(api, "GET", "/metrics", &[]);
    let pool_label = format!("pool=\"{url}\"");
    assert_eq!(sample(&text, "hashrig_pool_up", &[&pool_label]), Some(1.0));
    let difficulty = sample(&text, "hashrig_pool_difficulty", &[&pool_label]).unwrap();
    assert_eq!(
        summary["pools"][0]["difficulty"].as_f64().unwrap(),
        difficulty
    );
    for result in ["rejected", "stale"] {
        let n = sample(
            &text,
            "hashrig_shares_total",
            &[&pool_label, &format!("result=\"{result}\"")],
        );
        assert_eq!(n, summary["pools"][0]["shares"][result].as_f64());
    }

    let s = cgminer_json(cg, "summary");
    assert_eq!(s["SUMMARY"][0]["Accepted"], accepted);
    let p = cgminer_json(cg, "pools");
    assert_eq!(p["STATUS"][0]["Msg"], "2 Pool(s)");
    assert_eq!(p["POOLS"][0]["Accepted"], accepted);
    assert_eq!(p["POOLS"][0]["URL"], url);
    assert_eq!(p["POOLS"][0]["Stratum Active"], true);
    assert_eq!(p["POOLS"][0]["Status"], "Alive");
    // As cgminer says of a backup that has not worked yet.
    assert_eq!(p["POOLS"][1]["Status"], "Dead", "{p}");
    assert_eq!(p["POOLS"][1]["Stratum Active"], false);
    let d = cgminer_json(cg, "devs");
    let devs_accepted: u64 = d["DEVS"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Accepted"].as_u64().unwrap())
        .sum();
    assert_eq!(devs_accepted, accepted);
    let plain = cgminer(cg, "pools");
    assert!(plain.contains(&format!(",Accepted={accepted},")), "{plain}");

    // Stop through the API: the summary line comes out and the exit is clean.
    assert_eq!(http(api, "POST", "/control/stop", &[auth]).0, 200);
    assert_eq!(rig.wait(30), Some(0), "{}", rig.stderr_text());
    let lines = rig.json_lines();
    let last = lines
        .iter()
        .rev()
        .find(|l| l["type"] == "summary")
        .expect("a summary line");
    assert_eq!(last["accepted"], accepted);
}

#[test]
fn control_needs_the_configured_token() {
    // Without a token, control is refused whatever is sent.
    let open = bench_rig(&[]);
    let api = open.api.unwrap();
    let (status, body) = http(api, "POST", "/control/pause", &["Authorization: Bearer x"]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("--api-token"), "{body}");
    assert_eq!(open.summary()["paused"], false);
    assert!(!open.stderr_text().contains("warning"));
    drop(open);
    // Reachable beyond this machine without a token: a warning.
    let exposed = Rig::start(&[&LONG_BENCH[..], &["--api", "0.0.0.0:0"]].concat(), &[]);
    assert!(
        exposed
            .stderr_text()
            .contains("warning: the API on 0.0.0.0:"),
        "{}",
        exposed.stderr_text()
    );
    drop(exposed);

    let mut rig = bench_rig(&["--api-token", "tok3n"]);
    let api = rig.api.unwrap();
    for headers in [
        &[][..],
        &["Authorization: Bearer wrong"][..],
        &["Authorization: Bearer tok3"][..],
        &["Authorization: Basic dG9rM24="][..],
    ] {
        let (status, _) = http(api, "POST", "/control/pause", headers);
        assert_eq!(status, 401, "{headers:?}");
    }
    assert_eq!(rig.summary()["paused"], false);
    let good = "Authorization: Bearer tok3n";
    assert_eq!(http(api, "GET", "/control/pause", &[good]).0, 405);
    assert_eq!(http(api, "POST", "/control/explode", &[good]).0, 404);
    assert_eq!(http(api, "POST", "/control/pause", &[good]).0, 200);
    assert_eq!(rig.summary()["paused"], true);
    let paused = rig.summary()["total"]["hashes"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let settled = rig.summary()["total"]["hashes"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(rig.summary()["total"]["hashes"].as_u64().unwrap(), settled);
    assert!(settled >= paused);
    assert_eq!(http(api, "POST", "/control/resume", &[good]).0, 200);
    assert!(wait_until(20, || rig.summary()["total"]["hashes"]
        .as_u64()
        .unwrap()
        > settled));
    assert_eq!(http(api, "POST", "/control/stop", &[good]).0, 200);
    // A bench stopped ends as interrupted: 0 with the part it measured, 1
    // if the stop came during its warm-up (nothing measured).
    let code = rig.wait(30);
    assert!(
        matches!(code, Some(0 | 1)),
        "{code:?}: {}",
        rig.stderr_text()
    );
    assert!(
        TcpStream::connect(api).is_err(),
        "the API stops with the rig"
    );
}

#[test]
fn head_is_answered_and_the_request_limit_is_kept() {
    let rig = bench_rig(&[]);
    let api = rig.api.unwrap();
    // HEAD: GET's status and headers, no body.
    for path in ["/summary", "/metrics"] {
        let (status, body) = http(api, "HEAD", path, &[]);
        assert_eq!(status, 200, "HEAD {path}: {body}");
        assert!(body.is_empty(), "HEAD {path} sent a body: {body:?}");
    }
    // A head over 16 KiB is refused, even when it arrives whole at once.
    let big = format!("X-Filler: {}", "a".repeat(20 * 1024));
    let (status, _) = http(api, "GET", "/summary", &[&big]);
    assert_eq!(status, 413);
    // Just under the limit is served.
    let fits = format!("X-Filler: {}", "a".repeat(15 * 1024));
    let (status, body) = http(api, "GET", "/summary", &[&fits]);
    assert_eq!(status, 200, "{body}");
}

/// DNS rebinding: a page whose name was rebound to the rig's address sends
/// its own name as the host, and gets 421; IP literals, localhost and the
/// names given with --api-host are answered, whatever the port or case.
#[test]
fn the_api_answers_only_the_names_it_goes_by() {
    let rig = bench_rig(&["--api-host", "rig1.lan"]);
    let api = rig.api.unwrap();
    for host in [
        format!("{api}"),
        "127.0.0.1".into(),
        "localhost".into(),
        format!("localhost:{}", api.port()),
        "rig1.lan".into(),
        format!("RIG1.lan:{}", api.port()),
        "[::1]:9100".into(),
    ] {
        let (status, body) = http(api, "GET", "/summary", &[&format!("Host: {host}")]);
        assert_eq!(status, 200, "Host: {host}: {body}");
    }
    for host in [
        "evil.example",
        "evil.example:9100",
        "rig1.lan.evil.example",
        "127.0.0.1.evil",
    ] {
        for path in ["/summary", "/metrics", "/", "/history"] {
            let (status, body) = http(api, "GET", path, &[&format!("Host: {host}")]);
            assert_eq!(status, 421, "Host: {host} {path}: {body}");
            assert!(body.contains("--api-host"), "{body}");
        }
    }
    // Control is refused the same way, even with the right token.
    let (status, _) = http(api, "POST", "/control/pause", &["Host: evil.example"]);
    assert_eq!(status, 421);
}

#[test]
fn hostile_api_clients_do_not_stop_mining() {
    let rig = bench_rig(&[]);
    let api = rig.api.unwrap();
    let hashes = || rig.summary()["total"]["hashes"].as_u64().unwrap();
    assert!(wait_until(30, || hashes() > 0));
    let calm_start = (Instant::now(), hashes());
    std::thread::sleep(Duration::from_secs(3));
    let calm_end = (Instant::now(), hashes());
    let calm_rate = (calm_end.1 - calm_start.1) as f64 / (calm_end.0 - calm_start.0).as_secs_f64();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut attackers = Vec::new();
    // Slow clients: a byte every 100 ms, never finishing their request.
    for _ in 0..16 {
        let stop = stop.clone();
        attackers.push(std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(mut s) = TcpStream::connect(api) else {
                    continue;
                };
                for b in b"GET /summary HTTP/1.1\r\nX: " {
                    if stop.load(std::sync::atomic::Ordering::Relaxed)
                        || s.write_all(&[*b]).is_err()
                    {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }));
    }
    // A 10 MB request: answered 413 (or cut) long before its end.
    let big = std::thread::spawn(move || {
        let mut s = TcpStream::connect(api).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = "POST /control/pause HTTP/1.1\r\nContent-Length: 10485760\r\n\r\n";
        let _ = s.write_all(head.as_bytes());
        let chunk = vec![b'a'; 1 << 20];
        let mut sent = 0;
        for _ in 0..10 {
            if s.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        (sent, answer)
    });
    // 1,000 connections at once, held open and idle.
    let flood: Vec<TcpStream> = (0..1000)
        .filter_map(|_| TcpStream::connect(api).ok())
        .collect();
    let storm_start = calm_end;
    std::thread::sleep(Duration::from_secs(3));
    drop(flood);
    let (sent, answer) = big.join().unwrap();
    assert!(
        sent < 10 << 20 || answer.starts_with("HTTP/1.1 413"),
        "a 10 MB request was read whole: {answer:?}"
    );
    // The API still answers while slow clients go on.
    let mut last = None;
    let answered = wait_until(30, || {
        last = rig.try_summary();
        last.is_some()
    });
    assert!(answered, "the API stopped answering");
    let storm_end = (
        Instant::now(),
        last.unwrap()["total"]["hashes"].as_u64().unwrap(),
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for a in attackers {
        let _ = a.join();
    }
    let storm_rate =
        (storm_end.1 - storm_start.1) as f64 / (storm_end.0 - storm_start.0).as_secs_f64();
    eprintln!(
        "hashrate calm {:.2} MH/s, under attack {:.2} MH/s ({:.2}x)",
        calm_rate / 1e6,
        storm_rate / 1e6,
        storm_rate / calm_rate
    );
    // The devices never wait on the API; the margin is for a 2-core machine
    // whose attacking threads share the cores with the hashing thread.
    assert!(storm_rate > 0.5 * calm_rate, "mining slowed under attack");
    assert_eq!(rig.summary()["devices"][0]["state"], "hashing");
}

/// A temperature limit where no sensor can be read protects nothing, and
/// says so; where one can, nothing is said.
#[test]
fn a_temperature_limit_without_a_sensor_is_a_warning() {
    let empty = scratch("no-sensors");
    let with_one = scratch("one-sensor");
    fake_cpu_hwmon(&with_one, 50.0);
    for (root, warned) in [(&empty, true), (&with_one, false)] {
        let out = Command::new(env!("CARGO_BIN_EXE_hashrig"))
            .args([
                "bench",
                "--backend",
                "cpu",
                "--threads",
                "1",
                "--seconds",
                "0.3",
            ])
            .args(["--temp-limit", "60"])
            .env("HASHRIG_SYSFS_ROOT", root)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert_eq!(err.contains("protects nothing"), warned, "{err}");
    }
}

#[test]
fn a_hot_device_is_held_until_it_cools() {
    let root = scratch("sysfs");
    let hwmon = fake_cpu_hwmon(&root, 50.0);
    let rig = Rig::start(
        &[
            &LONG_BENCH[..],
            &[
                "--json",
                "--api",
                "127.0.0.1:0",
                "--temp-limit",
                "80",
                "--temp-resume",
                "70",
            ][..],
        ]
        .concat(),
        &[("HASHRIG_SYSFS_ROOT", &root)],
    );
    let device = |s: &Value| s["devices"][0].clone();
    assert!(wait_until(30, || device(&rig.summary())["temperature_c"] == 50.0));
    let (_, text) = http(rig.api.unwrap(), "GET", "/metrics", &[]);
    assert_eq!(
        sample(&text, "hashrig_device_temperature_celsius", &[]),
        Some(50.0)
    );
    assert_eq!(sample(&text, "hashrig_device_up", &[]), Some(1.0));
    // No power sensor in this tree: absent, not 0.
    assert!(device(&rig.summary()).get("power_w").is_none());
    assert!(!text.contains("hashrig_device_power_watts{"));

    set_temperature(&hwmon, 85.0);
    assert!(
        wait_until(20, || device(&rig.summary())["state"] == "held"),
        "not held at 85 °C: {}",
        rig.summary()
    );
    let d = device(&rig.summary());
    assert!(d["reason"].as_str().unwrap().contains("too hot"), "{d}");
    let (_, text) = http(rig.api.unwrap(), "GET", "/metrics", &[]);
    assert_eq!(sample(&text, "hashrig_device_up", &[]), Some(0.0));
    // Held: it hashes no more.
    std::thread::sleep(Duration::from_millis(500));
    let held_at = device(&rig.summary())["hashes"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(device(&rig.summary())["hashes"].as_u64().unwrap(), held_at);
    // Between the two temperatures it stays held (hysteresis).
    set_temperature(&hwmon, 75.0);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(device(&rig.summary())["state"], "held");

    set_temperature(&hwmon, 65.0);
    assert!(
        wait_until(20, || device(&rig.summary())["hashes"].as_u64().unwrap()
            > held_at),
        "never resumed under 70 °C"
    );
    assert!(device(&rig.summary())["up"] == true);
    // The cooled line follows the release within the command's next round.
    let health_lines = || -> Vec<Value> {
        rig.json_lines()
            .into_iter()
            .filter(|l| l["type"] == "health")
            .collect()
    };
    wait_until(10, || health_lines().len() >= 2);
    let events = health_lines();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["event"], "hot");
    assert_eq!(events[0]["temperature_c"], 85.0);
    assert_eq!(events[0]["limit_c"], 80.0);
    assert_eq!(events[1]["event"], "cooled");
    assert_eq!(events[1]["resume_c"], 70.0);
    let _ = std::fs::remove_dir_all(&root);
}
