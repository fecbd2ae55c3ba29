//! Boot images: the arm64 Linux `Image` header and how a VMM reads it.
//!
//! The header is defined by Linux `Documentation/arch/arm64/booting.rst`: 64 bytes, little-endian,
//! `code0` u32 @0, `code1` u32 @4, `text_offset` u64 @8, `image_size` u64 @16, `flags` u64 @24, three reserved
//! u64 @32..56, `magic` u32 @0x38 = "ARM\x64", reserved u32 @0x3c.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use realm_rmi::host::PageSource;

/// The `magic` field of an arm64 Image header: the bytes "ARM\x64".
pub const ARM64_IMAGE_MAGIC: u32 = 0x644d_5241;
/// The offset of the magic field.
pub const ARM64_IMAGE_MAGIC_OFFSET: usize = 0x38;
/// The size of an arm64 Image header.
pub const ARM64_IMAGE_HEADER_SIZE: usize = 64;
/// The load offset kvmtool (`kvm__arch_get_kern_offset`) and QEMU (`KERNEL64_LOAD_ADDR`) assume when the
/// image has no valid header or its `image_size` is zero (pre-3.17 kernels).
pub const DEFAULT_TEXT_OFFSET: u64 = 0x8_0000;

/// The fields of an arm64 Image header a VMM uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Arm64ImageHeader {
    /// Image load offset from the start of RAM (2 MiB aligned base + this).
    pub text_offset: u64,
    /// Effective image size, including BSS; 0 on pre-3.17 kernels.
    pub image_size: u64,
    /// bit 0: big-endian kernel; bits 1-2: page size (0 unspecified, 1 4K, 2 16K, 3 64K); bit 3: placement.
    pub flags: u64,
}

/// Why bytes are not an arm64 Image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Fewer than 64 bytes.
    #[error("{len} bytes is too short for an arm64 Image header (64 bytes)")]
    TooShort {
        /// Length of the data.
        len: usize,
    },
    /// The magic at 0x38 is not "ARM\x64".
    #[error("no arm64 Image magic at offset 0x38 (found {found:#010x})")]
    BadMagic {
        /// The word found.
        found: u32,
    },
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

impl Arm64ImageHeader {
    /// Parse the header at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ImageError> {
        if bytes.len() < ARM64_IMAGE_HEADER_SIZE {
            return Err(ImageError::TooShort { len: bytes.len() });
        }
        let mut m = [0; 4];
        m.copy_from_slice(&bytes[ARM64_IMAGE_MAGIC_OFFSET..ARM64_IMAGE_MAGIC_OFFSET + 4]);
        let found = u32::from_le_bytes(m);
        if found != ARM64_IMAGE_MAGIC {
            return Err(ImageError::BadMagic { found });
        }
        Ok(Self {
            text_offset: le_u64(bytes, 8),
            image_size: le_u64(bytes, 16),
            flags: le_u64(bytes, 24),
        })
    }

    /// Whether the kernel is big-endian (flags bit 0).
    pub fn is_big_endian(&self) -> bool {
        self.flags & 1 != 0
    }

    /// Encode a header (used to build synthetic images for tests and the demo).
    pub fn encode(&self) -> [u8; ARM64_IMAGE_HEADER_SIZE] {
        let mut h = [0u8; ARM64_IMAGE_HEADER_SIZE];
        // code0: `b #64` (branch over the header), as a real Image's first instruction does to reach its stext;
        // code1: 0.
        h[0..4].copy_from_slice(&0x1400_0010u32.to_le_bytes());
        h[8..16].copy_from_slice(&self.text_offset.to_le_bytes());
        h[16..24].copy_from_slice(&self.image_size.to_le_bytes());
        h[24..32].copy_from_slice(&self.flags.to_le_bytes());
        h[ARM64_IMAGE_MAGIC_OFFSET..ARM64_IMAGE_MAGIC_OFFSET + 4]
            .copy_from_slice(&ARM64_IMAGE_MAGIC.to_le_bytes());
        h
    }
}

