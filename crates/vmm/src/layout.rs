//! Where everything goes: RAM, images, DTB, the boot registers and the IPA size, as the real VMMs decide it.
//!
//! - kvmtool (`arm/kvm.c` `kvm__arch_load_kernel_image` / `kvm__load_firmware`, `arm/aarch64/kvm.c`
//!   `kvm__get_vm_type`, `arm/aarch64/realm.c` `kvm_arm_realm_populate_ram`): RAM at 0x8000_0000; the kernel at
//!   RAM + text_offset; the 64 KiB DTB at `ALIGN(RAM + min(RAM size, 256 MiB) - 1 - (64 KiB + 2 MiB), 2 MiB)`;
//!   the initrd right below it, 4-byte aligned; firmware at the start of RAM with the DTB after it, 2 MiB aligned;
//!   x0 = DTB, PC = the kernel's (or firmware's) load address; IPA bits = max(32, fls(last RAM byte)) + 1;
//!   populate regions rounded out to 64 KiB.
//! - QEMU virt (`hw/arm/boot.c`, `target/arm/kvm-rme.c`; cca-realm-measurements `docs/realm-vm.md` "QEMU virt"):
//!   RAM at 0x4000_0000; the kernel at RAM + text_offset; the initrd at max(RAM + min(RAM/2, 128 MiB), kernel end),
//!   4 KiB aligned; the 1 MiB DTB after the initrd, 2 MiB aligned; firmware at IPA 0 in a 128 MiB firmware RAM
//!   region with the DTB at the start of RAM and x0 = 0, PC = 0; IPA bits = 41 (the high PCIe window ends at
//!   1 TiB, plus the shared-alias bit); populate regions rounded out to 4 KiB (the host page).
#![forbid(unsafe_code)]

use std::fmt;

use serde::Serialize;

use crate::config::{ImageKind, Layout, RealmConfig};
use crate::image::KernelPlacement;
use crate::size::{ByteSize, GIB, KIB, MIB};

/// A guest-physical (IPA) range `[base, base + size)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct IpaRange {
    /// First byte.
    pub base: u64,
    /// Length in bytes.
    pub size: u64,
}

impl IpaRange {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.base + self.size
    }
    /// Whether the two ranges share a byte.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.base < other.end() && other.base < self.end()
    }
    /// The range rounded out to `align` (a power of two).
    pub fn rounded_out(&self, align: u64) -> Self {
        let base = self.base & !(align - 1);
        let end = self.end().next_multiple_of(align);
        Self {
            base,
            size: end - base,
        }
    }
}

impl fmt::Display for IpaRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}..{:#x}", self.base, self.end())
    }
}

/// kvmtool: the base of RAM.
pub const KVMTOOL_RAM_BASE: u64 = 0x8000_0000;
/// kvmtool: `FDT_MAX_SIZE`.
pub const KVMTOOL_DTB_SIZE: u64 = 64 * KIB;
/// kvmtool: populate granularity (`kvm_arm_realm_populate_ram` rounds to `SZ_64K`).
pub const KVMTOOL_POPULATE_ALIGN: u64 = 64 * KIB;
/// QEMU virt: the base of RAM.
pub const QEMU_RAM_BASE: u64 = 0x4000_0000;
/// QEMU virt: the DTB buffer (`FDT_MAX_SIZE` of `create_device_tree`).
pub const QEMU_DTB_SIZE: u64 = MIB;
/// QEMU virt: the firmware RAM at IPA 0 (the two 64 MiB flash banks).
pub const QEMU_FIRMWARE_RAM: IpaRange = IpaRange {
    base: 0,
    size: 128 * MIB,
};
/// QEMU virt: the most RAM whose memory map keeps the high regions at 256 GiB.
pub const QEMU_MAX_RAM: u64 = 255 * GIB;
/// QEMU virt with highmem: the IPA size (40 bits for the 1 TiB map + 1 for the shared alias).
pub const QEMU_IPA_BITS: u8 = 41;
const FDT_ALIGN: u64 = 2 * MIB;
const LOWMEM_LIMIT: u64 = 256 * MIB;

