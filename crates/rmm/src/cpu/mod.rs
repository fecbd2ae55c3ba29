//! The realm CPU: the seam between the RMM and whatever executes a REC's instructions.
//!
//! The seam itself (REC context, exits, realm memory, CPU-model traits, the idle and scripted CPUs) lives in
//! the `realm-cpu` crate and is re-exported here, so `realm_rmm::cpu::X` names what it always named. This
//! module keeps what the RMM does with a REC around the CPU: entering it (`entry`), handling its exits
//! (`exit`), injecting exceptions (`inject`) and its run state (`rec_state`).

pub(crate) mod entry;
pub(crate) mod exit;
mod inject;
pub(crate) mod rec_state;

pub(crate) use inject::{inject_sync_external_abort, inject_undefined};

pub use realm_cpu::esr;
#[cfg(feature = "testing")]
pub use realm_cpu::scripted;
pub use realm_cpu::{
    CpuModel, DataAbort, FpState, GIC_NUM_LRS, GicCpuState, IdleCpu, IdleCpuFactory,
    InstructionAbort, PSTATE_DAIF, PSTATE_INIT, PSTATE_MODE_EL0T, PSTATE_MODE_EL1H,
    PSTATE_MODE_EL1T, PSTATE_MODE_MASK, RealmCpu, RealmCpuFactory, RealmExit, RealmMemory,
    RealmSysregs, RecContext, RecIdentity, RunControl, SCTLR_EL1_EE, SCTLR_EL1_RESET, Stage2Fault,
    SysRegAccess, WalkAbort,
};
