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
//!
//! Every size, offset and address that comes from input (RAM size, image lengths, Image header fields) is
//! combined with checked arithmetic: a placement either fits in RAM without overlap or is an error.
#![forbid(unsafe_code)]

mod error;
mod kvmtool;
mod qemu;

use std::fmt;

use serde::Serialize;

pub use error::LayoutError;

use crate::config::{ImageKind, Layout, RealmConfig};
use crate::image::{Arm64ImageHeader, KernelPlacement};
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
    /// One past the last byte (ranges the layout makes end below 2^52, so this cannot wrap).
    pub fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }
    /// Whether the two ranges share a byte.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.base < other.end() && other.base < self.end()
    }
    /// The range rounded out to `align` (a power of two); the end saturates at the top of the address space.
    pub fn rounded_out(&self, align: u64) -> Self {
        let base = self.base & !(align - 1);
        let end = self
            .end()
            .checked_next_multiple_of(align)
            .unwrap_or(!(align - 1));
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
/// The largest IPA space of any realm: 52 bits (FEAT_LPA2; DEN0137 1.0-rel0 RmiFeatureRegister0.S2SZ).
pub const MAX_IPA_BITS: u8 = 52;
const FDT_ALIGN: u64 = 2 * MIB;
const LOWMEM_LIMIT: u64 = 256 * MIB;
/// The least RAM either layout places images in: the kvmtool DTB slot computation stays inside RAM.
const MIN_RAM: u64 = 4 * MIB;

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

/// What the placement needs to know of a kernel or firmware image: its length and its arm64 Image header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BootImage {
    /// Bytes in the file.
    pub len: u64,
    /// The header, when the file starts with one.
    pub header: Option<Arm64ImageHeader>,
}

impl BootImage {
    /// The length and header of `bytes` (the first 64 bytes are enough for the header).
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            len: bytes.len() as u64,
            header: Arm64ImageHeader::parse(bytes).ok(),
        }
    }
}

/// The sizes the placement depends on; none of the images' contents beyond their headers.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageSizes {
    /// The kernel.
    pub kernel: Option<BootImage>,
    /// The initrd's length.
    pub initrd: Option<u64>,
    /// The firmware.
    pub firmware: Option<BootImage>,
    /// A user DTB's length.
    pub dtb: Option<u64>,
}

/// Highest set bit, 1-based (Linux `fls_long`).
fn fls(v: u64) -> u8 {
    u8::try_from(64 - v.leading_zeros()).unwrap_or(64)
}

/// The IPA size the layout's VMM asks for (kvmtool saturates at 65 bits for RAM that no IPA space holds;
/// [`place`] refuses such RAM).
pub fn default_ipa_bits(layout: Layout, mem: u64) -> u8 {
    match layout {
        Layout::Kvmtool => fls(KVMTOOL_RAM_BASE.saturating_add(mem.saturating_sub(1))).max(32) + 1,
        Layout::Qemu => QEMU_IPA_BITS,
    }
}

/// The layout's UART (the same for any RAM size and vCPU count), so a realm program can be built for it
/// before placement.
pub fn uart(layout: Layout) -> UartInfo {
    match layout {
        Layout::Kvmtool => kvmtool::UART,
        Layout::Qemu => qemu::DEVICES.uart,
    }
}

/// The layout's GICv3 distributor and redistributor region for `cpus` vCPUs (kvmtool places the
/// redistributors below the distributor, one 128 KiB frame pair per vCPU), so a realm program that drives
/// the GIC can be built before placement.
pub fn gic(layout: Layout, cpus: u32) -> (IpaRange, IpaRange) {
    let d = match layout {
        Layout::Kvmtool => kvmtool::devices(cpus),
        Layout::Qemu => qemu::DEVICES,
    };
    (d.gic_dist, d.gic_redist)
}

