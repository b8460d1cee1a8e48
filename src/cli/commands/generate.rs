//! `podsift generate`: the man page and the shell completion scripts, made
//! at run time from the clap definition in `cli/mod.rs`, so they list the
//! same commands and flags as `--help` and never go stale (ripgrep's
//! `rg --generate`; fd writes the same files from its `build.rs`).
//!
//! The man page is one page, podsift(1): the global flags and one entry per
//! command (`podsift COMMAND --help` has each command's own flags). Hidden
//! commands and flags are left out of both.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use super::Exit;
use crate::cli::{Cli, GenerateArgs, GenerateKind};

/// Print what `args.kind` names on stdout.
pub fn run(args: &GenerateArgs) -> Result<Exit> {
    // Written whole and unfiltered: this is our own text, not data from
    // outside, so it skips `Config::stdout`'s cleaning. clap_complete
    // panics on a failed write, so it writes into memory and the one
    // write here reports a closed pipe as an error `main` knows.
    let text = render(args.kind)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&text)?;
    out.flush()?;
    Ok(Exit::Success)
}

/// The bytes of one man page or completion script.
fn render(kind: GenerateKind) -> std::io::Result<Vec<u8>> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    let shell = match kind {
        GenerateKind::Man => {
            clap_mangen::Man::new(cmd).render(&mut buf)?;
            return Ok(buf);
        }
        GenerateKind::CompleteBash => Shell::Bash,
        GenerateKind::CompleteZsh => Shell::Zsh,
        GenerateKind::CompleteFish => Shell::Fish,
        GenerateKind::CompletePowershell => Shell::PowerShell,
    };
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, &mut buf);
    Ok(buf)
}
