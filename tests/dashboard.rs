//! The dashboard in a real browser: Debian's Chromium, headless, driven
//! over WebDriver by chromedriver. `hashrig bench` and `hashrig mine` on
//! the test pool serve it; the test reads what the page shows and compares
//! it with `/summary`, clicks the controls with a wrong and a right token,
//! restarts hashrig under the page, and shows a second rig beside the
//! first through CORS. The browser's console must stay free of errors (a
//! CSP violation is one); light and dark, and a screenshot of each is
//! saved with the test's output. Skipped with a message where Chromium is
//! absent, unless HASHRIG_REQUIRE_BROWSER is set (CI sets it).

use crate::testpool;

// Chromium over WebDriver, and plain HTTP on loopback.
#[path = "dashboard/browser.rs"]
mod browser;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use browser::{free_port, http, Browser};
use serde_json::{json, Value};
use testpool::{Behaviour, TestPool};

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
    // No event repeats its kind in its text ("share share accepted").
    let doubled = browser.js(
        "return [...document.querySelectorAll('#events li:not(.empty)')].filter(li => \
           li.lastChild.textContent.startsWith(li.querySelector('.kind').textContent + ' ')).length;",
    );
    assert_eq!(doubled, 0, "an event repeats its kind");
    // The chart's axis runs in round steps (1, 2, 2.5 or 5 times a power
    // of ten), labelled without trailing zeros.
    let axis = browser.until(
        "const l = document.getElementById('chart').getAttribute('aria-label'); \
         return l.includes('steps of') ? l : '';",
        Duration::from_secs(10),
    );
    let step = axis
        .as_str()
        .and_then(|l| l.split("steps of ").nth(1))
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("{axis}"));
    let mantissa = step / 10f64.powf(step.log10().floor());
    assert!(
        [1.0, 2.0, 2.5, 5.0]
            .iter()
            .any(|m| (m - mantissa).abs() < 1e-9),
        "{axis}"
    );

    // Light, and dark where the system prefers it: the background and the
    // text trade places, and the chart is drawn again in the dark colours.
    let luminance = |what: &str| {
        let script = format!(
            "const c = getComputedStyle(document.body).{what}.match(/\\d+/g).map(Number); \
             return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;"
        );
        browser.js(&script).as_f64().unwrap_or(f64::NAN)
    };
    let light = (luminance("backgroundColor"), luminance("color"));
    let light_swatch =
        browser.js("return document.querySelector('#legend .swatch').style.backgroundColor;");
    assert_eq!(light_swatch, "rgb(194, 65, 12)");
    browser.prefer_dark(true);
    let dark_now = browser.until(
        "return matchMedia('(prefers-color-scheme: dark)').matches;",
        Duration::from_secs(5),
    );
    assert_eq!(dark_now, true);
    let dark = (luminance("backgroundColor"), luminance("color"));
    assert!(light.0 > 0.8 && light.1 < 0.3, "light: {light:?}");
    assert!(dark.0 < 0.2 && dark.1 > 0.7, "dark: {dark:?}");
    // The total's line (and its swatch) in the dark scheme's orange.
    let swatch = browser.until(
        "const s = document.querySelector('#legend .swatch'); \
         return s && s.style.backgroundColor === 'rgb(251, 146, 60)' ? s.style.backgroundColor : '';",
        Duration::from_secs(5),
    );
    assert_eq!(swatch, "rgb(251, 146, 60)");
    let shot = browser.screenshot("dashboard-dark.png");
    eprintln!("screenshot: {}", shot.display());
    browser.prefer_dark(false);

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
    // ... and the tables' rows become cards: every cell on the screen,
    // with its column's name beside it.
    let cards = browser.until(
        "const cells = [...document.querySelectorAll('#devices td, #pools td, #rigs td')] \
           .filter(td => td.offsetParent !== null && !td.classList.contains('empty')); \
         return cells.length > 0 && cells.every(td => td.getBoundingClientRect().right <= innerWidth + 1 \
           && td.dataset.label && getComputedStyle(td, '::before').content.includes(td.dataset.label));",
        Duration::from_secs(5),
    );
    assert_eq!(cards, true, "a table is cut on a phone");
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
                "GET {path} HTTP/1.1\r\nHost: localhost\r\n{origin}Connection: close\r\n\r\n"
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
        "OPTIONS /control/pause HTTP/1.1\r\nHost: localhost\r\n{allowed}Connection: close\r\n\r\n"
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
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
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
