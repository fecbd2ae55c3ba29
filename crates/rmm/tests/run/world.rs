//! A realm set up through the RMI for the REC_ENTER / PSCI / RSI tests, with scripted realm CPUs.
//!
//! Layout (s2sz 39, root RTT at level 1): protected RAM `[0, 2 MiB)` (RIPAS RAM, level-3 table at IPA 0),
//! DATA granules at [`CODE_IPA`], [`BUF_IPA`] and [`BUF2_IPA`]; the unprotected half starts at [`UNPROT`], with
//! a level-3 table at [`MMIO_IPA`] whose entries are unassigned (every access there is an MMIO exit).

use std::sync::Arc;

use realm_rmm::abi::{self, RmiRealmParams, RmiRecEnter, RmiRecExit, RmiRecParams};
use realm_rmm::cpu::CpuModel;
use realm_rmm::cpu::scripted::{Script, ScriptedCpus};
use realm_rmm::host::{HostMemory, Rmi, SmcRegs};
use realm_rmm::{DramRegion, PlatformConfig, Rmm};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

pub const DRAM: u64 = 0x8000_0000;
pub const S2SZ: u32 = 39;
pub const UNPROT: u64 = 1 << 38;
pub const CODE_IPA: u64 = 0x0;
pub const BUF_IPA: u64 = 0x1000;
pub const BUF2_IPA: u64 = 0x2000;
pub const RAM_TOP: u64 = 0x20_0000;
pub const MMIO_IPA: u64 = UNPROT + 0x1000;
pub const NS_IPA: u64 = UNPROT + 0x2000;

/// The platform, the realm and its RECs.
pub struct World {
    pub rmm: Arc<Rmm>,
    pub cpus: Arc<ScriptedCpus>,
    next: u64,
    pub rd: u64,
    pub recs: Vec<u64>,
    pub run: u64,
    vmid: u16,
    recs_in_realm: u64,
    /// The NS granule mapped at [`NS_IPA`].
    pub ns_page: u64,
}

pub fn ok(ret: SmcRegs) -> SmcRegs {
    assert_eq!(ret.x[0], 0, "expected RMI_SUCCESS, got {:#x}", ret.x[0]);
    ret
}

impl World {
    /// An RMM running RECs on `cpu` (scripted CPUs if `None`) and nothing created.
    pub fn bare_with(cpu: Option<CpuModel>) -> Self {
        let cpus = ScriptedCpus::new();
        let rmm = Rmm::new(PlatformConfig {
            dram: vec![DramRegion {
                base: DRAM,
                size: 1 << 30,
            }],
            cpu: cpu.unwrap_or_else(|| cpus.model()),
            ..PlatformConfig::default()
        });
        let mut w = Self {
            rmm: Arc::new(rmm),
            cpus,
            next: DRAM,
            rd: 0,
            recs: Vec::new(),
            run: 0,
            vmid: 0,
            recs_in_realm: 0,
            ns_page: 0,
        };
        w.run = w.alloc();
        w
    }

    /// A realm with RAM, buffers, an MMIO table and `n_recs` RECs (REC 0 runnable, the others not),
    /// activated unless `activate` is false.
    pub fn realm(n_recs: usize, activate: bool) -> Self {
        Self::realm_with(None, n_recs, activate)
    }

    /// [`World::realm`] with RECs running on `cpu`.
    pub fn realm_with(cpu: Option<CpuModel>, n_recs: usize, activate: bool) -> Self {
        let mut w = Self::bare_with(cpu);
        w.create_realm(0);
        w.map_ram();
        for i in 0..n_recs {
            w.create_rec(i == 0, CODE_IPA, &[]);
        }
        if activate {
            ok(w.call(abi::RMI_REALM_ACTIVATE, &[w.rd]));
        }
        w
    }

    pub fn call(&self, fid: u32, args: &[u64]) -> SmcRegs {
        self.rmm.call(SmcRegs::call(fid, args))
    }

    /// A fresh NS granule.
    pub fn alloc(&mut self) -> u64 {
        let pa = self.next;
        self.next += 0x1000;
        pa
    }

    /// A fresh delegated granule.
    pub fn delegate(&mut self) -> u64 {
        let pa = self.alloc();
        ok(self.call(abi::RMI_GRANULE_DELEGATE, &[pa]));
        pa
    }

