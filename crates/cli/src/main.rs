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
    let result = match cli.command {
        Command::Abi(args) => cmd::abi::run(&args),
        Command::Rmi(args) => cmd::rmi::run(&args),
        Command::Measure(args) => cmd::measure::run(&args),
        Command::Launch(args) => cmd::launch::run(&args),
        Command::Demo(args) => cmd::demo::run(&args),
        Command::Bench(args) => cmd::bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr().lock(), "realm: {:#}", err.error);
            ExitCode::from(err.exit_code())
        }
    }
}
