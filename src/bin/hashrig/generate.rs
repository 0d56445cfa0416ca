//! `hashrig generate`: the man page and the shell completions, written
//! from the command-line definitions themselves (as ripgrep and fd ship
//! theirs), for packages and for a user's own shell.

use std::io::Write;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, Subcommand};

use crate::Cli;

#[derive(Args)]
pub(crate) struct GenerateArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// The man page, roff, on stdout (`hashrig generate man > hashrig.1`);
    /// with DIR, every page into DIR: hashrig.1 and one per command
    /// (hashrig-mine.1, ...).
    Man {
        /// The folder to write every page into.
        dir: Option<std::path::PathBuf>,
    },
    /// Completions for SHELL on stdout (bash: `hashrig generate
    /// completions bash > /etc/bash_completion.d/hashrig`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Writes what `a` asks for on stdout; exit 0.
pub(crate) fn generate(a: GenerateArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    let mut command = Cli::command();
    match a.what {
        What::Man { dir: None } => clap_mangen::Man::new(command.name("hashrig"))
            .render(&mut out)
            .context("stdout")?,
        What::Man { dir: Some(dir) } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
            clap_mangen::generate_to(command.name("hashrig"), &dir)
                .with_context(|| format!("{}", dir.display()))?;
        }
        What::Completions { shell } => {
            clap_complete::generate(shell, &mut command, "hashrig", &mut out)
        }
    }
    out.flush().context("stdout")?;
    Ok(0)
}
