//! The dashboard in a real browser: Debian's Chromium, headless, driven
//! over WebDriver by chromedriver. `hashrig bench` and `hashrig mine` on
//! the test pool serve it; the test reads what the page shows and compares
//! it with `/summary`, clicks the controls with a wrong and a right token,
//! restarts hashrig under the page, and shows a second rig beside the
//! first through CORS. The browser's console must stay free of errors (a
//! CSP violation is one), and a screenshot is saved with the test's
//! output. Skipped with a message where Chromium is absent, unless
//! HASHRIG_REQUIRE_BROWSER is set (CI sets it).

mod testpool;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testpool::{Behaviour, TestPool};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 exchange on loopback: the status and the body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>, headers: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    if write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
    .is_err()
    {
        return (0, String::new());
    }
    // By the length the answer gives: chromedriver may keep the
    // connection open.
    let mut reader = BufReader::new(s);
    let mut status_line = String::new();
    if reader.read_line(&mut status_line).is_err() {
        return (0, String::new());
    }
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            let _ = reader.read_exact(&mut body);
        }
        None => {
            let _ = reader.read_to_end(&mut body);
        }
    }
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A headless Chromium session over chromedriver.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
            "",
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn find(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.is_file())
}

impl Browser {
    fn start() -> Option<Browser> {
        let chromium = find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
        let driver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            assert!(
                std::env::var_os("HASHRIG_REQUIRE_BROWSER").is_none(),
                "HASHRIG_REQUIRE_BROWSER is set but Chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
            );
            eprintln!("SKIPPED: the dashboard was not tested in a browser: no chromium and chromedriver (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = std::env::temp_dir().join(format!("hashrig-chromium-{port}"));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--disable-quic", "--window-size=1280,1100",
                         format!("--user-data-dir={}", profile.display())],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let (status, body) = http(port, "POST", "/session", Some(&caps), "");
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session ({status}): {body}"))
            .to_string();
        Some(Browser {
            driver,
            port,
            session,
        })
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (_, text) = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
            "",
        );
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        v["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body) in the page and returns its value.
    fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Waits until `script` returns something truthy; its last value.
    fn until(&self, script: &str, within: Duration) -> Value {
        let end = Instant::now() + within;
        loop {
            let v = self.js(script);
            let empty = v == json!("") || v == json!(0) || v == json!([]);
            let truthy = !matches!(&v, Value::Null | Value::Bool(false)) && !empty;
            if truthy || Instant::now() > end {
                return v;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn click(&self, id: &str) {
        self.js(&format!(
            "document.getElementById({id:?}).click(); return true;"
        ));
    }

    fn type_into(&self, id: &str, text: &str) {
        self.js(&format!(
            "const e = document.getElementById({id:?}); e.value = {text:?}; return true;"
        ));
    }

    /// The browser console's entries at level SEVERE (errors, CSP
    /// violations) since the last call.
    fn console_errors(&self) -> Vec<String> {
        let v = self.call("POST", "/se/log", Some(json!({"type": "browser"})));
        v.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// Saves a screenshot as `name` beside the test binaries; its path.
    fn screenshot(&self, name: &str) -> PathBuf {
        let v = self.call("GET", "/screenshot", None);
        let png = base64_decode(v.as_str().unwrap_or(""));
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let Some(v) = T.iter().position(|&x| x == c) else {
            continue;
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// `hashrig` with `args`, its API on `api`, stderr kept for failures.
fn hashrig(args: &[&str], api: u16, extra: &[String]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hashrig"));
    cmd.args(args)
        .args([
            "--api",
            &format!("127.0.0.1:{api}"),
            "--api-history-s",
            "0.5",
        ])
        .args(extra)
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("hashrig-dashboard-cache"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            eprintln!("hashrig: {line}");
        }
    });
    let until = Instant::now() + Duration::from_secs(30);
    while http(api, "GET", "/summary", None, "").0 != 200 {
        assert!(Instant::now() < until, "the API did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

fn summary(api: u16) -> Value {
    serde_json::from_str(&http(api, "GET", "/summary", None, "").1).unwrap()
}

/// "28.13 MH/s" as hashes a second.
fn parse_rate(text: &str) -> Option<f64> {
    let (n, unit) = text.trim().split_once(' ')?;
    let scale = match unit {
        "H/s" => 1.0,
        "kH/s" => 1e3,
        "MH/s" => 1e6,
        "GH/s" => 1e9,
        "TH/s" => 1e12,
        _ => return None,
    };
    Some(n.parse::<f64>().ok()? * scale)
}

#[test]
fn the_dashboard_shows_the_rig_and_its_controls_work_in_chromium() {
    let Some(browser) = Browser::start() else {
        return;
    };
    // About a share every two seconds: the page's count can be compared.
    let pool = TestPool::start(Behaviour {
        difficulty: 0.02,
        ..Default::default()
    });
    let api = free_port();
    let args = [
        "mine",
        "--pool",
        &pool.url(),
        "--user",
        "dash.w1",
        "--backend",
        "cpu",
        "--threads",
        "1",
    ];
    let token = ["--api-token".to_string(), "right-token".to_string()];
    let mut rig = hashrig(&args, api, &token);
    browser.open(&format!("http://127.0.0.1:{api}/"));

    // The device's name, and its rate within 10% of /summary's.
    let names = browser.until(
        "return [...document.querySelectorAll('#devices tbody tr')].map(r => r.dataset.device).filter(Boolean);",
        Duration::from_secs(20),
    );
    let s = summary(api);
    let expected: Vec<Value> = s["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].clone())
        .collect();
    assert_eq!(names, Value::Array(expected), "device names");
    // The rate shown is /summary's, within 10% (the page reads it every
    // two seconds: the device's average, which moves slowly, compared).
    let end = Instant::now() + Duration::from_secs(30);
    let (mut ours, mut theirs) = (0.0, 0.0);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(500));
        let shown =
            browser.js("return document.querySelector('#devices tbody tr').cells[5].textContent;");
        ours = shown.as_str().and_then(parse_rate).unwrap_or(0.0);
        theirs = summary(api)["devices"][0]["hashrate"]["average"]
            .as_f64()
            .unwrap();
        if ours > 0.0 && (ours - theirs).abs() <= 0.1 * theirs {
            break;
        }
    }
    assert!(
        ours > 0.0 && (ours - theirs).abs() <= 0.1 * theirs,
        "the page shows {ours} H/s, /summary {theirs}"
    );

    // The chart has points.
    let points = browser.until(
        "const n = +document.getElementById('chart').dataset.points; return n >= 3 ? n : 0;",
        Duration::from_secs(20),
    );
    assert!(points.as_u64().unwrap_or(0) >= 3, "chart points: {points}");

    // The pool row shows the pool's accepted count.
    assert!(pool.wait_for(60, |p| p.accepted() >= 2));
    let page_accepted = browser
        .until(
            "const c = document.querySelector('#pools tbody tr .accepted'); return c && +c.textContent >= 2 ? +c.textContent : 0;",
            Duration::from_secs(10),
        )
        .as_u64()
        .unwrap_or(0);
    let pool_says = summary(api)["pools"][0]["shares"]["accepted"]
        .as_u64()
        .unwrap();
    assert!(
        page_accepted >= 2 && page_accepted.abs_diff(pool_says) <= 2,
        "the page shows {page_accepted} accepted, /summary {pool_says}"
    );
    assert!(pool.accepted() as u64 >= page_accepted);

    // A wrong token: the page says so, and nothing is paused.
    browser.click("pause");
    browser.until(
        "return !document.getElementById('token-panel').hidden;",
        Duration::from_secs(5),
    );
    browser.type_into("token", "wrong-token");
    browser.click("token-ok");
    let refused = browser.until(
        "const m = document.getElementById('control-message').textContent; return m.includes('wrong token') ? m : '';",
        Duration::from_secs(10),
    );
    assert!(
        refused.as_str().is_some_and(|m| m.contains("wrong token")),
        "{refused}"
    );
    assert_eq!(summary(api)["paused"], false);
    // The right one pauses the rig.
    browser.click("pause");
    browser.until(
        "return !document.getElementById('token-panel').hidden;",
        Duration::from_secs(5),
    );
    browser.type_into("token", "right-token");
    browser.click("token-ok");
    let until = Instant::now() + Duration::from_secs(10);
    while summary(api)["paused"] != true && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(summary(api)["paused"], true);
    let badge = browser.until(
        "const b = document.getElementById('state'); return b.dataset.state === 'paused' ? b.textContent : '';",
        Duration::from_secs(10),
    );
    assert_eq!(badge, "paused");
    browser.click("resume");
    let until = Instant::now() + Duration::from_secs(10);
    while summary(api)["paused"] != false && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        summary(api)["paused"],
        false,
        "resume with the stored token"
    );
    browser.until(
        "return document.querySelectorAll('#events li:not(.empty)').length >= 2;",
        Duration::from_secs(10),
    );
    let shot = browser.screenshot("dashboard.png");
    eprintln!("screenshot: {}", shot.display());

    // hashrig restarted under the page: it says disconnected, then shows
    // the rig again.
    let _ = rig.kill();
    let _ = rig.wait();
    let down = browser.until(
        "const b = document.getElementById('state'); return b.dataset.state === 'disconnected' ? b.textContent : '';",
        Duration::from_secs(15),
    );
    assert!(
        down.as_str().is_some_and(|t| t.starts_with("disconnected")),
        "{down}"
    );
    // The browser's own errors for the refused fetches are expected here.
    let _ = browser.console_errors();
    let mut rig = hashrig(&args, api, &token);
    let back = browser.until(
        "const b = document.getElementById('state'); return b.dataset.state === 'mining';",
        Duration::from_secs(15),
    );
    assert_eq!(back, true);
    let errors = browser.console_errors();
    let _ = rig.kill();
    let _ = rig.wait();
    // Only the wrong token's 401 may be in the console (the browser logs
    // refused requests); nothing else, no CSP violation.
    assert!(
        errors
            .iter()
            .all(|e| e.contains("401") || e.contains("ERR_CONNECTION_REFUSED")),
        "console: {errors:#?}"
    );
}

#[test]
fn one_page_watches_two_rigs_through_cors() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let (a, b) = (free_port(), free_port());
    let bench = [
        "bench",
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--seconds",
        "120",
    ];
    let mut rig_b = hashrig(
        &bench,
        b,
        &[format!("--api-allow-origin=http://127.0.0.1:{a}")],
    );
    let mut rig_a = hashrig(&bench, a, &[format!("--api-peer=http://127.0.0.1:{b}")]);
    browser.open(&format!("http://127.0.0.1:{a}/"));
    let row = browser.until(
        "const r = document.querySelector('#rigs tbody tr'); return r && !r.textContent.includes('disconnected') && r.cells[2].textContent !== '–' ? r.textContent : '';",
        Duration::from_secs(20),
    );
    assert!(
        row.as_str()
            .is_some_and(|r| r.contains(&format!("127.0.0.1:{b}")) && r.contains("H/s")),
        "{row}"
    );
    let (s, _) = http(
        b,
        "GET",
        "/summary",
        None,
        &format!("Origin: http://127.0.0.1:{a}\r\n"),
    );
    assert_eq!(s, 200);
    // Without --api-token, the controls say that control is off.
    browser.click("pause");
    let off = browser.until(
        "const m = document.getElementById('control-message').textContent; return m.includes('control is off') ? m : '';",
        Duration::from_secs(5),
    );
    assert!(
        off.as_str().is_some_and(|m| m.contains("--api-token")),
        "{off}"
    );
    // On a phone's width nothing runs off the page: wide tables scroll in
    // their own boxes.
    browser.call(
        "POST",
        "/window/rect",
        Some(json!({"width": 390, "height": 844})),
    );
    let fits = browser.until(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
        Duration::from_secs(5),
    );
    assert_eq!(fits, true, "the page is wider than a phone");
    let errors = browser.console_errors();
    assert!(errors.is_empty(), "console: {errors:#?}");
    for r in [&mut rig_a, &mut rig_b] {
        let _ = r.kill();
        let _ = r.wait();
    }
}

#[test]
fn cors_is_answered_for_allowed_origins_only() {
    let api = free_port();
    let mut rig = hashrig(
        &[
            "bench",
            "--backend",
            "cpu",
            "--threads",
            "1",
            "--seconds",
            "30",
        ],
        api,
        &["--api-allow-origin=http://10.1.2.3:9100".to_string()],
    );
    let allowed = "Origin: http://10.1.2.3:9100\r\n";
    let other = "Origin: http://evil.example\r\n";
    for path in ["/summary", "/history"] {
        let head = |origin: &str| {
            let mut s = TcpStream::connect(("127.0.0.1", api)).unwrap();
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\n{origin}Connection: close\r\n\r\n"
            )
            .unwrap();
            let mut t = String::new();
            let _ = s.read_to_string(&mut t);
            t.split("\r\n\r\n")
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
        };
        assert!(head(allowed).contains("access-control-allow-origin: http://10.1.2.3:9100"));
        assert!(!head(other).contains("access-control-allow-origin"));
    }
    // Control is never cross-origin: no CORS on it, whatever the origin.
    let mut s = TcpStream::connect(("127.0.0.1", api)).unwrap();
    write!(
        s,
        "OPTIONS /control/pause HTTP/1.1\r\nHost: x\r\n{allowed}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut t = String::new();
    let _ = s.read_to_string(&mut t);
    assert!(
        !t.to_ascii_lowercase().contains("access-control-allow"),
        "{t}"
    );
    // The page and its parts carry the CSP and nosniff.
    let mut s = TcpStream::connect(("127.0.0.1", api)).unwrap();
    write!(s, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut t = String::new();
    let _ = s.read_to_string(&mut t);
    assert!(
        t.contains("Content-Security-Policy: default-src 'none'; script-src 'self'"),
        "{t}"
    );
    assert!(!t.contains("<script>") && !t.contains(" onclick=") && !t.contains("style=\""));
    let _ = rig.kill();
    let _ = rig.wait();
}
