//! One module per subcommand, each with its `*Args` and a `run`.

pub mod abi;
pub mod attest;
pub mod bench;
pub mod bench_linux;
pub mod demo;
pub mod endorsements;
pub mod initramfs;
pub mod launch;
pub mod measure;
pub mod platform;
pub mod realm_args;
pub mod rmi;
pub mod verify;

use crate::error::{CliError, input, runtime};

/// The host or kernel refusing what was asked (no realm-capable KVM, another ABI, an invalid argument) is bad
/// input (2); anything else (including every failure while the realm runs) is a runtime failure (1).
fn backend_fault(refusal: bool, e: impl Into<anyhow::Error>) -> CliError {
    if refusal { input(e) } else { runtime(e) }
}

/// Map a `measure` failure to an exit code.
pub fn measure_error(e: realm_vmm::measure::MeasureError) -> CliError {
    use realm_vmm::measure::MeasureError as M;
    let refusal = matches!(&e, M::Build(source) if source.is_refusal());
    backend_fault(refusal, e)
}

/// Map a `launch` failure to an exit code: only a build the host refuses is bad input.
pub fn launch_error(e: realm_vmm::launch::LaunchError) -> CliError {
    use realm_vmm::launch::LaunchError as L;
    let refusal = matches!(&e, L::Build { source, .. } if source.is_refusal());
    backend_fault(refusal, e)
}
