//! `realm launch`: build a realm on a backend, activate it and run it.
//!
//! Example: `realm launch -k Image -m 512M` (simulated platform, the realm CPU runs it) or
//! `realm launch --backend kvm -k Image` on an arm64 CCA host; `realm launch --payload hello` runs a built-in
//! realm program end to end; `--cpu idle` builds and activates the realm without running it.
//!
//! Exit codes: 0 when the realm powered off, 3 reset, 4 crash report, 124 stopped by `--timeout` (as
//! `timeout(1)`), 130 stopped by Ctrl-C (128 + SIGINT), 1 a run failure, 2 bad input.

use std::sync::atomic::{AtomicBool, Ordering};

use realm_vmm::backend::{BackendKind, CpuChoice};
use realm_vmm::launch::LaunchOutcome;

use crate::cmd::realm_args::{self, Bar, RealmArgs};
use crate::error::{CliResult, input, runtime, stopped};

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
    /// What runs the realm's vCPUs on the simulated backend: a64 (the realm CPU; default) or idle (no code: the
    /// launch stops once the realm is active).
    #[arg(long, value_parser = ["idle", "a64"])]
    cpu: Option<String>,
    /// Run a built-in realm program as the firmware; --list-payloads shows them.
    #[arg(long, value_name = "NAME", value_parser = payload_names(), conflicts_with_all = ["kernel", "firmware"])]
    payload: Option<String>,
    /// List the built-in realm programs --payload runs, with what each exercises, and exit.
    #[arg(long)]
    list_payloads: bool,
    /// Stop the realm's vCPUs if it has not stopped by itself after this many seconds of running (status
    /// TimedOut, exit code 124).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
}

/// The names `--payload` accepts: the payload registry's.
fn payload_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        realm_vmm::payload::PAYLOADS
            .iter()
            .map(|p| clap::builder::PossibleValue::new(p.name).help(p.description)),
    )
}

/// Print the payload registry, one `name  description` line each.
fn list_payloads(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let width = realm_vmm::payload::PAYLOADS
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    for p in realm_vmm::payload::PAYLOADS {
        writeln!(out, "{:width$}  {}", p.name, p.description)?;
    }
    Ok(())
}

/// Set by Ctrl-C (SIGINT) once `realm launch` has started: the launch stops its vCPUs, reports `Interrupted`
/// with its summary and exits 130. A handler that cannot be installed (another one already is) leaves
/// Ctrl-C's default.
fn interrupt_flag() -> &'static AtomicBool {
    static INTERRUPTED: AtomicBool = AtomicBool::new(false);
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    });
    &INTERRUPTED
}

/// Run `realm launch`.
pub fn run(args: &LaunchArgs) -> CliResult {
    if args.list_payloads {
        return list_payloads(&mut std::io::stdout().lock()).map_err(runtime);
    }
    // Installed first: a Ctrl-C while the realm is being built stops it as soon as it runs.
    let interrupt = interrupt_flag();
    let kind: BackendKind = args.backend.parse().map_err(input)?;
    let timeout = match args.timeout {
        Some(t) if t.is_finite() && t > 0.0 && t < 1e9 => {
            Some(std::time::Duration::from_secs_f64(t))
        }
        Some(t) => {
            return Err(input(anyhow::anyhow!(
                "--timeout {t}: give a positive number of seconds"
            )));
        }
        None => None,
    };
    let payload = args.payload.is_some();
    let mut cfg = args.realm.config_with_payload(payload)?;
    if let Some(name) = &args.payload {
        realm_vmm::payload::install(&mut cfg, name).map_err(input)?;
    }
    let prepared = realm_args::prepare(&cfg)?;
    let cpu = match args.cpu.as_deref() {
        Some("idle") => CpuChoice::Idle,
        _ => CpuChoice::A64,
    };
    let backend = realm_vmm::backend::open(kind, cfg.abi, &cfg.platform, cpu).map_err(input)?;
    let mut bar = Bar::default();
    let mut console = std::io::stdout();
    let report = realm_vmm::launch::launch_interruptible(
        backend.as_ref(),
        &prepared,
        &mut console,
        &mut bar,
        false,
        timeout,
        Some(interrupt),
    )
    .map_err(super::launch_error)?;
    let mut out = std::io::stdout().lock();
    if args.plan {
        realm_args::print_plan(&mut out, &prepared.plan.steps, prepared.plan.abi)
            .map_err(runtime)?;
    }
    print_outcome(&mut out, &prepared, &report).map_err(runtime)?;
    drop(out);
    stop_code(&report)
}

/// A realm that did not stop by itself (or reset, or crashed) ends the command with its status's exit code
/// ([`realm_vmm::exits::ExitStatus::code`]).
pub fn stop_code(report: &realm_vmm::launch::LaunchReport) -> CliResult {
    match report.outcome {
        LaunchOutcome::Stopped(s) if s.code() != 0 => Err(stopped(
            s.code(),
            anyhow::anyhow!("the realm stopped: {s:?} (exit code {})", s.code()),
        )),
        _ => Ok(()),
    }
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
            "status     realm active; its vCPUs run no code with the idle CPU model, so the launch stops \
             here (--cpu a64 executes it on the realm CPU)"
        )?,
        LaunchOutcome::Stopped(s) => writeln!(out, "status     realm stopped: {s:?}")?,
    }
    if let Some(run) = &report.run {
        writeln!(out, "run        {}", run.line())?;
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
