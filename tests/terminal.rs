//! The command on a real terminal (a pseudo-terminal from util-linux's
//! `script`): what ends up on the screen, replayed through a small model of
//! the terminal's cursor movements. Results printed while the live status
//! is drawn must all stay on screen, above it.

use std::process::{Command, Stdio};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

/// The screen after `bytes`: the cursor movements and erasures hashrig
/// writes (`CR`, `LF`, `ESC[nA`, `ESC[2K`, `ESC[0J`, `ESC[?7l`/`h`).
fn screen(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
                if rows.len() <= row {
                    rows.resize(row + 1, Vec::new());
                }
            }
            '\x1b' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut params = String::new();
                let mut last = ' ';
                for p in chars.by_ref() {
                    if p.is_ascii_alphabetic() {
                        last = p;
                        break;
                    }
                    params.push(p);
                }
                let n: usize = params.trim_start_matches('?').parse().unwrap_or(1);
                match (last, params.as_str()) {
                    ('A', _) => row = row.saturating_sub(n),
                    ('K', "2") => rows[row].clear(),
                    ('J', "0" | "") => {
                        rows[row].truncate(col);
                        rows.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            c => {
                let line = &mut rows[row];
                if line.len() <= col {
                    line.resize(col + 1, ' ');
                }
                line[col] = c;
                col += 1;
            }
        }
    }
    rows.into_iter()
        .map(|r| r.into_iter().collect::<String>().trim_end().to_string())
        .collect()
}

/// `script` (util-linux) running `hashrig mine --header GENESIS args…` on
/// one CPU thread on a pseudo-terminal; `None` (said on stderr) without it.
fn script_mine(args: &[&str]) -> Option<Command> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(script) = script else {
        assert!(
            std::env::var_os("HASHRIG_REQUIRE_PTY").is_none(),
            "util-linux's script is needed for the terminal tests"
        );
        eprintln!("SKIPPED: no `script` (util-linux) to make a pseudo-terminal");
        return None;
    };
    let mine = [
        env!("CARGO_BIN_EXE_hashrig"),
        "mine",
        "--header",
        GENESIS,
        "--backend",
        "cpu",
        "--threads",
        "1",
    ];
    // `script` runs the command through `$SHELL -c`; `exec` makes hashrig
    // the process in the terminal's foreground, as when typed at a prompt,
    // whatever the shell (dash, unlike bash, would otherwise stay in
    // between and be killed by the Ctrl-C itself: exit 130).
    let command = std::iter::once("exec")
        .chain(mine)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new(script);
    cmd.args(["-qfec", &command, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("hashrig-cli-test-cache"),
        );
    Some(cmd)
}

/// Runs `hashrig mine --header GENESIS args…` on a pseudo-terminal;
/// everything it wrote there.
fn on_a_terminal(args: &[&str]) -> Option<Vec<u8>> {
    let out = script_mine(args)?
        .stdin(Stdio::null())
        .output()
        .expect("script runs");
    assert!(out.status.code().is_some(), "{out:?}");
    Some(out.stdout)
}

#[test]
fn a_solution_stays_on_screen_above_the_status() {
    // About two seconds of status redraws before the genesis nonce.
    let Some(raw) = on_a_terminal(&["--start", "2000000000"]) else {
        return;
    };
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("\x1b[2K"),
        "the status was never drawn: {text:?}"
    );
    let shown = screen(&raw);
    let solutions: Vec<&String> = shown
        .iter()
        .filter(|l| l.starts_with("solution nonce 2083236893"))
        .collect();
    assert_eq!(solutions.len(), 1, "screen: {shown:#?}");
    assert!(shown.iter().any(|l| l.starts_with("1 solution(s)")));
    // The status is gone at the end.
    assert!(!shown.iter().any(|l| l.starts_with("total ")), "{shown:#?}");
}

#[test]
fn every_solution_of_many_stays_on_screen() {
    let Some(raw) = on_a_terminal(&["--zero-bits", "22", "--all", "--count", "120000000"]) else {
        return;
    };
    let shown = screen(&raw);
    let summary = shown
        .iter()
        .find(|l| l.contains(" solution(s), "))
        .unwrap_or_else(|| panic!("no summary: {shown:#?}"));
    let found: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(found > 5, "{summary}");
    let lines = shown
        .iter()
        .filter(|l| l.starts_with("solution nonce "))
        .count();
    assert_eq!(lines, found, "screen: {shown:#?}");
}

/// Runs `hashrig mine` on a pseudo-terminal and types Ctrl-C `presses`
/// times once the status is drawn: the terminal driver echoes `^C` and
/// signals the process, as at a keyboard. What the screen shows, and the
/// exit status.
fn interrupted_on_a_terminal(presses: usize) -> Option<(Vec<String>, Option<i32>)> {
    use std::io::Write;
    let mut child = script_mine(&["--start", "0"])?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script runs");
    // The status is drawn within its first second.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&vec![0x03; presses]).unwrap();
    stdin.flush().unwrap();
    let out = child.wait_with_output().expect("script ends");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\x1b[2K"),
        "the status was never drawn: {text:?}"
    );
    Some((screen(&out.stdout), out.status.code()))
}

#[test]
fn ctrl_c_once_or_twice_leaves_the_summary_on_a_clean_screen() {
    for presses in [1, 2] {
        let Some((shown, code)) = interrupted_on_a_terminal(presses) else {
            return;
        };
        // Nothing found before the interruption: exit 1, not 130.
        assert_eq!(code, Some(1), "{presses} Ctrl-C: {shown:#?}");
        let summary: Vec<&String> = shown.iter().filter(|l| l.contains("solution(s)")).collect();
        assert_eq!(summary.len(), 1, "{presses} Ctrl-C: {shown:#?}");
        assert!(
            summary[0].starts_with("0 solution(s)") && summary[0].contains("interrupted"),
            "{presses} Ctrl-C: {shown:#?}"
        );
        // No part of the status is left, shifted or cut.
        assert!(
            !shown
                .iter()
                .any(|l| l.contains(" MH/s  found:") || l.starts_with("total ")),
            "{presses} Ctrl-C: {shown:#?}"
        );
    }
}

#[test]
fn the_model_replays_cursor_movements() {
    let shown = screen(
        b"a\r\nstatus1\r\nstatus2\r\n\x1b[2A\x1b[0Jresult\r\n\x1b[?7l\x1b[2Kstatus\r\n\x1b[?7h",
    );
    assert_eq!(shown, vec!["a", "result", "status", ""]);
}
