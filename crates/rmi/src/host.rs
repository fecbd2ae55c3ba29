//! What the host sees of the RMM: the SMC-shaped RMI entry point and the Non-secure physical memory.
//!
//! These two traits are the whole contract between the RMM and the kernel layer (`realm-kvm`): the kernel
//! knows the RMM only as something it can issue RMI calls to, exactly as Linux does through its
//! `rmi_cmds.h` wrappers around `arm_smccc_1_2_smc`.

use std::ops::Range;
use std::sync::Arc;

/// The general-purpose registers of one SMC, x0..x6.
///
/// On entry `x[0]` is the function id (FID) and `x[1..=6]` the arguments. On return `x[0]` is the RMI status
/// word (`status | index << 8`, DEN0137 1.0-rel0 B4.4) and `x[1..=4]` the outputs. As observed on TF-RMM
/// (SMCCC 1.2): result registers that are not outputs of the command come back zero in x1..x3, x4 comes back
/// as the caller left it unless it is an output, and x5..x6 are preserved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SmcRegs {
    /// x0..x6.
    pub x: [u64; 7],
}

impl SmcRegs {
    /// Registers for a call of `fid` with up to six arguments (missing ones are zero).
    pub fn call(fid: u32, args: &[u64]) -> Self {
        let mut x = [0; 7];
        x[0] = u64::from(fid);
        for (slot, arg) in x[1..].iter_mut().zip(args) {
            *slot = *arg;
        }
        Self { x }
    }

    /// The RMI status byte of a returned x0 (`RMI_RETURN_STATUS`).
    pub fn status(&self) -> u8 {
        self.x[0].to_le_bytes()[0]
    }

    /// The RMI index byte of a returned x0 (`RMI_RETURN_INDEX`).
    pub fn index(&self) -> u8 {
        self.x[0].to_le_bytes()[1]
    }
}

/// The RMI as the host issues it: one SMC at a time, from any CPU (thread).
///
/// Implementations serialise internally as the RMM does with its granule locks; every call returns, good
/// or bad input alike, and bad input never panics.
pub trait Rmi: Send + Sync {
    /// One RMI call (`SMC #0` with `regs.x[0]` = FID). An FID the RMM does not implement returns
    /// `SMC_UNKNOWN` (-1) in x0.
    fn call(&self, regs: SmcRegs) -> SmcRegs;

    /// A run of calls applied in order, stopping after the first call whose status is not `RMI_SUCCESS`;
    /// the result of every call made is appended to `out`.
    ///
    /// The results (status of every call, granule states, measurements) must equal issuing the same calls
    /// one by one through [`Rmi::call`]. The kernel layer uses this for its chunked populate, so an
    /// implementation may hash `RMI_DATA_CREATE` contents on several cores.
    fn call_many(&self, calls: &[SmcRegs], out: &mut Vec<SmcRegs>) {
        self.call_while(calls, 0, out);
    }

    /// A run of calls applied in order while each returns `status` in x0, stopping after the first that
    /// returns anything else; the result of every call made is appended to `out`.
    ///
    /// The results must equal issuing the same calls one by one through [`Rmi::call`]. The kernel layer
    /// uses this for calls it would issue anyway while the replies stay the same: v12's
    /// `RMI_RTT_INIT_RIPAS` one page after another over populated memory, each failing with
    /// `RMI_ERROR_RTT` at level 3, so an implementation may serve such a run under one lock.
    fn call_while(&self, calls: &[SmcRegs], status: u64, out: &mut Vec<SmcRegs>) {
        for regs in calls {
            let ret = self.call(*regs);
            out.push(ret);
            if ret.x[0] != status {
                break;
            }
        }
    }
}

/// A host access that the platform refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostAccessFault {
    /// The address range is not (entirely) inside a DRAM region.
    #[error("physical address {pa:#x} is not in DRAM")]
    NotDram {
        /// First address that is outside DRAM.
        pa: u64,
    },
    /// The access touches a granule in the Realm PAS: a granule protection fault on real hardware.
    #[error("granule protection fault at {pa:#x}")]
    GranuleProtection {
        /// First address of the refused granule.
        pa: u64,
    },
}