/// A UART the DTB describes and `launch` emulates (an ns16550a, the device vm-superio provides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct UartInfo {
    /// MMIO window.
    pub range: IpaRange,
    /// SPI number.
    pub spi: u32,
}

/// An image placed in guest memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlacedImage {
    /// Which image.
    pub kind: ImageKind,
    /// Where its bytes go (`load.size` = the bytes loaded; the DTB's slot size for the DTB).
    pub load: IpaRange,
    /// The range populated, `load` rounded out to the VMM's granularity.
    pub populate: IpaRange,
    /// Whether its content is measured.
    pub measured: bool,
}

/// The complete placement of a realm VM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemoryMap {
    /// The layout.
    pub layout: Layout,
    /// Guest RAM slots, ascending (QEMU firmware boot adds the firmware RAM at 0).
    pub ram: Vec<IpaRange>,
    /// Images, ascending by IPA.
    pub images: Vec<PlacedImage>,
    /// The DTB slot.
    pub dtb: IpaRange,
    /// The initrd's bytes, for `/chosen`.
    pub initrd: Option<IpaRange>,
    /// Boot PC of vCPU 0.
    pub pc: u64,
    /// Boot x0 of vCPU 0.
    pub x0: u64,
    /// IPA size.
    pub ipa_bits: u8,
    /// The UART.
    pub uart: UartInfo,
    /// GICv3 distributor.
    pub gic_dist: IpaRange,
    /// GICv3 redistributors.
    pub gic_redist: IpaRange,
    /// The kernel header decision, if a kernel is booted.
    pub kernel: Option<KernelPlacement>,
}

/// The sizes the placement depends on.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageSizes<'a> {
    /// The kernel's bytes.
    pub kernel: Option<&'a [u8]>,
    /// The initrd's length.
    pub initrd: Option<u64>,
    /// The firmware's bytes.
    pub firmware: Option<&'a [u8]>,
    /// A user DTB's length.
    pub dtb: Option<u64>,
}

/// A configuration whose images cannot be placed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// Less RAM than the layout needs at all.
    #[error("{mem} of RAM is too little for the {layout} layout (needs at least {needed})")]
    TooLittleMemory {
        /// Layout.
        layout: Layout,
        /// Given.
        mem: ByteSize,
        /// Minimum.
        needed: ByteSize,
    },
    /// The kernel does not fit in low memory.
    #[error("kernel image of {size} does not fit in RAM below {limit:#x}")]
    KernelTooBig {
        /// File size.
        size: ByteSize,
        /// The end of usable memory.
        limit: u64,
    },
    /// DTB over the kernel.
    #[error(
        "the DTB at {dtb:#x} overlaps the kernel image (which ends at {kernel_end:#x}); give more memory"
    )]
    DtbOverlapsKernel {
        /// DTB address.
        dtb: u64,
        /// End of kernel.
        kernel_end: u64,
    },
    /// Initrd over the kernel.
    #[error(
        "the initrd at {initrd:#x} overlaps the kernel image (which ends at {kernel_end:#x}); give more memory"
    )]
    InitrdOverlapsKernel {
        /// Initrd address.
        initrd: u64,
        /// End of kernel.
        kernel_end: u64,
    },
    /// Initrd past the end of RAM.
    #[error("the initrd ({size}) does not fit in RAM after the kernel")]
    InitrdDoesNotFit {
        /// Initrd size.
        size: ByteSize,
    },
    /// The firmware does not fit.
    #[error("firmware image of {size} does not fit in {room} of {region}")]
    FirmwareTooBig {
        /// Size.
        size: ByteSize,
        /// Room.
        room: ByteSize,
        /// Where.
        region: &'static str,
    },
    /// No room for the DTB.
    #[error("no room for the {size} DTB at {dtb:#x}: RAM ends at {ram_end:#x}")]
    DtbDoesNotFit {
        /// DTB slot.
        size: ByteSize,
        /// Address.
        dtb: u64,
        /// End of RAM.
        ram_end: u64,
    },
    /// A user DTB bigger than the slot.
    #[error("the DTB is {len} bytes; the {layout} layout has a {slot} slot")]
    DtbTooLarge {
        /// Length.
        len: u64,
        /// Layout.
        layout: Layout,
        /// Slot.
        slot: ByteSize,
    },
    /// QEMU layout with more than 255 GiB.
    #[error("the qemu layout supports at most 255 GiB of RAM (got {0})")]
    QemuRamTooLarge(ByteSize),
    /// `--ipa-bits` below what the layout needs.
    #[error("--ipa-bits {given} is too small: the {layout} memory map needs {needed}")]
    IpaBitsTooSmall {
        /// Given.
        given: u8,
        /// Needed.
        needed: u8,
        /// Layout.
        layout: Layout,
    },
    /// Two images overlap once rounded to the populate granularity.
    #[error(
        "the {a} {ra} and {b} {rb} images overlap once rounded to {align} (the layout's populate granularity)"
    )]
    ImagesOverlap {
        /// First.
        a: ImageKind,
        /// Its populate range.
        ra: IpaRange,
        /// Second.
        b: ImageKind,
        /// Its populate range.
        rb: IpaRange,
        /// Granularity.
        align: ByteSize,
    },
}

