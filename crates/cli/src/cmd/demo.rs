//! `realm demo`: the rsi-tour payload (every RSI call about the realm, each result printed, the RIM read from
//! inside) launched on the simulated platform's realm CPU (kvmtool layout, 256 MiB, 1 vCPU, ABI v12), then its
//! RIM explained: the construction plan and every extension, and the host's own RIM to compare with.
//!
//! Example: `realm demo` or `realm demo --abi v10`.

use std::io::Write as _;

use crate::cmd::realm_args::{self, Bar};
use crate::error::{CliResult, input, runtime};

/// Arguments of `realm demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Kernel realm ABI revision: v10 or v12 (default).
    #[arg(long, default_value = "v12")]
    abi: String,
    /// The simulated platform.
    #[command(flatten)]
    platform: crate::cmd::platform::PlatformArgs,
}

/// Run `realm demo`.
pub fn run(args: &DemoArgs) -> CliResult {
    let abi = realm_vmm::config::parse_abi(&args.abi).map_err(input)?;
    let cfg = realm_vmm::demo::rsi_tour_config(abi, args.platform.resolve()?);
    let prepared = realm_args::prepare(&cfg)?;
    let backend = realm_vmm::backend::simulated::SimulatedBackend::with_a64(abi, &cfg.platform);
    let mut bar = Bar::default();
    let mut console = std::io::stdout();
    let report = realm_vmm::launch::launch(&backend, &prepared, &mut console, &mut bar, true)
        .map_err(super::launch_error)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\nThat was the rsi-tour realm (docs/payloads.md), built on the simulated platform (realm-kvm over\n\
         realm-rmm) exactly as `realm launch --payload rsi-tour` does and run on the realm CPU.\n"
    )
    .map_err(runtime)?;
    writeln!(out, "{}\n", realm_vmm::demo::RIM_EXPLANATION).map_err(runtime)?;
    realm_args::print_plan(&mut out, &prepared.plan.steps, abi).map_err(runtime)?;
    writeln!(out).map_err(runtime)?;
    if let Some(log) = &report.extensions {
        writeln!(
            out,
            "RIM extensions ({}; runs folded, `realm measure --explain` lists each):",
            log.len()
        )
        .map_err(runtime)?;
        realm_args::explain_condensed(&mut out, log).map_err(runtime)?;
        writeln!(out).map_err(runtime)?;
    }
    super::launch::print_outcome(&mut out, &prepared, &report).map_err(runtime)?;
    if let Some(m) = &report.measured {
        writeln!(out, "{}", hex::encode(&m.rim)).map_err(runtime)?;
    }
    Ok(())
}
