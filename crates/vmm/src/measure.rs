//! `measure`: build a plan on a fresh simulated platform and read the realm's measurements back — the
//! reference RIM, computed by building the realm through [`crate::build::realm`] (the path `launch` takes),
//! not by a second formula.
#![forbid(unsafe_code)]

use serde::Serialize;

use crate::backend::simulated::SimulatedBackend;
use crate::backend::{BackendError, Extension};
use crate::build::{self, BuildStats, Progress};
use crate::plan::Step;
use crate::prepare::Prepared;

/// What `measure` found.
#[derive(Clone, Debug, Serialize)]
pub struct MeasureReport {
    /// The measurement algorithm (serialized `sha256` / `sha512`).
    #[serde(serialize_with = "crate::config::names::serialize_hash")]
    pub hash_algo: crate::config::HashAlgorithm,
    /// The RIM, lowercase hex.
    pub rim: String,
    /// REM0..REM3, hex.
    pub rems: Vec<String>,
    /// The plan's steps.
    pub steps: Vec<Step>,
    /// Every RIM extension (empty unless asked for: the log of a large realm is long).
    #[serde(skip)]
    pub extensions: Vec<Extension>,
    /// Figures.
    #[serde(skip)]
    pub stats: BuildStats,
}

/// A failed `measure`.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// Building the realm failed.
    #[error("building the realm on the simulated backend")]
    Build(#[source] BackendError),
    /// The platform gave no measurements back.
    #[error("the simulated platform has no measurements for the realm")]
    NoMeasurements,
}

/// Build `prepared` on a fresh simulated platform and read its measurements back.
pub fn measure(
    prepared: &Prepared,
    progress: &mut dyn Progress,
) -> Result<MeasureReport, MeasureError> {
    measure_explained(prepared, progress, false)
}

/// [`measure`], with every RIM extension in [`MeasureReport::extensions`] when `explain`.
pub fn measure_explained(
    prepared: &Prepared,
    progress: &mut dyn Progress,
    explain: bool,
) -> Result<MeasureReport, MeasureError> {
    let backend = SimulatedBackend::for_platform(prepared.plan.abi, &prepared.cfg.platform);
    let built = build::realm(&backend, prepared, progress).map_err(MeasureError::Build)?;
    let m = built.measurements().ok_or(MeasureError::NoMeasurements)?;
    Ok(MeasureReport {
        hash_algo: m.hash_algo,
        rim: hex::encode(&m.rim),
        rems: m.rems.iter().map(hex::encode).collect(),
        steps: prepared.plan.steps.clone(),
        extensions: if explain {
            built.measurement_log().unwrap_or_default()
        } else {
            Vec::new()
        },
        stats: built.stats,
    })
}
