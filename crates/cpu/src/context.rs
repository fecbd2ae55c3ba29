//! The architectural state of a REC: general-purpose registers, PC, PSTATE, and the EL1/EL0 system
//! registers, GIC virtual CPU interface and FP/SIMD state a realm guest owns.
//!
//! Register names follow Arm ARM DDI 0487 (chapter D24, "AArch64 System Register Descriptions"); the GICv3
//! virtual CPU interface registers follow the GICv3 architecture specification (IHI 0069, chapter 12,
//! `ICH_*_EL2`), which is the state `RMI_REC_ENTER`/`REC_EXIT` carries (DEN0137 1.0-rel0 B4.4.2).

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

/// The EL1 and EL0 system registers of a REC (Arm ARM D24.2).
///
/// The RMM itself reads or writes `sctlr_el1`, `vbar_el1`, `elr_el1`, `spsr_el1`, `esr_el1`, `far_el1` and
/// `vmpidr_el2`; the rest belongs to the CPU model and is kept here so REC state has one owner across
/// entries. Registers the model computes (ID registers, counters) are not state and are not held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealmSysregs {
    /// `SCTLR_EL1` (its EE bit is copied to a CPU_ON target).
    pub sctlr_el1: u64,
    /// `VBAR_EL1`: where exceptions to EL1 are taken.
    pub vbar_el1: u64,
    /// `ELR_EL1`.
    pub elr_el1: u64,
    /// `SPSR_EL1`.
    pub spsr_el1: u64,
    /// `ESR_EL1`.
    pub esr_el1: u64,
    /// `FAR_EL1`.
    pub far_el1: u64,
    /// `VMPIDR_EL2`: the MPIDR the realm reads.
    pub vmpidr_el2: u64,
    /// `TCR_EL1`.
    pub tcr_el1: u64,
    /// `TTBR0_EL1`.
    pub ttbr0_el1: u64,
    /// `TTBR1_EL1`.
    pub ttbr1_el1: u64,
    /// `MAIR_EL1`.
    pub mair_el1: u64,
    /// `AMAIR_EL1`.
    pub amair_el1: u64,
    /// `PAR_EL1` (written by AT).
    pub par_el1: u64,
    /// `CONTEXTIDR_EL1`.
    pub contextidr_el1: u64,
    /// `TPIDR_EL0`.
    pub tpidr_el0: u64,
    /// `TPIDR_EL1`.
    pub tpidr_el1: u64,
    /// `TPIDRRO_EL0`.
    pub tpidrro_el0: u64,
    /// `CPACR_EL1`.
    pub cpacr_el1: u64,
    /// `CNTKCTL_EL1`.
    pub cntkctl_el1: u64,
    /// `MDSCR_EL1`.
    pub mdscr_el1: u64,
    /// `AFSR0_EL1`.
    pub afsr0_el1: u64,
    /// `AFSR1_EL1`.
    pub afsr1_el1: u64,
    /// `CSSELR_EL1`.
    pub csselr_el1: u64,
    /// `CNTV_CTL_EL0` (EL1 virtual timer control).
    pub cntv_ctl_el0: u64,
    /// `CNTV_CVAL_EL0` (EL1 virtual timer compare value).
    pub cntv_cval_el0: u64,
    /// `CNTP_CTL_EL0` (EL1 physical timer control).
    pub cntp_ctl_el0: u64,
    /// `CNTP_CVAL_EL0` (EL1 physical timer compare value).
    pub cntp_cval_el0: u64,
    /// `CNTHCTL_EL2` as the RMM sets it for this REC; only `CNTVMASK`/`CNTPMASK` (FEAT_RME, bits 18 and 19,
    /// [`crate::gic::CNTHCTL_EL2_CNTVMASK`]) are modelled: they mask the timers' interrupts to EL2.
    pub cnthctl_el2: u64,
}

/// Number of GICv3 list registers a REC has (`ICH_LR<n>_EL2`, n = 0..15; DEN0137 `REC_GIC_NUM_LRS`).
pub const GIC_NUM_LRS: usize = 16;

/// The GICv3 virtual CPU interface state of a REC (IHI 0069 12.4, `ICH_*_EL2`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GicCpuState {
    /// `ICH_LR<n>_EL2`.
    pub lrs: [u64; GIC_NUM_LRS],
    /// `ICH_VMCR_EL2`.
    pub vmcr: u64,
    /// `ICH_AP0R<n>_EL2`.
    pub ap0r: [u64; 4],
    /// `ICH_AP1R<n>_EL2`.
    pub ap1r: [u64; 4],
    /// `ICH_HCR_EL2`.
    pub hcr: u64,
    /// `ICH_MISR_EL2` (read-only, computed on exit).
    pub misr: u64,
}

/// FP/SIMD state (Arm ARM A1.4, `V0`..`V31`, `FPCR`, `FPSR`); kept for CPU models that implement it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FpState {
    /// `V0`..`V31`, 128 bits each.
    pub v: [u128; 32],
    /// `FPCR`.
    pub fpcr: u64,
    /// `FPSR`.
    pub fpsr: u64,
}

/// The architectural context of a REC as a CPU model runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecContext {
    /// X0..X30.
    pub gprs: [u64; 31],
    /// `SP_EL0`.
    pub sp_el0: u64,
    /// `SP_EL1`.
    pub sp_el1: u64,
    /// The PC. On a synchronous exit it is the address of the instruction that caused it.
    pub pc: u64,
    /// PSTATE as `SPSR_EL2` holds it.
    pub pstate: u64,
    /// EL1/EL0 system registers.
    pub sysregs: RealmSysregs,
    /// GICv3 virtual CPU interface.
    pub gic: GicCpuState,
    /// FP/SIMD registers.
    pub fp: FpState,
    /// `HCR_EL2.TWI`: WFI traps (set on entry from `REC_ENTRY_FLAG_TRAP_WFI`).
    pub trap_wfi: bool,
    /// `HCR_EL2.TWE`: WFE traps (set on entry from `REC_ENTRY_FLAG_TRAP_WFE`).
    pub trap_wfe: bool,
    /// How many exceptions the RMM has injected into the realm (SEA, undefined instruction). Not
    /// architectural: it lets a CPU model notice an injection whose vector happens to equal the PC of the
    /// instruction that took it.
    pub injected: u64,
    /// `CNTV_CTL_EL0` and `CNTP_CTL_EL0` (ISTATUS included) as the RMM saved them at the REC's last exit to
    /// the host, which `check_pending_timers` compares the live timer outputs with (TF-RMM keeps them in the
    /// REC's saved sysregs). Not architectural; CPU models leave it alone.
    pub saved_timer_ctl: [u64; 2],
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
            sp_el0: 0,
            sp_el1: 0,
            pc,
            pstate: PSTATE_INIT,
            sysregs: RealmSysregs {
                sctlr_el1: SCTLR_EL1_RESET,
                vmpidr_el2,
                ..RealmSysregs::default()
            },
            gic: GicCpuState::default(),
            fp: FpState::default(),
            trap_wfi: false,
            trap_wfe: false,
            injected: 0,
            saved_timer_ctl: [0; 2],
        }
    }

    /// The exception level PSTATE names (`PSTATE.EL`, bits \[3:2\]).
    pub fn el(&self) -> u8 {
        u8::try_from((self.pstate >> 2) & 0b11).unwrap_or(0)
    }
}
