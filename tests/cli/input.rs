//! Bad input of every kind gets one line and exit 2; the pool arguments
//! are checked before anything runs; what a new user meets first.

use super::*;

/// Each bad input: exit 2, exactly one line on stderr, nothing on stdout, no panic.
#[test]
fn bad_input_is_one_line_and_exit_2() {
    let short = &GENESIS[..158];
    let zeros = "0".repeat(64);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["mine", "--header", short], "header"),
        (vec!["mine", "--header", &GENESIS[2..]], "header"),
        (vec!["mine", "--header", "zz"], "hex digit"),
        (
            vec!["mine", "--header", GENESIS, "--bits", "1d80ffff"],
            "sign bit",
        ),
        (
            vec!["mine", "--header", GENESIS, "--bits", "ff123456"],
            "overflows",
        ),
        (
            vec!["mine", "--header", GENESIS, "--bits", "00000000"],
            "zero",
        ),
        (
            vec!["mine", "--header", GENESIS, "--target", &zeros],
            "zero target",
        ),
        (
            vec!["mine", "--header", GENESIS, "--difficulty", "0"],
            "difficulty",
        ),
        (
            vec!["mine", "--header", GENESIS, "--difficulty", "-3"],
            "difficulty",
        ),
        (
            vec!["mine", "--header", GENESIS, "--difficulty", "lots"],
            "difficulty",
        ),
        (
            vec!["mine", "--header", GENESIS, "--zero-bits", "257"],
            "zero-bits",
        ),
        // Negative numbers reach the parsers, which say what is allowed.
        (
            vec!["mine", "--header", GENESIS, "--zero-bits", "-3"],
            "zero-bits: \"-3\"",
        ),
        (vec!["bench", "--seconds", "-1"], "seconds: \"-1\""),
        (
            vec!["mine", "--header", GENESIS, "--threads", "-2"],
            "threads: \"-2\"",
        ),
        (
            vec!["mine", "--header", GENESIS, "--batch-ms", "-4"],
            "batch-ms: \"-4\"",
        ),
        (
            vec!["mine", "--header", GENESIS, "--temp-limit", "-10"],
            "temperature",
        ),
        (
            vec!["pow", "--data", "00", "--zero-bits", "-1"],
            "zero-bits",
        ),
        (vec!["calibrate", "--batch-ms", "-5"], "batch-ms: \"-5\""),
        (
            vec!["mine", "--header", GENESIS, "--device", "llvmpipe@dx99"],
            "unknown backend",
        ),
        (
            vec![
                "mine",
                "--header",
                GENESIS,
                "--start",
                "4294967000",
                "--count",
                "1000",
            ],
            "range",
        ),
        (
            vec!["mine", "--header", GENESIS, "--start", "4294967296"],
            "range",
        ),
        (
            vec!["mine", "--header", GENESIS, "--cpu-kernel", "avx9000"],
            "kernel",
        ),
        (
            vec!["mine", "--header", GENESIS, "--backend", "quantum"],
            "quantum",
        ),
        (
            vec!["mine", "--header", GENESIS, "--threads", "0"],
            "threads",
        ),
        (
            vec!["pow", "--data", "x", "--zero-bits", "300"],
            "zero-bits",
        ),
        (
            vec!["pow", "--data-hex", "0g", "--zero-bits", "3"],
            "data-hex",
        ),
        (
            vec![
                "pow",
                "--data",
                "x",
                "--zero-bits",
                "3",
                "--start",
                "18446744073709551615",
                "--count",
                "2",
            ],
            "range",
        ),
        (vec!["bench", "--seconds", "soon"], "seconds"),
        (vec!["mine"], "--header"),
        // A cookie and a user/password: which one logs in is not guessed.
        (
            vec![
                "mine",
                "--node",
                "http://127.0.0.1:1",
                "--address",
                "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
                "--rpc-cookie",
                "/nonexistent/.cookie",
                "--rpc-user",
                "u",
                "--rpc-pass",
                "p",
            ],
            "not both",
        ),
        // The API and the cgminer API on one port.
        (
            vec![
                "mine",
                "--pool",
                "stratum+tcp://127.0.0.1:1",
                "--user",
                "w",
                "--api",
                "127.0.0.1:19313",
                "--cgminer-api",
                "127.0.0.1:19313",
            ],
            "different ports",
        ),
        // A CA file with no certificate in it.
        (
            vec![
                "mine",
                "--pool",
                "stratum+ssl://127.0.0.1:1",
                "--user",
                "w",
                "--pool-ca",
                "/etc/hostname",
            ],
            "no certificate",
        ),
    ];
    for (args, needle) in cases {
        let o = hashrig(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.to_lowercase().contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
}

#[test]
fn pool_arguments_are_checked() {
    for args in [
        &["mine", "--pool", "pool.example:3333", "--user", "u"][..],
        &[
            "mine",
            "--pool",
            "stratum+tcp://pool.example",
            "--user",
            "u",
        ],
        &["mine", "--pool", "stratum+tcp://pool.example:3333"],
        &[
            "mine",
            "--pool",
            "stratum+tcp://a:1",
            "--pool",
            "stratum+tcp://b:2",
            "--pool",
            "stratum+tcp://c:3",
            "--user",
            "u",
            "--user",
            "v",
        ],
        &["mine", "--pool", "stratum+tcp://a:1", "--header", GENESIS],
        &[
            "mine",
            "--pool",
            "stratum+ssl://a:1",
            "--user",
            "u",
            "--pool-ca",
            "/nonexistent.pem",
        ],
    ] {
        let o = hashrig(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn what_a_new_user_hits_first() {
    // No command: the list of commands, exit 2.
    let out = hashrig(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Commands:") && stderr(&out).contains("bench"));
    // Every way to give pow's data is named when none is given.
    let out = hashrig(&["pow", "--zero-bits", "8"]);
    assert_eq!(out.status.code(), Some(2));
    for flag in ["--data", "--data-hex", "--data-file"] {
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
    // One rule for a target no hash meets.
    let zero = "0".repeat(64);
    for args in [
        &["pow", "--data", "x", "--zero-bits", "256"][..],
        &["pow", "--data", "x", "--target", &zero][..],
        &["bench", "--seconds", "1e-9"][..],
        &["bench", "--backend", "cpu", "--device", "llvmpipe"][..],
        &["bench", "--backend", "cpu", "--threads", "100000"][..],
    ] {
        let out = hashrig(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // The most threads accepted work: far more threads than cores still
    // hash, and nothing is taken out of service.
    let most = hashrig::cpu::max_threads().to_string();
    let out = hashrig(&[
        "bench",
        "--backend",
        "cpu",
        "--threads",
        &most,
        "--seconds",
        "1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let total = json_lines(&out)
        .into_iter()
        .find(|l| l["type"] == "total")
        .unwrap();
    assert!(total["mhs"].as_f64().unwrap() > 0.0, "{total}");
    // Data from a file and from standard input give the same solution as
    // the same bytes on the command line.
    let text = "block 1: alice pays bob 5";
    let path = std::env::temp_dir().join(format!("hashrig-data-{}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let common = ["--zero-bits", "16", "--backend", "cpu", "--json"];
    let inline = hashrig(&[&["pow", "--data", text][..], &common].concat());
    let from_file =
        hashrig(&[&["pow", "--data-file", path.to_str().unwrap()][..], &common].concat());
    let mut child = Command::new(env!("CARGO_BIN_EXE_hashrig"))
        .args([&["pow", "--data-file", "-"][..], &common].concat())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let from_stdin = child.wait_with_output().unwrap();
    let nonce = |o: &Output| json_lines(o)[0]["nonce"].clone();
    assert_eq!(nonce(&inline), nonce(&from_file));
    assert_eq!(nonce(&inline), nonce(&from_stdin));
    let _ = std::fs::remove_file(&path);
    // Mesa's "XDG_RUNTIME_DIR is invalid or not set" stays off the screen.
    let out = Command::new(env!("CARGO_BIN_EXE_hashrig"))
        .arg("devices")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        !stderr(&out).contains("XDG_RUNTIME_DIR"),
        "{}",
        stderr(&out)
    );
}