/// Where a kernel goes relative to the start of RAM and how much memory it claims, as kvmtool
/// (`kvm__arch_get_kern_offset`, `kvm__arch_get_image_size`) and QEMU (`load_aarch64_image`) decide it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KernelPlacement {
    /// Load offset from the start of RAM.
    pub text_offset: u64,
    /// Memory the kernel claims from its load address: `image_size`, or the file size when that is 0.
    pub mem_size: u64,
    /// The parsed header, `None` when the file has none (then [`DEFAULT_TEXT_OFFSET`] applies).
    pub header: Option<Arm64ImageHeader>,
}

impl KernelPlacement {
    /// Decide placement for a kernel file of these bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self::new(bytes.len() as u64, Arm64ImageHeader::parse(bytes).ok())
    }

    /// Decide placement for a kernel file of `file_size` bytes starting with `header` (if it has one).
    pub fn new(file_size: u64, header: Option<Arm64ImageHeader>) -> Self {
        match header {
            Some(h) if h.image_size != 0 => Self {
                text_offset: h.text_offset,
                mem_size: h.image_size,
                header: Some(h),
            },
            _ => Self {
                text_offset: DEFAULT_TEXT_OFFSET,
                mem_size: file_size,
                header,
            },
        }
    }
}

/// A synthetic arm64 Image: a valid header (text_offset 0, 4K pages, little-endian) followed by
/// deterministic filler, `size` bytes in all, with `image_size` = `size` rounded up to 64 KiB (its "BSS").
pub fn synthetic_image(size: usize, seed: u8) -> Vec<u8> {
    let mut v = filler(size.max(ARM64_IMAGE_HEADER_SIZE), seed);
    let header = Arm64ImageHeader {
        text_offset: 0,
        image_size: (v.len() as u64).next_multiple_of(0x1_0000),
        flags: 0b010, // LE, 4K pages
    };
    v[..ARM64_IMAGE_HEADER_SIZE].copy_from_slice(&header.encode());
    v
}

/// Deterministic non-repeating filler bytes (an xorshift stream), so images are not all zero.
pub fn filler(size: usize, seed: u8) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(seed).wrapping_mul(0x1000_0000_01b3);
    let mut v = Vec::with_capacity(size);
    while v.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let take = (size - v.len()).min(8);
        v.extend_from_slice(&state.to_le_bytes()[..take]);
    }
    v
}

/// The bytes of an image, shared and immutable: a read-only private mapping of its file (never read into
/// a buffer) or bytes already in memory. Either can be placed in a measure-only realm's memory by
/// reference ([`ImageData::page_source`]) instead of copied.
#[derive(Clone)]
pub struct ImageData(Arc<dyn PageSource>);

/// Bytes held in memory, as a [`PageSource`].
#[derive(Debug)]
struct Held(Arc<[u8]>);

impl PageSource for Held {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A read-only private mapping of an image file, and the file (for reads that do not fault the mapping in).
#[derive(Debug)]
struct Mapped {
    map: memmap2::Mmap,
    file: std::fs::File,
}

impl PageSource for Mapped {
    fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// `pread` of the mapped file: the same bytes as the mapping (a private mapping shows the file's
    /// bytes until it is written, and this one is read-only).
    fn read_at(&self, offset: usize, buf: &mut [u8]) -> bool {
        use std::os::unix::fs::FileExt as _;
        offset
            .checked_add(buf.len())
            .is_some_and(|end| end <= self.map.len())
            && self.file.read_exact_at(buf, offset as u64).is_ok()
    }
}

impl ImageData {
    /// Map `file` (a non-empty regular file) read-only and private: pages come from the page cache as they
    /// are touched, and nothing is copied. The file must not be truncated while the image is in use (a
    /// read of a page past the new end would fault, as with every mapped reader).
    pub fn map(file: &std::fs::File) -> std::io::Result<Self> {
        Ok(Self(Arc::new(Mapped {
            map: crate::os::map_file(file)?,
            file: file.try_clone()?,
        })))
    }

    /// The bytes as a [`PageSource`], to be mapped into user memory by reference.
    pub fn page_source(&self) -> Arc<dyn PageSource> {
        Arc::clone(&self.0)
    }
}

impl From<Arc<[u8]>> for ImageData {
    fn from(bytes: Arc<[u8]>) -> Self {
        Self(Arc::new(Held(bytes)))
    }
}

impl std::ops::Deref for ImageData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0.bytes()
    }
}

