//! `realm demo`: a small built-in realm (synthetic arm64 Image, initrd blob, generated DTB; kvmtool layout,
//! 256 MiB, 2 vCPUs, ABI v12) launched on the simulated platform, with its RIM and every extension explained.
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
    let mut cfg = realm_vmm::demo::config(abi);
    cfg.platform = args.platform.resolve()?;
    let prepared = realm_args::prepare(&cfg)?;
    let backend = realm_vmm::backend::simulated::SimulatedBackend::for_platform(abi, &cfg.platform);
    let mut bar = Bar::default();
    let mut console = std::io::stdout();
    let report = realm_vmm::launch::launch(&backend, &prepared, &mut console, &mut bar, true)
        .map_err(super::launch_error)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "The demo realm: a synthetic arm64 Image, an initrd and a generated DTB, built on the simulated").map_err(runtime)?;
    writeln!(
        out,
        "platform (realm-kvm over realm-rmm) exactly as `realm launch` does.\n"
    )
    .map_err(runtime)?;
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
