//! The realm CPU seam, from `realm-cpu`: the REC context, exits, realm memory and the CPU-model traits (and,
//! with the `testing` feature, the scripted CPU). Re-exported so `realm_rmm::cpu::X` names the seam for the
//! RMM's users; what the RMM does around a running REC lives in the crate's `rec` module.

pub use realm_cpu::esr;
pub use realm_cpu::gic;
#[cfg(feature = "testing")]
pub use realm_cpu::scripted;
pub use realm_cpu::{
    CpuModel, DataAbort, FpState, GIC_NUM_LRS, GicCpuState, IdleCpu, IdleCpuFactory,
    InstructionAbort, PSTATE_DAIF, PSTATE_INIT, PSTATE_MODE_EL0T, PSTATE_MODE_EL1H,
    PSTATE_MODE_EL1T, PSTATE_MODE_MASK, RealmCpu, RealmCpuFactory, RealmExit, RealmMemory,
    RealmPage, RealmSysregs, RecContext, RecIdentity, RunControl, SCTLR_EL1_EE, SCTLR_EL1_RESET,
    Stage2Fault, SysRegAccess, WalkAbort, exchange_bytes,
};
