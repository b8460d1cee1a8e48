//! One module per subcommand. Each returns the process exit code.

pub mod brief;
pub mod embed;
pub mod eval;
pub mod explore;
pub mod feed;
pub mod generate;
pub mod index;
pub mod mcp;
pub mod pg;
pub mod related;
pub mod scan;
pub mod search;
pub mod show;
pub mod stats;
pub mod synth;
pub mod top;
pub mod transcribe;

use std::process::ExitCode;

use anyhow::Result;

use super::config::Config;
use super::{Cli, Command};

/// Exit codes, in one place (ripgrep and fd's convention).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Results found / work done.
    Success,
    /// No results.
    NoResults,
    /// An error, or some items failed.
    Error,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Success => 0,
            Exit::NoResults => 1,
            Exit::Error => 2,
        })
    }
}

/// Run the command the user asked for.
pub fn run(cli: Cli) -> Result<Exit> {
    let config = Config::from_cli(&cli)?;
    match cli.command {
        Command::Index(args) => index::run(&config, &args),
        Command::Search(args) => search::run(&config, &args),
        Command::Show(args) => show::run(&config, &args),
        Command::Stats(args) => stats::run(&config, &args),
        Command::Related(args) => related::run(&config, &args),
        Command::Top(args) => top::run(&config, &args),
        Command::Brief(args) => brief::run(&config, &args),
        Command::Embed(args) => embed::run(&config, &args),
        Command::Synth(args) => synth::run(&config, &args),
        Command::Eval(args) => eval::run(&config, &args),
        Command::Feed(args) => feed::run(&config, &args),
        Command::Scan(args) => scan::run(&config, &args),
        Command::Explore(args) => explore::run(&config, &args),
        Command::Transcribe(args) => transcribe::run(&config, &args),
        Command::Mcp => mcp::run(&config),
        Command::Store(args) => pg::init(&config, &args),
        Command::Push(args) => pg::push(&config, &args),
        Command::Generate(args) => generate::run(&args),
    }
}
