//! The two things users do with a plan: `measure` it on the simulated platform and read the RIM back, or
//! `launch` it on a backend and run it. Both build through [`crate::realm::build`]: one code path.
#![forbid(unsafe_code)]

use std::io::Write;

use realm_uapi::arm64 as k;
use realm_uapi::{v10, v12};
use serde::Serialize;
use zerocopy::IntoBytes;

use crate::backend::simulated::SimulatedBackend;
use crate::backend::{BackendError, Extension, IoctlArg, KvmBackend, Measured};
use crate::config::Abi;
use crate::exits::{self, ExitAction, ExitStatus, Uart};
use crate::plan::Step;
use crate::prepare::Prepared;
use crate::realm::{self, BuildStats, Built, Progress};

/// What `measure` found.
#[derive(Clone, Debug, Serialize)]
pub struct MeasureReport {
    /// `sha256` / `sha512`.
    pub hash_algo: String,
    /// The RIM, lowercase hex.
    pub rim: String,
    /// REM0..REM3, hex.
    pub rems: Vec<String>,
    /// The plan's steps.
    pub steps: Vec<Step>,
    /// Every RIM extension (empty unless asked for: the log of a large realm is long).
    #[serde(skip)]
    pub extensions: Vec<Extension>,
    /// Figures.
    #[serde(skip)]
    pub stats: BuildStats,
}

/// A failed `measure` or `launch`.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// Building the realm failed.
    #[error("building the realm on the {backend} backend")]
    Build {
        /// Backend name.
        backend: &'static str,
        /// Why.
        #[source]
        source: BackendError,
    },
    /// The platform gave no measurements back.
    #[error("the simulated platform has no measurements for the realm")]
    NoMeasurements,
    /// Running the realm failed.
    #[error("running vCPU {vcpu}")]
    Run {
        /// vCPU.
        vcpu: u32,
        /// Why.
        #[source]
        source: BackendError,
    },
    /// An exit the VMM cannot handle.
    #[error("vCPU {vcpu} stopped on an unhandled exit: {what}")]
    Unhandled {
        /// vCPU.
        vcpu: u32,
        /// The exit.
        what: String,
    },
}

fn measured_report(
    built: &Built<'_>,
    prepared: &Prepared,
    explain: bool,
) -> Result<MeasureReport, OpsError> {
    let m = built.measurements().ok_or(OpsError::NoMeasurements)?;
    Ok(MeasureReport {
        hash_algo: m.hash_algo,
        rim: hex::encode(&m.rim),
        rems: m.rems.iter().map(hex::encode).collect(),
        steps: prepared.plan.steps.clone(),
        extensions: if explain {
            built.measurement_log().unwrap_or_default()
        } else {
            Vec::new()
        },
        stats: built.stats,
    })
}

/// Build `prepared` on a fresh simulated platform and read its measurements back.
pub fn measure(
    prepared: &Prepared,
    progress: &mut dyn Progress,
) -> Result<MeasureReport, OpsError> {
    measure_explained(prepared, progress, false)
}

/// [`measure`], with every RIM extension in [`MeasureReport::extensions`] when `explain`.
pub fn measure_explained(
    prepared: &Prepared,
    progress: &mut dyn Progress,
    explain: bool,
) -> Result<MeasureReport, OpsError> {
    let backend = SimulatedBackend::new(prepared.plan.abi);
    let built = realm::build(&backend, prepared, progress).map_err(|source| OpsError::Build {
        backend: "simulated",
        source,
    })?;
    measured_report(&built, prepared, explain)
}

/// How a launch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LaunchOutcome {
    /// The realm is active; the simulated platform has no AArch64 execution yet, so nothing runs.
    ActivatedNoCode,
    /// The realm stopped.
    Stopped(ExitStatus),
}

/// What `launch` did.
#[derive(Clone, Debug, Serialize)]
pub struct LaunchReport {
    /// Backend name.
    pub backend: &'static str,
    /// The measurements, when the backend can read them.
    pub measured: Option<Measured>,
    /// The RIM extensions, when the backend can read them.
    #[serde(skip)]
    pub extensions: Option<Vec<Extension>>,
    /// Figures.
    pub stats: BuildStats,
    /// How it ended.
    pub outcome: LaunchOutcome,
}

