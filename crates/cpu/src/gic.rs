//! The GICv3 virtual CPU interface registers a REC's context holds (`ICH_*_EL2`, GICv3 architecture
//! specification IHI 0069H.b 12.5), with the few rules an RMM and a CPU model must apply alike: the write
//! clamping of `ICH_VMCR_EL2` by the CPU interface's priority and preemption bits, and `ICH_MISR_EL2` as a
//! function of the list registers, `ICH_HCR_EL2` and `ICH_VMCR_EL2`.
//!
//! Also the EL1 timers' interrupt outputs (Arm ARM DDI 0487 D11.2.4, "Timer interrupts") and the
//! `CNTHCTL_EL2` masks an RMM applies to them (FEAT_RME: `CNTVMASK`, `CNTPMASK`).

use crate::context::{GIC_NUM_LRS, GicCpuState, RealmSysregs};

/// `ICH_LR<n>_EL2.State` shift (bits \[63:62\]: 0b01 pending, 0b10 active, 0b11 both).
pub const ICH_LR_STATE_SHIFT: u32 = 62;
/// `ICH_LR<n>_EL2.State` pending bit.
pub const ICH_LR_PENDING: u64 = 1 << 62;
/// `ICH_LR<n>_EL2.State` active bit.
pub const ICH_LR_ACTIVE: u64 = 1 << 63;
/// `ICH_LR<n>_EL2.HW`.
pub const ICH_LR_HW: u64 = 1 << 61;
/// `ICH_LR<n>_EL2.Group`: Group 1.
pub const ICH_LR_GROUP: u64 = 1 << 60;
/// `ICH_LR<n>_EL2.Priority` shift (bits \[55:48\]).
pub const ICH_LR_PRIORITY_SHIFT: u32 = 48;
/// `ICH_LR<n>_EL2` bit 41 with HW = 0: EOI — a maintenance interrupt when the guest deactivates it.
pub const ICH_LR_EOI: u64 = 1 << 41;
/// `ICH_LR<n>_EL2.vINTID` (bits \[31:0\]).
pub const ICH_LR_VINTID_MASK: u64 = 0xFFFF_FFFF;

/// `ICH_HCR_EL2.En`.
pub const ICH_HCR_EN: u64 = 1 << 0;
/// `ICH_HCR_EL2.UIE`: maintenance interrupt when at most one LR is valid.
pub const ICH_HCR_UIE: u64 = 1 << 1;
/// `ICH_HCR_EL2.LRENPIE`: maintenance interrupt while EOIcount is not 0.
pub const ICH_HCR_LRENPIE: u64 = 1 << 2;
/// `ICH_HCR_EL2.NPIE`: maintenance interrupt while no LR is pending.
pub const ICH_HCR_NPIE: u64 = 1 << 3;
/// `ICH_HCR_EL2.VGrp0EIE`.
pub const ICH_HCR_VGRP0EIE: u64 = 1 << 4;
/// `ICH_HCR_EL2.VGrp0DIE`.
pub const ICH_HCR_VGRP0DIE: u64 = 1 << 5;
/// `ICH_HCR_EL2.VGrp1EIE`.
pub const ICH_HCR_VGRP1EIE: u64 = 1 << 6;
/// `ICH_HCR_EL2.VGrp1DIE`.
pub const ICH_HCR_VGRP1DIE: u64 = 1 << 7;
/// `ICH_HCR_EL2.vSGIEOICount`: deactivating a virtual SGI with no LR does not count in EOIcount.
pub const ICH_HCR_VSGIEOICOUNT: u64 = 1 << 8;
/// `ICH_HCR_EL2.TDIR`: EL1 writes of `ICC_DIR_EL1` trap to EL2.
pub const ICH_HCR_TDIR: u64 = 1 << 14;
/// `ICH_HCR_EL2.DVIM`.
pub const ICH_HCR_DVIM: u64 = 1 << 15;
/// `ICH_HCR_EL2.EOIcount` shift (bits \[31:27\]).
pub const ICH_HCR_EOICOUNT_SHIFT: u32 = 27;
/// `ICH_HCR_EL2.EOIcount` mask.
pub const ICH_HCR_EOICOUNT_MASK: u64 = 0x1F << ICH_HCR_EOICOUNT_SHIFT;

