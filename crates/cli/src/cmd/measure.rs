//! `realm measure`: the reference RIM of a realm configuration, computed by building it on the simulated
//! platform and reading the RMM's measurement back (no second formula).
//!
//! Example: `realm measure -k Image -i initrd.img -m 512M -c 2 --abi v12` prints a summary and the RIM as the
//! last line of stdout; `--json` prints `{"rim", "hash_algo", "rems", "steps"}` only; `--explain` adds a table
//! of every RIM extension.

use std::io::Write as _;

use crate::cmd::realm_args::{self, Bar, RealmArgs};
use crate::error::{CliResult, runtime};

/// Arguments of `realm measure`.
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    #[command(flatten)]
    realm: RealmArgs,
    /// Machine-readable output: {"rim", "hash_algo", "rems", "steps"}.
    #[arg(long)]
    json: bool,
    /// Show every RIM extension (kind, IPA or range, flags, content hash, RIM after); with --json, as an
    /// "extensions" array.
    #[arg(long)]
    explain: bool,
    /// Show the realm-construction plan.
    #[arg(long)]
    plan: bool,
}

/// Run `realm measure`.
pub fn run(args: &MeasureArgs) -> CliResult {
    let cfg = args.realm.config()?;
    let prepared = realm_args::prepare(&cfg)?;
    let mut bar = Bar::default();
    let report = realm_vmm::measure::measure_explained(&prepared, &mut bar, args.explain)
        .map_err(super::measure_error)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut value = serde_json::to_value(&report).map_err(runtime)?;
        if args.explain {
            value["extensions"] = serde_json::to_value(&report.extensions).map_err(runtime)?;
        }
        let text = serde_json::to_string_pretty(&value).map_err(runtime)?;
        writeln!(out, "{text}").map_err(runtime)?;
        return Ok(());
    }
    if args.plan {
        realm_args::print_plan(&mut out, &prepared.plan.steps, prepared.plan.abi)
            .map_err(runtime)?;
    }
    if args.explain {
        realm_args::explain(&mut out, &report.extensions).map_err(runtime)?;
    }
    realm_args::summary(&mut out, &prepared, "simulated", &report.stats).map_err(runtime)?;
    writeln!(
        out,
        "hash       {}",
        realm_vmm::config::hash_name(report.hash_algo)
    )
    .map_err(runtime)?;
    writeln!(out, "{}", report.rim).map_err(runtime)?;
    Ok(())
}
