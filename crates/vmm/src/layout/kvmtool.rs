//! kvmtool's placement (`arm/kvm.c` `kvm__arch_load_kernel_image` / `kvm__load_firmware`): RAM at
//! 0x8000_0000; the kernel at RAM + text_offset; the 64 KiB DTB at
//! `ALIGN(RAM + min(RAM size, 256 MiB) - 1 - (64 KiB + 2 MiB), 2 MiB)`; the initrd right below it, 4-byte
//! aligned; firmware at the start of RAM with the DTB after it (after its Image size if it has a header),
//! 2 MiB aligned.
#![forbid(unsafe_code)]

use super::{
    BootImage, Devices, FDT_ALIGN, ImageSizes, IpaRange, KVMTOOL_DTB_SIZE, KVMTOOL_RAM_BASE,
    LOWMEM_LIMIT, LayoutError, MemoryMap, UartInfo, place_kernel, ram_range, skeleton,
};
use crate::config::{ImageKind, Layout, RealmConfig};
use crate::size::ByteSize;

/// kvmtool's 8250 UART at 0x0100_0000.
pub(super) const UART: UartInfo = UartInfo {
    range: IpaRange {
        base: 0x0100_0000,
        size: 8,
    },
    spi: 0,
};

/// kvmtool's devices: the [`UART`], the GICv3 distributor below 1 GiB and one 128 KiB redistributor frame per
/// vCPU below it.
pub(super) fn devices(cpus: u32) -> Devices {
    let redist_size = u64::from(cpus) * 0x2_0000;
    Devices {
        uart: UART,
        gic_dist: IpaRange {
            base: 0x3fff_0000,
            size: 0x1_0000,
        },
        gic_redist: IpaRange {
            base: 0x3fff_0000 - redist_size,
            size: redist_size,
        },
    }
}

/// Place the images as kvmtool does.
pub(super) fn place(cfg: &RealmConfig, sizes: &ImageSizes) -> Result<MemoryMap, LayoutError> {
    let ram = ram_range(Layout::Kvmtool, KVMTOOL_RAM_BASE, cfg.mem)?;
    let mut map = skeleton(Layout::Kvmtool, ram, KVMTOOL_DTB_SIZE, devices(cfg.cpus));
    if let Some(fw) = sizes.firmware {
        firmware(&mut map, ram, fw)?;
    } else if let Some(kernel) = sizes.kernel {
        // kvmtool's `limit`, inclusive; MIN_RAM keeps the DTB slot computation inside RAM.
        let limit = ram.base + ram.size.min(LOWMEM_LIMIT) - 1;
        let k = place_kernel(ram, kernel, limit, limit + 1)?;
        let dtb = (limit - (KVMTOOL_DTB_SIZE + FDT_ALIGN)).next_multiple_of(FDT_ALIGN);
        if dtb < k.end {
            return Err(LayoutError::DtbOverlapsKernel {
                dtb,
                kernel_end: k.end,
            });
        }
        let initrd = match sizes.initrd {
            Some(size) => Some(initrd_below(dtb, size, k.end)?),
            None => None,
        };
        map.push_kernel(&k, initrd);
        map.dtb.base = dtb;
    }
    map.x0 = map.dtb.base;
    map.push_dtb();
    Ok(map)
}

/// `kvm__load_firmware`: at the start of RAM; the DTB after the image (its Image size if it has a header).
fn firmware(map: &mut MemoryMap, ram: IpaRange, fw: BootImage) -> Result<(), LayoutError> {
    if fw.len > ram.size {
        return Err(LayoutError::FirmwareTooBig {
            size: ByteSize(fw.len),
            room: ByteSize(ram.size),
            region: "RAM",
        });
    }
    let mem_size = fw
        .header
        .map(|h| h.image_size)
        .filter(|s| *s != 0)
        .unwrap_or(fw.len);
    let dtb = ram
        .base
        .checked_add(mem_size)
        .and_then(|end| end.checked_next_multiple_of(FDT_ALIGN));
    let dtb = match dtb {
        Some(d)
            if d.checked_add(KVMTOOL_DTB_SIZE)
                .is_some_and(|e| e <= ram.end()) =>
        {
            d
        }
        _ => {
            return Err(LayoutError::DtbDoesNotFit {
                size: ByteSize(KVMTOOL_DTB_SIZE),
                dtb: dtb.unwrap_or(u64::MAX),
                ram_end: ram.end(),
            });
        }
    };
    map.push(ImageKind::Firmware, ram.base, fw.len);
    map.dtb.base = dtb;
    map.pc = ram.base;
    Ok(())
}

/// The initrd right below the DTB, 4-byte aligned (`ALIGN(dtb - (size + 4), 4)`, saturating at 0), above the
/// kernel.
fn initrd_below(dtb: u64, size: u64, kernel_end: u64) -> Result<IpaRange, LayoutError> {
    let base = dtb
        .saturating_sub(size.saturating_add(4))
        .next_multiple_of(4);
    if base < kernel_end {
        return Err(LayoutError::InitrdOverlapsKernel {
            initrd: base,
            kernel_end,
        });
    }
    Ok(IpaRange { base, size })
}
