//! The EL1&0 stage-1 regime's parameters, decoded from SCTLR_EL1, TCR_EL1 and TTBRn_EL1.
//!
//! Arm ARM DDI 0487 D8.1.7 (output address size), D8.1.8-D8.1.9 (VA ranges, input address size), D8.2.3-D8.2.4
//! (TTBRs and their selection), D8.2.8 (translation with the 4KB granule), D8.8 (address tagging), the
//! register descriptions of TCR_EL1/TTBR0_EL1/TTBR1_EL1, and the pseudocode functions `AArch64.GetVARange`,
//! `AArch64.VAIsOutOfRange`, `AArch64.AddrTop`, `AArch64.S1TTWParamsEL10`, `AArch64.S1TxSZFaults`,
//! `AArch64.S1StartLevel`, `AArch64.PhysicalAddressSize`, `AArch64.S1EPD` and `AArch64.S1TTBaseAddress`.
//!
//! Choices this model makes where the architecture leaves one:
//! - Only the 4 KiB granule is implemented (ID_AA64MMFR0_EL1.TGran4 = 0, TGran16 = 0, TGran64 = 0xF), so
//!   every TG0/TG1 encoding selects it (`AArch64.S1DecodeTG0`/`TG1`: a reserved or unimplemented granule
//!   becomes the IMPLEMENTATION DEFINED "encoded granule size", here 4 KiB).
//! - TxSZ outside 16..=39 (48-bit to 25-bit VA, no FEAT_LVA/FEAT_LPA2/FEAT_TTST) does not fault (the
//!   IMPLEMENTATION DEFINED "Fault on TxSZ value below minimum/above maximum" of `AArch64.S1TxSZFaults` are
//!   both false) and is clamped into that range, as `AArch64.S1Translate` then does.
//! - IPS = 0b110 (52 bits) and 0b111 (56 bits) are limited to 48 bits (4 KiB granule, no FEAT_LPA2) and to the
//!   implemented PA range, as `AArch64.PhysicalAddressSize` does.
//! - TBID0/TBID1 are RES0 (no FEAT_PAuth): TBI applies to instruction fetches too. E0PD, HA/HD and the
//!   TCR2_EL1 extensions are not implemented. SCTLR_EL1.EE is RES0 (little-endian descriptors).

use super::{Stage1Fault, Stage1Regs};

/// SCTLR_EL1.M: stage-1 translation enabled.
pub(super) const SCTLR_M: u64 = 1 << 0;
/// SCTLR_EL1.C: data accesses to Normal memory are cacheable.
pub(super) const SCTLR_C: u64 = 1 << 2;
/// SCTLR_EL1.I: instruction fetches are cacheable.
pub(super) const SCTLR_I: u64 = 1 << 12;
/// SCTLR_EL1.WXN: writable locations are execute-never.
pub(super) const SCTLR_WXN: u64 = 1 << 19;

const TCR_EPD0: u64 = 1 << 7;
const TCR_A1: u64 = 1 << 22;
const TCR_EPD1: u64 = 1 << 23;
const TCR_AS: u64 = 1 << 36;
const TCR_TBI0: u64 = 1 << 37;
const TCR_TBI1: u64 = 1 << 38;
const TCR_HPD0: u64 = 1 << 41;
const TCR_HPD1: u64 = 1 << 42;

/// Smallest TxSZ with the 4 KiB granule and no FEAT_LVA/FEAT_LPA2 (`AArch64.S1MinTxSZ`): 48-bit VAs.
const MIN_TXSZ: u32 = 16;
/// Largest TxSZ without FEAT_TTST (`AArch64.MaxTxSZ`): 25-bit VAs.
const MAX_TXSZ: u32 = 39;
/// Output addresses never exceed 48 bits with the 4 KiB granule and no FEAT_LPA2.
pub(super) const MAX_PA_BITS: u32 = 48;

/// Mask of VA bits \[55:0\]: what a TLB entry and a TLBI operand identify (bit 55 selects the range).
pub(super) const VA56_MASK: u64 = (1 << 56) - 1;

/// One of the two VA ranges of the EL1&0 regime (`AArch64.GetVARange`): VA bit 55 selects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum VaRange {
    /// Translated through TTBR0_EL1.
    Lower,
    /// Translated through TTBR1_EL1.
    Upper,
}

/// What an access needs before the TLB is looked up: its range, ASID and tag-free address.
#[derive(Clone, Copy, Debug)]
pub(super) struct VaContext {
    /// The range VA bit 55 selects.
    pub range: VaRange,
    /// VA bits \[55:0\]: the top byte is dropped (it is either ignored by TBI or checked below).
    pub va: u64,
    /// The current ASID (`TCR_EL1.A1` picks the TTBR, `TCR_EL1.AS` its width).
    pub asid: u16,
}

