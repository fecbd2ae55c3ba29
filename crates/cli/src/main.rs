//! `realm`: build, measure and launch Arm CCA realms on the built-in simulated platform or on /dev/kvm.
//!
//! The binary is thin: each subcommand's module turns its `*Args` into typed values and calls the library
//! crates. Exit codes: 0 success, 1 runtime failure, 2 bad input.
#![forbid(unsafe_code)]

mod cmd;
mod error;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Build, measure and launch Arm CCA realms.
#[derive(Debug, Parser)]
#[command(name = "realm", version, about, long_about = None)]
struct Cli {
    /// Log to stderr: -v debug (each ioctl and RMI call), -vv trace (each granule). Without it, `RUST_LOG`
    /// (an env-filter, e.g. `RUST_LOG=realm_kvm=debug`) or errors only.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print each KVM realm ABI revision: capability, VM type, request numbers, struct sizes.
    Abi(cmd::abi::AbiArgs),
    /// Work with the software RMM directly (RMI trace replay).
    Rmi(cmd::rmi::RmiArgs),
    /// Compute a realm's reference RIM by building it on the simulated platform.
    Measure(cmd::measure::MeasureArgs),
    /// Build, activate and run a realm (simulated platform or /dev/kvm).
    Launch(cmd::launch::LaunchArgs),
    /// Launch a small built-in realm on the simulated platform and explain its RIM.
    Demo(cmd::demo::DemoArgs),
    /// Time `measure` against limits measured in the same run.
    Bench(cmd::bench::BenchArgs),
    /// Print a simulated platform profile: what it supports and the RMI_FEATURES value it reports.
    Platform(cmd::platform::PlatformCmdArgs),
    /// Write a minimal initramfs (newc cpio: /dev/console and an /init that prints a line and powers off).
    Initramfs(cmd::initramfs::InitramfsArgs),
    /// Check a CCA attestation token: signatures, binding, challenge, endorsements, reference values.
    Verify(cmd::verify::VerifyArgs),
    /// Launch the attest payload for a challenge, save the realm's CCA token and verify it in one step.
    Attest(cmd::attest::AttestArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            // Printing clap's own message (help, version, usage error) is the point here.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    install_tracing(cli.verbose);
    let result = match cli.command {
        Command::Abi(args) => cmd::abi::run(&args),
        Command::Rmi(args) => cmd::rmi::run(&args),
        Command::Measure(args) => cmd::measure::run(&args),
        Command::Launch(args) => cmd::launch::run(&args),
        Command::Demo(args) => cmd::demo::run(&args),
        Command::Bench(args) => cmd::bench::run(&args),
        Command::Platform(args) => cmd::platform::run(&args),
        Command::Initramfs(args) => cmd::initramfs::run(&args),
        Command::Verify(args) => cmd::verify::run(&args),
        Command::Attest(args) => cmd::attest::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr().lock(), "realm: {:#}", err.error);
            ExitCode::from(err.exit_code())
        }
    }
}

/// A tracing subscriber writing to stderr: `-v` debug, `-vv` trace, otherwise `RUST_LOG`, otherwise errors only
/// (the kernel layer's `warn` lines stand for its dmesg, which a user does not see either).
fn install_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match verbose {
        0 => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("error")),
        1 => EnvFilter::new("debug"),
        _ => EnvFilter::new("trace"),
    };
    // A second subscriber cannot be installed; there is none before this one.
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}
