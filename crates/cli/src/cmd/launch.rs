//! `realm launch`: build a realm on a backend, activate it and run it.
//!
//! Example: `realm launch -k Image -m 512M` (simulated platform) or `realm launch --backend kvm -k Image` on an
//! arm64 CCA host. The simulated platform has no AArch64 execution yet: it stops after activation and says so.

use realm_vmm::backend::BackendKind;
use realm_vmm::launch::LaunchOutcome;

use crate::cmd::realm_args::{self, Bar, RealmArgs};
use crate::error::{CliResult, input, runtime};

/// Arguments of `realm launch`.
#[derive(Debug, clap::Args)]
pub struct LaunchArgs {
    #[command(flatten)]
    realm: RealmArgs,
    /// Backend: simulated (default) or kvm (/dev/kvm on an arm64 CCA host).
    #[arg(long, default_value = "simulated")]
    backend: String,
    /// Show the realm-construction plan.
    #[arg(long)]
    plan: bool,
}

/// Run `realm launch`.
pub fn run(args: &LaunchArgs) -> CliResult {
    let kind: BackendKind = args.backend.parse().map_err(input)?;
    let cfg = args.realm.config()?;
    let prepared = realm_args::prepare(&cfg)?;
    let backend = realm_vmm::backend::open(kind, cfg.abi, &cfg.platform).map_err(input)?;
    let mut bar = Bar::default();
    let mut console = std::io::stdout();
    let report =
        realm_vmm::launch::launch(backend.as_ref(), &prepared, &mut console, &mut bar, false)
            .map_err(super::launch_error)?;
    let mut out = std::io::stdout().lock();
    if args.plan {
        realm_args::print_plan(&mut out, &prepared.plan.steps, prepared.plan.abi)
            .map_err(runtime)?;
    }
    print_outcome(&mut out, &prepared, &report).map_err(runtime)
}

/// Summary, outcome and RIM of a launch.
pub fn print_outcome(
    out: &mut dyn std::io::Write,
    prepared: &realm_vmm::prepare::Prepared,
    report: &realm_vmm::launch::LaunchReport,
) -> anyhow::Result<()> {
    realm_args::summary(out, prepared, report.backend, &report.stats)?;
    match report.outcome {
        LaunchOutcome::ActivatedNoCode => writeln!(
            out,
            "status     realm active; its vCPUs have no code to run on the simulated platform yet \
             (AArch64 execution is a later issue), so the launch stops here"
        )?,
        LaunchOutcome::Stopped(s) => writeln!(out, "status     realm stopped: {s:?}")?,
    }
    if let Some(m) = &report.measured {
        writeln!(
            out,
            "hash       {}",
            realm_vmm::config::hash_name(m.hash_algo)
        )?;
        writeln!(out, "RIM        {}", hex::encode(&m.rim))?;
    }
    Ok(())
}