/// Build `prepared` on `backend`, activate it, and run vCPU 0 until the realm stops, with the guest's UART
/// output going to `console`. The RIM extension log is read only when `explain`.
pub fn launch(
    backend: &dyn KvmBackend,
    prepared: &Prepared,
    console: &mut dyn Write,
    progress: &mut dyn Progress,
    explain: bool,
) -> Result<LaunchReport, OpsError> {
    let built = realm::build(backend, prepared, progress).map_err(|source| OpsError::Build {
        backend: backend.name(),
        source,
    })?;
    let measured = built.measurements();
    let extensions = if explain {
        built.measurement_log()
    } else {
        None
    };
    let outcome = if !backend.runs_guest_code() {
        // The simulated platform: the RECs exist and the realm is active, but its default CPU model executes no
        // guest code yet (a later issue); entering would only report an idle REC.
        LaunchOutcome::ActivatedNoCode
    } else {
        LaunchOutcome::Stopped(run_vcpu0(&built, prepared, console)?)
    };
    Ok(LaunchReport {
        backend: backend.name(),
        measured,
        extensions,
        stats: built.stats,
        outcome,
    })
}

/// The run loop of vCPU 0.
fn run_vcpu0(
    built: &Built<'_>,
    prepared: &Prepared,
    console: &mut dyn Write,
) -> Result<ExitStatus, OpsError> {
    let be = built.backend();
    let vcpu = built.vcpus[0];
    let run = be
        .run_area(vcpu)
        .map_err(|source| OpsError::Run { vcpu: 0, source })?;
    let mut uart = Uart::new(prepared.map.uart, console);
    loop {
        match be.ioctl(vcpu, k::KVM_RUN, IoctlArg::Val(0)) {
            Ok(_) | Err(crate::backend::Errno::EINTR) | Err(crate::backend::Errno::EFAULT) => {}
            Err(e) => {
                return Err(OpsError::Run {
                    vcpu: 0,
                    source: BackendError::ioctl("KVM_RUN", e),
                });
            }
        }
        let mut action = ExitAction::Continue;
        run.with(&mut |bytes| action = exits::handle(bytes, prepared.map.ipa_bits, &mut uart));
        match action {
            ExitAction::Continue => {}
            ExitAction::Stop(status) => return Ok(status),
            ExitAction::Unhandled(what) => return Err(OpsError::Unhandled { vcpu: 0, what }),
            ExitAction::ConvertMemory { gpa, size, private } => {
                let mut attrs = k::kvm_memory_attributes {
                    address: gpa,
                    size,
                    attributes: if private {
                        u64::from(k::KVM_MEMORY_ATTRIBUTE_PRIVATE)
                    } else {
                        0
                    },
                    flags: 0,
                };
                be.ioctl(
                    built.vm_fd,
                    k::KVM_SET_MEMORY_ATTRIBUTES,
                    IoctlArg::Buf(attrs.as_mut_bytes()),
                )
                .map_err(|e| OpsError::Run {
                    vcpu: 0,
                    source: BackendError::ioctl(
                        format!("KVM_SET_MEMORY_ATTRIBUTES {gpa:#x}+{size:#x}"),
                        e,
                    ),
                })?;
            }
            ExitAction::PsciComplete {
                function,
                target_mpidr,
                ..
            } => {
                // Secondary vCPUs are not started by this VMM yet: CPU_ON is refused (DENIED); AFFINITY_INFO
                // succeeds and the RMM answers ON/OFF from the target REC's state.
                let status = if matches!(function, exits::psci::CPU_ON_64 | exits::psci::CPU_ON_32)
                {
                    -3i32
                } else {
                    exits::psci::SUCCESS
                };
                psci_complete(be, built, target_mpidr, status)
                    .map_err(|source| OpsError::Run { vcpu: 0, source })?;
            }
        }
    }
}

fn psci_complete(
    be: &dyn KvmBackend,
    built: &Built<'_>,
    target_mpidr: u64,
    status: i32,
) -> Result<(), BackendError> {
    let (request, mut bytes) = match be.abi() {
        Abi::V12 => (
            v12::KVM_ARM_VCPU_RMI_PSCI_COMPLETE,
            v12::kvm_arm_rmi_psci_complete {
                target_mpidr,
                psci_status: status.cast_unsigned(),
                padding: [0; 3],
            }
            .as_bytes()
            .to_vec(),
        ),
        Abi::V10 => (
            v10::KVM_ARM_VCPU_RMM_PSCI_COMPLETE,
            v10::kvm_arm_rmm_psci_complete {
                target_mpidr,
                psci_status: status.cast_unsigned(),
                padding: [0; 3],
            }
            .as_bytes()
            .to_vec(),
        ),
    };
    be.ioctl(built.vcpus[0], request, IoctlArg::Buf(&mut bytes))
        .map_err(|e| {
            BackendError::ioctl(
                format!("PSCI_COMPLETE(target {target_mpidr:#x}, status {status})"),
                e,
            )
        })?;
    Ok(())
}
