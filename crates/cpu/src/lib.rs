//! `realm-cpu`: the realm CPU seam — between an RMM (Arm DEN0137 1.0-rel0) and whatever executes a REC's
//! instructions.
//!
//! `RMI_REC_ENTER` hands a REC's register context to a [`RealmCpu`], which runs it until the realm does
//! something the RMM must see — an SMC (RSI, PSCI or anything else), a stage-2 data abort, a trapped WFI/WFE,
//! an HVC, or a physical interrupt — and reports that as a [`RealmExit`], the way an exception to EL2 reports
//! it on hardware. Realm memory is reached only through [`RealmMemory`], which translates through the
//! realm's stage-2 tables: a protected IPA reaches its DATA granule when it is assigned RAM, an unprotected
//! IPA reaches Non-secure memory when it is mapped (assigned_ns); every other access is a [`Stage2Fault`]
//! that the CPU turns into a [`RealmExit::DataAbort`] (or, for an instruction fetch, a
//! [`RealmExit::InstructionAbort`]).
//!
//! The RMM does not hold its global lock while the CPU runs, so RECs of one realm run in parallel on host
//! threads; a memory access takes the lock only for its own duration. Exclusives and atomics commit with
//! [`RealmMemory::compare_exchange`]; a CPU caching decoded code or translations watches
//! [`RealmMemory::generation`]. Another thread stops a running CPU, or bounds its run, through the CPU's
//! [`RunControl`] ([`RealmCpu::run_control`]); the run then ends with [`RealmExit::Irq`].
//!
//! [`RecContext`] holds all the architectural state a REC owns (GPRs, SP_EL0/SP_EL1, PC, PSTATE, the EL1/EL0
//! system registers, the GICv3 virtual CPU interface, FP/SIMD), so REC state has one owner across entries.
//!
//! Models provided here: [`IdleCpu`] (the default: no code to run) and, with the `testing` feature,
//! `scripted::ScriptedCpu` (a list of steps for tests) and `testing::FlatMemory`/`SharedMemory` (RAM at one
//! base IPA, for tests of CPU models). Executing real AArch64 code is another crate's
//! implementation of the same trait (`realm-a64`). The platform chooses the model with a [`CpuModel`].
//!
//! This crate depends on nothing of realmkit's; the RMM re-exports it as `realm_rmm::cpu`.

#![forbid(unsafe_code)]

mod context;
pub mod esr;
mod exit;
pub mod gic;
mod memory;
mod page;
mod paged;
mod run_control;
#[cfg(feature = "testing")]
pub mod scripted;
#[cfg(feature = "testing")]
pub mod testing;

use std::fmt;
use std::sync::Arc;

pub use context::{
    FpState, GIC_NUM_LRS, GicCpuState, PSTATE_DAIF, PSTATE_INIT, PSTATE_MODE_EL0T,
    PSTATE_MODE_EL1H, PSTATE_MODE_EL1T, PSTATE_MODE_MASK, RealmSysregs, RecContext, SCTLR_EL1_EE,
    SCTLR_EL1_RESET,
};
pub use exit::{DataAbort, InstructionAbort, RealmExit, SysRegAccess, WalkAbort};
pub use memory::{RealmMemory, Stage2Fault};
pub use page::{RealmPage, exchange_bytes};
pub use paged::PagedMemory;
pub use run_control::RunControl;

/// Which REC a CPU model is asked to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecIdentity {
    /// PA of the RD.
    pub rd: u64,
    /// PA of the REC.
    pub rec: u64,
    /// The REC's index in its realm (order of creation).
    pub index: u64,
    /// The MPIDR the host gave the REC.
    pub mpidr: u64,
}

/// Something that executes a REC.
///
/// One instance runs one REC; the RMM creates it on the REC's first `RMI_REC_ENTER` and keeps it until the
/// REC is destroyed. `run` is called once per entry and again each time the RMM handled an exit itself (an
/// RSI call, PSCI_VERSION, an injected abort) and resumes the realm.
pub trait RealmCpu: Send + fmt::Debug {
    /// Run from `ctx` until the realm takes an exception to EL2; `ctx` is left as the exception leaves it.
    fn run(&mut self, ctx: &mut RecContext, mem: &mut dyn RealmMemory) -> RealmExit;

    /// The token another thread uses to interrupt [`RealmCpu::run`] (a kick ends the run with
    /// [`RealmExit::Irq`]) and to set its instruction budget; `None` when this model's runs always end on
    /// their own.
    fn run_control(&self) -> Option<RunControl> {
        None
    }

    /// The generic counter as this CPU's realm reads it now (`CNTVCT_EL0`; `CNTVOFF_EL2` is 0 for realms),
    /// for the RMM's timer checks; `None` when this model has no counter (its timers never fire).
    fn counter(&self) -> Option<u64> {
        None
    }
}

/// Makes the CPU of each REC.
pub trait RealmCpuFactory: Send + Sync + fmt::Debug {
    /// The CPU that will run `rec`.
    fn create(&self, rec: RecIdentity) -> Box<dyn RealmCpu>;

    /// Whether the CPUs this factory makes execute realm code (a host then enters RECs and handles their
    /// exits); false for a model with no code to run ([`IdleCpu`]).
    fn executes_code(&self) -> bool {
        true
    }
}

/// The platform's choice of realm CPU model (`realm_rmm::PlatformConfig::cpu`); cheap to clone.
#[derive(Clone)]
pub struct CpuModel {
    factory: Arc<dyn RealmCpuFactory>,
}

impl CpuModel {
    /// A model made by `factory`.
    pub fn new(factory: Arc<dyn RealmCpuFactory>) -> Self {
        Self { factory }
    }

