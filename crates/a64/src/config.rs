//! The CPU's identity and implemented features as software sees them: the ID registers, CTR_EL0, DCZID_EL0
//! and the generic counter frequency.
//!
//! Field layouts: Arm ARM DDI 0487 D24.2 (`ID_AA64PFR0_EL1` D24.2.87, `ID_AA64ISAR0/1_EL1`, `ID_AA64MMFR0/1/2_EL1`,
//! `ID_AA64DFR0_EL1`, `CTR_EL0` D24.2.33, `DCZID_EL0` D24.2.35). Only what the interpreter implements is
//! advertised: the A64 base instruction set at EL0 and EL1 (AArch64 only), FEAT_LRCPC (LDAPR), a GICv3 system
//! register interface, CSV2/CSV3 (no speculation to mitigate), 4 KiB granules with 48-bit VAs; FP/AdvSIMD
//! report "not implemented" (0xF), and SVE, LSE, PAuth, BTI, MTE, PAN, CRC32, RAS, PMU … read as absent.

/// Configuration of an [`crate::A64Cpu`]; `Default` is a plain Armv8.0-A-like core as described above.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuConfig {
    /// `MIDR_EL1` (what `VPIDR_EL2` makes the realm read).
    pub midr: u64,
    /// `REVIDR_EL1`.
    pub revidr: u64,
    /// `ID_AA64PFR0_EL1`.
    pub id_aa64pfr0: u64,
    /// `ID_AA64PFR1_EL1`.
    pub id_aa64pfr1: u64,
    /// `ID_AA64DFR0_EL1`.
    pub id_aa64dfr0: u64,
    /// `ID_AA64ISAR0_EL1`.
    pub id_aa64isar0: u64,
    /// `ID_AA64ISAR1_EL1`.
    pub id_aa64isar1: u64,
    /// `ID_AA64MMFR0_EL1`.
    pub id_aa64mmfr0: u64,
    /// `ID_AA64MMFR1_EL1`.
    pub id_aa64mmfr1: u64,
    /// `ID_AA64MMFR2_EL1`.
    pub id_aa64mmfr2: u64,
    /// `CTR_EL0`.
    pub ctr: u64,
    /// `DCZID_EL0` (BS: log2 of the DC ZVA block size in words; DZP: DC ZVA prohibited).
    pub dczid: u64,
    /// `CLIDR_EL1`.
    pub clidr: u64,
    /// `CCSIDR_EL1` for every cache level (a single value).
    pub ccsidr: u64,
    /// Generic counter frequency in Hz (`CNTFRQ_EL0`).
    pub counter_hz: u64,
    /// The GICv3 CPU interface: list registers, virtual priority and preemption bits (`ICH_VTR_EL2`).
    pub gic: realm_cpu::gic::GicParams,
    /// The block compiler (`Default`: on, unless the environment variable `REALMKIT_JIT` is `0`).
    pub jit: crate::JitConfig,
}

impl Default for CpuConfig {
    fn default() -> Self {
        Self {
            // Implementer 0x41 (Arm), variant 0, architecture 0xF, part number 0xD0F (unassigned model), r0p0.
            midr: 0x410F_D0F0,
            revidr: 0,
            // EL0 (bits 3:0) and EL1 (7:4) AArch64 only = 1; EL2/EL3 (11:8, 15:12) = 0: the realm sees none;
            // FP (19:16) = 0xF and AdvSIMD (23:20) = 0xF: not implemented; GIC (27:24) = 1: GICv3 system
            // registers; CSV2 (59:56) = 1, CSV3 (63:60) = 1.
            id_aa64pfr0: 0x1
                | (0x1 << 4)
                | (0xF << 16)
                | (0xF << 20)
                | (0x1 << 24)
                | (0x1 << 56)
                | (0x1 << 60),
            id_aa64pfr1: 0,
            // DebugVer (3:0) = 6 (Armv8.0 debug), BRPs (15:12) = 1 and WRPs (23:20) = 1 (two of each, the
            // minimum), CTX_CMPs (31:28) = 0 (one), PMUVer (11:8) = 0: no PMU.
            id_aa64dfr0: 0x6 | (0x1 << 12) | (0x1 << 20),
            id_aa64isar0: 0,
            // LRCPC (23:20) = 1: LDAPR.
            id_aa64isar1: 0x1 << 20,
            // PARange (3:0) = 5 (48 bits), ASIDBits (7:4) = 2 (16 bits), TGran16 (23:20) = 0 (not
            // implemented), TGran64 (27:24) = 0xF (not implemented), TGran4 (31:28) = 0 (implemented).
            id_aa64mmfr0: 0x5 | (0x2 << 4) | (0xF << 24),
            id_aa64mmfr1: 0,
            id_aa64mmfr2: 0,
            // CTR_EL0: IminLine (3:0) = 4 (64 bytes), L1Ip (15:14) = 0b11 (PIPT), DminLine (19:16) = 4,
            // ERG (23:20) = 4, CWG (27:24) = 4, IDC (28) = 1, DIC (29) = 1, bit 31 RES1.
            ctr: (1 << 31)
                | (1 << 29)
                | (1 << 28)
                | (4 << 24)
                | (4 << 20)
                | (4 << 16)
                | (0b11 << 14)
                | 4,
            // DCZID_EL0: BS = 4 (64-byte blocks), DZP = 0 (DC ZVA permitted).
            dczid: 4,
            // CLIDR_EL1: Ctype1 = 0b011 (separate L1 I and D), LoUU/LoC = 1.
            clidr: 0b011 | (1 << 24) | (1 << 27),
            // CCSIDR_EL1: 64-byte lines (LineSize = 2), 4 ways, 256 sets.
            ccsidr: 2 | (3 << 3) | (255 << 13),
            counter_hz: 62_500_000,
            gic: realm_cpu::gic::GicParams::default(),
            jit: crate::JitConfig::from_env(),
        }
    }
}

