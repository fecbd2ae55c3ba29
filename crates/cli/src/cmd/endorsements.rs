//! `realm platform endorsements [--json]`: what a verifier needs to trust the simulated platform — the CPAK
//! public key (derived from the platform's attestation seed), its implementation and instance ids, and the
//! platform reference values (configuration, firmware measurements). `--json` prints the file
//! `realm verify --endorsements` reads.
//!
//! Example: `realm platform endorsements --json > endorsements.json`.

use std::io::Write as _;

use realm_attest::{Endorsements, SimulatedPlatform, TokenFormat};

use crate::cmd::platform::PlatformArgs;
use crate::error::{CliResult, runtime};

/// Arguments of `realm platform endorsements`.
#[derive(Debug, clap::Args)]
pub struct EndorsementsArgs {
    /// Print the endorsements as JSON (the form `realm verify --endorsements` reads).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    platform: PlatformArgs,
}

/// The endorsements of the platform `args` choose.
pub fn endorsements_of(platform: &realm_platform::Platform) -> Endorsements {
    Endorsements::of(&SimulatedPlatform::boot(
        &platform.attestation_seed,
        TokenFormat::Rel0,
    ))
}

/// Run `realm platform endorsements`.
pub fn run(args: &EndorsementsArgs) -> CliResult {
    let platform = args.platform.resolve()?;
    let e = endorsements_of(&platform);
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", e.to_json()).map_err(runtime)?;
        return Ok(());
    }
    let rows = [
        ("platform", platform.name.clone()),
        ("implementation id", hex::encode(&e.implementation_id)),
        ("instance id", hex::encode(&e.instance_id)),
        (
            "platform configuration",
            hex::encode(&e.platform_configuration),
        ),
    ];
    for (k, v) in rows {
        writeln!(out, "{k:<24} {v}").map_err(runtime)?;
    }
    writeln!(out, "software components").map_err(runtime)?;
    for c in &e.sw_components {
        writeln!(
            out,
            "  {:<6} {:<20} {}",
            c.component_type.as_deref().unwrap_or("?"),
            c.version.as_deref().unwrap_or(""),
            hex::encode(&c.measurement_value)
        )
        .map_err(runtime)?;
    }
    write!(out, "CPAK (P-384)\n{}", e.cpak).map_err(runtime)?;
    Ok(())
}