impl AsRef<[u8]> for ImageData {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for ImageData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ImageData({} bytes)", self.len())
    }
}

/// Where an image's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// A file, mapped when the realm is prepared.
    File(PathBuf),
    /// Bytes already in memory (the built-in demo, tests), with a name to show.
    Bytes {
        /// Shown in plans and errors.
        name: String,
        /// The content.
        data: Arc<[u8]>,
    },
}

impl ImageSource {
    /// A name to show: the path, or the given name.
    pub fn name(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            Self::Bytes { name, .. } => name.clone(),
        }
    }

    /// The file path, if this is a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::File(p) => Some(p),
            Self::Bytes { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_a_real_shaped_header() {
        // The header of a Linux 6.x defconfig Image: text_offset 0, image_size 0x2c80000, flags 0xa
        // (LE, 4K pages, anywhere placement).
        let mut h = [0u8; 64];
        h[0..4].copy_from_slice(&[0x4d, 0x5a, 0x40, 0xfa]); // "MZ" + ccmp (EFI stub)
        h[16..24].copy_from_slice(&0x2c8_0000u64.to_le_bytes());
        h[24..32].copy_from_slice(&0xau64.to_le_bytes());
        h[0x38..0x3c].copy_from_slice(b"ARM\x64");
        let hdr = Arm64ImageHeader::parse(&h).unwrap();
        assert_eq!(
            hdr,
            Arm64ImageHeader {
                text_offset: 0,
                image_size: 0x2c8_0000,
                flags: 0xa
            }
        );
        assert!(!hdr.is_big_endian());
        let p = KernelPlacement::of(&h);
        assert_eq!((p.text_offset, p.mem_size), (0, 0x2c8_0000));
    }

    #[test]
    fn rejects_short_and_bad_magic() {
        assert_eq!(
            Arm64ImageHeader::parse(&[0; 63]),
            Err(ImageError::TooShort { len: 63 })
        );
        assert_eq!(
            Arm64ImageHeader::parse(&[0; 64]),
            Err(ImageError::BadMagic { found: 0 })
        );
        assert_eq!(
            ImageError::BadMagic { found: 0x1234 }.to_string(),
            "no arm64 Image magic at offset 0x38 (found 0x00001234)"
        );
    }

    #[test]
    fn placement_falls_back_like_kvmtool() {
        // No header: 0x80000, file size.
        let p = KernelPlacement::of(&[0u8; 100]);
        assert_eq!(
            (p.text_offset, p.mem_size, p.header),
            (DEFAULT_TEXT_OFFSET, 100, None)
        );
        // Header with image_size 0: 0x80000 even though text_offset says otherwise.
        let mut img = synthetic_image(4096, 1);
        img[8..16].copy_from_slice(&0x20_0000u64.to_le_bytes());
        img[16..24].copy_from_slice(&0u64.to_le_bytes());
        let p = KernelPlacement::of(&img);
        assert_eq!((p.text_offset, p.mem_size), (DEFAULT_TEXT_OFFSET, 4096));
        // Header with image_size: its text_offset.
        img[16..24].copy_from_slice(&0x10_0000u64.to_le_bytes());
        let p = KernelPlacement::of(&img);
        assert_eq!((p.text_offset, p.mem_size), (0x20_0000, 0x10_0000));
    }

    #[test]
    fn synthetic_image_round_trips() {
        let img = synthetic_image(100_000, 7);
        assert_eq!(img.len(), 100_000);
        let h = Arm64ImageHeader::parse(&img).unwrap();
        assert_eq!((h.text_offset, h.image_size, h.flags), (0, 0x2_0000, 2));
        assert_ne!(filler(64, 1), filler(64, 2));
        assert_eq!(filler(13, 3).len(), 13);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = Arm64ImageHeader::parse(&bytes);
            let p = KernelPlacement::of(&bytes);
            prop_assert!(p.mem_size == bytes.len() as u64 || p.header.is_some_and(|h| h.image_size == p.mem_size));
        }

        #[test]
        fn encode_parse(text_offset in any::<u64>(), image_size in any::<u64>(), flags in any::<u64>()) {
            let h = Arm64ImageHeader { text_offset, image_size, flags };
            prop_assert_eq!(Arm64ImageHeader::parse(&h.encode()), Ok(h));
        }
    }
}