/// Non-secure physical memory as the host (kernel) reaches it.
///
/// Accesses may span granules; an access is all-or-nothing (a fault writes nothing).
pub trait HostMemory: Send + Sync {
    /// The DRAM regions of the platform, ascending, non-overlapping.
    fn dram(&self) -> Vec<Range<u64>>;
    /// Read `buf.len()` bytes at physical address `pa`.
    fn read(&self, pa: u64, buf: &mut [u8]) -> Result<(), HostAccessFault>;
    /// Write `data` at physical address `pa`.
    fn write(&self, pa: u64, data: &[u8]) -> Result<(), HostAccessFault>;
    /// Make the Non-secure granule at `pa` (aligned) hold `page` by reference, until it is next written:
    /// the PA of a user page the kernel pinned, as Linux passes `page_to_phys(pinned page)` to
    /// RMI_DATA_CREATE instead of copying it. The default copies the bytes ([`HostMemory::write`]); a
    /// simulated platform may keep the reference, so a page-cache page is never copied.
    fn map_page(&self, pa: u64, page: &PinnedPage) -> Result<(), HostAccessFault> {
        self.write(pa, page.bytes())
    }
}

/// Host memory that stays in place, unchanged, for as long as it is referenced: the pages of a read-only
/// private file mapping (the page cache), which the kernel layer can pin instead of copying.
pub trait PageSource: Send + Sync + std::fmt::Debug {
    /// The bytes. Their length need not be a multiple of the page size (a file mapping's last page reads
    /// as zero past the end of the file); it must not change.
    fn bytes(&self) -> &[u8];

    /// Copy the `buf.len()` bytes at `offset` of [`PageSource::bytes`] into `buf` through the source's
    /// file (`pread`) without touching a mapping of them, if the source has a file; `false` (the default,
    /// and on any failure) when the caller must read [`PageSource::bytes`] instead. For readers that will
    /// not keep the bytes (hashing them once): faulting a file mapping's pages in and unmapping them again
    /// costs more than copying them through a small buffer.
    fn read_at(&self, offset: usize, buf: &mut [u8]) -> bool {
        let _ = (offset, buf);
        false
    }
}

/// The size of a pinned page (the host's `PAGE_SIZE`, the RMM's granule).
pub const PINNED_PAGE_SIZE: usize = 4096;

/// One whole 4 KiB page of a [`PageSource`], held by reference (cloning it copies no bytes).
#[derive(Clone, Debug)]
pub struct PinnedPage {
    source: Arc<dyn PageSource>,
    offset: usize,
}

impl PinnedPage {
    /// The page at `offset` of `source`, or `None` unless `offset` is page aligned and a whole page of
    /// bytes lies there (a file's partial last page is copied, not pinned).
    pub fn new(source: Arc<dyn PageSource>, offset: usize) -> Option<Self> {
        let whole = offset.is_multiple_of(PINNED_PAGE_SIZE)
            && offset
                .checked_add(PINNED_PAGE_SIZE)
                .is_some_and(|end| end <= source.bytes().len());
        whole.then_some(Self { source, offset })
    }

    /// The source the page belongs to (its identity keys caches of page contents: a source's bytes never
    /// change).
    pub fn source(&self) -> &Arc<dyn PageSource> {
        &self.source
    }

    /// The page's byte offset in its source (page aligned).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The page's bytes.
    pub fn bytes(&self) -> &[u8; PINNED_PAGE_SIZE] {
        static ZERO: [u8; PINNED_PAGE_SIZE] = [0; PINNED_PAGE_SIZE];
        let page = self
            .source
            .bytes()
            .get(self.offset..self.offset + PINNED_PAGE_SIZE)
            .and_then(|b| b.try_into().ok());
        // `new` checked the page is whole and a source's length never changes.
        debug_assert!(page.is_some(), "a page source shrank");
        page.unwrap_or(&ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Bytes(Vec<u8>);
    impl PageSource for Bytes {
        fn bytes(&self) -> &[u8] {
            &self.0
        }
    }

    #[test]
    fn pinned_pages_are_whole_aligned_pages_only() {
        let src: Arc<dyn PageSource> = Arc::new(Bytes((0..=255).cycle().take(9000).collect()));
        let p = PinnedPage::new(Arc::clone(&src), 4096).expect("the second page is whole");
        assert_eq!(p.bytes()[0], 0, "offset 4096 is byte 0 of the cycle");
        assert_eq!(p.bytes()[5], 5);
        assert!(
            PinnedPage::new(Arc::clone(&src), 100).is_none(),
            "unaligned"
        );
        assert!(
            PinnedPage::new(Arc::clone(&src), 8192).is_none(),
            "the partial last page"
        );
        assert!(
            PinnedPage::new(src, usize::MAX - 4095).is_none(),
            "overflow"
        );
    }
}
