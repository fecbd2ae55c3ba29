//! The REC's GICv3 virtual CPU interface across `RMI_REC_ENTER` and the exit (DEN0137 1.0-rel0 A6.1
//! "Realm interrupts", B4.4.2 `RmiRecEnter`/`RmiRecExit` GIC fields), as TF-RMM `rmm-spec-v1.0-rel0`
//! `lib/gic/src/gic.c` does it:
//! - `gic_validate_state`: the host's `gicv3_hcr` and list registers, checked before any side effect;
//! - `gic_copy_state_from_rec_entry` + `gic_restore_state`: the LRs and the host-controlled HCR bits go into
//!   the REC's saved state, which is then loaded into the CPU interface (the REC's context): LRs, HCR, and
//!   VMCR through the interface's write clamping — so a REC that never touched the GIC reports
//!   `gicv3_vmcr = 0x4c0008` on a CPU with 5 preemption bits; APRs are private to the REC and stay in its
//!   context;
//! - `gic_save_state` + `gic_copy_state_to_rec_exit`: LRs, VMCR, HCR and MISR read back; the host sees the
//!   LRs, MISR and VMCR unchanged and HCR masked to EOIcount and its own bits; HCR.En is cleared;
//!
//! Trapped ICC_SGI0R/SGI1R/ASGI1R and DIR writes go to the host through `super::sysreg`.
//!
//! The interface's parameters (LR count, PRIbits, IDbits) are the platform's ([`GicParams`]); `ICH_VTR_EL2`
//! on QEMU (where the reference observations come from) reports IDbits = 24 bits and no extended INTID range.

use crate::abi::{RmiRecEnter, RmiRecExit};
use crate::cpu::gic::{
    GicParams, ICH_HCR_EN, ICH_HCR_EOICOUNT_MASK, ICH_HCR_LRENPIE, ICH_HCR_NPIE, ICH_HCR_TDIR,
    ICH_HCR_UIE, ICH_HCR_VGRP0DIE, ICH_HCR_VGRP0EIE, ICH_HCR_VGRP1DIE, ICH_HCR_VGRP1EIE,
    ICH_LR_EOI, ICH_LR_HW, ICH_LR_PRIORITY_SHIFT, ICH_LR_STATE_SHIFT, ICH_LR_VINTID_MASK,
};
use crate::rec::state::RecRun;

/// `ICH_HCR_EL2` bits the host controls (TF-RMM `ICH_HCR_EL2_NS_MASK`): UIE, LRENPIE, NPIE, VGrp0EIE,
/// VGrp0DIE, VGrp1EIE, VGrp1DIE, TDIR.
pub(crate) const ICH_HCR_EL2_NS_MASK: u64 = ICH_HCR_UIE
    | ICH_HCR_LRENPIE
    | ICH_HCR_NPIE
    | ICH_HCR_VGRP0EIE
    | ICH_HCR_VGRP0DIE
    | ICH_HCR_VGRP1EIE
    | ICH_HCR_VGRP1DIE
    | ICH_HCR_TDIR;
/// `ICH_LR<n>_EL2.pINTID` (bits \[44:32\]).
const ICH_LR_PINTID_MASK: u64 = 0x1FFF << 32;
/// Largest SPI INTID.
const MAX_SPI_ID: u64 = 1019;
/// Smallest LPI INTID.
const MIN_LPI_ID: u64 = 8192;
/// Largest vINTID with `ICH_VTR_EL2.IDbits` = 0b001 (24 bits), as QEMU's CPU interface reports.
const MAX_VINTID: u64 = (1 << 24) - 1;

/// TF-RMM `is_valid_vintid`: 0..=1019 or 8192..=max (no extended range).
fn is_valid_vintid(intid: u64) -> bool {
    intid <= MAX_SPI_ID || (MIN_LPI_ID..=MAX_VINTID).contains(&intid)
}

/// TF-RMM `gic_validate_state`: `gicv3_hcr` sets only host-controlled bits, and each implemented LR that is
/// not invalid has HW = 0, no priority bits below PRIbits, no pINTID bit but EOI, a valid vINTID, and a
/// vINTID no later valid LR repeats.
pub(crate) fn gic_validate_state(enter: &RmiRecEnter, p: &GicParams) -> bool {
    if enter.gicv3_hcr & !ICH_HCR_EL2_NS_MASK != 0 {
        return false;
    }
    let pri_res0 = !p.priority_mask() & 0xFF;
    let lrs = &enter.gicv3_lrs[..p.lrs()];
    let valid = |lr: u64| lr >> ICH_LR_STATE_SHIFT != 0;
    for (i, &lr) in lrs.iter().enumerate() {
        if !valid(lr) {
            continue;
        }
        let intid = lr & ICH_LR_VINTID_MASK;
        if lr & ICH_LR_HW != 0
            || (lr >> ICH_LR_PRIORITY_SHIFT) & pri_res0 != 0
            || lr & ICH_LR_PINTID_MASK & !ICH_LR_EOI != 0
            || !is_valid_vintid(intid)
        {
            return false;
        }
        if lrs[i + 1..]
            .iter()
            .any(|&other| valid(other) && other & ICH_LR_VINTID_MASK == intid)
        {
            return false;
        }
    }
    true
}