/// `ICH_VMCR_EL2.VENG0`.
pub const ICH_VMCR_VENG0: u64 = 1 << 0;
/// `ICH_VMCR_EL2.VENG1`.
pub const ICH_VMCR_VENG1: u64 = 1 << 1;
/// `ICH_VMCR_EL2.VFIQEn` (RES1 without legacy operation).
pub const ICH_VMCR_VFIQEN: u64 = 1 << 3;
/// `ICH_VMCR_EL2.VCBPR`.
pub const ICH_VMCR_VCBPR: u64 = 1 << 4;
/// `ICH_VMCR_EL2.VEOIM`.
pub const ICH_VMCR_VEOIM: u64 = 1 << 9;
/// `ICH_VMCR_EL2.VBPR1` shift (bits \[20:18\]).
pub const ICH_VMCR_VBPR1_SHIFT: u32 = 18;
/// `ICH_VMCR_EL2.VBPR0` shift (bits \[23:21\]).
pub const ICH_VMCR_VBPR0_SHIFT: u32 = 21;
/// `ICH_VMCR_EL2.VPMR` shift (bits \[31:24\]).
pub const ICH_VMCR_VPMR_SHIFT: u32 = 24;

/// `ICH_MISR_EL2.EOI`.
pub const ICH_MISR_EOI: u64 = 1 << 0;
/// `ICH_MISR_EL2.U`.
pub const ICH_MISR_U: u64 = 1 << 1;
/// `ICH_MISR_EL2.LRENP`.
pub const ICH_MISR_LRENP: u64 = 1 << 2;
/// `ICH_MISR_EL2.NP`.
pub const ICH_MISR_NP: u64 = 1 << 3;
/// `ICH_MISR_EL2.VGrp0E`.
pub const ICH_MISR_VGRP0E: u64 = 1 << 4;
/// `ICH_MISR_EL2.VGrp0D`.
pub const ICH_MISR_VGRP0D: u64 = 1 << 5;
/// `ICH_MISR_EL2.VGrp1E`.
pub const ICH_MISR_VGRP1E: u64 = 1 << 6;
/// `ICH_MISR_EL2.VGrp1D`.
pub const ICH_MISR_VGRP1D: u64 = 1 << 7;

/// The platform's GICv3 CPU interface parameters that shape the virtual interface (`ICH_VTR_EL2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GicParams {
    /// List registers (`ListRegs` + 1), 1..=16.
    pub list_registers: u8,
    /// Virtual priority bits (`PRIbits` + 1), 5..=8.
    pub priority_bits: u8,
    /// Virtual preemption bits (`PREbits` + 1), 5..=7.
    pub preemption_bits: u8,
}

impl Default for GicParams {
    /// 16 list registers, 5 priority and 5 preemption bits (the minimum GICv3 allows).
    fn default() -> Self {
        Self {
            list_registers: 16,
            priority_bits: 5,
            preemption_bits: 5,
        }
    }
}

impl GicParams {
    /// The list registers that exist, as a count clamped to 1..=16.
    pub fn lrs(&self) -> usize {
        usize::from(self.list_registers).clamp(1, GIC_NUM_LRS)
    }

    /// Priority bits clamped to 5..=8.
    pub fn pri_bits(&self) -> u32 {
        u32::from(self.priority_bits).clamp(5, 8)
    }

    /// Preemption bits clamped to 5..=7 (and to the priority bits).
    pub fn pre_bits(&self) -> u32 {
        u32::from(self.preemption_bits)
            .clamp(5, 7)
            .min(self.pri_bits())
    }

    /// The implemented bits of an 8-bit priority (the top `PRIbits`).
    pub fn priority_mask(&self) -> u64 {
        (0xFF << (8 - self.pri_bits())) & 0xFF
    }