    /// Whether this model executes realm code ([`RealmCpuFactory::executes_code`]).
    pub fn executes_code(&self) -> bool {
        self.factory.executes_code()
    }

    /// The default model: every REC is an [`IdleCpu`].
    pub fn idle() -> Self {
        Self::new(Arc::new(IdleCpuFactory))
    }

    /// The CPU for `rec`.
    pub fn create(&self, rec: RecIdentity) -> Box<dyn RealmCpu> {
        self.factory.create(rec)
    }
}

/// Two models are equal when they share one factory.
impl PartialEq for CpuModel {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.factory, &other.factory)
    }
}

impl Eq for CpuModel {}

impl Default for CpuModel {
    fn default() -> Self {
        Self::idle()
    }
}

impl fmt::Debug for CpuModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CpuModel").field(&self.factory).finish()
    }
}

/// A realm CPU with no code to run.
///
/// Every entry returns at once with [`RealmExit::Irq`], as if a host interrupt arrived before the first
/// instruction: the host sees `RMI_EXIT_IRQ` and may enter again; the REC's context is untouched. This is
/// the default model; a host that never enters a REC (KVM_RUN with `immediate_exit`) never notices it.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdleCpu;

impl RealmCpu for IdleCpu {
    fn run(&mut self, _ctx: &mut RecContext, _mem: &mut dyn RealmMemory) -> RealmExit {
        RealmExit::Irq
    }
}

/// Factory of [`IdleCpu`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdleCpuFactory;

impl RealmCpuFactory for IdleCpuFactory {
    fn create(&self, _rec: RecIdentity) -> Box<dyn RealmCpu> {
        Box::new(IdleCpu)
    }

    fn executes_code(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_abort_and_sysreg_syndromes() {
        let walk = WalkAbort {
            ipa: 0x8000_0000,
            va: 0xffff_0000_0000_1000,
            fetch: false,
            fault: Stage2Fault { level: 2 },
        };
        // EC 0x24, IL, S1PTW (bit 7), DFSC 0x06 (translation fault, level 2).
        assert_eq!(walk.esr(), 0x9200_0086, "data-side S1PTW syndrome");
        let fetch = WalkAbort {
            fetch: true,
            ..walk
        };
        assert_eq!(fetch.esr(), 0x8200_0086, "fetch-side S1PTW syndrome");
        // MRS X3, CNTVCT_EL0: op0 3, op1 3, CRn 14, CRm 0, op2 2.
        let mrs = SysRegAccess {
            op0: 3,
            op1: 3,
            crn: 14,
            crm: 0,
            op2: 2,
            rt: 3,
            read: true,
        };
        assert_eq!(mrs.iss(), 0x34_f861, "ISS of MRS X3, CNTVCT_EL0");
        assert_eq!(mrs.esr(), 0x6234_f861, "ESR of MRS X3, CNTVCT_EL0");
    }

    #[test]
    fn reset_context_is_el1h_with_everything_else_zero() {
        let ctx = RecContext::reset(0x8000_0000, &[7], 0x8000_0001);
        assert_eq!(ctx.el(), 1);
        assert_eq!(ctx.gprs[0], 7);
        assert_eq!((ctx.sp_el0, ctx.sp_el1), (0, 0));
        assert_eq!(ctx.sysregs.vmpidr_el2, 0x8000_0001);
        assert_eq!(ctx.sysregs.tcr_el1, 0);
        assert_eq!(ctx.gic, GicCpuState::default());
        assert_eq!(ctx.fp.v[31], 0);
    }

    #[test]
    fn data_abort_syndrome_carries_the_access() {
        let abort = DataAbort {
            ipa: 0x8000_1008,
            va: 0x8000_1008,
            len: 2,
            write: false,
            rt: 5,
            sign_extend: true,
            sixty_four: false,
            syndrome_valid: true,
            fault: Stage2Fault { level: 3 },
        };
        let esr = abort.esr();
        assert_eq!(esr::ec(esr), esr::EC_DATA_ABORT);
        assert_eq!(esr::srt(esr), 5);
        assert_eq!(esr::access_len(esr), 2);
        assert_ne!(esr & esr::ABORT_SSE_BIT, 0);
        assert_eq!(esr & esr::ABORT_SF_BIT, 0);
        assert_eq!(esr & esr::ABORT_FSC_MASK, 0x07);
        let store = DataAbort {
            write: true,
            syndrome_valid: false,
            ..abort
        };
        assert_eq!(store.esr() & esr::ABORT_ISV_BIT, 0);
        assert!(esr::is_write(store.esr()));
    }

    #[test]
    fn idle_cpu_exits_with_irq_and_touches_nothing() {
        assert!(
            !CpuModel::idle().executes_code(),
            "the idle model runs no code"
        );
        struct NoMemory;
        impl RealmMemory for NoMemory {
            fn read(&mut self, _: u64, _: &mut [u8]) -> Result<(), Stage2Fault> {
                Err(Stage2Fault { level: 0 })
            }
            fn write(&mut self, _: u64, _: &[u8]) -> Result<(), Stage2Fault> {
                Err(Stage2Fault { level: 0 })
            }
            fn fetch(&mut self, _: u64, _: &mut [u8]) -> Result<(), Stage2Fault> {
                Err(Stage2Fault { level: 0 })
            }
        }
        let mut ctx = RecContext::reset(0x8000_0000, &[1, 2], 0);
        let before = ctx.clone();
        let mut cpu = CpuModel::default().create(RecIdentity {
            rd: 0,
            rec: 0,
            index: 0,
            mpidr: 0,
        });
        assert_eq!(cpu.run(&mut ctx, &mut NoMemory), RealmExit::Irq);
        assert_eq!(ctx, before);
    }
}
