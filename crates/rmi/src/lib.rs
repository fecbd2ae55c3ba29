//! The RMI and RSI as the wire sees them, and the SMC-shaped contract between a host and an RMM.
//!
//! DEN0137 1.0-rel0 (RMI 1.0, RSI 1.0): function ids, status codes and their packing, enumerations, the
//! feature register fields and the host-visible structures, with values as in TF-RMM `rmm-spec-v1.0-rel0`
//! `lib/smc/include/smc-rmi.h`, `smc-rsi.h` and `smc.h`; PSCI/SMCCC ids ([`psci`]); and the two traits a host
//! kernel reaches an RMM through ([`host::Rmi`], [`host::HostMemory`]). Both sides depend on this crate and
//! on nothing else of each other: the kernel layer (`realm-kvm`) can talk to any RMM — realmkit's
//! (`realm-rmm`), a recorded one, a remote one — and an RMM can be tested without the kernel layer.
//! Constants keep the spec's spelling. Nothing here has behaviour beyond encoding and decoding.
#![forbid(unsafe_code)]

pub mod host;
pub mod psci;
pub mod rsi;
mod structs;

pub use structs::{RmiRealmParams, RmiRecEnter, RmiRecExit, RmiRecParams, RmiRecRun};

/// `SMC_UNKNOWN`: x0 of an SMC whose FID the RMM does not implement (SMCCC: -1).
pub const SMC_UNKNOWN: u64 = u64::MAX;

/// The SVE hint bit of an SMCCC 1.3 FID; TF-RMM strips it before dispatch (`runtime/core/handler.c`).
pub const SMC_SVE_HINT: u64 = 1 << 16;

/// `RMI_VERSION` — DEN0137 1.0-rel0 B4.3.x.
pub const RMI_VERSION: u32 = 0xC400_0150;
/// `RMI_GRANULE_DELEGATE`.
pub const RMI_GRANULE_DELEGATE: u32 = 0xC400_0151;
/// `RMI_GRANULE_UNDELEGATE`.
pub const RMI_GRANULE_UNDELEGATE: u32 = 0xC400_0152;
/// `RMI_DATA_CREATE`.
pub const RMI_DATA_CREATE: u32 = 0xC400_0153;
/// `RMI_DATA_CREATE_UNKNOWN`.
pub const RMI_DATA_CREATE_UNKNOWN: u32 = 0xC400_0154;
/// `RMI_DATA_DESTROY`.
pub const RMI_DATA_DESTROY: u32 = 0xC400_0155;
/// `RMI_REALM_ACTIVATE`.
pub const RMI_REALM_ACTIVATE: u32 = 0xC400_0157;
/// `RMI_REALM_CREATE`.
pub const RMI_REALM_CREATE: u32 = 0xC400_0158;
/// `RMI_REALM_DESTROY`.
pub const RMI_REALM_DESTROY: u32 = 0xC400_0159;
/// `RMI_REC_CREATE`.
pub const RMI_REC_CREATE: u32 = 0xC400_015A;
/// `RMI_REC_DESTROY`.
pub const RMI_REC_DESTROY: u32 = 0xC400_015B;
/// `RMI_REC_ENTER`.
pub const RMI_REC_ENTER: u32 = 0xC400_015C;
/// `RMI_RTT_CREATE`.
pub const RMI_RTT_CREATE: u32 = 0xC400_015D;
/// `RMI_RTT_DESTROY`.
pub const RMI_RTT_DESTROY: u32 = 0xC400_015E;
/// `RMI_RTT_MAP_UNPROTECTED`.
pub const RMI_RTT_MAP_UNPROTECTED: u32 = 0xC400_015F;
/// `RMI_RTT_READ_ENTRY`.
pub const RMI_RTT_READ_ENTRY: u32 = 0xC400_0161;
/// `RMI_RTT_UNMAP_UNPROTECTED`.
pub const RMI_RTT_UNMAP_UNPROTECTED: u32 = 0xC400_0162;
/// `RMI_PSCI_COMPLETE`.
pub const RMI_PSCI_COMPLETE: u32 = 0xC400_0164;
/// `RMI_FEATURES`.
pub const RMI_FEATURES: u32 = 0xC400_0165;
/// `RMI_RTT_FOLD`.
pub const RMI_RTT_FOLD: u32 = 0xC400_0166;
/// `RMI_REC_AUX_COUNT`.
pub const RMI_REC_AUX_COUNT: u32 = 0xC400_0167;
/// `RMI_RTT_INIT_RIPAS`.
pub const RMI_RTT_INIT_RIPAS: u32 = 0xC400_0168;
/// `RMI_RTT_SET_RIPAS`.
pub const RMI_RTT_SET_RIPAS: u32 = 0xC400_0169;