    pub fn create_realm(&mut self, hash_algo: u8) {
        self.rd = self.delegate();
        let rtt = self.delegate();
        let params_pa = self.alloc();
        let mut p = RmiRealmParams::new_zeroed();
        p.s2sz = S2SZ;
        p.num_bps = 1;
        p.num_wps = 1;
        p.hash_algo = hash_algo;
        p.rpv[0] = 0xAB;
        p.rpv[63] = 0xCD;
        self.vmid += 1;
        self.recs_in_realm = 0;
        p.vmid = self.vmid;
        p.rtt_base = rtt;
        p.rtt_level_start = 1;
        p.rtt_num_start = 1;
        self.rmm
            .write(params_pa, p.as_bytes())
            .expect("params in NS memory");
        ok(self.call(abi::RMI_REALM_CREATE, &[self.rd, params_pa]));
    }

    fn rtt(&mut self, ipa: u64, level: u64) {
        let rtt = self.delegate();
        ok(self.call(abi::RMI_RTT_CREATE, &[self.rd, rtt, ipa, level]));
    }

    /// Protected RAM [0, 2 MiB) with DATA at the code and buffer pages; unprotected tables for MMIO.
    pub fn map_ram(&mut self) {
        self.rtt(0, 2);
        self.rtt(0, 3);
        ok(self.call(abi::RMI_RTT_INIT_RIPAS, &[self.rd, 0, RAM_TOP]));
        for ipa in [CODE_IPA, BUF_IPA, BUF2_IPA] {
            let data = self.delegate();
            let src = self.alloc();
            ok(self.call(abi::RMI_DATA_CREATE, &[self.rd, data, ipa, src, 0]));
        }
        self.rtt(UNPROT, 2);
        self.rtt(UNPROT, 3);
        // One NS page mapped at NS_IPA (normal write-back memory, read/write).
        let ns = self.alloc();
        ok(self.call(
            abi::RMI_RTT_MAP_UNPROTECTED,
            &[self.rd, NS_IPA, 3, ns | 0xD8],
        ));
        self.ns_page = ns;
    }

    /// The next REC of the current realm, MPIDR = its index in the realm.
    pub fn create_rec(&mut self, runnable: bool, pc: u64, gprs: &[u64]) -> u64 {
        let rec = self.delegate();
        let aux_count = ok(self.call(abi::RMI_REC_AUX_COUNT, &[self.rd])).x[1];
        let params_pa = self.alloc();
        let mut p = RmiRecParams::new_zeroed();
        p.flags = u64::from(runnable);
        p.mpidr = self.recs_in_realm;
        self.recs_in_realm += 1;
        p.pc = pc;
        for (slot, v) in p.gprs.iter_mut().zip(gprs) {
            *slot = *v;
        }
        p.num_aux = aux_count;
        for i in 0..usize::try_from(aux_count).unwrap_or(0) {
            p.aux[i] = self.delegate();
        }
        self.rmm
            .write(params_pa, p.as_bytes())
            .expect("params in NS memory");
        ok(self.call(abi::RMI_REC_CREATE, &[self.rd, rec, params_pa]));
        self.recs.push(rec);
        rec
    }

    pub fn script(&self, rec_index: u64) -> Script {
        self.cpus.script(rec_index)
    }

    /// Write the entry half of the run page.
    pub fn set_enter(&self, enter: &RmiRecEnter) {
        self.rmm
            .write(self.run, enter.as_bytes())
            .expect("run page in NS memory");
    }

    /// REC_ENTER of REC `i` with entry `flags` and `gprs` (GIC state empty); returns x0 and the exit.
    pub fn enter_with(&self, i: usize, flags: u64, gprs: &[u64]) -> (u64, RmiRecExit) {
        let mut enter = RmiRecEnter::new_zeroed();
        enter.flags = flags;
        for (slot, v) in enter.gprs.iter_mut().zip(gprs) {
            *slot = *v;
        }
        self.set_enter(&enter);
        self.enter_raw(i)
    }

    /// REC_ENTER of REC `i` with the run page as it is.
    pub fn enter_raw(&self, i: usize) -> (u64, RmiRecExit) {
        let ret = self.call(abi::RMI_REC_ENTER, &[self.recs[i], self.run]);
        (ret.x[0], self.exit())
    }

    /// REC_ENTER with no flags; the exit on success.
    pub fn enter(&self, i: usize) -> RmiRecExit {
        let (x0, exit) = self.enter_with(i, 0, &[]);
        assert_eq!(x0, 0, "REC_ENTER failed: {x0:#x}");
        exit
    }

    /// The exit half of the run page.
    pub fn exit(&self) -> RmiRecExit {
        let mut buf = vec![0u8; 0x800];
        self.rmm
            .read(self.run + 0x800, &mut buf)
            .expect("run page in NS memory");
        RmiRecExit::read_from_bytes(&buf).expect("0x800 bytes")
    }

    pub fn psci_complete(&self, calling: usize, target: usize, status: u64) -> u64 {
        self.call(
            abi::RMI_PSCI_COMPLETE,
            &[self.recs[calling], self.recs[target], status],
        )
        .x[0]
    }
}