/// TF-RMM `gic_copy_state_from_rec_entry` then `gic_restore_state`: the implemented LRs and the host's HCR
/// bits into the REC's saved state, and the saved state into the CPU interface.
pub(crate) fn gic_copy_from_entry(rec: &mut RecRun, enter: &RmiRecEnter, p: &GicParams) {
    let n = p.lrs();
    rec.gic.lrs[..n].copy_from_slice(&enter.gicv3_lrs[..n]);
    rec.gic.hcr = (rec.gic.hcr & !ICH_HCR_EL2_NS_MASK) | (enter.gicv3_hcr & ICH_HCR_EL2_NS_MASK);
    let cpu = &mut rec.ctx.gic;
    cpu.lrs[..n].copy_from_slice(&rec.gic.lrs[..n]);
    cpu.vmcr = p.vmcr_write(rec.gic.vmcr);
    cpu.hcr = rec.gic.hcr;
}

/// TF-RMM `gic_save_state` then `gic_copy_state_to_rec_exit`: read the CPU interface back into the REC's
/// saved state (MISR as the interface computes it), clear HCR.En, and report LRs, MISR, VMCR and the
/// masked HCR to the host.
pub(crate) fn gic_copy_to_exit(rec: &mut RecRun, exit: &mut RmiRecExit, p: &GicParams) {
    let n = p.lrs();
    let cpu = &mut rec.ctx.gic;
    rec.gic.lrs[..n].copy_from_slice(&cpu.lrs[..n]);
    rec.gic.vmcr = cpu.vmcr;
    rec.gic.hcr = cpu.hcr;
    rec.gic.misr = cpu.misr_of(n);
    cpu.hcr &= !ICH_HCR_EN;
    exit.gicv3_lrs[..n].copy_from_slice(&rec.gic.lrs[..n]);
    exit.gicv3_misr = rec.gic.misr;
    exit.gicv3_vmcr = rec.gic.vmcr;
    exit.gicv3_hcr = rec.gic.hcr & (ICH_HCR_EOICOUNT_MASK | ICH_HCR_EL2_NS_MASK);
}

#[cfg(test)]
mod tests {
    use zerocopy::FromZeros;

    use super::*;
    use crate::cpu::gic::{
        ICH_HCR_DVIM, ICH_HCR_VSGIEOICOUNT, ICH_LR_ACTIVE, ICH_LR_GROUP, ICH_LR_PENDING,
        ICH_MISR_EOI, ICH_MISR_U,
    };
    use crate::rec::fake::rec;

    /// `ICH_HCR_EL2` of a new REC (TF-RMM `gic_cpu_state_init`): En, vSGIEOICount (no virtual SGIs), DVIM (no
    /// direct injection). (`RecRun::new` sets it.)
    const ICH_HCR_EL2_INIT: u64 = ICH_HCR_EN | ICH_HCR_VSGIEOICOUNT | ICH_HCR_DVIM;
    /// The qemu-max CPU interface: 4 LRs, 5 priority and 5 preemption bits.
    const QEMU: GicParams = GicParams {
        list_registers: 4,
        priority_bits: 5,
        preemption_bits: 5,
    };

    fn pending(intid: u64) -> u64 {
        ICH_LR_PENDING | ICH_LR_GROUP | (0xA0 << 48) | intid
    }

