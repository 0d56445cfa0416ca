//! `hashrig generate`: man pages that groff renders without a warning and
//! completions that the shell itself accepts.

use std::process::{Command, Stdio};

use super::hashrig;

/// Every page renders under groff's man macros with every warning on, as
/// `man` renders it (preconv first: the help text is UTF-8).
#[test]
fn man_pages_render_without_warnings() {
    let dir = std::env::temp_dir().join(format!("hashrig-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = hashrig(&["generate", "man", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    for command in [
        "mine",
        "pow",
        "bench",
        "devices",
        "selftest",
        "calibrate",
        "config",
    ] {
        assert!(pages.contains(&format!("hashrig-{command}.1")), "{pages:?}");
    }
    assert!(pages.contains(&"hashrig.1".to_string()), "{pages:?}");
    for page in &pages {
        let path = dir.join(page);
        let text = std::fs::read_to_string(&path).unwrap();
        let name = page.trim_end_matches(".1");
        assert!(text.contains(&format!(".TH {name} 1")), "{page}");
        let shell = format!("preconv '{}' | groff -man -Tutf8 -ww -z", path.display());
        let render = Command::new("sh").args(["-c", &shell]).output().unwrap();
        assert!(render.status.success(), "{page}");
        let warnings = String::from_utf8_lossy(&render.stderr);
        assert!(warnings.is_empty(), "{page}: {warnings}");
    }
    // The page on stdout is the top page, naming every command's.
    let top = hashrig(&["generate", "man"]);
    assert!(top.status.success());
    let top = String::from_utf8(top.stdout).unwrap();
    assert!(
        top.contains(".TH hashrig 1") && top.contains("hashrig\\-mine(1)"),
        "{top}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// bash parses the bash completions and, loaded, completes the commands.
#[test]
fn bash_completions_complete_the_commands() {
    let out = hashrig(&["generate", "completions", "bash"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = String::from_utf8(out.stdout).unwrap();
    // What bash offers after `hashrig ` and after `hashrig mine --po`.
    let probe = format!(
        "{script}\n\
         COMP_WORDS=(hashrig ''); COMP_CWORD=1; _hashrig hashrig '' hashrig; echo \"${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(hashrig mine --po); COMP_CWORD=2; _hashrig hashrig --po mine; echo \"${{COMPREPLY[*]}}\"\n"
    );
    let mut bash = Command::new("bash")
        .arg("--norc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    bash.stdin
        .take()
        .unwrap()
        .write_all(probe.as_bytes())
        .unwrap();
    let done = bash.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let lines: Vec<&str> = std::str::from_utf8(&done.stdout).unwrap().lines().collect();
    for command in ["mine", "bench", "selftest", "generate"] {
        assert!(lines[0].split(' ').any(|w| w == command), "{:?}", lines[0]);
    }
    let flags: Vec<&str> = lines[1].split(' ').collect();
    assert!(
        flags.contains(&"--pool") && flags.contains(&"--pool-ca"),
        "{flags:?}"
    );
    assert!(!flags.contains(&"--header"), "{flags:?}");
}

/// An unknown shell is one line and exit 2.
#[test]
fn an_unknown_shell_is_refused() {
    let out = hashrig(&["generate", "completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("tcsh"), "{err}");
}
