//! The Realm Descriptor (RD): what RMI_REALM_CREATE records about a realm.

use crate::measurement::MeasurementChain;
use crate::s2tt::S2Ctx;

/// The state of a realm — DEN0137 1.0-rel0 A2.1 / TF-RMM `enum realm_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RealmState {
    /// `REALM_NEW`: being built; contents are measured.
    New,
    /// `REALM_ACTIVE`: RECs may run.
    Active,
    /// `REALM_SYSTEM_OFF`: the realm asked PSCI SYSTEM_OFF/RESET; RECs cannot run again.
    SystemOff,
}

/// A Realm Descriptor (TF-RMM `struct rd`).
#[derive(Clone, Debug)]
#[expect(
    dead_code,
    reason = "some fields are read only by RMI_REC_ENTER and RSI (rmmrun)"
)]
pub(crate) struct Realm {
    pub(crate) state: RealmState,
    pub(crate) s2: S2Ctx,
    /// RECs created so far (the next REC's index).
    pub(crate) rec_count: u64,
    /// Auxiliary granules each REC needs (TF-RMM: `MAX_REC_AUX_GRANULES`).
    pub(crate) num_rec_aux: u64,
    /// Realm personalisation value.
    pub(crate) rpv: [u8; 64],
    /// SVE enabled, and its VQ-1.
    pub(crate) sve_en: bool,
    pub(crate) sve_vq: u32,
    /// PMU enabled, and its counters.
    pub(crate) pmu_en: bool,
    pub(crate) pmu_num_ctrs: u32,
    /// The RIM, REMs and log, behind the asynchronous DATA_CREATE pipeline.
    pub(crate) measurements: MeasurementChain,
}