/// Place a configuration's images.
pub fn place(cfg: &RealmConfig, sizes: &ImageSizes) -> Result<MemoryMap, LayoutError> {
    for (kind, len) in [
        (ImageKind::Kernel, sizes.kernel.map(|k| k.len)),
        (ImageKind::Initrd, sizes.initrd),
        (ImageKind::Firmware, sizes.firmware.map(|f| f.len)),
        (ImageKind::Dtb, sizes.dtb),
    ] {
        if len == Some(0) {
            return Err(LayoutError::EmptyImage(kind));
        }
    }
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
        Layout::Kvmtool => kvmtool::place(cfg, sizes)?,
        Layout::Qemu => qemu::place(cfg, sizes)?,
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

/// The RAM range of `mem` bytes at `base`, refused when it is smaller than any layout places images in or
/// ends beyond the largest IPA space.
fn ram_range(layout: Layout, base: u64, mem: u64) -> Result<IpaRange, LayoutError> {
    if mem < MIN_RAM {
        return Err(LayoutError::TooLittleMemory {
            layout,
            mem: ByteSize(mem),
            needed: ByteSize(MIN_RAM),
        });
    }
    match base.checked_add(mem) {
        Some(end) if end <= 1 << MAX_IPA_BITS => Ok(IpaRange { base, size: mem }),
        _ => Err(LayoutError::RamBeyondIpaSpace {
            mem: ByteSize(mem),
            base,
        }),
    }
}

/// The memory map both layouts start from: RAM, the devices, the DTB slot at 0 (each layout moves it).
fn skeleton(layout: Layout, ram: IpaRange, dtb_size: u64, devices: Devices) -> MemoryMap {
    MemoryMap {
        layout,
        ram: vec![ram],
        images: Vec::new(),
        dtb: IpaRange {
            base: 0,
            size: dtb_size,
        },
        initrd: None,
        pc: 0,
        x0: 0,
        ipa_bits: 0,
        uart: devices.uart,
        gic_dist: devices.gic_dist,
        gic_redist: devices.gic_redist,
        kernel: None,
    }
}

/// A layout's devices.
#[derive(Clone, Copy, Debug)]
struct Devices {
    uart: UartInfo,
    gic_dist: IpaRange,
    gic_redist: IpaRange,
}

/// A kernel placed at the start of RAM + its load offset.
#[derive(Clone, Copy, Debug)]
struct KernelAt {
    /// Load address.
    load: u64,
    /// Bytes in the file.
    file_size: u64,
    /// End of the memory it claims (`load + image_size`, or the file size without one).
    end: u64,
    /// The header decision.
    placement: KernelPlacement,
}

/// The kernel at `ram.base + text_offset`. Its file must end by `file_limit` (reported as `reported_limit`:
/// kvmtool's check keeps one byte below its limit, QEMU's does not) and the memory it claims by the end of RAM.
fn place_kernel(
    ram: IpaRange,
    image: BootImage,
    file_limit: u64,
    reported_limit: u64,
) -> Result<KernelAt, LayoutError> {
    let placement = KernelPlacement::new(image.len, image.header);
    let beyond_ram = LayoutError::KernelBeyondRam {
        text_offset: placement.text_offset,
        image_size: placement.mem_size,
        ram_end: ram.end(),
    };
    let load = ram
        .base
        .checked_add(placement.text_offset)
        .filter(|l| *l < ram.end())
        .ok_or(beyond_ram.clone())?;
    if load
        .checked_add(image.len)
        .is_none_or(|end| end > file_limit)
    {
        return Err(LayoutError::KernelTooBig {
            size: ByteSize(image.len),
            limit: reported_limit,
        });
    }
    let end = load
        .checked_add(placement.mem_size)
        .filter(|e| *e <= ram.end())
        .ok_or(beyond_ram)?;
    Ok(KernelAt {
        load,
        file_size: image.len,
        end,
        placement,
    })
}

impl MemoryMap {
    /// Add an image at `base` of `size` bytes (populate range and measurement are set by [`place`]).
    fn push(&mut self, kind: ImageKind, base: u64, size: u64) {
        let load = IpaRange { base, size };
        self.images.push(PlacedImage {
            kind,
            load,
            populate: load,
            measured: true,
        });
    }

    /// Add the kernel and the initrd (if any) and point vCPU 0 at the kernel.
    fn push_kernel(&mut self, kernel: &KernelAt, initrd: Option<IpaRange>) {
        self.push(ImageKind::Kernel, kernel.load, kernel.file_size);
        if let Some(r) = initrd {
            self.push(ImageKind::Initrd, r.base, r.size);
            self.initrd = Some(r);
        }
        self.pc = kernel.load;
        self.kernel = Some(kernel.placement);
    }

    /// Add the DTB slot, last.
    fn push_dtb(&mut self) {
        self.push(ImageKind::Dtb, self.dtb.base, self.dtb.size);
    }
}

#[cfg(test)]
mod tests;
