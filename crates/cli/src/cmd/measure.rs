//! `realm measure`: the reference RIM of a realm configuration, computed by building it on the simulated
//! platform and reading the RMM's measurement back (no second formula).
//!
//! Example: `realm measure -k Image -i initrd.img -m 512M -c 2 --abi v12` prints a summary and the RIM as the
//! last line of stdout; `--json` prints `{"rim", "hash_algo", "rems", "steps"}` only; `--explain` adds a table
//! of every RIM extension; `--reference-values rv.json` also writes the realm's reference values (RIM, RPV,
//! hash algorithm) for `realm verify`, and `--reference-values-corim rv.cbor` the same as a CoRIM in the form
//! Veraison's CCA realm scheme reads.

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
    /// Write the realm's reference values (JSON, for `realm verify --reference-values`) to FILE.
    #[arg(long, value_name = "FILE")]
    reference_values: Option<std::path::PathBuf>,
    /// Write the realm's reference values as an unsigned CoRIM (Veraison's CCA realm profile) to FILE.
    #[arg(long, value_name = "FILE")]
    reference_values_corim: Option<std::path::PathBuf>,
}

/// Run `realm measure`.
pub fn run(args: &MeasureArgs) -> CliResult {
    let cfg = args.realm.config()?;
    let prepared = realm_args::prepare(&cfg)?;
    let mut bar = Bar::default();
    let report = realm_vmm::measure::measure_explained(&prepared, &mut bar, args.explain)
        .map_err(super::measure_error)?;
    write_reference_values(args, &cfg, &report)?;
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

/// The reference values of the measured realm: RIM, RPV and hash algorithm (REMs are left to the realm's
/// owner: they change at run time).
pub(crate) fn reference_values(
    cfg: &realm_vmm::config::RealmConfig,
    report: &realm_vmm::measure::MeasureReport,
) -> Result<realm_attest::RealmReferenceValues, crate::error::CliError> {
    let hash_algo = match report.hash_algo {
        realm_vmm::config::HashAlgorithm::Sha256 => "sha-256",
        realm_vmm::config::HashAlgorithm::Sha512 => "sha-512",
    };
    Ok(realm_attest::RealmReferenceValues {
        hash_algo: hash_algo.to_owned(),
        rim: hex::decode(&report.rim).map_err(runtime)?,
        personalization_value: cfg.params.rpv.map_or([0; 64], |r| r.0).to_vec(),
        rem: None,
    })
}

fn write_reference_values(
    args: &MeasureArgs,
    cfg: &realm_vmm::config::RealmConfig,
    report: &realm_vmm::measure::MeasureReport,
) -> CliResult {
    use anyhow::Context as _;
    if args.reference_values.is_none() && args.reference_values_corim.is_none() {
        return Ok(());
    }
    let rv = reference_values(cfg, report)?;
    if let Some(path) = &args.reference_values {
        std::fs::write(path, rv.to_json() + "\n")
            .with_context(|| format!("writing {}", path.display()))
            .map_err(runtime)?;
    }
    if let Some(path) = &args.reference_values_corim {
        std::fs::write(path, realm_attest::corim::realm_corim(&rv))
            .with_context(|| format!("writing {}", path.display()))
            .map_err(runtime)?;
    }
    Ok(())
}
