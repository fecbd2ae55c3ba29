//! `realm abi`: the KVM realm ABI of every revision.

use crate::error::{CliResult, input};

/// Arguments of `realm abi`.
#[derive(Debug, clap::Args)]
pub struct AbiArgs {
    /// Only this revision (v10, v12, v13, v14).
    #[arg(long)]
    pub revision: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Run `realm abi`.
pub fn run(_args: &AbiArgs) -> CliResult {
    Err(input(anyhow::anyhow!("realm abi: not built yet")))
}
