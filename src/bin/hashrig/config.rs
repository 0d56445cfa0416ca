//! `--config FILE`: a TOML file with what a rig's command line would say
//! (pools, devices, CPU use, batch time, APIs, temperature limits). The
//! file becomes command-line arguments placed before the ones typed, so
//! that every value goes through the same checks and a flag on the command
//! line overrides the file (for lists such as pools and devices, the
//! command line's replace the file's). Unknown keys and wrong types are
//! errors naming the key and the line.

use anyhow::{bail, Context, Result};
use clap::Args;

mod file;

pub(crate) use file::EXAMPLE;
use file::{parse, Config};

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
    // Exactly what `hashrig mine --config FILE` checks before it starts.
    let argv = vec![
        "hashrig".to_string(),
        "mine".to_string(),
        "--config".to_string(),
        path.display().to_string(),
    ];
    let expanded = expand(argv)?;
    let mine = match crate::Cli::parse_argv(&expanded.argv) {
        Ok(crate::Cli {
            command: crate::Command::Mine(mine),
        }) => mine,
        Ok(_) => unreachable!("parsed as mine"),
        Err(e) => bail!(expanded.explain(&e, &crate::clap_message(&e))),
    };
    if let Err(e) = crate::mine::check(&mine) {
        bail!(expanded.blame(&crate::one_line(&e)));
    }
    println!("{}", expanded.shown_file_args().join(" "));
    Ok(0)
}

/// Whether the typed arguments already give `flag`.
fn given(typed: &[String], flag: &str) -> bool {
    typed
        .iter()
        .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
}

/// Where in the file a key is: its table (`api`, `pool`…, or none for the
/// top level), which `[[pool]]` entry, and the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    table: Option<&'static str>,
    entry: usize,
    name: &'static str,
}

const fn top(name: &'static str) -> Key {
    Key {
        table: None,
        entry: 0,
        name,
    }
}

const fn in_table(table: &'static str, name: &'static str) -> Key {
    Key {
        table: Some(table),
        entry: 0,
        name,
    }
}

/// The line (1-based) and text where `key` is set in `text`.
fn line_of(text: &str, key: Key) -> Option<(usize, String)> {
    let mut table: Option<String> = None;
    let mut entries = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let line = file::code(raw);
        if let Some(name) = file::array_table(line) {
            let name = name.to_string();
            if Some(name.as_str()) == key.table {
                entries += 1;
            }
            table = Some(name);
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            table = Some(name.trim().to_string());
            continue;
        }
        let Some((k, _)) = line.split_once('=') else {
            continue;
        };
        let here = table.as_deref() == key.table
            && (!matches!(key.table, Some("pool" | "node")) || entries == key.entry + 1);
        if here && k.trim().trim_matches('"') == key.name {
            return Some((i + 1, line.chars().take(80).collect()));
        }
    }
    None
}

