//! From a configuration to everything a backend needs: the images sized, placed, mapped, the DTB generated,
//! the plan.
//!
//! Sizes come first: a regular file's length from its metadata and its header from its first 64 bytes, so an
//! image larger than the realm's RAM, or one the layout cannot place, is refused before its content is
//! touched. A regular file is then mapped read-only ([`ImageData::map`]), never read into a buffer.
//! A pipe (`--kernel <(…)`) is read as a stream, bounded by the realm's RAM; devices and directories are
//! refused.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::Read as _;
use std::sync::Arc;

use crate::config::{ImageKind, Layout, RealmConfig};
use crate::fdt::{self, FdtError, FdtInputs};
use crate::image::{ARM64_IMAGE_HEADER_SIZE, ImageData, ImageSource};
use crate::layout::{self, BootImage, ImageSizes, LayoutError, MemoryMap, QEMU_FIRMWARE_RAM};
use crate::plan::Plan;
use crate::size::ByteSize;

/// A realm ready to build: configuration, placement, image bytes (the DTB padded to its slot), plan.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The configuration.
    pub cfg: RealmConfig,
    /// Where everything goes.
    pub map: MemoryMap,
    /// The bytes of each placed image, in `map.images` order.
    pub images: Vec<(ImageKind, ImageData)>,
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
    /// A pipe holding more than the realm's RAM.
    #[error("the {kind} image {name} is a pipe holding more than the realm's {room} of RAM")]
    StreamTooLarge {
        /// Which image.
        kind: ImageKind,
        /// Its path.
        name: String,
        /// The realm's RAM.
        room: ByteSize,
    },
    /// Neither a regular file nor a pipe.
    #[error("the {kind} image {name} is {what}; give a regular file or a pipe")]
    NotAFile {
        /// Which image.
        kind: ImageKind,
        /// Its path.
        name: String,
        /// `a directory`, `a character device`, …
        what: &'static str,
    },
    /// The images do not fit.
    #[error("placing the images in the {layout} layout")]
    Layout {
        /// Layout.
        layout: Layout,
        /// Why.
        #[source]
        source: LayoutError,
    },
    /// The DTB could not be generated.
    #[error("generating the device tree")]
    Fdt(#[source] FdtError),
}

/// An image whose size is known and whose content is read only once it is placed.
enum Sized {
    /// A regular file of `len` bytes, open.
    File {
        file: File,
        len: u64,
        header: Vec<u8>,
    },
    /// Content already in memory (a pipe read whole, or given bytes).
    Bytes(Arc<[u8]>),
}

impl Sized {
    fn len(&self) -> u64 {
        match self {
            Self::File { len, .. } => *len,
            Self::Bytes(b) => b.len() as u64,
        }
    }

    fn boot_image(&self) -> BootImage {
        let header = match self {
            Self::File { header, .. } => &header[..],
            Self::Bytes(b) => &b[..b.len().min(ARM64_IMAGE_HEADER_SIZE)],
        };
        BootImage {
            len: self.len(),
            ..BootImage::of(header)
        }
    }
}

/// Size an image without reading more than its header (a pipe is read whole, up to `room` bytes).
fn size_image(kind: ImageKind, src: &ImageSource, room: u64) -> Result<Sized, PrepareError> {
    let name = src.name();
    let read_error = |source| PrepareError::Read {
        kind,
        name: name.clone(),
        source,
    };
    let sized = match src {
        ImageSource::Bytes { data, .. } => Sized::Bytes(Arc::clone(data)),
        ImageSource::File(path) => {
            let file = File::open(path).map_err(read_error)?;
            let meta = file.metadata().map_err(read_error)?;
            let ty = meta.file_type();
            if ty.is_file() {
                let mut header = Vec::with_capacity(ARM64_IMAGE_HEADER_SIZE);
                (&file)
                    .take(ARM64_IMAGE_HEADER_SIZE as u64)
                    .read_to_end(&mut header)
                    .map_err(read_error)?;
                Sized::File {
                    file,
                    len: meta.len(),
                    header,
                }
            } else if is_fifo(&ty) {
                let mut data = Vec::new();
                (&file)
                    .take(room.saturating_add(1))
                    .read_to_end(&mut data)
                    .map_err(read_error)?;
                if data.len() as u64 > room {
                    return Err(PrepareError::StreamTooLarge {
                        kind,
                        name,
                        room: ByteSize(room),
                    });
                }
                Sized::Bytes(Arc::from(data))
            } else {
                return Err(PrepareError::NotAFile {
                    kind,
                    name,
                    what: describe(&ty),
                });
            }
        }
    };
    if sized.len() == 0 {
        return Err(PrepareError::Empty { kind, name });
    }
    Ok(sized)
}

