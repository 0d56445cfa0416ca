//! Running `hashrig` as a rig and talking to its APIs, for the tests that
//! watch one: the process with its APIs on ports the system chose, HTTP
//! and cgminer requests, Prometheus samples, a fake hwmon tree.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `hashrig` with its APIs on ports the system chose.
pub struct Rig {
    child: Option<Child>,
    pub api: Option<SocketAddr>,
    pub cgminer: Option<SocketAddr>,
    pub stderr: Arc<Mutex<Vec<String>>>,
    pub stdout: Arc<Mutex<Vec<String>>>,
}

/// A directory of the system's temporary one, removed with what it holds
/// when dropped: also when the test fails.
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("hashrig-mon-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Collects a pipe's lines on a thread.
pub fn collect(pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

impl Rig {
    /// Starts `hashrig args…` and waits for the APIs it was asked for.
    pub fn start(args: &[&str], env: &[(&str, &Path)]) -> Rig {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hashrig"));
        cmd.args(args)
            .env_remove("HASHRIG_DEVICE")
            .env_remove("HASHRIG_API_TOKEN")
            .env(
                "XDG_CACHE_HOME",
                std::env::temp_dir().join("hashrig-cli-test-cache"),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("hashrig runs");
        let stderr = collect(child.stderr.take().unwrap());
        let stdout = collect(child.stdout.take().unwrap());
        let mut rig = Rig {
            child: Some(child),
            api: None,
            cgminer: None,
            stderr,
            stdout,
        };
        // A config file in these tests always names an API address.
        let want_api = args.contains(&"--api") || args.contains(&"--config");
        let want_cgminer = args.contains(&"--cgminer-api");
        let deadline = Instant::now() + Duration::from_secs(60);
        while (want_api && rig.api.is_none()) || (want_cgminer && rig.cgminer.is_none()) {
            assert!(
                Instant::now() < deadline,
                "the APIs did not start: {:?}",
                rig.stderr_text()
            );
            for line in rig.stderr.lock().unwrap().iter() {
                if let Some(a) = line.strip_prefix("hashrig: API on http://") {
                    rig.api = a.trim().parse().ok();
                }
                if let Some(a) = line.strip_prefix("hashrig: cgminer API on ") {
                    rig.cgminer = a.trim().parse().ok();
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        rig
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn summary(&self) -> Value {
        let (status, body) = http(self.api.unwrap(), "GET", "/summary", &[]);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// The summary, or `None` if the API does not answer it now.
    pub fn try_summary(&self) -> Option<Value> {
        let (status, body) = try_http(self.api?, "GET", "/summary", &[])?;
        (status == 200).then(|| serde_json::from_str(&body).ok())?
    }

    /// Waits for the process to end (after a stop), with its exit code.
    pub fn wait(&mut self, secs: u64) -> Option<i32> {
        let mut child = self.child.take()?;
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(200)); // pipes drain
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One HTTP/1.1 request; the status and body.
pub fn http(addr: SocketAddr, method: &str, path: &str, headers: &[&str]) -> (u16, String) {
    try_http(addr, method, path, headers).expect("the API answers")
}

/// [`http`], or `None` where the connection fails.
pub fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    // The API's own address as the host, unless the test names another.
    let host = if headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("host:"))
    {
        String::new()
    } else {
        format!("Host: {addr}\r\n")
    };
    let mut req =
        format!("{method} {path} HTTP/1.1\r\n{host}Content-Length: 0\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// One cgminer API request; the answer without its closing NUL.
pub fn cgminer(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    assert_eq!(raw.last(), Some(&0), "cgminer answers end with NUL");
    raw.pop();
    String::from_utf8(raw).unwrap()
}

pub fn cgminer_json(addr: SocketAddr, command: &str) -> Value {
    let text = cgminer(addr, &format!("{{\"command\":\"{command}\"}}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A sample's value in the exposition: the first line of `name` whose
/// labels contain every one of `labels`.
pub fn sample(exposition: &str, name: &str, labels: &[&str]) -> Option<f64> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// `text` with everything but letters, digits and `_` percent-encoded.
pub fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// `bench` hashing on one CPU thread for a long while.
pub const LONG_BENCH: [&str; 7] = [
    "bench",
    "--backend",
    "cpu",
    "--threads",
    "1",
    "--seconds",
    "300",
];

/// A rig hashing on one CPU thread for a long while, with both APIs.
pub fn bench_rig(extra: &[&str]) -> Rig {
    let mut args = LONG_BENCH.to_vec();
    args.extend_from_slice(&["--api", "127.0.0.1:0", "--cgminer-api", "127.0.0.1:0"]);
    args.extend_from_slice(extra);
    Rig::start(&args, &[])
}

pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// A fake sysfs root with a k10temp hwmon at `celsius`.
pub fn fake_cpu_hwmon(root: &Path, celsius: f64) -> PathBuf {
    let dir = root.join("class/hwmon/hwmon0");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("name"), "k10temp\n").unwrap();
    std::fs::write(dir.join("temp1_label"), "Tctl\n").unwrap();
    set_temperature(&dir, celsius);
    dir
}

pub fn set_temperature(dir: &Path, celsius: f64) {
    // Written whole and renamed, as the kernel's file never reads half-written.
    let tmp = dir.join("temp1_input.new");
    std::fs::write(&tmp, format!("{}\n", (celsius * 1000.0) as i64)).unwrap();
    std::fs::rename(tmp, dir.join("temp1_input")).unwrap();
}