    /// The smallest `VBPR0` (`7 − PREbits`); `VBPR1`'s is one more.
    pub fn min_bpr0(&self) -> u64 {
        u64::from(7 - self.pre_bits())
    }

    /// `ICH_AP0R<n>`/`ICH_AP1R<n>` registers implemented: 1, 2 or 4 for 5, 6 or 7 preemption bits.
    pub fn apr_count(&self) -> usize {
        1 << (self.pre_bits() - 5)
    }

    /// What `ICH_VMCR_EL2` holds after a write of `value` (IHI 0069 12.5.26): VFIQEn is RES1, VAckCtl and the
    /// reserved bits RES0, VBPR0/VBPR1 are raised to their minimum, VPMR keeps its implemented bits. A write
    /// of 0 on a CPU with 5 preemption bits reads back `0x4c0008`.
    pub fn vmcr_write(&self, value: u64) -> u64 {
        let field = |shift: u32, mask: u64| (value >> shift) & mask;
        let bpr0 = field(ICH_VMCR_VBPR0_SHIFT, 7).max(self.min_bpr0());
        let bpr1 = field(ICH_VMCR_VBPR1_SHIFT, 7).max(self.min_bpr0() + 1);
        let pmr = field(ICH_VMCR_VPMR_SHIFT, 0xFF) & self.priority_mask();
        (value & (ICH_VMCR_VENG0 | ICH_VMCR_VENG1 | ICH_VMCR_VCBPR | ICH_VMCR_VEOIM))
            | ICH_VMCR_VFIQEN
            | (bpr1 << ICH_VMCR_VBPR1_SHIFT)
            | (bpr0 << ICH_VMCR_VBPR0_SHIFT)
            | (pmr << ICH_VMCR_VPMR_SHIFT)
    }
}

impl GicCpuState {
    /// `ICH_MISR_EL2` of this state over the first `lrs` list registers (IHI 0069 12.5.12): EOI when an
    /// invalid software LR asks for EOI maintenance, U when UIE and at most one LR is valid, LRENP when
    /// LRENPIE and EOIcount ≠ 0, NP when NPIE and no LR is pending (only), and the group enable/disable
    /// conditions from `ICH_VMCR_EL2`.
    pub fn misr_of(&self, lrs: usize) -> u64 {
        let lrs = &self.lrs[..lrs.min(GIC_NUM_LRS)];
        let state = |lr: u64| lr >> ICH_LR_STATE_SHIFT;
        let eoi = lrs
            .iter()
            .any(|&lr| state(lr) == 0 && lr & ICH_LR_HW == 0 && lr & ICH_LR_EOI != 0);
        let valid = lrs.iter().filter(|&&lr| state(lr) != 0).count();
        let pending = lrs.iter().any(|&lr| state(lr) == 0b01);
        let (hcr, vmcr) = (self.hcr, self.vmcr);
        let bit = |cond: bool, b: u64| if cond { b } else { 0 };
        bit(eoi, ICH_MISR_EOI)
            | bit(hcr & ICH_HCR_UIE != 0 && valid <= 1, ICH_MISR_U)
            | bit(
                hcr & ICH_HCR_LRENPIE != 0 && hcr & ICH_HCR_EOICOUNT_MASK != 0,
                ICH_MISR_LRENP,
            )
            | bit(hcr & ICH_HCR_NPIE != 0 && !pending, ICH_MISR_NP)
            | bit(
                hcr & ICH_HCR_VGRP0EIE != 0 && vmcr & ICH_VMCR_VENG0 != 0,
                ICH_MISR_VGRP0E,
            )
            | bit(
                hcr & ICH_HCR_VGRP0DIE != 0 && vmcr & ICH_VMCR_VENG0 == 0,
                ICH_MISR_VGRP0D,
            )
            | bit(
                hcr & ICH_HCR_VGRP1EIE != 0 && vmcr & ICH_VMCR_VENG1 != 0,
                ICH_MISR_VGRP1E,
            )
            | bit(
                hcr & ICH_HCR_VGRP1DIE != 0 && vmcr & ICH_VMCR_VENG1 == 0,
                ICH_MISR_VGRP1D,
            )
    }

