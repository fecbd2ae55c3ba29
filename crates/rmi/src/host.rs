//! What the host sees of the RMM: the SMC-shaped RMI entry point and the Non-secure physical memory.
//!
//! These two traits are the whole contract between the RMM and the kernel layer (`realm-kvm`): the kernel
//! knows the RMM only as something it can issue RMI calls to, exactly as Linux does through its
//! `rmi_cmds.h` wrappers around `arm_smccc_1_2_smc`.

use std::ops::Range;

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
        for regs in calls {
            let ret = self.call(*regs);
            out.push(ret);
            if ret.x[0] != 0 {
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
}