/// Highest set bit, 1-based (Linux `fls_long`).
fn fls(v: u64) -> u8 {
    u8::try_from(64 - v.leading_zeros()).unwrap_or(64)
}

/// The IPA size the layout's VMM asks for.
pub fn default_ipa_bits(layout: Layout, mem: u64) -> u8 {
    match layout {
        Layout::Kvmtool => fls(KVMTOOL_RAM_BASE + mem - 1).max(32) + 1,
        Layout::Qemu => QEMU_IPA_BITS,
    }
}

/// Place a configuration's images.
pub fn place(cfg: &RealmConfig, sizes: &ImageSizes<'_>) -> Result<MemoryMap, LayoutError> {
    let needed = default_ipa_bits(cfg.layout, cfg.mem);
    let ipa_bits = match cfg.ipa_bits {
        Some(given) if given < needed => {
            return Err(LayoutError::IpaBitsTooSmall {
                given,
                needed,
                layout: cfg.layout,
            });
        }
        Some(given) => given,
        None => needed,
    };
    let mut map = match cfg.layout {
        Layout::Kvmtool => kvmtool(cfg, sizes)?,
        Layout::Qemu => qemu(cfg, sizes)?,
    };
    map.ipa_bits = ipa_bits;
    if let Some(len) = sizes.dtb
        && len > map.dtb.size
    {
        return Err(LayoutError::DtbTooLarge {
            len,
            layout: cfg.layout,
            slot: ByteSize(map.dtb.size),
        });
    }
    let align = match cfg.layout {
        Layout::Kvmtool => KVMTOOL_POPULATE_ALIGN,
        Layout::Qemu => 4 * KIB,
    };
    for img in &mut map.images {
        img.populate = img.load.rounded_out(align);
        img.measured = !cfg.unmeasured.contains(&img.kind);
    }
    map.images.sort_by_key(|i| i.load.base);
    for pair in map.images.windows(2) {
        if pair[0].populate.overlaps(&pair[1].populate) {
            return Err(LayoutError::ImagesOverlap {
                a: pair[0].kind,
                ra: pair[0].populate,
                b: pair[1].kind,
                rb: pair[1].populate,
                align: ByteSize(align),
            });
        }
    }
    Ok(map)
}

fn image(kind: ImageKind, base: u64, size: u64) -> PlacedImage {
    let load = IpaRange { base, size };
    PlacedImage {
        kind,
        load,
        populate: load,
        measured: true,
    }
}

fn too_little(layout: Layout, mem: u64, needed: u64) -> LayoutError {
    LayoutError::TooLittleMemory {
        layout,
        mem: ByteSize(mem),
        needed: ByteSize(needed),
    }
}

