//! `realm rmi …`: the software RMM on its own.

use crate::error::{CliResult, input};

/// Arguments of `realm rmi`.
#[derive(Debug, clap::Args)]
pub struct RmiArgs {
    #[command(subcommand)]
    command: RmiCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RmiCommand {
    /// Replay a JSON-lines RMI trace against a fresh software RMM.
    Replay,
}

/// Run `realm rmi`.
pub fn run(_args: &RmiArgs) -> CliResult {
    Err(input(anyhow::anyhow!("realm rmi replay: not built yet")))
}