/// The command-line arguments the file stands for, for `command`, leaving
/// out lists the typed arguments give themselves; each with the key it
/// came from.
fn arguments_with_keys(c: &Config, command: &str, typed: &[String]) -> Vec<(String, Key)> {
    let mut out: Vec<(String, Key)> = Vec::new();
    let mut one = |flag: &str, value: Option<String>, key: Key| {
        if let Some(v) = value {
            out.push((format!("{flag}={v}"), key));
        }
    };
    one("--backend", c.backend.clone(), top("backend"));
    one("--cpu", c.cpu.clone(), top("cpu"));
    one(
        "--threads",
        c.threads.map(|t| t.to_string()),
        top("threads"),
    );
    one("--cpu-kernel", c.cpu_kernel.clone(), top("cpu_kernel"));
    one(
        "--batch-ms",
        c.batch_ms.map(|t| t.to_string()),
        top("batch_ms"),
    );
    one("--kernel-form", c.kernel_form.clone(), top("kernel_form"));
    if let Some(api) = &c.api {
        one("--api", api.listen.clone(), in_table("api", "listen"));
        one("--api-token", api.token.clone(), in_table("api", "token"));
        one(
            "--cgminer-api",
            api.cgminer.clone(),
            in_table("api", "cgminer"),
        );
        // The file's peers and origins, and any typed ones beside them.
        for p in &api.peers {
            one("--api-peer", Some(p.clone()), in_table("api", "peers"));
        }
        for o in &api.allow_origins {
            let key = in_table("api", "allow_origins");
            one("--api-allow-origin", Some(o.clone()), key);
        }
        for h in &api.hosts {
            one("--api-host", Some(h.clone()), in_table("api", "hosts"));
        }
    }
    if let Some(t) = &c.temperature {
        let key = |name| in_table("temperature", name);
        one("--temp-limit", t.limit.map(|v| v.to_string()), key("limit"));
        one(
            "--temp-resume",
            t.resume.map(|v| v.to_string()),
            key("resume"),
        );
    }
    if !given(typed, "--device") {
        for d in c.devices.iter().flatten() {
            out.push((format!("--device={d}"), top("devices")));
        }
    }
    let mining_a_header = given(typed, "--header");
    // Pools and nodes in the file's order: one failover list.
    let mut pools = c.pool.iter().map(toml::Spanned::as_ref).enumerate();
    let mut nodes = c.node.iter().map(toml::Spanned::as_ref).enumerate();
    for is_node in c.failover_order() {
        if command != "mine" || mining_a_header {
            break;
        }
        if is_node {
            let Some((entry, n)) = nodes.next() else {
                continue;
            };
            if !given(typed, "--node") {
                let key = Key {
                    table: Some("node"),
                    entry,
                    name: "url",
                };
                out.push((format!("--node={}", n.url), key));
            }
        } else {
            let Some((entry, p)) = pools.next() else {
                continue;
            };
            if !given(typed, "--pool") {
                let key = |name| Key {
                    table: Some("pool"),
                    entry,
                    name,
                };
                out.push((format!("--pool={}", p.url), key("url")));
                // Without a user here or in the URL, the empty one is
                // refused by the check, naming this entry's key.
                let (user, pass) = p.credentials();
                out.push((format!("--user={}", user.unwrap_or_default()), key("user")));
                let pass = pass.unwrap_or_else(|| "x".into());
                out.push((format!("--pass={pass}"), key("pass")));
            }
        }
    }
    if command == "mine" && !mining_a_header {
        if let Some(s) = &c.solo {
            let flags = [
                ("--address", &s.address, "address"),
                ("--rpc-cookie", &s.rpc_cookie, "rpc_cookie"),
                ("--rpc-user", &s.rpc_user, "rpc_user"),
                ("--rpc-pass", &s.rpc_pass, "rpc_pass"),
                ("--coinbase-tag", &s.coinbase_tag, "coinbase_tag"),
            ];
            for (flag, value, name) in flags {
                if let Some(v) = value {
                    if !given(typed, flag) {
                        out.push((format!("{flag}={v}"), in_table("solo", name)));
                    }
                }
            }
        }
        if let Some(s) = &c.stratum {
            if !given(typed, "--pool-ca") {
                if let Some(ca) = &s.ca {
                    out.push((format!("--pool-ca={ca}"), in_table("stratum", "ca")));
                }
            }
            if s.allow_redirect == Some(true) && !given(typed, "--allow-redirect") {
                let key = in_table("stratum", "allow_redirect");
                out.push(("--allow-redirect".into(), key));
            }
            if s.version_rolling == Some(false) && !given(typed, "--no-version-rolling") {
                let key = in_table("stratum", "version_rolling");
                out.push(("--no-version-rolling".into(), key));
            }
            if s.allow_unauthenticated == Some(true) && !given(typed, "--allow-unauthenticated") {
                let key = in_table("stratum", "allow_unauthenticated");
                out.push(("--allow-unauthenticated".into(), key));
            }
            if let Some(kind) = &s.sv2_channel {
                if !given(typed, "--sv2-channel") {
                    let key = in_table("stratum", "sv2_channel");
                    out.push((format!("--sv2-channel={kind}"), key));
                }
            }
        }
    }
    out
}

/// [`arguments_with_keys`] without the keys.
#[cfg(test)]
fn arguments(c: &Config, command: &str, typed: &[String]) -> Vec<String> {
    arguments_with_keys(c, command, typed)
        .into_iter()
        .map(|(a, _)| a)
        .collect()
}

/// A command line with `--config FILE` expanded, and where the file's
/// arguments came from.
pub(crate) struct Expanded {
    /// The whole command line, the file's arguments first.
    pub argv: Vec<String>,
    file: Option<FileArgs>,
}

struct FileArgs {
    path: String,
    text: String,
    args: Vec<(String, Key)>,
}