fn is_fifo(ty: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    ty.is_fifo() || ty.is_socket()
}

fn describe(ty: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if ty.is_dir() {
        "a directory"
    } else if ty.is_char_device() {
        "a character device"
    } else if ty.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// The content of a sized image: a regular file is mapped (its length checked against the size it was
/// placed with, in case it changed meanwhile), bytes are shared.
fn content(kind: ImageKind, name: String, sized: Sized) -> Result<ImageData, PrepareError> {
    let (file, len) = match sized {
        Sized::Bytes(b) => return Ok(ImageData::from(b)),
        Sized::File { file, len, .. } => (file, len),
    };
    let data = ImageData::map(&file).map_err(|source| PrepareError::Read {
        kind,
        name: name.clone(),
        source,
    })?;
    if data.len() as u64 != len {
        return Err(PrepareError::Read {
            kind,
            name,
            source: std::io::Error::other(format!(
                "its size changed from {len} to {} bytes while it was prepared",
                data.len()
            )),
        });
    }
    Ok(data)
}

/// Size, place, read, generate, plan. A kernel booted with a generated DTB and no command line gets
/// [`crate::linux::default_cmdline`] (in the returned [`Prepared::cfg`] too), so `measure` and `launch` agree.
pub fn prepare(cfg: &RealmConfig) -> Result<Prepared, PrepareError> {
    // The most any image can take: the realm's RAM (QEMU's firmware RAM at 0 included).
    let room = match cfg.layout {
        Layout::Kvmtool => cfg.mem,
        Layout::Qemu => cfg.mem.saturating_add(QEMU_FIRMWARE_RAM.size),
    };
    let mut sized = Vec::new();
    for (kind, src) in [
        (ImageKind::Kernel, &cfg.kernel),
        (ImageKind::Initrd, &cfg.initrd),
        (ImageKind::Firmware, &cfg.firmware),
        (ImageKind::Dtb, &cfg.dtb),
    ] {
        if let Some(src) = src {
            sized.push((kind, src.name(), size_image(kind, src, room)?));
        }
    }
    let of = |k: ImageKind| sized.iter().find(|s| s.0 == k).map(|s| &s.2);
    let sizes = ImageSizes {
        kernel: of(ImageKind::Kernel).map(Sized::boot_image),
        initrd: of(ImageKind::Initrd).map(Sized::len),
        firmware: of(ImageKind::Firmware).map(Sized::boot_image),
        dtb: of(ImageKind::Dtb).map(Sized::len),
    };
    let map = layout::place(cfg, &sizes).map_err(|source| PrepareError::Layout {
        layout: cfg.layout,
        source,
    })?;
    // A kernel without a command line (and without a DTB of its own) gets one that boots it as a realm.
    let mut cfg = cfg.clone();
    if cfg.kernel.is_some() && cfg.dtb.is_none() && cfg.cmdline.is_empty() {
        cfg.cmdline = crate::linux::default_cmdline(&map);
    }
    let cfg = &cfg;
    let mut bytes = Vec::new();
    for (kind, name, s) in sized {
        bytes.push((kind, content(kind, name, s)?));
    }
    if !bytes.iter().any(|(k, _)| *k == ImageKind::Dtb) {
        bytes.push((ImageKind::Dtb, ImageData::from(generate_dtb(cfg, &map)?)));
    }
    let images = map
        .images
        .iter()
        .filter_map(|img| bytes.iter().find(|(k, _)| *k == img.kind).cloned())
        .collect();
    let plan = Plan::new(cfg, &map);
    Ok(Prepared {
        cfg: cfg.clone(),
        map,
        images,
        plan,
    })
}

/// The generated DTB, refused when larger than the layout's slot.
fn generate_dtb(cfg: &RealmConfig, map: &MemoryMap) -> Result<Arc<[u8]>, PrepareError> {
    let inputs = FdtInputs {
        bootargs: &cfg.cmdline,
        cpus: cfg.cpus,
        pmu: cfg.params.pmu_counters.is_some(),
    };
    let generated = fdt::generate(map, &inputs).map_err(PrepareError::Fdt)?;
    if generated.len() as u64 > map.dtb.size {
        return Err(PrepareError::Layout {
            layout: cfg.layout,
            source: LayoutError::DtbTooLarge {
                len: generated.len() as u64,
                layout: cfg.layout,
                slot: ByteSize(map.dtb.size),
            },
        });
    }
    Ok(Arc::from(generated))
}

#[cfg(test)]
mod tests;
