//! Why a configuration's images cannot be placed.
#![forbid(unsafe_code)]

use super::{IpaRange, MAX_IPA_BITS};
use crate::config::{ImageKind, Layout};
use crate::size::ByteSize;

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
    /// An image of no bytes.
    #[error("the {0} image is empty")]
    EmptyImage(ImageKind),
    /// RAM that ends beyond the largest IPA space any realm can have.
    #[error(
        "{mem} of RAM at {base:#x} does not fit in the largest IPA space ({MAX_IPA_BITS} bits)"
    )]
    RamBeyondIpaSpace {
        /// Given.
        mem: ByteSize,
        /// Where RAM starts.
        base: u64,
    },
    /// The kernel's header places it, or its `image_size`, beyond RAM.
    #[error(
        "the kernel's header places it beyond RAM: text_offset {text_offset:#x}, image_size {image_size:#x}, RAM ends at {ram_end:#x}"
    )]
    KernelBeyondRam {
        /// The header's (or the default) load offset.
        text_offset: u64,
        /// The memory the kernel claims.
        image_size: u64,
        /// End of RAM.
        ram_end: u64,
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