/// The first FID of the RMI range (TF-RMM `SMC_RMI_CALL(0x150)`).
pub const RMI_FID_FIRST: u32 = RMI_VERSION;
/// The last FID of the RMI 1.0 range.
pub const RMI_FID_LAST: u32 = RMI_RTT_SET_RIPAS;

/// RMI ABI version 1.0 as RMI_VERSION takes and returns it (`major << 16 | minor`).
pub const RMI_ABI_VERSION: u64 = 0x1_0000;

/// RMI command status — DEN0137 1.0-rel0 B4.4.1 `RmiStatusCode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RmiStatus {
    /// `RMI_SUCCESS`.
    Success = 0,
    /// `RMI_ERROR_INPUT`.
    ErrorInput = 1,
    /// `RMI_ERROR_REALM`.
    ErrorRealm = 2,
    /// `RMI_ERROR_REC`.
    ErrorRec = 3,
    /// `RMI_ERROR_RTT`: the index is the RTT level at which the failure occurred.
    ErrorRtt = 4,
}

/// `RMI_SUCCESS`.
pub const RMI_SUCCESS: u8 = RmiStatus::Success as u8;
/// `RMI_ERROR_INPUT`.
pub const RMI_ERROR_INPUT: u8 = RmiStatus::ErrorInput as u8;
/// `RMI_ERROR_REALM`.
pub const RMI_ERROR_REALM: u8 = RmiStatus::ErrorRealm as u8;
/// `RMI_ERROR_REC`.
pub const RMI_ERROR_REC: u8 = RmiStatus::ErrorRec as u8;
/// `RMI_ERROR_RTT`.
pub const RMI_ERROR_RTT: u8 = RmiStatus::ErrorRtt as u8;

impl TryFrom<u64> for RmiStatus {
    type Error = u64;

    /// Decode the status byte of an x0 (the index byte is ignored); keeps the raw value on failure.
    fn try_from(x0: u64) -> Result<Self, u64> {
        match x0 & 0xff {
            0 => Ok(Self::Success),
            1 => Ok(Self::ErrorInput),
            2 => Ok(Self::ErrorRealm),
            3 => Ok(Self::ErrorRec),
            4 => Ok(Self::ErrorRtt),
            _ => Err(x0),
        }
    }
}

impl RmiStatus {
    /// The spec name (`RMI_ERROR_RTT`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Success => "RMI_SUCCESS",
            Self::ErrorInput => "RMI_ERROR_INPUT",
            Self::ErrorRealm => "RMI_ERROR_REALM",
            Self::ErrorRec => "RMI_ERROR_REC",
            Self::ErrorRtt => "RMI_ERROR_RTT",
        }
    }
}

/// Pack a status and index into x0: `status | index << 8` (DEN0137 1.0-rel0 B4.4, TF-RMM
/// `pack_return_code`).
pub const fn pack_return_code(status: RmiStatus, index: u8) -> u64 {
    (status as u64) | ((index as u64) << 8)
}

/// The status byte of an x0 (Linux `RMI_RETURN_STATUS`).
pub const fn return_status(x0: u64) -> u8 {
    x0.to_le_bytes()[0]
}

/// The index byte of an x0 (Linux `RMI_RETURN_INDEX`).
pub const fn return_index(x0: u64) -> u8 {
    x0.to_le_bytes()[1]
}

