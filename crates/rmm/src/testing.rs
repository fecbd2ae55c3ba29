//! Scenario builders for tests (feature `testing`): a [`World`] owns an [`Rmm`] and hands out granules,
//! so tests read as the host's steps.
//!
//! ```
//! use realm_rmm::testing::{RealmParams, World};
//! let mut w = World::new();
//! let rd = w.realm_create(&RealmParams::default_sha256());
//! assert!(w.rmm.measurements(rd).is_some());
//! ```

use zerocopy::{FromZeros as _, IntoBytes as _};

use crate::abi::{self, RmiRealmParams, RmiRecParams};
use crate::host::{HostMemory as _, Rmi as _, SmcRegs};
use crate::{DramRegion, PlatformConfig, Rmm};

/// Base of the test platform's DRAM.
pub const DRAM_BASE: u64 = 0x8000_0000;
/// Size of the test platform's DRAM (sparse, so large is free).
pub const DRAM_SIZE: u64 = 64 << 30;

/// Realm parameters a test chooses (the rest follow: root count, level, RTT base).
#[derive(Clone, Debug)]
pub struct RealmParams {
    /// `flags`.
    pub flags: u64,
    /// `s2sz`.
    pub s2sz: u32,
    /// Starting level.
    pub start_level: i64,
    /// `hash_algo`.
    pub hash_algo: u8,
    /// `vmid`.
    pub vmid: u16,
    /// `num_bps`/`num_wps` (count-1).
    pub num_bps: u32,
    /// Watchpoints (count-1).
    pub num_wps: u32,
}

impl RealmParams {
    /// A 40-bit, SHA-256 realm starting at level 1 (two concatenated roots), VMID 1.
    pub fn default_sha256() -> Self {
        Self {
            flags: 0,
            s2sz: 40,
            start_level: 1,
            hash_algo: 0,
            vmid: 1,
            num_bps: 1,
            num_wps: 1,
        }
    }

    /// Number of root RTTs for these parameters.
    pub fn num_roots(&self) -> u64 {
        let levels = u32::try_from(3 - self.start_level).unwrap_or(0);
        let sl_bits = levels * 9 + 21;
        if sl_bits >= self.s2sz {
            1
        } else {
            1 << (self.s2sz - sl_bits)
        }
    }
}

/// REC parameters a test chooses.
#[derive(Clone, Debug, Default)]
pub struct RecParams {
    /// `flags`.
    pub flags: u64,
    /// `mpidr`.
    pub mpidr: u64,
    /// `pc`.
    pub pc: u64,
    /// `gprs`.
    pub gprs: [u64; 8],
}

impl RecParams {
    /// A runnable REC with this MPIDR.
    pub fn runnable(mpidr: u64) -> Self {
        Self {
            flags: abi::RMI_REC_CREATE_FLAGS_RUNNABLE,
            mpidr,
            ..Self::default()
        }
    }
}

/// A test world: an RMM plus a bump allocator of NS granules.
#[derive(Debug)]
pub struct World {
    /// The RMM under test.
    pub rmm: Rmm,
    next: u64,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// The platform the RMM's own scenario tests are written for: QEMU `max`'s resources (6 breakpoints,
/// 4 watchpoints, SVE up to VQ 16, 6 PMU counters, 4 list registers) on a 48-bit host without LPA2
/// (`RMI_FEATURES(0)` S2SZ 48, LPA2 0).
pub fn test_platform() -> crate::Platform {
    let mut p = realm_platform::profiles::qemu_max();
    p.pa_bits = 48;
    p.lpa2 = false;
    p.name = "qemu-max+custom".into();
    p
}

impl World {
    /// A world on [`test_platform`].
    pub fn new() -> Self {
        Self::with_platform(PlatformConfig {
            dram: vec![DramRegion {
                base: DRAM_BASE,
                size: DRAM_SIZE,
            }],
            ..PlatformConfig::from_platform(&test_platform())
        })
    }

    /// A world on `platform` (granules come from its first DRAM region).
    pub fn with_platform(platform: PlatformConfig) -> Self {
        let next = platform.dram.first().map_or(DRAM_BASE, |r| r.base);
        Self {
            rmm: Rmm::new(platform),
            next,
        }
    }

    /// A fresh NS granule.
    pub fn alloc(&mut self) -> u64 {
        let pa = self.next;
        self.next += 0x1000;
        pa
    }

