//! `measure`: build a plan on a fresh simulated platform and read the realm's measurements back — the
//! reference RIM, computed by building the realm through [`crate::build::realm`] (the path `launch` takes),
//! not by a second formula. The platform is a measuring one ([`SimulatedBackend::measuring`]): it copies no
//! byte of the images (mapped from their files, hashed in place) and keeps no DATA contents, with the same
//! statuses, RIM and log as a platform that runs the realm.
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
    let backend = SimulatedBackend::measuring(prepared.plan.abi, &prepared.cfg.platform);
    prehash_images(&backend, prepared);
    let built = build::realm(&backend, prepared, progress).map_err(MeasureError::Build)?;
    let m = built.measurements().ok_or(MeasureError::NoMeasurements)?;
    let report = MeasureReport {
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
    };
    // The machine is discarded with the realm: no page-by-page teardown.
    backend.power_off();
    drop(built);
    Ok(report)
}

/// Start hashing the pages of the images the realm measures on the platform's hash pool
/// ([`realm_rmm::Rmm::prehash`]) before the realm is built, so that work overlaps the realm's creation and
/// the kernel's per-page work; RMI_DATA_CREATE then finds each page's hash ready. The images are those the
/// platform maps into guest memory (a page-aligned load address) and populates measured, hashed with the
/// realm's algorithm (`Step::ConfigureHash`, else SHA-256). Statuses, RIM and log are unchanged.
fn prehash_images(backend: &SimulatedBackend, prepared: &Prepared) {
    let algo = prepared
        .plan
        .steps
        .iter()
        .find_map(|s| match s {
            Step::ConfigureHash { algo } => Some(*algo),
            _ => None,
        })
        .unwrap_or(crate::config::HashAlgorithm::Sha256);
    for (img, (kind, data)) in prepared.map.images.iter().zip(&prepared.images) {
        if !prepared.cfg.unmeasured.contains(kind) && img.load.base.is_multiple_of(4096) {
            backend.rmm().prehash(data.page_source(), algo);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::build::Quiet;
    use crate::config::{AbiRevision, RealmConfig};
    use crate::image::{ImageSource, filler, synthetic_image};
    use crate::prepare::prepare;

    /// Files removed on drop.
    struct Files(Vec<std::path::PathBuf>);
    impl Drop for Files {
        fn drop(&mut self) {
            for p in &self.0 {
                let _ = std::fs::remove_file(p);
            }
        }
    }

    /// The demo realm with its kernel and initrd (of odd sizes: partial last pages) as files or as bytes.
    fn config(abi: AbiRevision, files: Option<&mut Files>) -> RealmConfig {
        let kernel = synthetic_image(3 * 4096 + 100, 1);
        let initrd = filler(70_001, 2);
        let mut cfg = crate::demo::config(abi);
        let (k, i) = match files {
            Some(files) => {
                let mut write = |name: &str, data: &[u8]| {
                    let path = std::env::temp_dir().join(format!(
                        "realm-measure-test-{}-{abi}-{name}",
                        std::process::id()
                    ));
                    std::fs::write(&path, data).unwrap();
                    files.0.push(path.clone());
                    ImageSource::File(path)
                };
                (write("kernel", &kernel), write("initrd", &initrd))
            }
            None => (
                ImageSource::Bytes {
                    name: "kernel".into(),
                    data: Arc::from(kernel),
                },
                ImageSource::Bytes {
                    name: "initrd".into(),
                    data: Arc::from(initrd),
                },
            ),
        };
        cfg.kernel = Some(k);
        cfg.initrd = Some(i);
        cfg
    }

    #[test]
    fn measure_of_mapped_files_equals_a_build_that_copies_and_keeps_contents() {
        for abi in [AbiRevision::V10, AbiRevision::V12] {
            let mut files = Files(Vec::new());
            let mapped = prepare(&config(abi, Some(&mut files))).unwrap();
            let measured = measure_explained(&mapped, &mut Quiet, true).unwrap();
            // The path `launch` takes: images copied into guest memory, populate copies, contents kept.
            let held = prepare(&config(abi, None)).unwrap();
            let backend = SimulatedBackend::for_platform(abi, &held.cfg.platform);
            let built = build::realm(&backend, &held, &mut Quiet).unwrap();
            let copied = built.measurements().unwrap();
            assert_eq!(measured.rim, hex::encode(&copied.rim), "{abi}: RIMs differ");
            assert_eq!(
                measured.extensions,
                built.measurement_log().unwrap(),
                "{abi}: measurement logs differ"
            );
            assert!(
                measured.extensions.len() > 20,
                "{abi}: the kernel and initrd pages are in the log"
            );
        }
    }

    #[test]
    fn the_measuring_platform_refuses_to_run_the_realm() {
        let p = prepare(&config(AbiRevision::V12, None)).unwrap();
        let backend = SimulatedBackend::measuring(AbiRevision::V12, &p.cfg.platform);
        let built = build::realm(&backend, &p, &mut Quiet).unwrap();
        assert!(
            !crate::backend::KvmBackend::runs_guest_code(&backend),
            "no code runs there"
        );
        let res = crate::backend::KvmBackend::ioctl(
            &backend,
            built.vcpus[0],
            realm_uapi::arm64::KVM_RUN,
            crate::backend::IoctlArg::Val(0),
        );
        assert!(
            res.is_err(),
            "KVM_RUN entered a realm with no DATA contents: {res:?}"
        );
    }
}