/// `RmiHashAlgorithm`: SHA-256.
pub const RMI_HASH_SHA_256: u8 = 0;
/// `RmiHashAlgorithm`: SHA-512.
pub const RMI_HASH_SHA_512: u8 = 1;

/// `RmiDataMeasureContent`: do not measure the contents.
pub const RMI_NO_MEASURE_CONTENT: u64 = 0;
/// `RmiDataMeasureContent`: measure the contents.
pub const RMI_MEASURE_CONTENT: u64 = 1;

/// `RmiRttEntryState`: unassigned.
pub const RMI_UNASSIGNED: u64 = 0;
/// `RmiRttEntryState`: assigned.
pub const RMI_ASSIGNED: u64 = 1;
/// `RmiRttEntryState`: table.
pub const RMI_TABLE: u64 = 2;

/// `RmiRipas`: EMPTY.
pub const RMI_EMPTY: u64 = 0;
/// `RmiRipas`: RAM.
pub const RMI_RAM: u64 = 1;
/// `RmiRipas`: DESTROYED.
pub const RMI_DESTROYED: u64 = 2;

/// `RmiResponse`: accept.
pub const RMI_ACCEPT: u64 = 0;
/// `RmiResponse`: reject.
pub const RMI_REJECT: u64 = 1;

/// `RmiPmuOverflowStatus`: not active.
pub const RMI_PMU_OVERFLOW_NOT_ACTIVE: u64 = 0;
/// `RmiPmuOverflowStatus`: active.
pub const RMI_PMU_OVERFLOW_ACTIVE: u64 = 1;

/// `RmiRealmFlags` bit 0: LPA2.
pub const RMI_REALM_FLAGS_LPA2: u64 = 1 << 0;
/// `RmiRealmFlags` bit 1: SVE.
pub const RMI_REALM_FLAGS_SVE: u64 = 1 << 1;
/// `RmiRealmFlags` bit 2: PMU.
pub const RMI_REALM_FLAGS_PMU: u64 = 1 << 2;

/// `RmiRecCreateFlags` bit 0: RUNNABLE.
pub const RMI_REC_CREATE_FLAGS_RUNNABLE: u64 = 1 << 0;

/// `RmiRecEnterFlags` bit 0: EMUL_MMIO.
pub const REC_ENTRY_FLAG_EMUL_MMIO: u64 = 1 << 0;
/// `RmiRecEnterFlags` bit 1: INJECT_SEA.
pub const REC_ENTRY_FLAG_INJECT_SEA: u64 = 1 << 1;
/// `RmiRecEnterFlags` bit 2: TRAP_WFI.
pub const REC_ENTRY_FLAG_TRAP_WFI: u64 = 1 << 2;
/// `RmiRecEnterFlags` bit 3: TRAP_WFE.
pub const REC_ENTRY_FLAG_TRAP_WFE: u64 = 1 << 3;
/// `RmiRecEnterFlags` bit 4: RIPAS_RESPONSE (1 = REJECT).
pub const REC_ENTRY_FLAG_RIPAS_RESPONSE: u64 = 1 << 4;

/// `RmiRecExitReason`: synchronous exception.
pub const RMI_EXIT_SYNC: u64 = 0;
/// `RmiRecExitReason`: IRQ.
pub const RMI_EXIT_IRQ: u64 = 1;
/// `RmiRecExitReason`: FIQ.
pub const RMI_EXIT_FIQ: u64 = 2;
/// `RmiRecExitReason`: PSCI.
pub const RMI_EXIT_PSCI: u64 = 3;
/// `RmiRecExitReason`: RIPAS change.
pub const RMI_EXIT_RIPAS_CHANGE: u64 = 4;
/// `RmiRecExitReason`: host call.
pub const RMI_EXIT_HOST_CALL: u64 = 5;
/// `RmiRecExitReason`: SError.
pub const RMI_EXIT_SERROR: u64 = 6;

