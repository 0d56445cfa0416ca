//! The config file and the service: options from the file, flags over
//! them, config --check refusing what mine refuses (naming the line and
//! key), and the systemd unit.

use super::*;

#[test]
fn a_config_file_sets_options_and_flags_override_it() {
    let dir = scratch("config");
    let example = Command::new(env!("CARGO_BIN_EXE_hashrig"))
        .args(["config", "--example"])
        .output()
        .unwrap();
    assert!(example.status.success());
    let example_path = dir.join("example.toml");
    std::fs::write(&example_path, &example.stdout).unwrap();
    let checked = Command::new(env!("CARGO_BIN_EXE_hashrig"))
        .args(["config", "--check"])
        .arg(&example_path)
        .output()
        .unwrap();
    assert!(checked.status.success());
    let args = String::from_utf8(checked.stdout).unwrap();
    assert!(
        args.contains("--pool=stratum+tcp://pool.example.com:3333"),
        "{args}"
    );

    // A file with the API on a chosen port and a CPU thread count; the
    // command line overrides the token.
    let config = dir.join("rig.toml");
    std::fs::write(
        &config,
        "backend = \"cpu\"\nthreads = 1\n\n[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"from-file\"\n\n[temperature]\nlimit = 95\n",
    )
    .unwrap();
    let config_arg = config.to_str().unwrap();
    let rig = Rig::start(
        &[
            "bench",
            "--seconds",
            "300",
            "--config",
            config_arg,
            "--api-token",
            "typed",
        ],
        &[],
    );
    let api = rig.api.unwrap();
    let d = &rig.summary()["devices"][0];
    assert_eq!(d["kind"], "cpu");
    assert!(d["name"].as_str().unwrap().contains("1 thread"), "{d}");
    let file_token = "Authorization: Bearer from-file";
    assert_eq!(http(api, "POST", "/control/pause", &[file_token]).0, 401);
    assert_eq!(
        http(
            api,
            "POST",
            "/control/pause",
            &["Authorization: Bearer typed"]
        )
        .0,
        200
    );
    drop(rig);

    // Unknown keys and wrong types: exit 2, one line naming the key and line.
    for (text, wanted) in [
        (
            "threads = 1\n[api]\nlisten = \"127.0.0.1:0\"\ntokn = \"x\"\n",
            "line 4",
        ),
        ("threads = \"one\"\n", "line 1 (threads"),
        ("[[pool]]\nurl = 5\nuser = \"u\"\n", "line 2"),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_hashrig"))
            .args(["bench", "--config", config_arg])
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(wanted), "{wanted:?} not in {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_hashrig"))
        .args(["bench", "--config", "/nonexistent/hashrig.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_check_refuses_what_mine_refuses_naming_the_line_and_key() {
    let dir = scratch("config-check");
    let config = dir.join("rig.toml");
    let pool = "[[pool]]\nurl = \"stratum+tcp://127.0.0.1:1\"\nuser = \"w\"\n";
    for (text, line, key) in [
        ("backend = \"quantum\"\n", 1, "backend"),
        ("threads = 0\n", 1, "threads"),
        ("threads = 1000000\n", 1, "threads"),
        ("[api]\nlisten = \"not an address\"\n", 2, "api.listen"),
        ("[api]\nlisten = \"127.0.0.1:99999\"\n", 2, "api.listen"),
        ("cpu_kernel = \"avx9000\"\n", 1, "cpu_kernel"),
        ("batch_ms = 0\n", 1, "batch_ms"),
        ("[temperature]\nlimit = 10000\n", 2, "temperature.limit"),
        ("[temperature]\nlimit = -300\n", 2, "temperature.limit"),
        ("[temperature]\nlimit = 80\nresume = 90\n", 3, "temp-resume"),
        (
            "[[pool]]\nurl = \"http://pool.example.com:80\"\nuser = \"w\"\n",
            2,
            "pool.url",
        ),
        (
            "[[pool]]\nurl = \"stratum2+tcp://127.0.0.1:1\"\nuser = \"w\"\n",
            2,
            "no authority key",
        ),
        (
            "[stratum]\nsv2_channel = \"sideways\"\n",
            2,
            "stratum.sv2_channel",
        ),
        // What used to pass the check and fail the run.
        (
            "[api]\nlisten = \"127.0.0.1:19311\"\ncgminer = \"127.0.0.1:19311\"\n",
            3,
            "different ports",
        ),
        ("[stratum]\nca = \"/etc/passwd\"\n", 2, "no certificate"),
    ] {
        let text = if text.contains("[[pool]]") {
            text.to_string()
        } else {
            format!("{text}{pool}")
        };
        std::fs::write(&config, &text).unwrap();
        let mut messages = Vec::new();
        for args in [
            vec!["config", "--check", config.to_str().unwrap()],
            vec![
                "mine",
                "--backend",
                "cpu",
                "--config",
                config.to_str().unwrap(),
            ],
        ] {
            let out = Command::new(env!("CARGO_BIN_EXE_hashrig"))
                .args(&args)
                .env("XDG_CACHE_HOME", &dir)
                .output()
                .unwrap();
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?} on {text:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            let wanted = format!("config {}: line {line} (", config.display());
            assert!(err.contains(&wanted), "{wanted:?} not in {err}");
            assert!(err.contains(key), "{key:?} not in {err}");
            assert!(
                !err.contains("--"),
                "a flag named instead of the key: {err}"
            );
            messages.push(err);
        }
        assert_eq!(messages[0], messages[1], "config --check and mine disagree");
    }
    // `hashrig config --check` on the file.
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_hashrig"))
            .args(["config", "--check", config.to_str().unwrap()])
            .output()
            .unwrap()
    };
    // Nothing to mine on, in the file's words; a user given in the URL, as
    // on the command line.
    for text in ["", "threads = 1\n"] {
        std::fs::write(&config, text).unwrap();
        let out = check();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("no [[pool]] or [[node]]"), "{err}");
    }
    // A pool with no user, here nor in its URL: named by its line.
    std::fs::write(&config, "[[pool]]\nurl = \"stratum+tcp://127.0.0.1:1\"\n").unwrap();
    let out = check();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("line 2 (") && err.contains("no user"), "{err}");
    std::fs::write(
        &config,
        "[[pool]]\nurl = \"stratum+tcp://w:pw@127.0.0.1:1\"\n",
    )
    .unwrap();
    let out = check();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("--user=w"));
    // Secrets are never printed.
    std::fs::write(
        &config,
        "[api]\ntoken = \"t0ken-secret\"\n[[pool]]\nurl = \"stratum+tcp://u:urlsecret@127.0.0.1:1\"\nuser = \"w\"\npass = \"passsecret\"\n",
    )
    .unwrap();
    let out = check();
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in ["t0ken-secret", "urlsecret", "passsecret"] {
        assert!(!shown.contains(secret), "{secret} printed: {shown}");
    }
    assert!(shown.contains("--pool=stratum+tcp://"), "{shown}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_systemd_unit_verifies_and_its_command_parses() {
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/hashrig.service"))
            .unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/hashrig"));
    let args: Vec<&str> = words.collect();
    assert!(unit.contains("Restart=on-failure") && unit.contains("KillSignal=SIGTERM"));
    // A bad config (exit 2) stops the service instead of restarting it
    // every few seconds.
    assert!(
        unit.lines()
            .any(|l| l.trim() == "RestartPreventExitStatus=2"),
        "the unit restarts on exit 2"
    );
    // The unit's command line with the example configuration: it parses
    // (`--help` stops right after parsing).
    let dir = scratch("unit");
    let example = Command::new(env!("CARGO_BIN_EXE_hashrig"))
        .args(["config", "--example"])
        .output()
        .unwrap();
    let config = dir.join("hashrig.toml");
    std::fs::write(&config, &example.stdout).unwrap();
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if *a == "/etc/hashrig/hashrig.toml" {
                config.display().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let parsed = Command::new(env!("CARGO_BIN_EXE_hashrig"))
        .args(&args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    // systemd's own check, where systemd is installed.
    match which("systemd-analyze") {
        Some(analyze) => {
            let local = dir.join("hashrig.service");
            let exe = env!("CARGO_BIN_EXE_hashrig");
            std::fs::write(&local, unit.replace("/usr/local/bin/hashrig", exe)).unwrap();
            let verified = Command::new(analyze)
                .arg("verify")
                .arg(&local)
                .output()
                .unwrap();
            assert!(
                verified.status.success() && verified.stderr.is_empty(),
                "systemd-analyze verify: {}",
                String::from_utf8_lossy(&verified.stderr)
            );
        }
        None => eprintln!("NOTE: systemd-analyze not installed; the unit was checked by hand only"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
