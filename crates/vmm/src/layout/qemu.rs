//! QEMU virt's placement (`hw/arm/boot.c`, `target/arm/kvm-rme.c`; cca-realm-measurements `docs/realm-vm.md`
//! "QEMU virt"): RAM at 0x4000_0000; the kernel at RAM + text_offset; the initrd at
//! max(RAM + min(RAM/2, 128 MiB), kernel end), 4 KiB aligned; the 1 MiB DTB after the initrd, 2 MiB aligned;
//! firmware at IPA 0 in a 128 MiB firmware RAM region with the DTB at the start of RAM and x0 = 0, PC = 0.
#![forbid(unsafe_code)]

use super::{
    Devices, FDT_ALIGN, ImageSizes, IpaRange, LayoutError, MemoryMap, QEMU_DTB_SIZE,
    QEMU_FIRMWARE_RAM, QEMU_MAX_RAM, QEMU_RAM_BASE, UartInfo, place_kernel, ram_range, skeleton,
};
use crate::config::{ImageKind, Layout, RealmConfig};
use crate::size::{ByteSize, KIB, MIB};

/// QEMU virt's devices: the PL011 window at 0x0900_0000 (SPI 1), the GICv3 distributor at 0x0800_0000 and
/// the redistributor region at 0x080a_0000.
pub(super) const DEVICES: Devices = Devices {
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
};

/// Place the images as QEMU virt does.
pub(super) fn place(cfg: &RealmConfig, sizes: &ImageSizes) -> Result<MemoryMap, LayoutError> {
    if cfg.mem > QEMU_MAX_RAM {
        return Err(LayoutError::QemuRamTooLarge(ByteSize(cfg.mem)));
    }
    let ram = ram_range(Layout::Qemu, QEMU_RAM_BASE, cfg.mem)?;
    let mut map = skeleton(Layout::Qemu, ram, QEMU_DTB_SIZE, DEVICES);
    map.dtb.base = ram.base;
    if let Some(fw) = sizes.firmware {
        if fw.len > QEMU_FIRMWARE_RAM.size {
            return Err(LayoutError::FirmwareTooBig {
                size: ByteSize(fw.len),
                room: ByteSize(QEMU_FIRMWARE_RAM.size),
                region: "the firmware RAM at 0",
            });
        }
        map.ram.insert(0, QEMU_FIRMWARE_RAM);
        map.push(ImageKind::Firmware, 0, fw.len);
        // DTB at the start of RAM; the firmware finds it there; PC = 0, x0 = 0.
    } else if let Some(kernel) = sizes.kernel {
        let k = place_kernel(ram, kernel, ram.end(), ram.end())?;
        // RAM ends below 256 GiB and the kernel inside it: none of this wraps.
        let initrd_base = (ram.base + (ram.size / 2).min(128 * MIB))
            .max(k.end)
            .next_multiple_of(4 * KIB);
        let initrd_size = sizes.initrd.unwrap_or(0);
        if initrd_size > ram.end().saturating_sub(initrd_base) {
            return Err(LayoutError::InitrdDoesNotFit {
                size: ByteSize(initrd_size),
            });
        }
        let initrd = sizes.initrd.map(|size| IpaRange {
            base: initrd_base,
            size,
        });
        map.push_kernel(&k, initrd);
        map.dtb.base = (initrd_base + initrd_size).next_multiple_of(FDT_ALIGN);
        map.x0 = map.dtb.base;
    }
    if map.dtb.end() > ram.end() {
        return Err(LayoutError::DtbDoesNotFit {
            size: ByteSize(QEMU_DTB_SIZE),
            dtb: map.dtb.base,
            ram_end: ram.end(),
        });
    }
    map.push_dtb();
    Ok(map)
}