/// Number of GPRs in `RmiRecParams` (`REC_CREATE_NR_GPRS`).
pub const REC_CREATE_NR_GPRS: usize = 8;
/// Number of GPRs in `RmiRecEnter`/`RmiRecExit` (`REC_RUN_GPRS` / `REC_EXIT_NR_GPRS`).
pub const REC_EXIT_NR_GPRS: usize = 31;
/// Number of GIC list registers in `RmiRecEnter`/`RmiRecExit` (`REC_GIC_NUM_LRS`).
pub const REC_GIC_NUM_LRS: usize = 16;
/// Maximum auxiliary granules of a REC (`MAX_REC_AUX_GRANULES`).
pub const MAX_REC_AUX_GRANULES: usize = 16;
/// Size of the Realm personalisation value (`RPV_SIZE`).
pub const RPV_SIZE: usize = 64;

/// A field of a feature register: `[shift + width - 1 : shift]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureField {
    /// Lowest bit.
    pub shift: u32,
    /// Width in bits.
    pub width: u32,
}

impl FeatureField {
    const fn new(shift: u32, width: u32) -> Self {
        Self { shift, width }
    }

    /// The mask of the field in place.
    pub const fn mask(self) -> u64 {
        ((1u64 << self.width) - 1) << self.shift
    }

    /// Extract the field from a register value.
    pub const fn get(self, reg: u64) -> u64 {
        (reg & self.mask()) >> self.shift
    }

    /// Insert `value` (truncated to the field width) into `reg`.
    pub const fn set(self, reg: u64, value: u64) -> u64 {
        (reg & !self.mask()) | ((value << self.shift) & self.mask())
    }
}

/// `RmiFeatureRegister0` fields — DEN0137 1.0-rel0 B4.4, TF-RMM `smc-rmi.h` `RMI_FEATURE_REGISTER_0_*`.
pub mod feature_register_0 {
    use super::FeatureField;

    /// `S2SZ[7:0]`: maximum IPA width.
    pub const S2SZ: FeatureField = FeatureField::new(0, 8);
    /// `LPA2[8]`.
    pub const LPA2: FeatureField = FeatureField::new(8, 1);
    /// `SVE_EN[9]`.
    pub const SVE_EN: FeatureField = FeatureField::new(9, 1);
    /// `SVE_VL[13:10]`: maximum SVE vector length, encoded VQ-1.
    pub const SVE_VL: FeatureField = FeatureField::new(10, 4);
    /// `NUM_BPS[19:14]`: breakpoints, count-1.
    pub const NUM_BPS: FeatureField = FeatureField::new(14, 6);
    /// `NUM_WPS[25:20]`: watchpoints, count-1.
    pub const NUM_WPS: FeatureField = FeatureField::new(20, 6);
    /// `PMU_EN[26]`.
    pub const PMU_EN: FeatureField = FeatureField::new(26, 1);
    /// `PMU_NUM_CTRS[31:27]`.
    pub const PMU_NUM_CTRS: FeatureField = FeatureField::new(27, 5);
    /// `HASH_SHA_256[32]`.
    pub const HASH_SHA_256: FeatureField = FeatureField::new(32, 1);
    /// `HASH_SHA_512[33]`.
    pub const HASH_SHA_512: FeatureField = FeatureField::new(33, 1);
    /// `GICV3_NUM_LRS[37:34]`: list registers, count-1.
    pub const GICV3_NUM_LRS: FeatureField = FeatureField::new(34, 4);
    /// `MAX_RECS_ORDER[41:38]`.
    pub const MAX_RECS_ORDER: FeatureField = FeatureField::new(38, 4);
}