/// The parameters of a walk of one range (`S1TTWParams` reduced to what a 4 KiB-granule walk uses).
#[derive(Clone, Copy, Debug)]
pub(super) struct WalkParams {
    /// VA size in bits, 64 - TxSZ (25..=48).
    pub va_bits: u32,
    /// Output address size in bits (`AArch64.PhysicalAddressSize`).
    pub pa_bits: u32,
    /// Address of the start-level table.
    pub table_base: u64,
    /// The starting lookup level (0..=2).
    pub start_level: u8,
    /// `TCR_EL1.HPDn`: hierarchical permission controls disabled.
    pub hpd: bool,
}

/// TxSZ of `range`, clamped to the implemented 16..=39.
fn txsz(tcr: u64, range: VaRange) -> u32 {
    let raw = match range {
        VaRange::Lower => tcr & 0x3f,
        VaRange::Upper => (tcr >> 16) & 0x3f,
    };
    u32::try_from(raw)
        .unwrap_or(MAX_TXSZ)
        .clamp(MIN_TXSZ, MAX_TXSZ)
}

/// The part of TCR_EL1/TTBRn_EL1 every access needs, decoded once and reused while those registers keep
/// their values: the current ASID and, per range, the VA bits `AArch64.VAIsOutOfRange` checks.
#[derive(Clone, Copy, Debug)]
pub(super) struct Decoded {
    tcr: u64,
    ttbr0: u64,
    ttbr1: u64,
    /// Bits \[top:va_bits\] of the lower range (top = 55 with TBI0, else 63): must be 0.
    lower_check: u64,
    /// Bits \[top:va_bits\] of the upper range (top = 55 with TBI1, else 63): must be 1.
    upper_check: u64,
    asid: u16,
}

impl Decoded {
    /// Decodes `regs`' TCR_EL1 and TTBRs.
    pub(super) fn new(regs: &Stage1Regs) -> Self {
        let check = |range, tbi_bit| {
            let top = if regs.tcr & tbi_bit != 0 { 55 } else { 63 };
            let va_bits = 64 - txsz(regs.tcr, range);
            (u64::MAX >> (63 - top)) & !((1u64 << va_bits) - 1)
        };
        Self {
            tcr: regs.tcr,
            ttbr0: regs.ttbr0,
            ttbr1: regs.ttbr1,
            lower_check: check(VaRange::Lower, TCR_TBI0),
            upper_check: check(VaRange::Upper, TCR_TBI1),
            asid: current_asid(regs),
        }
    }

    /// Whether this decodes `regs` (same TCR_EL1, TTBR0_EL1 and TTBR1_EL1).
    pub(super) fn matches(&self, regs: &Stage1Regs) -> bool {
        self.tcr == regs.tcr && self.ttbr0 == regs.ttbr0 && self.ttbr1 == regs.ttbr1
    }

    /// The range of `va` (bit 55, `AArch64.GetVARange`), checked to lie inside it
    /// (`AArch64.VAIsOutOfRange`: the bits above the VA size, up to bit 55 with TBI or 63 without, all
    /// equal the range's bit 55), else a level 0 Translation fault.
    pub(super) fn va_context(&self, va: u64) -> Result<VaContext, Stage1Fault> {
        let (range, in_range) = if va & (1 << 55) == 0 {
            (VaRange::Lower, va & self.lower_check == 0)
        } else {
            (VaRange::Upper, va & self.upper_check == self.upper_check)
        };
        if !in_range {
            return Err(Stage1Fault::Translation { level: 0 });
        }
        Ok(VaContext {
            range,
            va: va & VA56_MASK,
            asid: self.asid,
        })
    }
}

/// `va` with its top byte cleared when TBI applies to its range (`AArch64.AddrTop` is 55), else unchanged.
pub(super) fn without_ignored_tag(tcr: u64, va: u64) -> u64 {
    let tbi = if va & (1 << 55) == 0 {
        TCR_TBI0
    } else {
        TCR_TBI1
    };
    if tcr & tbi != 0 { va & VA56_MASK } else { va }
}

/// The ASID the regime runs with: TTBR1_EL1.ASID if `TCR_EL1.A1`, else TTBR0_EL1.ASID; only bits \[55:48\]
/// when `TCR_EL1.AS` = 0 (8-bit ASIDs).
pub(super) fn current_asid(regs: &Stage1Regs) -> u16 {
    let ttbr = if regs.tcr & TCR_A1 != 0 {
        regs.ttbr1
    } else {
        regs.ttbr0
    };
    let asid = ttbr >> 48;
    let asid = if regs.tcr & TCR_AS != 0 {
        asid
    } else {
        asid & 0xff
    };
    u16::try_from(asid).unwrap_or(0)
}

