//! Exception syndrome encodings the RMM produces or reads: `ESR_EL2` for the exits it reports to the host,
//! `ESR_EL1` for the exceptions it injects into a realm, and `HPFAR_EL2`.
//!
//! Field positions: Arm ARM D24.2.40 (`ESR_EL2`) and D24.2.77 (`HPFAR_EL2`); the masks of what the host is
//! shown follow TF-RMM `rmm-spec-v1.0-rel0` `lib/arch/include/esr.h` (`ESR_NONEMULATED_ABORT_MASK`,
//! `ESR_EMULATED_ABORT_MASK`).

/// `ESR_ELx.EC` shift.
pub const EC_SHIFT: u32 = 26;
/// `ESR_ELx.EC` mask (bits \[31:26\]).
pub const EC_MASK: u64 = 0x3F << EC_SHIFT;
/// EC 0x00: unknown reason (what an injected undefined instruction reports).
pub const EC_UNKNOWN: u64 = 0x00 << EC_SHIFT;
/// EC 0x01: trapped WFI/WFE.
pub const EC_WFX: u64 = 0x01 << EC_SHIFT;
/// EC 0x16: HVC from AArch64.
pub const EC_HVC: u64 = 0x16 << EC_SHIFT;
/// EC 0x17: SMC from AArch64.
pub const EC_SMC: u64 = 0x17 << EC_SHIFT;
/// EC 0x18: trapped MSR, MRS or System instruction from AArch64.
pub const EC_SYSREG: u64 = 0x18 << EC_SHIFT;
/// EC 0x20: instruction abort from a lower exception level.
pub const EC_INST_ABORT: u64 = 0x20 << EC_SHIFT;
/// EC 0x21: instruction abort taken without a change of exception level.
pub const EC_INST_ABORT_SAME_EL: u64 = 0x21 << EC_SHIFT;
/// EC 0x24: data abort from a lower exception level.
pub const EC_DATA_ABORT: u64 = 0x24 << EC_SHIFT;
/// EC 0x25: data abort taken without a change of exception level.
pub const EC_DATA_ABORT_SAME_EL: u64 = 0x25 << EC_SHIFT;
/// `ESR_ELx.IL`: 32-bit instruction.
pub const IL_BIT: u64 = 1 << 25;

/// `ISS.ISV` (data abort): the syndrome below describes the access.
pub const ABORT_ISV_BIT: u64 = 1 << 24;
/// `ISS.SAS` shift (access size log2).
pub const ABORT_SAS_SHIFT: u32 = 22;
/// `ISS.SAS` mask.
pub const ABORT_SAS_MASK: u64 = 0b11 << ABORT_SAS_SHIFT;
/// `ISS.SSE`: the load sign-extends.
pub const ABORT_SSE_BIT: u64 = 1 << 21;
/// `ISS.SRT` shift (transfer register).
pub const ABORT_SRT_SHIFT: u32 = 16;
/// `ISS.SRT` mask.
pub const ABORT_SRT_MASK: u64 = 0x1F << ABORT_SRT_SHIFT;
/// `ISS.SF`: the transfer register is 64 bits wide.
pub const ABORT_SF_BIT: u64 = 1 << 15;
/// `ISS.SET` mask (synchronous error type).
pub const ABORT_SET_MASK: u64 = 0b11 << 11;
/// `ISS.FnV`: FAR not valid.
pub const ABORT_FNV_BIT: u64 = 1 << 10;
/// `ISS.EA`: external abort type.
pub const ABORT_EA_BIT: u64 = 1 << 9;
/// `ISS.WnR`: the access was a write.
pub const ABORT_WNR_BIT: u64 = 1 << 6;
/// `ISS.S1PTW` of an abort: a stage-2 fault on a stage-1 translation-table walk.
pub const ABORT_S1PTW_BIT: u64 = 1 << 7;
/// `ISS.DFSC` mask.
pub const ABORT_FSC_MASK: u64 = 0x3F;
/// DFSC: translation fault, level 0 (level n is `+ n`).
pub const FSC_TRANSLATION_FAULT_L0: u64 = 0x04;
/// DFSC: translation fault, level -1 (FEAT_LPA2).
pub const FSC_TRANSLATION_FAULT_LM1: u64 = 0x2B;
/// DFSC: synchronous external abort, not on a translation table walk.
pub const FSC_SEA: u64 = 0x10;

/// `ISS.TI` of a trapped WFx: set for WFE.
pub const WFX_TI_BIT: u64 = 1 << 0;

/// The fields of a data abort syndrome the host is shown when the access is not emulatable
/// (`ESR_NONEMULATED_ABORT_MASK`).
pub const NONEMULATED_ABORT_MASK: u64 =
    EC_MASK | ABORT_SET_MASK | ABORT_FNV_BIT | ABORT_EA_BIT | ABORT_FSC_MASK;
/// The fields shown for an emulatable MMIO access in the unprotected half (`ESR_EMULATED_ABORT_MASK`):
/// the register number and sign extension stay inside the RMM.
pub const EMULATED_ABORT_MASK: u64 =
    NONEMULATED_ABORT_MASK | ABORT_ISV_BIT | ABORT_SAS_MASK | ABORT_SF_BIT | ABORT_WNR_BIT;