    /// `n` contiguous fresh NS granules; returns the first.
    pub fn alloc_n(&mut self, n: u64) -> u64 {
        let pa = self.next;
        self.next += n * 0x1000;
        pa
    }

    /// One RMI call.
    pub fn rmi(&self, fid: u32, args: &[u64]) -> SmcRegs {
        self.rmm.call(SmcRegs::call(fid, args))
    }

    /// One RMI call that must succeed; returns x1..x4.
    ///
    /// # Panics
    /// If the call fails (tests only).
    pub fn ok(&self, fid: u32, args: &[u64]) -> [u64; 4] {
        let r = self.rmi(fid, args);
        assert_eq!(
            r.x[0], 0,
            "fid {fid:#x} args {args:x?} failed: {:#x}",
            r.x[0]
        );
        [r.x[1], r.x[2], r.x[3], r.x[4]]
    }

    /// A fresh delegated granule.
    pub fn delegated(&mut self) -> u64 {
        let pa = self.alloc();
        self.ok(abi::RMI_GRANULE_DELEGATE, &[pa]);
        pa
    }

    /// Write `params` into a fresh NS granule and return its PA.
    pub fn host_page(&mut self, bytes: &[u8]) -> u64 {
        let pa = self.alloc();
        self.rmm.write(pa, bytes).expect("NS page");
        pa
    }

    /// The `RmiRealmParams` for `p` with roots at `rtt_base`.
    pub fn realm_params(p: &RealmParams, rtt_base: u64) -> RmiRealmParams {
        let mut r = RmiRealmParams::new_zeroed();
        r.flags = p.flags;
        r.s2sz = p.s2sz;
        r.num_bps = p.num_bps;
        r.num_wps = p.num_wps;
        r.hash_algo = p.hash_algo;
        r.vmid = p.vmid;
        r.rtt_base = rtt_base;
        r.rtt_level_start = p.start_level;
        r.rtt_num_start = u32::try_from(p.num_roots()).unwrap_or(0);
        r
    }

    /// Create a realm (delegating its RD and roots); returns the RD's PA.
    pub fn realm_create(&mut self, p: &RealmParams) -> u64 {
        let n = p.num_roots();
        let base = self.alloc_n(n);
        for i in 0..n {
            self.ok(abi::RMI_GRANULE_DELEGATE, &[base + i * 0x1000]);
        }
        let rd = self.delegated();
        let params = self.host_page(Self::realm_params(p, base).as_bytes());
        self.ok(abi::RMI_REALM_CREATE, &[rd, params]);
        rd
    }

    /// Create RTTs from the level below the start down to `level` covering `ipa`; returns the new RTTs.
    pub fn rtt_path(&mut self, rd: u64, start_level: i64, ipa: u64, level: i64) -> Vec<u64> {
        let mut out = Vec::new();
        for l in start_level + 1..=level {
            let mask = !((1u64 << (12 + 9 * (4 - l))) - 1);
            let rtt = self.delegated();
            let r = self.rmi(
                abi::RMI_RTT_CREATE,
                &[rd, rtt, ipa & mask, u64::from_le_bytes(l.to_le_bytes())],
            );
            if r.x[0] == 0 {
                out.push(rtt);
            } else {
                self.ok(abi::RMI_GRANULE_UNDELEGATE, &[rtt]);
            }
        }
        out
    }

    /// DATA_CREATE `contents` at `ipa`; returns the DATA granule.
    pub fn data_create(&mut self, rd: u64, ipa: u64, contents: &[u8], measure: bool) -> u64 {
        let src = self.host_page(contents);
        let data = self.delegated();
        self.ok(
            abi::RMI_DATA_CREATE,
            &[rd, data, ipa, src, u64::from(measure)],
        );
        data
    }

    /// Create a REC (delegating it and its aux granules); returns the REC's PA.
    pub fn rec_create(&mut self, rd: u64, p: &RecParams) -> u64 {
        let mut r = RmiRecParams::new_zeroed();
        r.flags = p.flags;
        r.mpidr = p.mpidr;
        r.pc = p.pc;
        r.gprs = p.gprs;
        r.num_aux = abi::MAX_REC_AUX_GRANULES as u64;
        for a in r.aux.iter_mut() {
            *a = self.delegated();
        }
        let rec = self.delegated();
        let params = self.host_page(r.as_bytes());
        self.ok(abi::RMI_REC_CREATE, &[rd, rec, params]);
        rec
    }
}