/// The spec name of RMI command `fid` (`RMI_VERSION` …), `None` for an FID outside RMI 1.0.
pub const fn command_name(fid: u32) -> Option<&'static str> {
    Some(match fid {
        RMI_VERSION => "RMI_VERSION",
        RMI_GRANULE_DELEGATE => "RMI_GRANULE_DELEGATE",
        RMI_GRANULE_UNDELEGATE => "RMI_GRANULE_UNDELEGATE",
        RMI_DATA_CREATE => "RMI_DATA_CREATE",
        RMI_DATA_CREATE_UNKNOWN => "RMI_DATA_CREATE_UNKNOWN",
        RMI_DATA_DESTROY => "RMI_DATA_DESTROY",
        RMI_REALM_ACTIVATE => "RMI_REALM_ACTIVATE",
        RMI_REALM_CREATE => "RMI_REALM_CREATE",
        RMI_REALM_DESTROY => "RMI_REALM_DESTROY",
        RMI_REC_CREATE => "RMI_REC_CREATE",
        RMI_REC_DESTROY => "RMI_REC_DESTROY",
        RMI_REC_ENTER => "RMI_REC_ENTER",
        RMI_RTT_CREATE => "RMI_RTT_CREATE",
        RMI_RTT_DESTROY => "RMI_RTT_DESTROY",
        RMI_RTT_MAP_UNPROTECTED => "RMI_RTT_MAP_UNPROTECTED",
        RMI_RTT_READ_ENTRY => "RMI_RTT_READ_ENTRY",
        RMI_RTT_UNMAP_UNPROTECTED => "RMI_RTT_UNMAP_UNPROTECTED",
        RMI_PSCI_COMPLETE => "RMI_PSCI_COMPLETE",
        RMI_FEATURES => "RMI_FEATURES",
        RMI_RTT_FOLD => "RMI_RTT_FOLD",
        RMI_REC_AUX_COUNT => "RMI_REC_AUX_COUNT",
        RMI_RTT_INIT_RIPAS => "RMI_RTT_INIT_RIPAS",
        RMI_RTT_SET_RIPAS => "RMI_RTT_SET_RIPAS",
        _ => return None,
    })
}

/// The hash algorithm of a realm's measurements (`RmiHashAlgorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 (`RMI_HASH_SHA_256`).
    Sha256,
    /// SHA-512 (`RMI_HASH_SHA_512`).
    Sha512,
}

impl HashAlgorithm {
    /// The algorithm for an `RmiHashAlgorithm` value.
    pub fn from_rmi(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Sha256),
            1 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rmi_1_0_fid_has_its_name() {
        let named = (RMI_FID_FIRST..=RMI_FID_LAST)
            .filter_map(|fid| command_name(fid).map(|n| (fid, n)))
            .collect::<Vec<_>>();
        // 23 commands; 0x156, 0x160 and 0x163 are not RMI 1.0 commands.
        assert_eq!(named.len(), 23);
        assert_eq!(command_name(0xC400_0160), None);
        assert_eq!(command_name(RMI_REC_ENTER), Some("RMI_REC_ENTER"));
        assert_eq!(command_name(RMI_RTT_SET_RIPAS), Some("RMI_RTT_SET_RIPAS"));
    }

    #[test]
    fn packing_round_trips() {
        let x0 = pack_return_code(RmiStatus::ErrorRtt, 3);
        assert_eq!(x0, 0x304);
        assert_eq!(return_status(x0), RMI_ERROR_RTT);
        assert_eq!(return_index(x0), 3);
        assert_eq!(RmiStatus::try_from(x0), Ok(RmiStatus::ErrorRtt));
        assert_eq!(RmiStatus::try_from(5), Err(5));
    }

    #[test]
    fn qemu_max_register_decodes_as_observed() {
        use feature_register_0::*;
        let reg = 0x28f_3431_7f34_u64;
        assert_eq!(S2SZ.get(reg), 52);
        assert_eq!(LPA2.get(reg), 1);
        assert_eq!(SVE_EN.get(reg), 1);
        assert_eq!(SVE_VL.get(reg), 15);
        assert_eq!(NUM_BPS.get(reg), 5);
        assert_eq!(NUM_WPS.get(reg), 3);
        assert_eq!(PMU_EN.get(reg), 1);
        assert_eq!(PMU_NUM_CTRS.get(reg), 6);
        assert_eq!(HASH_SHA_256.get(reg), 1);
        assert_eq!(HASH_SHA_512.get(reg), 1);
        assert_eq!(GICV3_NUM_LRS.get(reg), 3);
        assert_eq!(MAX_RECS_ORDER.get(reg), 10);
    }
}