fn kvmtool(cfg: &RealmConfig, sizes: &ImageSizes<'_>) -> Result<MemoryMap, LayoutError> {
    let ram = IpaRange {
        base: KVMTOOL_RAM_BASE,
        size: cfg.mem,
    };
    // The smallest RAM whose DTB slot computation stays inside RAM: 2 MiB + 64 KiB below the limit.
    if cfg.mem < 4 * MIB {
        return Err(too_little(Layout::Kvmtool, cfg.mem, 4 * MIB));
    }
    let redist_size = u64::from(cfg.cpus) * 0x2_0000;
    let mut map = MemoryMap {
        layout: Layout::Kvmtool,
        ram: vec![ram],
        images: Vec::new(),
        dtb: IpaRange {
            base: 0,
            size: KVMTOOL_DTB_SIZE,
        },
        initrd: None,
        pc: 0,
        x0: 0,
        ipa_bits: 0,
        uart: UartInfo {
            range: IpaRange {
                base: 0x0100_0000,
                size: 8,
            },
            spi: 0,
        },
        gic_dist: IpaRange {
            base: 0x3fff_0000,
            size: 0x1_0000,
        },
        gic_redist: IpaRange {
            base: 0x3fff_0000 - redist_size,
            size: redist_size,
        },
        kernel: None,
    };
    if let Some(fw) = sizes.firmware {
        // kvm__load_firmware: at the start of RAM; DTB after the image (its Image size if it has a header).
        let fw_size = fw.len() as u64;
        if fw_size > ram.size {
            return Err(LayoutError::FirmwareTooBig {
                size: ByteSize(fw_size),
                room: ByteSize(ram.size),
                region: "RAM",
            });
        }
        let mem_size = crate::image::Arm64ImageHeader::parse(fw)
            .map(|h| h.image_size)
            .ok()
            .filter(|s| *s != 0)
            .unwrap_or(fw_size);
        let dtb = (ram.base + mem_size).next_multiple_of(FDT_ALIGN);
        if dtb + KVMTOOL_DTB_SIZE > ram.end() {
            return Err(LayoutError::DtbDoesNotFit {
                size: ByteSize(KVMTOOL_DTB_SIZE),
                dtb,
                ram_end: ram.end(),
            });
        }
        map.images
            .push(image(ImageKind::Firmware, ram.base, fw_size));
        map.dtb.base = dtb;
        map.pc = ram.base;
    } else if let Some(kernel) = sizes.kernel {
        let limit = ram.base + ram.size.min(LOWMEM_LIMIT) - 1; // inclusive, as kvmtool's `limit`
        let placement = KernelPlacement::of(kernel);
        let load = ram.base + placement.text_offset;
        let file_size = kernel.len() as u64;
        if load >= limit || file_size > limit - load {
            return Err(LayoutError::KernelTooBig {
                size: ByteSize(file_size),
                limit: limit + 1,
            });
        }
        let kernel_end = load + placement.mem_size;
        let dtb = (limit - (KVMTOOL_DTB_SIZE + FDT_ALIGN)).next_multiple_of(FDT_ALIGN);
        if dtb < kernel_end {
            return Err(LayoutError::DtbOverlapsKernel { dtb, kernel_end });
        }
        map.images.push(image(ImageKind::Kernel, load, file_size));
        if let Some(initrd_size) = sizes.initrd {
            let initrd = dtb
                .saturating_sub(initrd_size.saturating_add(4))
                .next_multiple_of(4);
            if initrd < kernel_end {
                return Err(LayoutError::InitrdOverlapsKernel { initrd, kernel_end });
            }
            map.images
                .push(image(ImageKind::Initrd, initrd, initrd_size));
            map.initrd = Some(IpaRange {
                base: initrd,
                size: initrd_size,
            });
        }
        map.dtb.base = dtb;
        map.pc = load;
        map.kernel = Some(placement);
    }
    map.x0 = map.dtb.base;
    map.images
        .push(image(ImageKind::Dtb, map.dtb.base, map.dtb.size));
    Ok(map)
}

