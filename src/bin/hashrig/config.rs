//! `--config FILE`: a TOML file with what a rig's command line would say
//! (pools, devices, CPU use, batch time, APIs, temperature limits). The
//! file becomes command-line arguments placed before the ones typed, so
//! that every value goes through the same checks and a flag on the command
//! line overrides the file (for lists such as pools and devices, the
//! command line's replace the file's). Unknown keys and wrong types are
//! errors naming the key and the line.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Deserialize;

/// The commented example `hashrig config --example` prints.
pub(crate) const EXAMPLE: &str = r#"# hashrig configuration (TOML). Every key is optional; a flag given on the
# command line overrides the file. Run: hashrig mine --config hashrig.toml

# Which hardware hashes: "auto" (GPUs if usable, else the CPU), "cpu", "gpu".
backend = "auto"
# GPU selectors: an index, part of the adapter name, or a PCI bus id.
# devices = ["0", "0000:03:00.0"]
# Whether the CPU hashes beside the GPUs: "auto", "on", "off".
cpu = "auto"
# CPU hashing threads (default: every core, or every core but one with GPUs).
# threads = 8
# CPU kernel: soft, scalar, sha-ni, avx2, avx512, neon, arm-sha2.
# cpu_kernel = "avx2"
# GPU batch duration to aim for, in milliseconds (bounds job-switch latency).
batch_ms = 20

# Pools, first choice first; the others are failovers.
[[pool]]
url = "stratum+tcp://pool.example.com:3333"
user = "wallet.worker1"
pass = "x"

# [[pool]]
# url = "stratum+ssl://backup.example.com:443"
# user = "wallet.worker1"

[stratum]
# A PEM file of certificates to trust for TLS pools, beside Mozilla's roots.
# ca = "/etc/hashrig/pool-ca.pem"
# Follow client.reconnect to another host.
allow_redirect = false
# Ask pools for version rolling (BIP 310).
version_rolling = true

[api]
# Prometheus /metrics, /summary and /control on this address.
listen = "127.0.0.1:9100"
# The bearer token POST /control/... needs (or set HASHRIG_API_TOKEN).
# token = "change-me"
# The cgminer-compatible API (rig monitors).
cgminer = "127.0.0.1:4028"

[temperature]
# Hold a device out of the work at or over this temperature (°C) ...
limit = 85
# ... until it has cooled under this one.
resume = 75
"#;

