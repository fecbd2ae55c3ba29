//! Guest memory: RAM slots (guest_memfd + the VMM's shared alias), loading the images into the alias, and
//! populating protected memory from it (v10 `KVM_CAP_ARM_RME_POPULATE_REALM`, v12 `KVM_ARM_RMI_POPULATE`).
#![forbid(unsafe_code)]

use std::time::Instant;

use realm_uapi::arm64 as k;
use realm_uapi::{v10, v12};
use vm_memory::{Bytes, VolatileMemory};
use zerocopy::{FromZeros, IntoBytes};

use super::{Built, Progress, fd_of, load_error};
use crate::backend::{BackendError, Errno, Ioctl, IoctlArg, UserMemory};
use crate::config::AbiRevision;
use crate::layout::IpaRange;
use crate::prepare::Prepared;

/// Populate calls are issued in pieces of at most this size, so progress can be shown.
pub const POPULATE_CHUNK: u64 = 32 << 20;

/// Pieces an image is copied in, spread over the cores: 2 MiB, one huge page of the destination.
pub(super) const LOAD_PIECE: usize = 2 << 20;

/// Populate progress over the whole plan.
pub(super) struct PopulateProgress<'p> {
    /// Bytes populated so far.
    pub done: u64,
    /// Bytes the plan populates.
    pub total: u64,
    /// Who is told.
    pub progress: &'p mut dyn Progress,
}

impl PopulateProgress<'_> {
    fn add(&mut self, n: u64) {
        self.done += n;
        self.progress.populated(self.done, self.total);
    }
}

/// A RAM slot: `KVM_CREATE_GUEST_MEMFD`, `KVM_SET_USER_MEMORY_REGION2` with the shared alias,
/// `KVM_SET_MEMORY_ATTRIBUTES(PRIVATE)`; then the images it holds are loaded into the alias.
pub(super) fn add_ram(
    b: &mut Built<'_>,
    slot: u32,
    range: IpaRange,
    prepared: &Prepared,
) -> Result<(), BackendError> {
    let mem = b.backend.map_memory(range.size)?;
    let mut gmem = k::kvm_create_guest_memfd::new_zeroed();
    gmem.size = range.size;
    let gfd = b.ioctl(
        b.vm_fd,
        k::KVM_CREATE_GUEST_MEMFD,
        IoctlArg::Buf(gmem.as_mut_bytes()),
        || Ioctl::CreateGuestMemfd { size: range.size },
    )?;
    let gfd = fd_of(gfd)?;
    b.other_fds.push(gfd);
    let mut region = k::kvm_userspace_memory_region2::new_zeroed();
    region.slot = slot;
    region.flags = k::KVM_MEM_GUEST_MEMFD;
    region.guest_phys_addr = range.base;
    region.memory_size = range.size;
    region.userspace_addr = mem.hva;
    region.guest_memfd = gfd.0.cast_unsigned();
    b.ioctl(
        b.vm_fd,
        k::KVM_SET_USER_MEMORY_REGION2,
        IoctlArg::Buf(region.as_mut_bytes()),
        || Ioctl::SetUserMemoryRegion2 { slot, range },
    )?;
    let mut attrs = k::kvm_memory_attributes {
        address: range.base,
        size: range.size,
        attributes: u64::from(k::KVM_MEMORY_ATTRIBUTE_PRIVATE),
        flags: 0,
    };
    b.ioctl(
        b.vm_fd,
        k::KVM_SET_MEMORY_ATTRIBUTES,
        IoctlArg::Buf(attrs.as_mut_bytes()),
        || Ioctl::SetMemoryPrivate { range },
    )?;
    // Load the images this slot holds into its shared-alias memory (where kvmtool and QEMU load them before
    // populating from there); a measure-only backend maps them there instead.
    let t = Instant::now();
    for (img, (kind, bytes)) in prepared.map.images.iter().zip(&prepared.images) {
        if img.load.base >= range.base && img.load.end() <= range.end() {
            let off =
                usize::try_from(img.load.base - range.base).map_err(|e| load_error("image", e))?;
            if !b.backend.map_image(&mem, off, bytes)? {
                load_image(&mem, off, bytes).map_err(|e| load_error(&kind.to_string(), e))?;
            }
        }
    }
    b.stats.load_time += t.elapsed();
    b.ram.push((range, mem));
    Ok(())
}