/// Output address size in bits for `TCR_EL1.IPS` (`AArch64.PhysicalAddressSize`), never above the
/// implemented PA range `pa_range_bits` nor 48.
pub(super) fn output_size(tcr: u64, pa_range_bits: u32) -> u32 {
    let max = pa_range_bits.min(MAX_PA_BITS);
    let ips = match (tcr >> 32) & 0b111 {
        0b000 => 32,
        0b001 => 36,
        0b010 => 40,
        0b011 => 42,
        0b100 => 44,
        0b101 => 48,
        0b110 => 52,
        _ => 56,
    };
    ips.min(max)
}

/// The walk parameters of `range` for a TLB miss. Fails with a level 0 Translation fault when the range's
/// walks are disabled (`TCR_EL1.EPDn`), and a level 0 Address size fault when the TTBR's table base lies
/// above the output address size (`AArch64.S1Walk`).
pub(super) fn walk_params(
    regs: &Stage1Regs,
    range: VaRange,
    pa_range_bits: u32,
) -> Result<WalkParams, Stage1Fault> {
    let (epd, hpd, ttbr) = match range {
        VaRange::Lower => (TCR_EPD0, TCR_HPD0, regs.ttbr0),
        VaRange::Upper => (TCR_EPD1, TCR_HPD1, regs.ttbr1),
    };
    if regs.tcr & epd != 0 {
        return Err(Stage1Fault::Translation { level: 0 });
    }
    let va_bits = 64 - txsz(regs.tcr, range);
    let start_level = start_level(va_bits);
    // The start-level table holds 2^(va_bits - shift) 8-byte descriptors and its base is TTBR[47:1] aligned
    // to that size (`AArch64.S1TTBaseAddress`): BADDR bits below it are ignored, as is CnP (bit 0).
    let table_bits = va_bits - level_shift(start_level) + 3;
    let table_base = ttbr & ((1u64 << MAX_PA_BITS) - 1) & !((1u64 << table_bits) - 1);
    let pa_bits = output_size(regs.tcr, pa_range_bits);
    if table_base >> pa_bits != 0 {
        return Err(Stage1Fault::AddressSize { level: 0 });
    }
    Ok(WalkParams {
        va_bits,
        pa_bits,
        table_base,
        start_level,
        hpd: regs.tcr & hpd != 0,
    })
}

/// The starting lookup level for a VA size with the 4 KiB granule (`AArch64.S1StartLevel`): each level
/// resolves 9 bits above the 12-bit page offset.
pub(super) fn start_level(va_bits: u32) -> u8 {
    let levels = va_bits.saturating_sub(12).div_ceil(9);
    // va_bits is 25..=48, so levels is 2..=4.
    4u8.saturating_sub(u8::try_from(levels).unwrap_or(4))
}

/// The mask of the VA bits a leaf at `level` passes through to the output address (its page or block
/// offset): 30 bits at level 1, 21 at level 2, 12 at level 3.
pub(super) fn offset_mask(level: u8) -> u64 {
    const MASKS: [u64; 4] = [(1 << 39) - 1, (1 << 30) - 1, (1 << 21) - 1, (1 << 12) - 1];
    MASKS[usize::from(level & 3)]
}