/// The file's contents.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    backend: Option<String>,
    devices: Option<Vec<String>>,
    cpu: Option<String>,
    threads: Option<u64>,
    cpu_kernel: Option<String>,
    batch_ms: Option<u64>,
    #[serde(default)]
    pool: Vec<PoolEntry>,
    stratum: Option<Stratum>,
    api: Option<Api>,
    temperature: Option<Temperature>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolEntry {
    url: String,
    user: String,
    pass: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stratum {
    ca: Option<String>,
    allow_redirect: Option<bool>,
    version_rolling: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Api {
    listen: Option<String>,
    token: Option<String>,
    cgminer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Temperature {
    limit: Option<f64>,
    resume: Option<f64>,
}

/// `hashrig config`.
#[derive(Args)]
pub(crate) struct ConfigCommand {
    /// Print a commented example configuration.
    #[arg(long, conflicts_with = "check")]
    example: bool,
    /// Check a configuration file and print the options it stands for.
    #[arg(long, value_name = "FILE")]
    check: Option<std::path::PathBuf>,
}

pub(crate) fn config(a: ConfigCommand) -> Result<u8> {
    if a.example {
        print!("{EXAMPLE}");
        return Ok(0);
    }
    let Some(path) = a.check else {
        bail!("config: give --example or --check FILE");
    };
    let args = arguments(&read(&path)?, "mine", &[]);
    println!("{}", args.join(" "));
    Ok(0)
}

/// Reads and checks a file.
fn read(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("config: cannot read {}", path.display()))?;
    parse(&text).with_context(|| format!("config: {}", path.display()))
}

/// Parses a file's text; an error names the key and the line.
fn parse(text: &str) -> Result<Config> {
    toml::from_str(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        let Some(span) = e.span() else {
            return anyhow::anyhow!("{message}");
        };
        let start = span.start.min(text.len());
        let number = text[..start].matches('\n').count() + 1;
        let line: String = text
            .lines()
            .nth(number - 1)
            .unwrap_or("")
            .trim()
            .chars()
            .take(80)
            .collect();
        anyhow::anyhow!("line {number} ({line}): {message}")
    })
}

/// Whether the typed arguments already give `flag`.
fn given(typed: &[String], flag: &str) -> bool {
    typed
        .iter()
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
}

/// The command-line arguments the file stands for, for `command`, leaving
/// out lists the typed arguments give themselves.
fn arguments(c: &Config, command: &str, typed: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut one = |flag: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push(format!("{flag}={v}"));
        }
    };
    one("--backend", c.backend.clone());
    one("--cpu", c.cpu.clone());
    one("--threads", c.threads.map(|t| t.to_string()));
    one("--cpu-kernel", c.cpu_kernel.clone());
    one("--batch-ms", c.batch_ms.map(|t| t.to_string()));
    if let Some(api) = &c.api {
        one("--api", api.listen.clone());
        one("--api-token", api.token.clone());
        one("--cgminer-api", api.cgminer.clone());
    }
    if let Some(t) = &c.temperature {
        one("--temp-limit", t.limit.map(|v| v.to_string()));
        one("--temp-resume", t.resume.map(|v| v.to_string()));
    }
    if !given(typed, "--device") {
        for d in c.devices.iter().flatten() {
            out.push(format!("--device={d}"));
        }
    }
    let mining_a_header = given(typed, "--header");
    if command == "mine" && !mining_a_header && !given(typed, "--pool") {
        for p in &c.pool {
            out.push(format!("--pool={}", p.url));
            out.push(format!("--user={}", p.user));
            out.push(format!("--pass={}", p.pass.as_deref().unwrap_or("x")));
        }
    }
    if command == "mine" && !mining_a_header {
        if let Some(s) = &c.stratum {
            if !given(typed, "--pool-ca") {
                if let Some(ca) = &s.ca {
                    out.push(format!("--pool-ca={ca}"));
                }
            }
            if s.allow_redirect == Some(true) && !given(typed, "--allow-redirect") {
                out.push("--allow-redirect".into());
            }
            if s.version_rolling == Some(false) && !given(typed, "--no-version-rolling") {
                out.push("--no-version-rolling".into());
            }
        }
    }
    out
}

/// The command line with `--config FILE` expanded: the file's arguments
/// go right after the command's name, before the typed ones (which win).
pub(crate) fn expand(argv: Vec<String>) -> Result<Vec<String>> {
    let Some(command) = argv.get(1).cloned() else {
        return Ok(argv);
    };
    if !matches!(command.as_str(), "mine" | "pow" | "bench") {
        return Ok(argv);
    }
    let typed = &argv[2..];
    let mut path = None;
    for (i, a) in typed.iter().enumerate() {
        if a == "--config" {
            path = typed.get(i + 1).cloned();
        } else if let Some(p) = a.strip_prefix("--config=") {
            path = Some(p.to_string());
        }
    }
    let Some(path) = path else {
        return Ok(argv);
    };
    let file = read(Path::new(&path))?;
    let mut out = argv[..2].to_vec();
    out.extend(arguments(&file, &command, typed));
    out.extend_from_slice(typed);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_and_stands_for_flags() {
        let c = parse(EXAMPLE).expect("the example is valid");
        let args = arguments(&c, "mine", &[]);
        assert!(args.contains(&"--pool=stratum+tcp://pool.example.com:3333".to_string()));
        assert!(args.contains(&"--temp-limit=85".to_string()));
        assert!(args.contains(&"--cgminer-api=127.0.0.1:4028".to_string()));
        // Pools are for `mine` only, and typed pools replace the file's.
        assert!(!arguments(&c, "bench", &[])
            .iter()
            .any(|a| a.starts_with("--pool")));
        let typed = vec!["--pool".to_string(), "stratum+tcp://other:1".to_string()];
        assert!(!arguments(&c, "mine", &typed)
            .iter()
            .any(|a| a.starts_with("--pool")));
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key_and_line() {
        let e = parse("backend = \"cpu\"\n\n[api]\nlisen = \"1\"\n")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("line 4") && e.contains("lisen"), "{e}");
        let e = parse("threads = \"eight\"\n").err().unwrap().to_string();
        assert!(e.contains("line 1 (threads = \"eight\")"), "{e}");
    }
}
