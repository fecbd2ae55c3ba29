//! Software RMM for Arm CCA, modelling DEN0137 1.0-rel0 (RMI 1.0, RSI 1.0, PSCI as the RMM handles it).
//!
//! Physical memory is simulated (sparse, 4 KiB granules, each in the Non-secure or the Realm PAS). The host
//! reaches this crate only through the two contracts of `realm-rmi` ([`host`]): [`host::Rmi::call`] (an SMC: FID and
//! x1..x6 in, x0..x6 out) and [`host::HostMemory`] (loads and stores to Non-secure physical memory, refused
//! for Realm granules as a granule protection fault would be).
//!
//! Behaviour follows TF-RMM at tag `rmm-spec-v1.0-rel0` where the specification text is silent.
//! Not modelled: GIC/timer hardware state beyond what RMI_REC_ENTER/EXIT carry.
#![forbid(unsafe_code)]

/// The RMI/RSI ABI, from `realm-rmi` (one definition for the RMM and its hosts).
pub use realm_rmi as abi;
/// The host ↔ RMM contract, from `realm-rmi`.
pub use realm_rmi::host;

pub mod cpu;
pub mod granule;
mod invariants;
pub mod measurement;
pub(crate) mod memory;
pub mod platform;
pub mod psci;
pub mod realm;
pub(crate) mod rec;
pub mod replay;
pub(crate) mod rmi;
mod rmm;
pub(crate) mod rsi;
pub(crate) mod s2tt;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use measurement::{HashAlgorithm, MeasurementEvent, MeasurementKind, Measurements};
pub use memory::GRANULE_SIZE;
pub use platform::{DataContents, DramRegion, FeatureProfile, Platform, PlatformConfig};
pub use realm::RealmState;
pub use rmm::Rmm;
