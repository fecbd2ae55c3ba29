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
//! threads; a memory access takes the lock only for its own duration.
//!
//! Models provided here: [`IdleCpu`] (the default: no code to run) and, with the `testing` feature,
//! `scripted::ScriptedCpu` (a list of steps for tests). Executing real AArch64 code is another crate's
//! implementation of the same trait (`realm-a64`). The platform chooses the model with a [`CpuModel`].
//!
//! This crate depends on nothing of realmkit's; the RMM re-exports it as `realm_rmm::cpu`.

#![forbid(unsafe_code)]

pub mod esr;
#[cfg(feature = "testing")]
pub mod scripted;

use std::fmt;
use std::sync::Arc;

/// `PSTATE.M` for EL1 using `SP_EL1` (EL1h).
pub const PSTATE_MODE_EL1H: u64 = 0b0101;
/// `PSTATE.M` for EL1 using `SP_EL0` (EL1t).
pub const PSTATE_MODE_EL1T: u64 = 0b0100;
/// `PSTATE.M` for EL0.
pub const PSTATE_MODE_EL0T: u64 = 0b0000;
/// `PSTATE.M` mask (AArch64 mode field, bits \[3:0\]).
pub const PSTATE_MODE_MASK: u64 = 0b1111;
/// `PSTATE.{D,A,I,F}` all set: every exception masked.
pub const PSTATE_DAIF: u64 = 0b1111 << 6;
/// The PSTATE a REC starts with (REC_CREATE, PSCI CPU_ON) and exceptions are taken with: EL1h, AArch64,
/// DAIF masked (TF-RMM `runtime/rmi/rec.c`, `runtime/rsi/psci.c` `psci_reset_rec`).
pub const PSTATE_INIT: u64 = PSTATE_MODE_EL1H | PSTATE_DAIF;

/// `SCTLR_EL1.EE`: data accesses at EL1 are big-endian.
pub const SCTLR_EL1_EE: u64 = 1 << 25;
/// `SCTLR_EL1` of a REC at reset in this model: MMU and caches off, the ARMv8.0 RES1 bits (29, 28, 23, 22, 20,
/// 11) set. (TF-RMM's `SCTLR_EL1_FLAGS` also sets feature-dependent bits; only EE matters to the RMM.)
pub const SCTLR_EL1_RESET: u64 =
    (1 << 29) | (1 << 28) | (1 << 23) | (1 << 22) | (1 << 20) | (1 << 11);

/// The EL1 system registers of a REC the RMM itself reads or writes.
///
/// Other EL1 state (translation registers, timers, GIC) belongs to the CPU model and is not modelled here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealmSysregs {
    /// `SCTLR_EL1` (its EE bit is copied to a CPU_ON target).
    pub sctlr_el1: u64,
    /// `VBAR_EL1`: where injected exceptions are taken.
    pub vbar_el1: u64,
    /// `ELR_EL1` written when an exception is injected.
    pub elr_el1: u64,
    /// `SPSR_EL1` written when an exception is injected.
    pub spsr_el1: u64,
    /// `ESR_EL1` written when an exception is injected.
    pub esr_el1: u64,
    /// `FAR_EL1` written when an abort is injected.
    pub far_el1: u64,
    /// `VMPIDR_EL2`: the MPIDR the realm reads.
    pub vmpidr_el2: u64,
}

/// The architectural context of a REC as a CPU model runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecContext {
    /// X0..X30.
    pub gprs: [u64; 31],
    /// The PC. On a synchronous exit it is the address of the instruction that caused it.
    pub pc: u64,
    /// PSTATE as `SPSR_EL2` holds it.
    pub pstate: u64,
    /// EL1 registers the RMM touches.
    pub sysregs: RealmSysregs,
    /// `HCR_EL2.TWI`: WFI traps (set on entry from `REC_ENTRY_FLAG_TRAP_WFI`).
    pub trap_wfi: bool,
    /// `HCR_EL2.TWE`: WFE traps (set on entry from `REC_ENTRY_FLAG_TRAP_WFE`).
    pub trap_wfe: bool,
    /// How many exceptions the RMM has injected into the realm (SEA, undefined instruction). Not
    /// architectural: it lets a CPU model notice an injection whose vector happens to equal the PC of the
    /// instruction that took it.
    pub injected: u64,
}

impl RecContext {
    /// A context at reset: `gprs` in X0.., other registers zero, PC `pc`, PSTATE [`PSTATE_INIT`],
    /// `SCTLR_EL1` [`SCTLR_EL1_RESET`].
    pub fn reset(pc: u64, gprs: &[u64], vmpidr_el2: u64) -> Self {
        let mut regs = [0; 31];
        for (slot, value) in regs.iter_mut().zip(gprs) {
            *slot = *value;
        }
        Self {
            gprs: regs,
            pc,
            pstate: PSTATE_INIT,
            sysregs: RealmSysregs {
                sctlr_el1: SCTLR_EL1_RESET,
                vmpidr_el2,
                ..RealmSysregs::default()
            },
            trap_wfi: false,
            trap_wfe: false,
            injected: 0,
        }
    }
}

