//! From a configuration to everything a backend needs: the images read, placed, the DTB generated, the plan.
#![forbid(unsafe_code)]

use std::sync::Arc;

use crate::config::{ImageKind, RealmConfig};
use crate::fdt::{self, FdtError, FdtInputs};
use crate::image::ImageSource;
use crate::layout::{self, ImageSizes, LayoutError, MemoryMap};
use crate::plan::Plan;

/// A realm ready to build: configuration, placement, image bytes (the DTB padded to its slot), plan.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The configuration.
    pub cfg: RealmConfig,
    /// Where everything goes.
    pub map: MemoryMap,
    /// The bytes of each placed image, in `map.images` order.
    pub images: Vec<(ImageKind, Arc<[u8]>)>,
    /// The steps.
    pub plan: Plan,
}

/// Why a configuration cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// An image file could not be read.
    #[error("reading the {kind} image {name}")]
    Read {
        /// Which image.
        kind: ImageKind,
        /// Its path.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An empty image.
    #[error("the {kind} image {name} is empty")]
    Empty {
        /// Which image.
        kind: ImageKind,
        /// Its path.
        name: String,
    },
    /// The images do not fit.
    #[error("placing the images in the {layout} layout")]
    Layout {
        /// Layout.
        layout: crate::config::Layout,
        /// Why.
        #[source]
        source: LayoutError,
    },
    /// The DTB could not be generated.
    #[error("generating the device tree")]
    Fdt(#[source] FdtError),
}

fn read(kind: ImageKind, src: Option<&ImageSource>) -> Result<Option<Arc<[u8]>>, PrepareError> {
    let Some(src) = src else { return Ok(None) };
    let bytes = src.read().map_err(|source| PrepareError::Read {
        kind,
        name: src.name(),
        source,
    })?;
    if bytes.is_empty() {
        return Err(PrepareError::Empty {
            kind,
            name: src.name(),
        });
    }
    Ok(Some(bytes))
}

/// Read, place, generate, plan.
pub fn prepare(cfg: &RealmConfig) -> Result<Prepared, PrepareError> {
    let kernel = read(ImageKind::Kernel, cfg.kernel.as_ref())?;
    let initrd = read(ImageKind::Initrd, cfg.initrd.as_ref())?;
    let firmware = read(ImageKind::Firmware, cfg.firmware.as_ref())?;
    let user_dtb = read(ImageKind::Dtb, cfg.dtb.as_ref())?;
    let sizes = ImageSizes {
        kernel: kernel.as_deref(),
        initrd: initrd.as_ref().map(|b| b.len() as u64),
        firmware: firmware.as_deref(),
        dtb: user_dtb.as_ref().map(|b| b.len() as u64),
    };
    let map = layout::place(cfg, &sizes).map_err(|source| PrepareError::Layout {
        layout: cfg.layout,
        source,
    })?;
    let dtb = match user_dtb {
        Some(b) => b,
        None => {
            let inputs = FdtInputs {
                bootargs: &cfg.cmdline,
                cpus: cfg.cpus,
                pmu: cfg.params.pmu_counters.is_some(),
            };
            let generated = fdt::generate(&map, &inputs).map_err(PrepareError::Fdt)?;
            if generated.len() as u64 > map.dtb.size {
                return Err(PrepareError::Layout {
                    layout: cfg.layout,
                    source: LayoutError::DtbTooLarge {
                        len: generated.len() as u64,
                        layout: cfg.layout,
                        slot: crate::size::ByteSize(map.dtb.size),
                    },
                });
            }
            Arc::from(generated)
        }
    };
    let mut images = Vec::new();
    for img in &map.images {
        let bytes = match img.kind {
            ImageKind::Kernel => kernel.clone(),
            ImageKind::Initrd => initrd.clone(),
            ImageKind::Firmware => firmware.clone(),
            ImageKind::Dtb => Some(dtb.clone()),
        };
        if let Some(b) = bytes {
            images.push((img.kind, b));
        }
    }
    let plan = Plan::new(cfg, &map);
    Ok(Prepared {
        cfg: cfg.clone(),
        map,
        images,
        plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigFile;

    #[test]
    fn missing_file_names_the_image() {
        let cfg = ConfigFile {
            kernel: Some("/nonexistent/Image".into()),
            ..ConfigFile::default()
        }
        .validate()
        .unwrap();
        let e = prepare(&cfg).unwrap_err();
        assert_eq!(e.to_string(), "reading the kernel image /nonexistent/Image");
    }
}