/// Copy `bytes` into `mem` at `off`, in [`LOAD_PIECE`] pieces on rayon's pool: the copy and the first-touch
/// faults of the destination run on every core. The bytes written are those of one `write_slice`.
pub(super) fn load_image(
    mem: &UserMemory,
    off: usize,
    bytes: &[u8],
) -> Result<(), vm_memory::VolatileMemoryError> {
    use rayon::prelude::*;
    let region = &*mem.region;
    if off
        .checked_add(bytes.len())
        .is_none_or(|end| end > region.size())
    {
        // Does not fit (the layout never places such an image): one `write_slice`, for its exact error.
        return region.as_volatile_slice().write_slice(bytes, off);
    }
    bytes
        .par_chunks(LOAD_PIECE)
        .enumerate()
        .try_for_each(|(i, piece)| {
            region
                .as_volatile_slice()
                .write_slice(piece, off + i * LOAD_PIECE)
        })
}

/// Populate `range` from the shared-alias memory holding the images, in [`POPULATE_CHUNK`] pieces, looping on
/// partial progress (v12 returns the bytes done) and refusing a call that makes none.
pub(super) fn populate(
    b: &Built<'_>,
    range: IpaRange,
    measured: bool,
    progress: &mut PopulateProgress<'_>,
) -> Result<(), BackendError> {
    let (slot, mem) = b
        .ram
        .iter()
        .find(|(r, _)| range.base >= r.base && range.end() <= r.end())
        .ok_or(BackendError::ioctl(
            Ioctl::PopulateOutsideRam { range },
            Errno::EFAULT,
        ))?;
    let mut base = range.base;
    while base < range.end() {
        let chunk = IpaRange {
            base,
            size: (range.end() - base).min(POPULATE_CHUNK),
        };
        let n = match b.backend.abi() {
            AbiRevision::V12 => populate_v12(b, chunk, mem.hva + (base - slot.base), measured)?,
            AbiRevision::V10 => populate_v10(b, chunk, measured)?,
            rev @ (AbiRevision::V13 | AbiRevision::V14) => {
                return Err(BackendError::UnsupportedAbi(rev));
            }
        };
        base += n;
        progress.add(n);
    }
    Ok(())
}

/// v12 `KVM_ARM_RMI_POPULATE` of `chunk` from `source_uaddr`: the bytes it did (at least one granule).
fn populate_v12(
    b: &Built<'_>,
    chunk: IpaRange,
    source_uaddr: u64,
    measured: bool,
) -> Result<u64, BackendError> {
    let mut arg = v12::kvm_arm_rmi_populate {
        base: chunk.base,
        size: chunk.size,
        source_uaddr,
        flags: if measured {
            v12::KVM_ARM_RMI_POPULATE_FLAGS_MEASURE
        } else {
            0
        },
        reserved: 0,
    };
    let n = b.ioctl(
        b.vm_fd,
        v12::KVM_ARM_RMI_POPULATE,
        IoctlArg::Buf(arg.as_mut_bytes()),
        || Ioctl::RmiPopulate { range: chunk },
    )?;
    let n = u64::try_from(n).unwrap_or(0).min(chunk.size);
    if n == 0 {
        return Err(BackendError::NoProgress { range: chunk });
    }
    Ok(n)
}

/// v10 `KVM_CAP_ARM_RME_POPULATE_REALM` of `chunk` (the whole chunk or an error).
fn populate_v10(b: &Built<'_>, chunk: IpaRange, measured: bool) -> Result<u64, BackendError> {
    let arg = v10::arm_rme_populate_realm {
        base: chunk.base,
        size: chunk.size,
        flags: if measured {
            v10::KVM_ARM_RME_POPULATE_FLAGS_MEASURE
        } else {
            0
        },
        reserved: [0; 3],
    };
    super::v10::rme_action(
        b,
        v10::KVM_CAP_ARM_RME_POPULATE_REALM,
        Some(arg.as_bytes()),
        Ioctl::RmePopulate { range: chunk },
    )?;
    Ok(chunk.size)
}