    /// The maintenance interrupt (a physical PPI to EL2): `ICH_HCR_EL2.En` and `ICH_MISR_EL2` ≠ 0.
    pub fn maintenance_asserted(&self, lrs: usize) -> bool {
        self.hcr & ICH_HCR_EN != 0 && self.misr_of(lrs) != 0
    }
}

/// `CNTx_CTL_EL0.ENABLE`.
pub const CNT_CTL_ENABLE: u64 = 1 << 0;
/// `CNTx_CTL_EL0.IMASK`.
pub const CNT_CTL_IMASK: u64 = 1 << 1;
/// `CNTx_CTL_EL0.ISTATUS` (read-only: the timer condition is met).
pub const CNT_CTL_ISTATUS: u64 = 1 << 2;
/// `CNTHCTL_EL2.CNTVMASK` (FEAT_RME): the EL1 virtual timer's interrupt is masked.
pub const CNTHCTL_EL2_CNTVMASK: u64 = 1 << 18;
/// `CNTHCTL_EL2.CNTPMASK` (FEAT_RME): the EL1 physical timer's interrupt is masked.
pub const CNTHCTL_EL2_CNTPMASK: u64 = 1 << 19;
/// PPI of the EL1 virtual timer (Arm BSA / GICv3 recommended assignment).
pub const PPI_VIRTUAL_TIMER: u32 = 27;
/// PPI of the EL1 physical timer.
pub const PPI_PHYSICAL_TIMER: u32 = 30;

/// A timer's `CTL` as software reads it at counter value `now`: ENABLE and IMASK as written, ISTATUS set
/// when enabled and `now − CVAL` is not negative (Arm ARM D11.2.4: the condition is `CVAL <= count`).
pub fn timer_ctl(ctl: u64, cval: u64, now: u64) -> u64 {
    let met = ctl & CNT_CTL_ENABLE != 0 && now >= cval;
    (ctl & (CNT_CTL_ENABLE | CNT_CTL_IMASK)) | if met { CNT_CTL_ISTATUS } else { 0 }
}

/// A timer's interrupt output (TF-RMM `timers.c` "asserted"): ENABLE = 1, ISTATUS = 1, IMASK = 0.
pub fn timer_asserted(ctl: u64, cval: u64, now: u64) -> bool {
    timer_ctl(ctl, cval, now) & (CNT_CTL_ENABLE | CNT_CTL_IMASK | CNT_CTL_ISTATUS)
        == CNT_CTL_ENABLE | CNT_CTL_ISTATUS
}

impl RealmSysregs {
    /// The EL1 virtual timer's interrupt output at counter value `now` (PPI 27 level, before `CNTVMASK`).
    pub fn virtual_timer_asserted(&self, now: u64) -> bool {
        timer_asserted(self.cntv_ctl_el0, self.cntv_cval_el0, now)
    }

    /// The EL1 physical timer's interrupt output at `now` (PPI 30 level, before `CNTPMASK`).
    pub fn physical_timer_asserted(&self, now: u64) -> bool {
        timer_asserted(self.cntp_ctl_el0, self.cntp_cval_el0, now)
    }