    /// One REC_ENTER rejection per TF-RMM `gic_validate_state` condition.
    #[test]
    fn rec_enter_rejects_each_invalid_gic_state() {
        let ok = || {
            let mut e = RmiRecEnter::new_zeroed();
            e.gicv3_hcr = ICH_HCR_EL2_NS_MASK;
            e.gicv3_lrs[0] = pending(27);
            e.gicv3_lrs[1] = pending(30) | ICH_LR_EOI;
            e.gicv3_lrs[2] = pending(MAX_VINTID);
            e
        };
        assert!(
            gic_validate_state(&ok(), &QEMU),
            "every host bit, EOI, 24-bit LPI"
        );
        type Spoil = fn(&mut RmiRecEnter);
        let cases: [(&str, Spoil); 9] = [
            ("hcr En", |e| e.gicv3_hcr |= ICH_HCR_EN),
            ("hcr EOIcount", |e| e.gicv3_hcr |= 1 << 27),
            ("hcr TC (bit 10)", |e| e.gicv3_hcr |= 1 << 10),
            ("LR HW", |e| e.gicv3_lrs[0] |= ICH_LR_HW),
            ("priority below PRIbits", |e| e.gicv3_lrs[0] |= 1 << 48),
            ("pINTID bit other than EOI", |e| e.gicv3_lrs[0] |= 1 << 32),
            ("vINTID 1020", |e| e.gicv3_lrs[3] = pending(1020)),
            ("vINTID above 24 bits", |e| {
                e.gicv3_lrs[3] = pending(1 << 24)
            }),
            ("duplicate vINTID (active)", |e| {
                e.gicv3_lrs[3] = (pending(27) & !ICH_LR_PENDING) | ICH_LR_ACTIVE;
            }),
        ];
        for (what, spoil) in cases {
            let mut e = ok();
            spoil(&mut e);
            assert!(!gic_validate_state(&e, &QEMU), "{what} must be rejected");
        }
        let mut e = ok();
        e.gicv3_lrs[4] = pending(27) | ICH_LR_HW;
        assert!(
            gic_validate_state(&e, &QEMU),
            "LR 4 is not implemented on qemu-max"
        );
        e.gicv3_lrs[3] = (pending(27) & !(0b11 << 62)) | ICH_LR_HW;
        assert!(gic_validate_state(&e, &QEMU), "invalid LRs are not checked");
        let eight = GicParams {
            priority_bits: 8,
            ..QEMU
        };
        let mut e = ok();
        e.gicv3_lrs[0] |= 1 << 48;
        assert!(
            gic_validate_state(&e, &eight),
            "all 8 priority bits implemented"
        );
    }

    #[test]
    fn idle_rec_exit_reports_the_clamped_vmcr_and_a_masked_hcr() {
        let mut r = rec(0);
        assert_eq!(r.gic.hcr, ICH_HCR_EL2_INIT, "gic_cpu_state_init");
        let enter = RmiRecEnter::new_zeroed();
        gic_copy_from_entry(&mut r, &enter, &QEMU);
        assert_eq!(r.ctx.gic.hcr, ICH_HCR_EL2_INIT);
        assert_eq!(
            r.ctx.gic.vmcr, 0x4c_0008,
            "VMCR 0 as QEMU's interface keeps it"
        );
        let mut exit = crate::abi::RmiRecExit::new_zeroed();
        gic_copy_to_exit(&mut r, &mut exit, &QEMU);
        assert_eq!(
            (exit.gicv3_vmcr, exit.gicv3_hcr, exit.gicv3_misr),
            (0x4c_0008, 0, 0),
            "TF-RMM on qemu-max"
        );
        assert_eq!(r.ctx.gic.hcr & ICH_HCR_EN, 0, "En cleared on exit");
        assert_eq!(r.gic.hcr, ICH_HCR_EL2_INIT, "the saved HCR keeps En");
    }

    #[test]
    fn lrs_and_host_bits_go_in_and_come_back_with_eoicount_and_misr() {
        let mut r = rec(0);
        let mut enter = RmiRecEnter::new_zeroed();
        enter.gicv3_hcr = ICH_HCR_UIE;
        enter.gicv3_lrs[0] = pending(27) | ICH_LR_EOI;
        enter.gicv3_lrs[5] = pending(99);
        gic_copy_from_entry(&mut r, &enter, &QEMU);
        assert_eq!(r.ctx.gic.lrs[0], pending(27) | ICH_LR_EOI);
        assert_eq!(r.ctx.gic.lrs[5], 0, "only the implemented LRs");
        assert_eq!(r.ctx.gic.hcr, ICH_HCR_EL2_INIT | ICH_HCR_UIE);
        // The realm acknowledged and deactivated it, and EOId one interrupt without an LR.
        r.ctx.gic.lrs[0] = (pending(27) | ICH_LR_EOI) & !(0b11 << 62);
        r.ctx.gic.hcr |= 1 << 27;
        let mut exit = crate::abi::RmiRecExit::new_zeroed();
        gic_copy_to_exit(&mut r, &mut exit, &QEMU);
        assert_eq!(exit.gicv3_lrs[0], r.ctx.gic.lrs[0]);
        assert_eq!(
            exit.gicv3_hcr,
            ICH_HCR_UIE | (1 << 27),
            "EOIcount and UIE, no En/vSGIEOICount/DVIM"
        );
        assert_eq!(exit.gicv3_misr, ICH_MISR_EOI | ICH_MISR_U);
    }
}
