//! `realm bench`: how fast `measure` is, as ratios to limits measured in the same run (see
//! `realm_vmm::bench`). Takes a few seconds and about 4 GiB of memory.
//!
//! Example: `cargo run --release -- bench` (or `--json`).

use std::io::Write as _;

use crate::error::{CliResult, runtime};

/// Arguments of `realm bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// The simulated platform the benchmark realms are measured on.
    #[command(flatten)]
    platform: crate::cmd::platform::PlatformArgs,
}

/// Run `realm bench`.
pub fn run(args: &BenchArgs) -> CliResult {
    let platform = args.platform.resolve()?;
    let figures = realm_vmm::bench::run(&platform).map_err(runtime)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let text = serde_json::to_string_pretty(&figures).map_err(runtime)?;
        writeln!(out, "{text}").map_err(runtime)?;
        return Ok(());
    }
    for f in &figures {
        writeln!(out, "{}", f.name).map_err(runtime)?;
        writeln!(out, "  time       {:.3} s", f.seconds).map_err(runtime)?;
        writeln!(out, "  reference  {}", f.reference).map_err(runtime)?;
        writeln!(out, "  ratio      {:.2}  (target {})", f.ratio, f.target).map_err(runtime)?;
        for n in &f.notes {
            writeln!(out, "  {n}").map_err(runtime)?;
        }
    }
    Ok(())
}