/// A stage-2 fault on a realm access: the walk found no valid mapping at `level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage2Fault {
    /// The RTT level at which the walk stopped (-1..=3).
    pub level: i8,
}

/// Realm memory as the CPU sees it through stage 2.
///
/// An access must not cross a 4 KiB granule; a CPU model splits accesses that would.
pub trait RealmMemory {
    /// Load `buf.len()` bytes from `ipa`.
    fn read(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault>;
    /// Store `data` at `ipa`.
    fn write(&mut self, ipa: u64, data: &[u8]) -> Result<(), Stage2Fault>;
    /// Fetch instructions at `ipa`: like [`RealmMemory::read`], but unprotected memory is never executable
    /// (the RMM maps it execute-never), so a fetch there always faults.
    fn fetch(&mut self, ipa: u64, buf: &mut [u8]) -> Result<(), Stage2Fault>;
}

/// A data abort taken to EL2 on a stage-2 fault, as the CPU describes it.
///
/// The RMM builds `ESR_EL2`, `FAR_EL2` and `HPFAR_EL2` from it ([`DataAbort::esr`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataAbort {
    /// The faulting IPA.
    pub ipa: u64,
    /// The faulting virtual address (`FAR_EL2`); equals `ipa` when stage 1 is off.
    pub va: u64,
    /// Access size in bytes: 1, 2, 4 or 8.
    pub len: u32,
    /// A store.
    pub write: bool,
    /// The transfer register, 31 for XZR.
    pub rt: u8,
    /// A sign-extending load.
    pub sign_extend: bool,
    /// The transfer register is `Xn` (64 bits), not `Wn`.
    pub sixty_four: bool,
    /// The syndrome describes the access (`ISV`): false for accesses such as LDP/STP that the host cannot
    /// emulate.
    pub syndrome_valid: bool,
    /// Where the stage-2 walk stopped.
    pub fault: Stage2Fault,
}

impl DataAbort {
    /// `ESR_EL2` of this abort (EC data abort from a lower EL, IL set, full ISS).
    pub fn esr(&self) -> u64 {
        let mut esr =
            esr::EC_DATA_ABORT | esr::IL_BIT | esr::translation_fault_fsc(self.fault.level);
        if self.syndrome_valid
            && let Some(sas) = esr::sas_of_len(self.len)
        {
            esr |= esr::ABORT_ISV_BIT | (sas << esr::ABORT_SAS_SHIFT);
            esr |= (u64::from(self.rt) & 0x1F) << esr::ABORT_SRT_SHIFT;
            if self.sign_extend {
                esr |= esr::ABORT_SSE_BIT;
            }
            if self.sixty_four {
                esr |= esr::ABORT_SF_BIT;
            }
        }
        if self.write {
            esr |= esr::ABORT_WNR_BIT;
        }
        esr
    }
}

/// An instruction abort taken to EL2 on a stage-2 fault (the fetch at `ipa` had no valid mapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstructionAbort {
    /// The faulting IPA.
    pub ipa: u64,
    /// The faulting virtual address (`FAR_EL2`).
    pub va: u64,
    /// Where the stage-2 walk stopped.
    pub fault: Stage2Fault,
}

impl InstructionAbort {
    /// `ESR_EL2` of this abort (EC instruction abort from a lower EL, IL set, IFSC translation fault).
    pub fn esr(&self) -> u64 {
        esr::EC_INST_ABORT | esr::IL_BIT | esr::translation_fault_fsc(self.fault.level)
    }
}

/// Why the realm CPU stopped: the exception it took to EL2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RealmExit {
    /// `SMC #0` at `pc`; the function id is in X0.
    Smc,
    /// `HVC` at `pc` (the RMM injects an undefined instruction exception).
    Hvc,
    /// A data abort on a stage-2 fault.
    DataAbort(DataAbort),
    /// An instruction fetch abort on a stage-2 fault.
    InstructionAbort(InstructionAbort),
    /// A trapped WFI (`wfe == false`) or WFE at `pc`.
    Wfx {
        /// WFE rather than WFI.
        wfe: bool,
    },
    /// A physical IRQ: the host has something to do (timer, signal, another vCPU's request).
    Irq,
    /// A physical FIQ.
    Fiq,
}

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
}

/// Makes the CPU of each REC.
pub trait RealmCpuFactory: Send + Sync + fmt::Debug {
    /// The CPU that will run `rec`.
    fn create(&self, rec: RecIdentity) -> Box<dyn RealmCpu>;
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
