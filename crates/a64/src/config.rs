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
        }
    }
}

impl CpuConfig {
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