/// `HPFAR_EL2.FIPA` holds IPA\[55:12\] at bits \[47:4\]: the register is the IPA shifted right by 8.
pub const HPFAR_FIPA_SHIFT: u32 = 8;
/// Mask of `HPFAR_EL2.FIPA`.
pub const HPFAR_FIPA_MASK: u64 = 0x0000_FFFF_FFFF_FFF0;

/// The exception class field of a syndrome.
pub const fn ec(esr: u64) -> u64 {
    esr & EC_MASK
}

/// DFSC of a stage-2 translation fault at `level` (-1..=3).
pub const fn translation_fault_fsc(level: i8) -> u64 {
    if level < 0 {
        FSC_TRANSLATION_FAULT_LM1
    } else {
        FSC_TRANSLATION_FAULT_L0 + level.unsigned_abs() as u64
    }
}

/// `HPFAR_EL2` for a fault at `ipa`.
pub const fn hpfar_for_ipa(ipa: u64) -> u64 {
    (ipa >> HPFAR_FIPA_SHIFT) & HPFAR_FIPA_MASK
}

/// The faulting IPA (granule address) recorded in an `HPFAR_EL2` value.
pub const fn ipa_of_hpfar(hpfar: u64) -> u64 {
    (hpfar & HPFAR_FIPA_MASK) << HPFAR_FIPA_SHIFT
}

/// Whether a data abort syndrome is a write (`WnR`).
pub const fn is_write(esr: u64) -> bool {
    esr & ABORT_WNR_BIT != 0
}

/// The transfer register (`SRT`), 31 meaning XZR.
pub const fn srt(esr: u64) -> usize {
    ((esr & ABORT_SRT_MASK) >> ABORT_SRT_SHIFT) as usize
}

/// Access length in bytes (`1 << SAS`).
pub const fn access_len(esr: u64) -> u32 {
    1 << ((esr & ABORT_SAS_MASK) >> ABORT_SAS_SHIFT)
}

/// Mask of the bytes an access of this syndrome transfers.
pub const fn access_mask(esr: u64) -> u64 {
    value_mask(access_len(esr))
}

/// Mask of the low `len` bytes (1, 2, 4 or 8).
pub const fn value_mask(len: u32) -> u64 {
    if len >= 8 {
        u64::MAX
    } else {
        (1u64 << (len * 8)) - 1
    }
}

/// The value a load of `len` bytes leaves in its register: `raw` truncated to the access, sign-extended when
/// `sign_extend`, and cut to 32 bits when the register is `Wn` (`!sixty_four`).
///
/// The same rule completes an emulated MMIO read (TF-RMM `runtime/rmi/run.c` `complete_mmio_emulation`).
pub const fn extend_load(raw: u64, len: u32, sign_extend: bool, sixty_four: bool) -> u64 {
    let mut val = raw & value_mask(len);
    if sign_extend && len < 8 {
        let sign = 1u64 << (len * 8 - 1);
        val = (val ^ sign).wrapping_sub(sign);
        if !sixty_four {
            val &= 0xFFFF_FFFF;
        }
    }
    val
}

/// `SAS` encoding of an access of `len` bytes, `None` unless 1, 2, 4 or 8.
pub const fn sas_of_len(len: u32) -> Option<u64> {
    match len {
        1 => Some(0),
        2 => Some(1),
        4 => Some(2),
        8 => Some(3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_extension_follows_width_and_register_size() {
        assert_eq!(extend_load(0x80, 1, true, true), 0xFFFF_FFFF_FFFF_FF80);
        assert_eq!(extend_load(0x80, 1, true, false), 0xFFFF_FF80);
        assert_eq!(extend_load(0x1234_5680, 1, false, true), 0x80);
        assert_eq!(extend_load(0x7FFF, 2, true, true), 0x7FFF);
        assert_eq!(
            extend_load(0xDEAD_BEEF_0000_0001, 8, true, true),
            0xDEAD_BEEF_0000_0001
        );
        assert_eq!(
            extend_load(0x8000_0000, 4, true, true),
            0xFFFF_FFFF_8000_0000
        );
    }

    #[test]
    fn hpfar_round_trips_granule_addresses() {
        let ipa = 0x1_2345_6000;
        assert_eq!(hpfar_for_ipa(ipa), 0x0123_4560);
        assert_eq!(ipa_of_hpfar(hpfar_for_ipa(ipa + 0x123)), ipa);
    }

    #[test]
    fn syndrome_fields_decode() {
        let esr = EC_DATA_ABORT
            | ABORT_ISV_BIT
            | (2 << ABORT_SAS_SHIFT)
            | (7 << ABORT_SRT_SHIFT)
            | ABORT_WNR_BIT;
        assert_eq!(ec(esr), EC_DATA_ABORT);
        assert_eq!(srt(esr), 7);
        assert_eq!(access_len(esr), 4);
        assert_eq!(access_mask(esr), 0xFFFF_FFFF);
        assert!(is_write(esr));
        assert_eq!(translation_fault_fsc(3), 0x07);
        assert_eq!(translation_fault_fsc(-1), 0x2B);
        assert_eq!(esr & EMULATED_ABORT_MASK & ABORT_SRT_MASK, 0);
    }
}
