//! The `hashrig` command: mine a header, solve a generic proof-of-work job,
//! benchmark, list devices and self-test. Results go to stdout (text or
//! JSON Lines), progress and notices to stderr. Exit status: 0 success or
//! found, 1 nothing found (or a self-test failed), 2 bad input or error.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod args;
mod bench;
mod calibrate;
mod config;
mod devices;
mod generate;
mod mine;
mod monitor;
mod node;
mod pool;
mod report;
mod selftest;
mod session;
mod status;

/// SHA-256d nonce search on GPUs and CPUs, every solution verified.
#[derive(Parser)]
#[command(
    name = "hashrig",
    version,
    about,
    args_override_self = true,
    arg_required_else_help = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses `argv`; `mine`'s failover list keeps the order its pools and
    /// nodes were given in, which the derived parser alone loses.
    pub(crate) fn parse_argv(argv: &[String]) -> Result<Cli, clap::Error> {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().try_get_matches_from(argv)?;
        let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut Cli::command()))?;
        if let (Command::Mine(mine), Some(("mine", m))) = (&mut cli.command, matches.subcommand()) {
            mine.pool.order = pool::order_of(m);
        }
        Ok(cli)
    }
}

// One value per process, parsed once: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Search a Bitcoin header's nonce field for a block hash at or below a
    /// target, or mine on Stratum pools (--pool) or solo on a node (--node)
    /// until interrupted.
    // Negative numbers reach the value parsers, which say what range is
    // allowed, instead of being taken for unknown flags.
    #[command(allow_negative_numbers = true)]
    Mine(mine::MineArgs),
    /// Search a generic proof-of-work job: SHA-256(d) of data || nonce || suffix.
    #[command(allow_negative_numbers = true)]
    Pow(mine::PowArgs),
    /// Measure the hashrate of each device and the total: every GPU and the
    /// CPU, or only the GPUs named with --device (--cpu on adds the CPU).
    #[command(allow_negative_numbers = true)]
    Bench(bench::BenchArgs),
    /// List what can hash here.
    Devices(DevicesArgs),
    /// Run known-answer tests on every kernel and device.
    Selftest(SelftestArgs),
    /// Measure each GPU's best launch settings now and cache them.
    #[command(allow_negative_numbers = true)]
    Calibrate(calibrate::CalibrateArgs),
    /// Print an example configuration file, or check one.
    Config(config::ConfigCommand),
    /// Write the man pages or shell completions (for packages and shells).
    Generate(generate::GenerateArgs),
}

#[derive(Args)]
struct DevicesArgs {
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct SelftestArgs {
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

/// Bad input or a failure: exit status 2.
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    // SAFETY: first thing in main, before any other thread starts.
    unsafe {
        hashrig::gpu::set_runtime_dir();
    }
    let expanded = match config::expand(std::env::args().collect()) {
        Ok(expanded) => expanded,
        Err(e) => {
            eprintln!("hashrig: {}", one_line(&e));
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let cli = match Cli::parse_argv(&expanded.argv) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // No command: the list of commands, on stderr, exit 2.
            let _ = e.print();
            return ExitCode::from(EXIT_ERROR);
        }
        Err(e) => {
            eprintln!("hashrig: {}", expanded.explain(&e, &clap_message(&e)));
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if matches!(
        cli.command,
        Command::Mine(_) | Command::Pow(_) | Command::Bench(_)
    ) {
        if let Err(e) = monitor::catch_signals() {
            eprintln!("hashrig: {}", one_line(&e));
            return ExitCode::from(EXIT_ERROR);
        }
    }
    let result = match cli.command {
        Command::Mine(a) => mine::mine(a),
        Command::Pow(a) => mine::pow(a),
        Command::Bench(a) => bench::bench(a),
        Command::Devices(a) => devices::list(a.json),
        Command::Selftest(a) => selftest::selftest(a.json),
        Command::Calibrate(a) => calibrate::calibrate(a),
        Command::Config(a) => config::config(a),
        Command::Generate(a) => generate::generate(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hashrig: {}", expanded.blame(&one_line(&e)));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// clap's message up to its usage block, folded into one line.
pub(crate) fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    message.join(" ").trim_start_matches("error: ").to_string()
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub(crate) fn one_line(e: &anyhow::Error) -> String {
    // A cause that its error's own text already says (thiserror's
    // "…: {source}") is not said twice.
    let mut line = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        if line.contains(&cause) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    line.replace('\n', " ")
}
