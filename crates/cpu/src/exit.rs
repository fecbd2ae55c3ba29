//! Exceptions a realm CPU takes to EL2, as the CPU describes them to the RMM.
//!
//! Syndromes: Arm ARM DDI 0487 D24.2.40 (`ESR_EL2`): ISS encoding for an exception from a data abort
//! (EC 0x24), an instruction abort (EC 0x20), and an MSR, MRS or System instruction (EC 0x18).

use crate::esr;
use crate::memory::Stage2Fault;

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

/// A stage-2 fault on a stage-1 translation-table walk (`ESR_EL2.ISS.S1PTW` = 1): the descriptor at `ipa`
/// had no valid stage-2 mapping while translating `va`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkAbort {
    /// IPA of the stage-1 descriptor being read.
    pub ipa: u64,
    /// The virtual address being translated (`FAR_EL2`).
    pub va: u64,
    /// The walk translated an instruction fetch (reported as an instruction abort, EC 0x20), else a data
    /// access (EC 0x24).
    pub fetch: bool,
    /// Where the stage-2 walk stopped.
    pub fault: Stage2Fault,
}

impl WalkAbort {
    /// `ESR_EL2` of this abort: EC instruction or data abort from a lower EL, IL, S1PTW, ISV = 0, WnR = 0
    /// (a walk only reads), FSC translation fault at the stage-2 level.
    pub fn esr(&self) -> u64 {
        let ec = if self.fetch {
            esr::EC_INST_ABORT
        } else {
            esr::EC_DATA_ABORT
        };
        ec | esr::IL_BIT | esr::ABORT_S1PTW_BIT | esr::translation_fault_fsc(self.fault.level)
    }
}

/// A trapped `MSR`, `MRS` or System instruction (EC 0x18), with the fields of its ISS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SysRegAccess {
    /// `op0` (2 bits).
    pub op0: u8,
    /// `op1` (3 bits).
    pub op1: u8,
    /// `CRn` (4 bits).
    pub crn: u8,
    /// `CRm` (4 bits).
    pub crm: u8,
    /// `op2` (3 bits).
    pub op2: u8,
    /// The transfer register, 31 for XZR.
    pub rt: u8,
    /// `MRS` (a read; ISS.Direction = 1), else `MSR`.
    pub read: bool,
}

impl SysRegAccess {
    /// The ISS: Op0 \[21:20\], Op2 \[19:17\], Op1 \[16:14\], CRn \[13:10\], Rt \[9:5\], CRm \[4:1\],
    /// Direction \[0\].
    pub fn iss(&self) -> u64 {
        (u64::from(self.op0 & 0b11) << 20)
            | (u64::from(self.op2 & 0b111) << 17)
            | (u64::from(self.op1 & 0b111) << 14)
            | (u64::from(self.crn & 0xF) << 10)
            | (u64::from(self.rt & 0x1F) << 5)
            | (u64::from(self.crm & 0xF) << 1)
            | u64::from(self.read)
    }

    /// `ESR_EL2` of this trap (EC 0x18, IL set).
    pub fn esr(&self) -> u64 {
        esr::EC_SYSREG | esr::IL_BIT | self.iss()
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
    /// A stage-2 fault on a stage-1 table walk (S1PTW).
    WalkAbort(WalkAbort),
    /// A trapped WFI (`wfe == false`) or WFE at `pc`.
    Wfx {
        /// WFE rather than WFI.
        wfe: bool,
    },
    /// A trapped system register access or System instruction at `pc` (EC 0x18).
    SysReg(SysRegAccess),
    /// A physical IRQ: the host has something to do (timer, signal, another vCPU's request, a kick or an
    /// exhausted instruction budget).
    Irq,
    /// A physical FIQ.
    Fiq,
    /// An SError interrupt taken to EL2.
    SError,
}
