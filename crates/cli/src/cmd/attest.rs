//! `realm attest [CONFIG] --challenge HEX -o token.cbor`: the attestation loop in one step (issue 13). The
//! realm of the configuration (its flags and file as `realm measure`/`launch` take them) boots the built-in
//! `attest` payload as its firmware on the simulated platform's realm CPU: it asks the VMM for the challenge
//! through shared memory, gets a CCA token over it from the RMM (RSI_ATTESTATION_TOKEN_INIT/CONTINUE) and
//! hands the token back the same way. The token is saved and verified, as `realm verify` does, against the
//! platform's endorsements and the reference values `realm measure` computes for the same configuration
//! (or the files given). Exit 0 trusted, 1 not trusted (or no token), 2 bad input.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use realm_attest::VerifyInputs;
use realm_vmm::backend::{BackendKind, CpuChoice};
use realm_vmm::exits::MESSAGE_TOKEN;
use realm_vmm::launch::{LaunchOptions, LaunchOutcome};

use crate::cmd::realm_args::{self, Bar, RealmArgs};
use crate::cmd::verify;
use crate::error::{CliResult, input, runtime};

/// Arguments of `realm attest`.
#[derive(Debug, clap::Args)]
pub struct AttestArgs {
    #[command(flatten)]
    realm: RealmArgs,
    /// The challenge the realm's token must carry, hex (up to 64 bytes, zero-padded on the right).
    #[arg(long, value_name = "HEX")]
    challenge: String,
    /// Where to save the CCA token (CBOR).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Verify against these reference values (`realm measure --reference-values`) instead of measuring the
    /// configuration.
    #[arg(long, value_name = "FILE")]
    reference_values: Option<PathBuf>,
    /// Verify against these platform endorsements (`realm platform endorsements --json`) instead of the
    /// simulated platform's own.
    #[arg(long, value_name = "FILE")]
    endorsements: Option<PathBuf>,
    /// Stop the realm if it has not powered off after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    timeout: f64,
}

/// Run `realm attest`.
pub fn run(args: &AttestArgs) -> CliResult {
    let challenge = super::verify::parse_challenge(&args.challenge)?;
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout < 1e9) {
        return Err(input(anyhow::anyhow!(
            "--timeout {}: give a positive number of seconds",
            args.timeout
        )));
    }
    let reference_values = verify::load_reference_values(args.reference_values.as_ref())?;
    let endorsements = verify::load_endorsements(args.endorsements.as_ref())?;
    let mut cfg = args.realm.config_with_payload(true)?;
    realm_vmm::payload::install(&mut cfg, "attest").map_err(runtime)?;
    let endorsements =
        endorsements.unwrap_or_else(|| super::endorsements::endorsements_of(&cfg.platform));
    let prepared = realm_args::prepare(&cfg)?;
    let reference_values = match reference_values {
        Some(rv) => rv,
        None => {
            let measured =
                realm_vmm::measure::measure_explained(&prepared, &mut Bar::default(), false)
                    .map_err(super::measure_error)?;
            super::measure::reference_values(&cfg, &measured)?
        }
    };

    let backend = realm_vmm::backend::open(
        BackendKind::Simulated,
        cfg.abi,
        &cfg.platform,
        CpuChoice::A64,
    )
    .map_err(input)?;
    let opts = LaunchOptions {
        explain: false,
        timeout: Some(std::time::Duration::from_secs_f64(args.timeout)),
        interrupt: None,
        challenge,
    };
    let mut console = std::io::stdout();
    let report = realm_vmm::launch::launch_with(
        backend.as_ref(),
        &prepared,
        &mut console,
        &mut Bar::default(),
        &opts,
    )
    .map_err(super::launch_error)?;
    let Some(token) = report.messages.iter().find(|m| m.kind == MESSAGE_TOKEN) else {
        let how = match report.outcome {
            LaunchOutcome::Stopped(s) => format!("{s:?}"),
            LaunchOutcome::ActivatedNoCode => "without running".into(),
        };
        return Err(runtime(anyhow::anyhow!(
            "the realm stopped ({how}) without handing over a token"
        )));
    };
    std::fs::write(&args.output, &token.data)
        .with_context(|| format!("writing {}", args.output.display()))
        .map_err(runtime)?;
    let inputs = VerifyInputs {
        challenge: Some(challenge),
        platform_key: None,
        endorsements: Some(&endorsements),
        reference_values: Some(&reference_values),
    };
    let verdict = realm_attest::verify(&token.data, &inputs)
        .context("decoding the realm's token")
        .map_err(runtime)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "token      {} bytes saved to {}",
        token.data.len(),
        args.output.display()
    )
    .map_err(runtime)?;
    super::verify::print_report(&mut out, &verdict).map_err(runtime)?;
    if verdict.trusted() {
        Ok(())
    } else {
        Err(runtime(anyhow::anyhow!("token not trusted")))
    }
}