impl Expanded {
    /// clap's one-line message for `error`, naming the file, the line and
    /// the key where the bad value came from the file.
    pub fn explain(&self, error: &clap::Error, message: &str) -> String {
        use clap::error::{ContextKind, ContextValue};
        let Some(file) = &self.file else {
            return message.to_string();
        };
        // Nothing to mine on: say so in the file's words, not clap's.
        let upstream = file
            .args
            .iter()
            .any(|(a, _)| a.starts_with("--pool=") || a.starts_with("--node="));
        if error.kind() == clap::error::ErrorKind::MissingRequiredArgument && !upstream {
            return format!(
                "config {}: no [[pool]] or [[node]] to mine on: add a [[pool]] with url and user (`hashrig config --example` shows one), or give --header to search one header",
                file.path
            );
        }
        let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
            error.get(ContextKind::InvalidArg),
            error.get(ContextKind::InvalidValue),
        ) else {
            return message.to_string();
        };
        let flag = arg.split([' ', '=']).next().unwrap_or(arg);
        let from_file = file
            .args
            .iter()
            .find(|(a, _)| a.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) == Some(value));
        let Some((_, key)) = from_file else {
            return message.to_string();
        };
        let name = match key.table {
            Some(t) => format!("{t}.{}", key.name),
            None => key.name.to_string(),
        };
        // The value parser's own reason where there is one (without the
        // option's name, which the key replaces), else clap's message.
        let message = match std::error::Error::source(error) {
            Some(reason) => {
                let reason = reason.to_string();
                let bare = flag.trim_start_matches('-');
                let reason = reason.strip_prefix(&format!("{bare}: ")).unwrap_or(&reason);
                format!("{name}: {reason}")
            }
            None => message.replace(&format!("'{arg}'"), &name),
        };
        match line_of(&file.text, *key) {
            Some((n, line)) => format!("config {}: line {n} ({line}): {message}", file.path),
            None => format!("config {}: {message}", file.path),
        }
    }

    /// A one-line error from the checks after parsing (they start with the
    /// option's name, as in `temp-resume: …`), with the file, line and key
    /// in front where that option came from the file.
    pub fn blame(&self, message: &str) -> String {
        let Some(file) = &self.file else {
            return message.to_string();
        };
        let Some((name, _)) = message.split_once(": ") else {
            return message.to_string();
        };
        let flag = format!("--{name}");
        let typed = &self.argv[2 + file.args.len()..];
        let key = file
            .args
            .iter()
            .find(|(a, _)| a == &flag || a.starts_with(&format!("{flag}=")))
            .map(|(_, k)| *k);
        match key {
            Some(key) if !given(typed, &flag) => match line_of(&file.text, key) {
                Some((n, line)) => format!("config {}: line {n} ({line}): {message}", file.path),
                None => format!("config {}: {message}", file.path),
            },
            _ => message.to_string(),
        }
    }

    /// The file's arguments as they can be shown: passwords and tokens
    /// hidden, pool URLs without their password.
    pub fn shown_file_args(&self) -> Vec<String> {
        let Some(file) = &self.file else {
            return Vec::new();
        };
        file.args.iter().map(|(a, _)| shown(a)).collect()
    }
}

/// An argument with any secret in it hidden.
fn shown(arg: &str) -> String {
    let Some((flag, value)) = arg.split_once('=') else {
        return arg.to_string();
    };
    match flag {
        "--api-token" | "--pass" | "--rpc-pass" => format!("{flag}=<hidden>"),
        "--pool" => match value.parse::<hashrig::stratum::PoolUrl>() {
            Ok(url) => format!("{flag}={url}"),
            Err(_) => format!("{flag}=<not a pool URL>"),
        },
        _ => arg.to_string(),
    }
}

/// The command line with `--config FILE` expanded: the file's arguments
/// go right after the command's name, before the typed ones (which win).
pub(crate) fn expand(argv: Vec<String>) -> Result<Expanded> {
    let Some(command) = argv.get(1).cloned() else {
        return Ok(Expanded { argv, file: None });
    };
    if !matches!(command.as_str(), "mine" | "pow" | "bench") {
        return Ok(Expanded { argv, file: None });
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
        return Ok(Expanded { argv, file: None });
    };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("config: cannot read {path}"))?;
    let config = parse(&text).with_context(|| format!("config {path}"))?;
    let args = arguments_with_keys(&config, &command, typed);
    let mut out = argv[..2].to_vec();
    out.extend(args.iter().map(|(a, _)| a.clone()));
    out.extend_from_slice(typed);
    Ok(Expanded {
        argv: out,
        file: Some(FileArgs { path, text, args }),
    })
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

    #[test]
    fn pools_and_nodes_keep_the_files_order() {
        let text = "[[node]]\nurl = \"http://127.0.0.1:18443\"\n\n\
                    [[pool]]\nurl = \"stratum+tcp://backup:3333\"\nuser = \"w\"\n\n\
                    [[node]]\nurl = \"http://127.0.0.1:18444\"\n";
        let c = parse(text).unwrap();
        let sources: Vec<String> = arguments(&c, "mine", &[])
            .into_iter()
            .filter(|a| a.starts_with("--pool=") || a.starts_with("--node="))
            .collect();
        assert_eq!(
            sources,
            [
                "--node=http://127.0.0.1:18443",
                "--pool=stratum+tcp://backup:3333",
                "--node=http://127.0.0.1:18444"
            ]
        );
        // Inline arrays keep the file's order too, entry by entry.
        let inline = "node = [{ url = \"http://127.0.0.1:18443\" }]\n\
                      pool = [{ url = \"stratum+tcp://p:1\", user = \"w\" }]\n";
        let c = parse(inline).unwrap();
        let sources: Vec<String> = arguments(&c, "mine", &[])
            .into_iter()
            .filter(|a| a.starts_with("--pool=") || a.starts_with("--node="))
            .collect();
        assert_eq!(
            sources,
            ["--node=http://127.0.0.1:18443", "--pool=stratum+tcp://p:1"]
        );
        // A key of the second node is found on its own line.
        let key = Key {
            table: Some("node"),
            entry: 1,
            name: "url",
        };
        assert_eq!(line_of(text, key).map(|(n, _)| n), Some(9));
    }
}