fn qemu(cfg: &RealmConfig, sizes: &ImageSizes<'_>) -> Result<MemoryMap, LayoutError> {
    if cfg.mem > QEMU_MAX_RAM {
        return Err(LayoutError::QemuRamTooLarge(ByteSize(cfg.mem)));
    }
    let ram = IpaRange {
        base: QEMU_RAM_BASE,
        size: cfg.mem,
    };
    if cfg.mem < 4 * MIB {
        return Err(too_little(Layout::Qemu, cfg.mem, 4 * MIB));
    }
    let mut map = MemoryMap {
        layout: Layout::Qemu,
        ram: vec![ram],
        images: Vec::new(),
        dtb: IpaRange {
            base: ram.base,
            size: QEMU_DTB_SIZE,
        },
        initrd: None,
        pc: 0,
        x0: 0,
        ipa_bits: 0,
        uart: UartInfo {
            range: IpaRange {
                base: 0x0900_0000,
                size: 0x1000,
            },
            spi: 1,
        },
        gic_dist: IpaRange {
            base: 0x0800_0000,
            size: 0x1_0000,
        },
        gic_redist: IpaRange {
            base: 0x080a_0000,
            size: 0x00f6_0000,
        },
        kernel: None,
    };
    if let Some(fw) = sizes.firmware {
        let fw_size = fw.len() as u64;
        if fw_size > QEMU_FIRMWARE_RAM.size {
            return Err(LayoutError::FirmwareTooBig {
                size: ByteSize(fw_size),
                room: ByteSize(QEMU_FIRMWARE_RAM.size),
                region: "the firmware RAM at 0",
            });
        }
        map.ram.insert(0, QEMU_FIRMWARE_RAM);
        map.images.push(image(ImageKind::Firmware, 0, fw_size));
        // DTB at the start of RAM; the firmware finds it there; PC = 0, x0 = 0.
    } else if let Some(kernel) = sizes.kernel {
        let placement = KernelPlacement::of(kernel);
        let load = ram.base + placement.text_offset;
        let file_size = kernel.len() as u64;
        if load + file_size > ram.end() {
            return Err(LayoutError::KernelTooBig {
                size: ByteSize(file_size),
                limit: ram.end(),
            });
        }
        let kernel_end = load + placement.mem_size;
        let initrd = (ram.base + (ram.size / 2).min(128 * MIB))
            .max(kernel_end)
            .next_multiple_of(4 * KIB);
        let initrd_size = sizes.initrd.unwrap_or(0);
        if initrd + initrd_size > ram.end() {
            return Err(LayoutError::InitrdDoesNotFit {
                size: ByteSize(initrd_size),
            });
        }
        map.images.push(image(ImageKind::Kernel, load, file_size));
        if sizes.initrd.is_some() {
            map.images
                .push(image(ImageKind::Initrd, initrd, initrd_size));
            map.initrd = Some(IpaRange {
                base: initrd,
                size: initrd_size,
            });
        }
        map.dtb.base = (initrd + initrd_size).next_multiple_of(FDT_ALIGN);
        map.pc = load;
        map.x0 = map.dtb.base;
        map.kernel = Some(placement);
    }
    if map.dtb.end() > ram.end() {
        return Err(LayoutError::DtbDoesNotFit {
            size: ByteSize(QEMU_DTB_SIZE),
            dtb: map.dtb.base,
            ram_end: ram.end(),
        });
    }
    map.images
        .push(image(ImageKind::Dtb, map.dtb.base, map.dtb.size));
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigFile;
    use crate::image::synthetic_image;

    const MIBU: usize = 1 << 20;

    fn cfg(layout: &str, mem: &str) -> RealmConfig {
        ConfigFile {
            kernel: Some("Image".into()),
            layout: Some(layout.into()),
            mem: Some(mem.into()),
            ..ConfigFile::default()
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn ipa_bits_as_the_vmms_compute_them() {
        assert_eq!(default_ipa_bits(Layout::Kvmtool, 512 * MIB), 33);
        assert_eq!(default_ipa_bits(Layout::Kvmtool, 2 * GIB), 33);
        assert_eq!(default_ipa_bits(Layout::Kvmtool, 4 * GIB), 34);
        assert_eq!(default_ipa_bits(Layout::Kvmtool, 256 * GIB), 40);
        assert_eq!(default_ipa_bits(Layout::Qemu, 512 * MIB), 41);
    }

    #[test]
    fn kvmtool_kernel_initrd_dtb() {
        let k = synthetic_image(3 * MIBU, 1);
        let map = place(
            &cfg("kvmtool", "512M"),
            &ImageSizes {
                kernel: Some(&k),
                initrd: Some(1_000_001),
                ..ImageSizes::default()
            },
        )
        .unwrap();
        assert_eq!(
            map.dtb,
            IpaRange {
                base: 0x8fe0_0000,
                size: 0x1_0000
            }
        );
        assert_eq!(
            (map.pc, map.x0, map.ipa_bits),
            (0x8000_0000, 0x8fe0_0000, 33)
        );
        // initrd: ALIGN(dtb - (size + 4), 4)
        let initrd = (0x8fe0_0000u64 - 1_000_005).next_multiple_of(4);
        assert_eq!(
            map.initrd,
            Some(IpaRange {
                base: initrd,
                size: 1_000_001
            })
        );
        let kinds: Vec<_> = map.images.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [ImageKind::Kernel, ImageKind::Initrd, ImageKind::Dtb]
        );
        assert_eq!(map.images[1].populate.base, initrd & !0xffff);
        assert_eq!(map.images[1].populate.end(), 0x8fe0_0000);
        assert_eq!(
            map.images[0].populate,
            IpaRange {
                base: 0x8000_0000,
                size: 0x30_0000
            }
        );
    }

    #[test]
    fn kvmtool_small_ram_dtb() {
        // 64 MiB: limit 0x83ff_ffff - 0x21_0000 → aligned up to 0x83e0_0000.
        let k = synthetic_image(4096, 1);
        let map = place(
            &cfg("kvmtool", "64M"),
            &ImageSizes {
                kernel: Some(&k),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(map.dtb.base, 0x83e0_0000);
        // 4 GiB: still under the 256 MiB lowmem limit.
        let map = place(
            &cfg("kvmtool", "4G"),
            &ImageSizes {
                kernel: Some(&k),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((map.dtb.base, map.ipa_bits), (0x8fe0_0000, 34));
    }

    #[test]
    fn kvmtool_errors() {
        let big = synthetic_image(300 * MIBU, 1);
        let e = place(
            &cfg("kvmtool", "512M"),
            &ImageSizes {
                kernel: Some(&big),
                ..Default::default()
            },
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "kernel image of 300 MiB does not fit in RAM below 0x90000000"
        );
        let k = synthetic_image(255 * MIBU, 1);
        let e = place(
            &cfg("kvmtool", "512M"),
            &ImageSizes {
                kernel: Some(&k),
                ..Default::default()
            },
        );
        assert!(matches!(
            e,
            Err(LayoutError::DtbOverlapsKernel {
                dtb: 0x8fe0_0000,
                ..
            })
        ));
        let k = synthetic_image(200 * MIBU, 1);
        let e = place(
            &cfg("kvmtool", "512M"),
            &ImageSizes {
                kernel: Some(&k),
                initrd: Some(60 * MIB),
                ..Default::default()
            },
        );
        assert!(matches!(e, Err(LayoutError::InitrdOverlapsKernel { .. })));
        let e = place(
            &cfg("kvmtool", "2M"),
            &ImageSizes {
                kernel: Some(&k),
                ..Default::default()
            },
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "2 MiB of RAM is too little for the kvmtool layout (needs at least 4 MiB)"
        );
        let mut c = cfg("kvmtool", "512M");
        c.ipa_bits = Some(32);
        let k = synthetic_image(4096, 1);
        let e = place(
            &c,
            &ImageSizes {
                kernel: Some(&k),
                ..Default::default()
            },
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "--ipa-bits 32 is too small: the kvmtool memory map needs 33"
        );
        let e = place(
            &cfg("kvmtool", "512M"),
            &ImageSizes {
                kernel: Some(&k),
                dtb: Some(70_000),
                ..Default::default()
            },
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "the DTB is 70000 bytes; the kvmtool layout has a 64 KiB slot"
        );
    }

    #[test]
    fn kvmtool_firmware() {
        let mut c = cfg("kvmtool", "2G");
        c.kernel = None;
        let fw = vec![0u8; 5 * MIBU + 1];
        let map = place(
            &c,
            &ImageSizes {
                firmware: Some(&fw),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            (map.pc, map.x0, map.dtb.base),
            (0x8000_0000, 0x8060_0000, 0x8060_0000)
        );
        assert_eq!(
            map.images[0].populate,
            IpaRange {
                base: 0x8000_0000,
                size: 0x51_0000
            }
        );
    }

    #[test]
    fn qemu_kernel_initrd_dtb() {
        let k = synthetic_image(20 * MIBU, 1);
        let map = place(
            &cfg("qemu", "1G"),
            &ImageSizes {
                kernel: Some(&k),
                initrd: Some(3 * MIB + 5),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(map.ipa_bits, 41);
        assert_eq!(map.pc, 0x4000_0000);
        assert_eq!(
            map.initrd,
            Some(IpaRange {
                base: 0x4800_0000,
                size: 3 * MIB + 5
            })
        );
        assert_eq!(
            map.dtb,
            IpaRange {
                base: 0x4840_0000,
                size: MIB
            }
        );
        assert_eq!(map.x0, 0x4840_0000);
        assert_eq!(
            map.images[1].populate,
            IpaRange {
                base: 0x4800_0000,
                size: 3 * MIB + 4096
            }
        );
        // Small RAM: RAM/2; a kernel bigger than that pushes the initrd up.
        let map = place(
            &cfg("qemu", "64M"),
            &ImageSizes {
                kernel: Some(&k),
                initrd: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(map.initrd.unwrap().base, 0x4200_0000);
        let big = synthetic_image(40 * MIBU, 1);
        let map = place(
            &cfg("qemu", "64M"),
            &ImageSizes {
                kernel: Some(&big),
                initrd: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(map.initrd.unwrap().base, 0x4280_0000);
        // No initrd: DTB after the would-be initrd start.
        let map = place(
            &cfg("qemu", "1G"),
            &ImageSizes {
                kernel: Some(&k),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(map.dtb.base, 0x4800_0000);
    }

    #[test]
    fn qemu_firmware_and_limits() {
        let mut c = cfg("qemu", "512M");
        c.kernel = None;
        let fw = vec![1u8; 2 * MIBU];
        let map = place(
            &c,
            &ImageSizes {
                firmware: Some(&fw),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            map.ram,
            vec![
                QEMU_FIRMWARE_RAM,
                IpaRange {
                    base: 0x4000_0000,
                    size: 512 * MIB
                }
            ]
        );
        assert_eq!((map.pc, map.x0, map.dtb.base), (0, 0, 0x4000_0000));
        assert_eq!(map.images[0].kind, ImageKind::Firmware);
        let e = place(&cfg("qemu", "256G"), &ImageSizes::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the qemu layout supports at most 255 GiB of RAM (got 256 GiB)"
        );
    }

    #[test]
    fn overlap_after_rounding_is_reported() {
        // A kernel ending within 64 KiB of the initrd start: kvmtool's 64 KiB rounding makes them collide.
        let mut k = synthetic_image(4096, 1);
        k[16..24].copy_from_slice(&4096u64.to_le_bytes());
        let c = cfg("kvmtool", "64M");
        // initrd that starts just above the kernel's 64 KiB chunk is fine; one inside the same chunk is not.
        let dtb = 0x83e0_0000u64;
        let initrd_size = dtb - 0x8000_2000 - 4;
        let e = place(
            &c,
            &ImageSizes {
                kernel: Some(&k),
                initrd: Some(initrd_size),
                ..Default::default()
            },
        );
        assert!(matches!(
            e,
            Err(LayoutError::ImagesOverlap {
                a: ImageKind::Kernel,
                b: ImageKind::Initrd,
                ..
            })
        ));
    }
}
