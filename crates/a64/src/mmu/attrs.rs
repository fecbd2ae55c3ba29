//! Memory attributes (MAIR_EL1) and the PAR_EL1 value of an address translation instruction.
//!
//! Arm ARM DDI 0487 D8.6 ("Memory region attributes"), the register descriptions of MAIR_EL1 (Attr\<n\>
//! encodings) and PAR_EL1 (the 64-bit layout, FEAT_D128 not implemented); pseudocode `AArch64.S1AttrDecode`,
//! `AArch64.S1TreatAsNormalNC` and `AArch64.EncodePAR`.

use super::regime::{SCTLR_C, SCTLR_I};
use super::{AccessKind, Stage1Fault};

/// MAIR attribute byte of Device-nGnRnE memory: data accesses with stage 1 disabled.
pub(super) const ATTR_DEVICE_NGNRNE: u8 = 0x00;
/// Normal memory, Inner and Outer Non-cacheable.
pub(super) const ATTR_NORMAL_NC: u8 = 0x44;
/// Normal memory, Inner and Outer Write-Through, Read-Allocate, non-transient: instruction fetches with
/// stage 1 disabled and SCTLR_EL1.I = 1 (D8.2.12.1, "Behavior when stage 1 address translation is disabled").
pub(super) const ATTR_NORMAL_WT: u8 = 0xaa;

/// The attribute byte an access uses (`AArch64.S1TreatAsNormalNC`): Normal Non-cacheable for an
/// instruction fetch from Device memory or with SCTLR_EL1.I = 0, and for a data access to Normal memory with
/// SCTLR_EL1.C = 0; `attr` otherwise.
pub(super) fn effective_attr(attr: u8, sctlr: u64, kind: AccessKind) -> u8 {
    let normal_nc = match kind {
        AccessKind::Fetch => is_device(attr) || sctlr & SCTLR_I == 0,
        AccessKind::Read | AccessKind::Write => !is_device(attr) && sctlr & SCTLR_C == 0,
    };
    if normal_nc { ATTR_NORMAL_NC } else { attr }
}

/// PAR_EL1.SH value for Outer Shareable.
pub(super) const SH_OUTER: u8 = 0b10;

/// `MAIR_EL1.Attr<index>`.
pub(super) fn mair_attr(mair: u64, index: u8) -> u8 {
    // A byte by construction.
    ((mair >> (u32::from(index & 7) * 8)) & 0xff) as u8
}

/// Whether a MAIR attribute byte describes Device memory (Attr\<n\>\[7:4\] = 0b0000). Encodings 0bxxxx0000
/// with xxxx non-zero are UNPREDICTABLE without FEAT_XS/FEAT_MTE2; this model treats them as Normal.
pub(super) fn is_device(attr: u8) -> bool {
    attr & 0xf0 == 0
}

/// The shareability PAR_EL1.SH reports: Outer Shareable for Device memory and for Normal memory that is
/// Non-cacheable at both levels, the descriptor's SH\[1:0\] otherwise.
fn par_sh(attr: u8, sh: u8) -> u8 {
    if is_device(attr) || attr == ATTR_NORMAL_NC {
        SH_OUTER
    } else {
        sh & 0b11
    }
}

/// PAR_EL1 bit 11: NSE with FEAT_RME, RES1 otherwise. A realm's EL1 does not see FEAT_RME.
const PAR_RES1_BIT11: u64 = 1 << 11;

/// PAR_EL1 for a successful translation (F = 0): ATTR \[63:56\], PA \[47:12\], NS \[9\] = 0, SH \[8:7\].
pub(super) fn par_success(pa: u64, attr: u8, sh: u8) -> u64 {
    (u64::from(attr) << 56)
        | (pa & ((1 << 48) - 1) & !0xfff)
        | PAR_RES1_BIT11
        | (u64::from(par_sh(attr, sh)) << 7)
}

/// PAR_EL1 for a failed translation (F = 1): FST \[6:1\], PTW \[8\], S \[9\]; other bits zero, bit 11 RES1.
/// `stage2` marks a stage-2 fault on a stage-1 translation table walk (PTW = 1, S = 1).
pub(super) fn par_fault(fault: &Stage1Fault) -> u64 {
    let stage2 = matches!(fault, Stage1Fault::Stage2Walk { .. });
    let s_ptw = if stage2 { (1 << 9) | (1 << 8) } else { 0 };
    PAR_RES1_BIT11 | s_ptw | (u64::from(fault.fsc() & 0x3f) << 1) | 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmu::Stage2Fault;

    #[test]
    fn mair_bytes_by_index() {
        let mair = 0x0044_ff04_0c00_aaee;
        assert_eq!(mair_attr(mair, 0), 0xee);
        assert_eq!(mair_attr(mair, 1), 0xaa);
        assert_eq!(mair_attr(mair, 3), 0x0c);
        assert_eq!(mair_attr(mair, 7), 0x00);
        assert_eq!(
            mair_attr(mair, 9),
            0xaa,
            "index taken modulo 8, never a panic"
        );
    }

    #[test]
    fn device_versus_normal() {
        for (attr, device) in [
            (0x00, true),
            (0x04, true),
            (0x0c, true),
            (0x44, false),
            (0xff, false),
            (0x40, false),
        ] {
            assert_eq!(is_device(attr), device, "attr {attr:#04x}");
        }
    }

    #[test]
    fn treat_as_normal_nc() {
        let (c, i) = (1 << 2, 1 << 12);
        assert_eq!(
            effective_attr(0xff, c | i, AccessKind::Read),
            0xff,
            "cacheable data"
        );
        assert_eq!(
            effective_attr(0xff, i, AccessKind::Write),
            0x44,
            "data with C = 0"
        );
        assert_eq!(
            effective_attr(0x04, i, AccessKind::Read),
            0x04,
            "Device data with C = 0 stays Device"
        );
        assert_eq!(
            effective_attr(0xff, c | i, AccessKind::Fetch),
            0xff,
            "cacheable fetch"
        );
        assert_eq!(
            effective_attr(0xff, c, AccessKind::Fetch),
            0x44,
            "fetch with I = 0"
        );
        assert_eq!(
            effective_attr(0x00, c | i, AccessKind::Fetch),
            0x44,
            "fetch from Device"
        );
    }

    #[test]
    fn par_success_layout() {
        // Normal WB (0xff), Inner Shareable (0b11), PA 0x8_1234_5000.
        assert_eq!(
            par_success(0x8_1234_5678, 0xff, 0b11),
            0xff00_0008_1234_5980
        );
        // Device: SH reported as Outer Shareable whatever the descriptor says.
        assert_eq!(par_success(0x9000_0000, 0x04, 0b11), 0x0400_0000_9000_0900);
        // Normal NC: Outer Shareable too.
        assert_eq!(par_success(0x1000, 0x44, 0b00), 0x4400_0000_0000_1900);
    }

    #[test]
    fn par_fault_layout() {
        assert_eq!(
            par_fault(&Stage1Fault::Translation { level: 2 }),
            0x800 | (0x06 << 1) | 1
        );
        assert_eq!(par_fault(&Stage1Fault::Permission { level: 3 }), 0x81f);
        let s2 = Stage1Fault::Stage2Walk {
            ipa: 0x1000,
            level: 1,
            fault: Stage2Fault { level: 3 },
        };
        assert_eq!(par_fault(&s2), 0x800 | 0x300 | (0x07 << 1) | 1);
    }
}