/// The lowest VA bit a level's index resolves: 12 for level 3, 21 for level 2, 30 for level 1, 39 for 0.
pub(super) fn level_shift(level: u8) -> u32 {
    12 + 9 * (3 - u32::from(level.min(3)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs(tcr: u64) -> Stage1Regs {
        Stage1Regs {
            sctlr: SCTLR_M,
            tcr,
            ttbr0: 0,
            ttbr1: 0,
            mair: 0,
            pan: false,
        }
    }

    #[test]
    fn start_levels_for_4k_granule() {
        // Arm ARM D8.2.8 (translation with the 4KB granule): 48..40 bits start at 0, 39..31 at 1, 30..25 at 2.
        for (va_bits, level) in [(48, 0), (40, 0), (39, 1), (31, 1), (30, 2), (25, 2)] {
            assert_eq!(
                start_level(va_bits),
                level,
                "start level for {va_bits}-bit VAs"
            );
        }
    }

    #[test]
    fn txsz_is_clamped_to_implemented_range() {
        assert_eq!(txsz(0, VaRange::Lower), 16, "T0SZ 0 → 16");
        assert_eq!(txsz(63, VaRange::Lower), 39, "T0SZ 63 → 39");
        assert_eq!(txsz(25 << 16, VaRange::Upper), 25, "T1SZ 25 kept");
    }

    #[test]
    fn ips_decoding_and_limits() {
        assert_eq!(output_size(0b000 << 32, 48), 32);
        assert_eq!(output_size(0b010 << 32, 48), 40);
        assert_eq!(output_size(0b101 << 32, 48), 48);
        assert_eq!(
            output_size(0b110 << 32, 48),
            48,
            "52-bit IPS limited to 48 without LPA2"
        );
        assert_eq!(output_size(0b111 << 32, 44), 44, "56-bit IPS → PA range");
        assert_eq!(output_size(0b111 << 32, 48), 48, "56-bit IPS → 48 bits");
        assert_eq!(
            output_size(0b101 << 32, 40),
            40,
            "IPS above PA range → PA range"
        );
    }

    #[test]
    fn va_range_checks_with_and_without_tbi() {
        let va_context = |regs: &Stage1Regs, va| Decoded::new(regs).va_context(va);
        let tcr = 16 | (16 << 16);
        assert!(
            va_context(&regs(tcr), 0x0000_ffff_ffff_f000).is_ok(),
            "top of lower range"
        );
        assert_eq!(
            va_context(&regs(tcr), 0x0001_0000_0000_0000).unwrap_err(),
            Stage1Fault::Translation { level: 0 }
        );
        assert!(
            va_context(&regs(tcr), 0xffff_0000_0000_0000).is_ok(),
            "bottom of upper range"
        );
        assert!(
            va_context(&regs(tcr), 0xfffe_ffff_ffff_f000).is_err(),
            "hole below the upper range"
        );
        // A tagged pointer only translates with TBI0.
        assert!(
            va_context(&regs(tcr), 0x5a00_0000_0000_1000).is_err(),
            "tag without TBI0"
        );
        let ctx = va_context(&regs(tcr | TCR_TBI0), 0x5a00_0000_0000_1000).expect("tag with TBI0");
        assert_eq!(ctx.va, 0x1000, "tag dropped");
        // Bit 55 still selects the range under TBI: 0x00ff... is an upper-range address with tag 0.
        let ctx =
            va_context(&regs(tcr | TCR_TBI1), 0x00ff_0000_0000_2000).expect("upper with TBI1");
        assert_eq!(ctx.range, VaRange::Upper);
    }

    #[test]
    fn asid_selection() {
        let mut r = regs(0);
        r.ttbr0 = 0x1234 << 48;
        r.ttbr1 = 0xabcd << 48;
        assert_eq!(current_asid(&r), 0x34, "A1=0, 8-bit");
        r.tcr = TCR_AS;
        assert_eq!(current_asid(&r), 0x1234, "A1=0, 16-bit");
        r.tcr = TCR_AS | TCR_A1;
        assert_eq!(current_asid(&r), 0xabcd, "A1=1, 16-bit");
        r.tcr = TCR_A1;
        assert_eq!(current_asid(&r), 0xcd, "A1=1, 8-bit");
    }

    #[test]
    fn walk_params_base_alignment_and_faults() {
        let mut r = regs(25 | (0b101 << 32));
        r.ttbr0 = (0x77 << 48) | 0x8000_1fff;
        let p = walk_params(&r, VaRange::Lower, 48).expect("walk params");
        assert_eq!(p.va_bits, 39);
        assert_eq!(p.start_level, 1);
        assert_eq!(
            p.table_base, 0x8000_1000,
            "ASID and low bits dropped, 4 KiB table"
        );
        r.tcr |= TCR_EPD0;
        assert_eq!(
            walk_params(&r, VaRange::Lower, 48).unwrap_err(),
            Stage1Fault::Translation { level: 0 }
        );
        let mut r = regs(0b000 << 32); // 32-bit output
        r.ttbr1 = 0x1_0000_0000;
        assert_eq!(
            walk_params(&r, VaRange::Upper, 48).unwrap_err(),
            Stage1Fault::AddressSize { level: 0 }
        );
        // A 16-entry start table (25-bit VA at level 2) is 128 bytes, aligned to 128.
        let mut r = regs(39 << 16);
        r.ttbr1 = 0x4000_00c0;
        let p = walk_params(&r, VaRange::Upper, 48).expect("small table");
        assert_eq!((p.start_level, p.table_base), (2, 0x4000_0080));
        // A 2-entry start table (40-bit VA at level 0) is 16 bytes, aligned to 16 only.
        let mut r = regs(24);
        r.ttbr0 = 0x4000_0031;
        let p = walk_params(&r, VaRange::Lower, 48).expect("two-entry table");
        assert_eq!((p.start_level, p.table_base), (0, 0x4000_0030));
    }
}