    /// A timer interrupt reaches EL2 at `now`: a timer is asserted and `CNTHCTL_EL2` does not mask it.
    pub fn timer_irq_to_el2(&self, now: u64) -> bool {
        (self.virtual_timer_asserted(now) && self.cnthctl_el2 & CNTHCTL_EL2_CNTVMASK == 0)
            || (self.physical_timer_asserted(now) && self.cnthctl_el2 & CNTHCTL_EL2_CNTPMASK == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmcr_write_clamps_as_the_qemu_cpu_interface_does() {
        let p = GicParams::default();
        // TF-RMM writes 0; VFIQEn RES1, VBPR1 = 3, VBPR0 = 2 (7 − 5 preemption bits).
        assert_eq!(p.vmcr_write(0), 0x4c_0008, "idle REC VMCR on qemu-max");
        // Linux: VPMR 0xf0, VENG1: 0xf04c000a.
        assert_eq!(p.vmcr_write((0xf0 << 24) | 2), 0xf04c_000a, "after Linux");
        // VPMR keeps 5 bits (0xff → 0xf8); VBPRs above the minimum are kept; VAckCtl (bit 2) RES0.
        let v = p.vmcr_write((0xff << 24) | (7 << 21) | (5 << 18) | 0b10111 | (1 << 9));
        assert_eq!(v, (0xf8 << 24) | (7 << 21) | (5 << 18) | 0b11011 | (1 << 9));
        let seven = GicParams {
            preemption_bits: 7,
            priority_bits: 8,
            ..p
        };
        assert_eq!(
            seven.vmcr_write(0),
            0x8 | (1 << 18),
            "VBPR0 0, VBPR1 1 with 7 bits"
        );
        assert_eq!((p.apr_count(), seven.apr_count()), (1, 4));
    }

    #[test]
    fn misr_follows_lrs_hcr_and_vmcr() {
        let mut g = GicCpuState::default();
        assert_eq!(g.misr_of(4), 0, "nothing enabled");
        g.hcr = ICH_HCR_EN | ICH_HCR_UIE | ICH_HCR_NPIE;
        assert_eq!(
            g.misr_of(4),
            ICH_MISR_U | ICH_MISR_NP,
            "no LR: underflow, none pending"
        );
        g.lrs[0] = ICH_LR_PENDING | 27;
        g.lrs[1] = ICH_LR_ACTIVE | 30;
        assert_eq!(g.misr_of(4), 0, "two valid, one pending");
        g.lrs[1] = ICH_LR_EOI | 30;
        assert_eq!(
            g.misr_of(4),
            ICH_MISR_EOI | ICH_MISR_U,
            "EOI maintenance, one valid"
        );
        assert_eq!(g.misr_of(1), ICH_MISR_U, "LR 1 not implemented");
        g.hcr =
            ICH_HCR_LRENPIE | (3 << ICH_HCR_EOICOUNT_SHIFT) | ICH_HCR_VGRP1DIE | ICH_HCR_VGRP0EIE;
        g.lrs[1] = 0;
        assert_eq!(g.misr_of(4), ICH_MISR_LRENP | ICH_MISR_VGRP1D);
        assert!(!g.maintenance_asserted(4), "En clear");
        g.vmcr = ICH_VMCR_VENG0 | ICH_VMCR_VENG1;
        assert_eq!(g.misr_of(4), ICH_MISR_LRENP | ICH_MISR_VGRP0E);
    }

    #[test]
    fn timer_output_needs_enable_istatus_and_no_imask() {
        assert_eq!(timer_ctl(1, 100, 99), 1, "not yet");
        assert_eq!(timer_ctl(1, 100, 100), 0b101, "CVAL reached");
        assert_eq!(
            timer_ctl(0b110, 0, 5),
            0b010,
            "disabled: no ISTATUS, ISTATUS write ignored"
        );
        assert!(timer_asserted(1, 100, 100));
        assert!(!timer_asserted(3, 100, 100), "IMASK");
        let mut s = RealmSysregs {
            cntv_ctl_el0: 1,
            cntv_cval_el0: 10,
            ..RealmSysregs::default()
        };
        assert!(s.timer_irq_to_el2(10));
        s.cnthctl_el2 = CNTHCTL_EL2_CNTVMASK;
        assert!(!s.timer_irq_to_el2(10), "CNTVMASK");
        s.cntp_ctl_el0 = 1;
        assert!(s.timer_irq_to_el2(10), "physical timer not masked");
        s.cnthctl_el2 |= CNTHCTL_EL2_CNTPMASK;
        assert!(!s.timer_irq_to_el2(u64::MAX));
    }
}
