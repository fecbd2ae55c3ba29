//! The RSI ABI as the realm sees it: function ids, status codes, enumerations and the realm-visible
//! structures `RsiRealmConfig` and `RsiHostCall`.
//!
//! DEN0137 1.0-rel0 (RSI 1.0), values as in TF-RMM `rmm-spec-v1.0-rel0` `lib/smc/include/smc-rsi.h`.
//! PSCI function ids are in [`crate::psci`].

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `RSI_VERSION`.
pub const RSI_VERSION: u32 = 0xC400_0190;
/// `RSI_FEATURES`.
pub const RSI_FEATURES: u32 = 0xC400_0191;
/// `RSI_MEASUREMENT_READ`.
pub const RSI_MEASUREMENT_READ: u32 = 0xC400_0192;
/// `RSI_MEASUREMENT_EXTEND`.
pub const RSI_MEASUREMENT_EXTEND: u32 = 0xC400_0193;
/// `RSI_ATTESTATION_TOKEN_INIT`.
pub const RSI_ATTESTATION_TOKEN_INIT: u32 = 0xC400_0194;
/// `RSI_ATTESTATION_TOKEN_CONTINUE`.
pub const RSI_ATTESTATION_TOKEN_CONTINUE: u32 = 0xC400_0195;
/// `RSI_REALM_CONFIG`.
pub const RSI_REALM_CONFIG: u32 = 0xC400_0196;
/// `RSI_IPA_STATE_SET`.
pub const RSI_IPA_STATE_SET: u32 = 0xC400_0197;
/// `RSI_IPA_STATE_GET`.
pub const RSI_IPA_STATE_GET: u32 = 0xC400_0198;
/// `RSI_HOST_CALL`.
pub const RSI_HOST_CALL: u32 = 0xC400_0199;

/// RSI ABI version 1.0 (`major << 16 | minor`).
pub const RSI_ABI_VERSION: u64 = 0x1_0000;

/// `RSI_SUCCESS`.
pub const RSI_SUCCESS: u64 = 0;
/// `RSI_ERROR_INPUT`.
pub const RSI_ERROR_INPUT: u64 = 1;
/// `RSI_ERROR_STATE`.
pub const RSI_ERROR_STATE: u64 = 2;
/// `RSI_INCOMPLETE`.
pub const RSI_INCOMPLETE: u64 = 3;
/// `RSI_ERROR_UNKNOWN`.
pub const RSI_ERROR_UNKNOWN: u64 = 4;

/// `RsiHashAlgorithm` SHA-256.
pub const RSI_HASH_SHA_256: u8 = 0;
/// `RsiHashAlgorithm` SHA-512.
pub const RSI_HASH_SHA_512: u8 = 1;

/// `RsiRipas` EMPTY.
pub const RSI_RIPAS_EMPTY: u64 = 0;
/// `RsiRipas` RAM.
pub const RSI_RIPAS_RAM: u64 = 1;
/// `RsiRipas` DESTROYED.
pub const RSI_RIPAS_DESTROYED: u64 = 2;

/// `RsiRipasChangeDestroyed` NO_CHANGE_DESTROYED (flags bit 0 clear).
pub const RSI_NO_CHANGE_DESTROYED: u64 = 0;
/// `RsiRipasChangeDestroyed` CHANGE_DESTROYED: a RIPAS change may leave DESTROYED.
pub const RSI_CHANGE_DESTROYED: u64 = 1;

/// `RsiResponse` ACCEPT.
pub const RSI_ACCEPT: u64 = 0;
/// `RsiResponse` REJECT.
pub const RSI_REJECT: u64 = 1;

/// Measurement slots: 0 = RIM, 1..=4 = REMs.
pub const MEASUREMENT_SLOT_NR: u64 = 5;
/// Largest value RSI_MEASUREMENT_EXTEND accepts, in bytes.
pub const MAX_EXTENDED_SIZE: u64 = 64;
/// Registers of an `RsiHostCall`.
pub const RSI_HOST_CALL_NR_GPRS: usize = 31;

/// `RsiRealmConfig` (DEN0137 1.0-rel0 B5.4, RSI types): written by RSI_REALM_CONFIG into a realm granule.
///
/// TF-RMM writes `ipa_width`, `hash_algo` and `rpv` only; other bytes of the granule keep their contents.
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RsiRealmConfig {
    /// IPA width in bits (the realm's s2sz).
    pub ipa_width: u64,
    /// `RsiHashAlgorithm` of the realm.
    pub hash_algo: u8,
    /// Reserved up to 0x200.
    pub reserved0: [u8; 0x1F7],
    /// Realm personalization value.
    pub rpv: [u8; 64],
    /// Reserved up to 0x1000.
    pub reserved1: [u8; 0xDC0],
}
const _: () = assert!(std::mem::offset_of!(RsiRealmConfig, hash_algo) == 0x8);
const _: () = assert!(std::mem::offset_of!(RsiRealmConfig, rpv) == 0x200);
const _: () = assert!(size_of::<RsiRealmConfig>() == 0x1000);

/// `RsiHostCall` (DEN0137 1.0-rel0): the realm's host call buffer, 0x100-aligned within one granule.
///
/// The spec's `imm` is 16 bits; TF-RMM reads and forwards it as 32 bits (`struct rsi_host_call`), so do we.
#[repr(C)]
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct RsiHostCall {
    /// Immediate value, forwarded to `RmiRecExit.imm`.
    pub imm: u32,
    /// Padding up to 0x8.
    pub reserved: u32,
    /// X0..X30 exchanged with the host.
    pub gprs: [u64; RSI_HOST_CALL_NR_GPRS],
}
const _: () = assert!(std::mem::offset_of!(RsiHostCall, gprs) == 0x8);
const _: () = assert!(size_of::<RsiHostCall>() == 0x100);