impl CpuConfig {
    /// This configuration with its ID registers cut down to what `realm-a64` implements, for IDs taken
    /// from a platform description of real hardware (which may have FP, SVE, LSE, PAuth, MTE, PAN …):
    /// identification (MIDR, REVIDR), the PA range (at most 48 bits: no FEAT_LPA), the ASID size, the
    /// GICv3 system-register interface, CSV2/CSV3 (no speculation to mitigate either way), the cache line
    /// sizes of CTR_EL0 (with IDC/DIC forced to 1), DCZID_EL0 and the counter are kept; every other feature
    /// field takes the [`CpuConfig::default`] value.
    pub fn restricted(&self) -> Self {
        let d = Self::default();
        let field = |v: u64, shift: u32| (v >> shift) & 0xF;
        let pfr0 = (d.id_aa64pfr0 & !(0xF << 24) & !(0xFF << 56))
            | (field(self.id_aa64pfr0, 24).min(1) << 24)
            | (field(self.id_aa64pfr0, 56).min(2) << 56)
            | (field(self.id_aa64pfr0, 60).min(1) << 60);
        let mmfr0 = (d.id_aa64mmfr0 & !0xFF)
            | field(self.id_aa64mmfr0, 0).min(5)
            | (if field(self.id_aa64mmfr0, 4) == 2 {
                2 << 4
            } else {
                0
            });
        Self {
            midr: self.midr,
            revidr: self.revidr,
            id_aa64pfr0: pfr0,
            id_aa64mmfr0: mmfr0,
            ctr: (self.ctr & 0x0FFF_FFFF) | (1 << 31) | (1 << 29) | (1 << 28),
            dczid: self.dczid & 0x1F,
            clidr: self.clidr,
            ccsidr: self.ccsidr,
            counter_hz: self.counter_hz,
            gic: self.gic,
            jit: self.jit,
            ..d
        }
    }

    /// The ID register at op0 = 3, op1 = 0, CRn = 0, `crm`, `op2` (the ID space, Arm ARM D24.1.3): the
    /// configured value, or 0 for every unallocated or not-implemented (AArch32, SVE, SME) register.
    pub fn id_register(&self, crm: u8, op2: u8) -> u64 {
        match (crm, op2) {
            (4, 0) => self.id_aa64pfr0,
            (4, 1) => self.id_aa64pfr1,
            (5, 0) => self.id_aa64dfr0,
            (6, 0) => self.id_aa64isar0,
            (6, 1) => self.id_aa64isar1,
            (7, 0) => self.id_aa64mmfr0,
            (7, 1) => self.id_aa64mmfr1,
            (7, 2) => self.id_aa64mmfr2,
            _ => 0,
        }
    }

    /// DC ZVA block size in bytes (`4 << DCZID_EL0.BS`).
    pub fn dc_zva_bytes(&self) -> usize {
        4usize << (self.dczid & 0xF)
    }

    /// Physical (here: intermediate physical) address size in bits from `ID_AA64MMFR0_EL1.PARange`.
    pub fn pa_bits(&self) -> u32 {
        match self.id_aa64mmfr0 & 0xF {
            0 => 32,
            1 => 36,
            2 => 40,
            3 => 42,
            4 => 44,
            5 => 48,
            _ => 52,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_keeps_identity_and_drops_unimplemented_features() {
        let everything = CpuConfig {
            midr: 0x410F_D4F1,
            revidr: 1,
            id_aa64pfr0: u64::MAX,
            id_aa64pfr1: u64::MAX,
            id_aa64dfr0: u64::MAX,
            id_aa64isar0: u64::MAX,
            id_aa64isar1: u64::MAX,
            id_aa64mmfr0: 0x0000_0000_0000_0026, // ASIDBits 16, PARange 52 bits
            id_aa64mmfr1: u64::MAX,
            id_aa64mmfr2: u64::MAX,
            ctr: 0x8444_C004,
            dczid: 0x04,
            clidr: 0,
            ccsidr: 0,
            counter_hz: 1_000_000_000,
            gic: realm_cpu::gic::GicParams {
                list_registers: 4,
                priority_bits: 5,
                preemption_bits: 5,
            },
            jit: crate::JitConfig::OFF,
        };
        let r = everything.restricted();
        let d = CpuConfig::default();
        assert_eq!(
            (r.midr, r.revidr, r.counter_hz),
            (0x410F_D4F1, 1, 1_000_000_000),
            "identity kept"
        );
        assert_eq!(r.gic.list_registers, 4, "GIC CPU interface kept");
        let pfr0 = (d.id_aa64pfr0 & !(0xF << 56)) | (2 << 56);
        assert_eq!(r.id_aa64pfr0, pfr0, "PFR0: ours with GIC 1, CSV2 2, CSV3 1");
        assert_eq!(
            (r.id_aa64pfr1, r.id_aa64isar0, r.id_aa64isar1),
            (0, 0, d.id_aa64isar1),
            "no MTE/BTI/LSE/PAuth"
        );
        assert_eq!(
            (r.id_aa64mmfr1, r.id_aa64mmfr2, r.id_aa64dfr0),
            (0, 0, d.id_aa64dfr0),
            "no PAN/HAFDBS, our debug"
        );
        assert_eq!(
            r.id_aa64mmfr0 & 0xFF,
            0x25,
            "PARange limited to 48 bits, 16-bit ASIDs kept"
        );
        assert_eq!(
            r.ctr, 0xB444_C004,
            "CTR_EL0 line sizes kept, IDC and DIC set"
        );
        assert_eq!(r.pa_bits(), 48);
    }
}
