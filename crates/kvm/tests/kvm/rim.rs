//! Done-when test: a complete realm construction through the byte-level entry point, exactly as a VMM
//! does it, against the real RMM (`realm_rmm::Rmm`), compared with the RIM of the equivalent RMI sequence
//! issued directly to a fresh RMM. The reference below restates the Linux algorithm independently of the
//! kernel crate's code (v12 rmi.c / v10 rme.c order: RD, DATA with RTT creation on RMI_ERROR_RTT,
//! RECs in vCPU order, INIT_RIPAS per guest_memfd memslot in memslot hash order, ACTIVATE).

use std::sync::Arc;

use crate::common::uapi::*;
use realm_kvm::{AbiRevision, Errno, Fd, KvmRealmState};
use realm_rmm::host::{HostMemory, Rmi, SmcRegs};
use realm_rmm::{PlatformConfig, Rmm};

use crate::common::{H, psci_0_2};

const KERNEL_GPA: u64 = 0x8000_0000;
const KERNEL_PAGES: u64 = 0x203; // crosses a 2 MiB boundary
const DTB_GPA: u64 = 0x83e0_0000;
const RAM1: (u64, u64) = (0x8000_0000, 64 << 20); // slot 1
const RAM3: (u64, u64) = (0xc000_0000, 8 << 20); // slot 3 (hash bucket 18, before slot 1's 48)

fn page_content(ipa: u64) -> Vec<u8> {
    (0..4096u64)
        .map(|i| u8::try_from((ipa >> 12).wrapping_mul(7).wrapping_add(i) & 0xff).unwrap())
        .collect()
}

/// The reference: raw RMI calls to a fresh RMM.
struct Ref {
    rmm: Rmm,
    next: u64,
}

impl Ref {
    fn new() -> Self {
        Self {
            rmm: Rmm::new(qemu_max()),
            next: PlatformConfig::DEFAULT_DRAM_BASE,
        }
    }
    fn call(&self, n: u32, args: &[u64]) -> SmcRegs {
        self.rmm.call(SmcRegs::call(0xC400_0000 | n, args))
    }
    fn ok(&self, n: u32, args: &[u64]) -> SmcRegs {
        let r = self.call(n, args);
        assert_eq!(r.x[0], 0, "RMI {n:#x} {args:x?}");
        r
    }
    fn page(&mut self) -> u64 {
        let pa = self.next;
        self.next += 4096;
        pa
    }
    fn delegated(&mut self) -> u64 {
        let pa = self.page();
        self.ok(0x151, &[pa]);
        pa
    }
    fn realm(&mut self, hash: u64, rpv: &[u8; 64]) -> u64 {
        let rd = self.delegated();
        let pgd = self.next;
        self.delegated();
        self.delegated();
        let mut p = vec![0u8; 4096];
        let mut put = |off: usize, v: u64| p[off..off + 8].copy_from_slice(&v.to_le_bytes());
        put(0x8, 40); // s2sz
        put(0x18, 5); // num_bps = FEATURES.NUM_BPS
        put(0x20, 3); // num_wps
        put(0x30, hash);
        put(0x808, pgd);
        put(0x810, 1); // start level for 40 bits
        put(0x818, 2); // two concatenated root tables
        p[0x400..0x440].copy_from_slice(rpv);
        let params = self.page();
        self.rmm.write(params, &p).unwrap();
        self.ok(0x158, &[rd, params]);
        self.ok(0x167, &[rd]);
        rd
    }
    fn map_level(ipa: u64, end: u64) -> i64 {
        let mut level = 3;
        while level > 1 {
            let size = 1u64 << (9 * (4 - (level - 1)) + 3);
            if !ipa.is_multiple_of(size) || ipa + size > end {
                break;
            }
            level -= 1;
        }
        level
    }
    fn rtts(&mut self, rd: u64, ipa: u64, mut level: i64, max: i64) {
        while level < max {
            level += 1;
            let rtt = self.delegated();
            let base = ipa & !((1u64 << (9 * (4 - (level - 1)) + 3)) - 1);
            let r = self.call(0x15d, &[rd, rtt, base, level.cast_unsigned()]);
            if r.x[0] != 0 {
                assert_eq!(r.x[0], 4 | ((level - 1).cast_unsigned() << 8), "RTT exists");
                self.ok(0x152, &[rtt]);
            }
        }
    }
    fn data(&mut self, rd: u64, ipa: u64, flags: u64) {
        let src = self.page();
        self.rmm.write(src, &page_content(ipa)).unwrap();
        let dst = self.delegated();
        let r = self.call(0x153, &[rd, dst, ipa, src, flags]);
        if r.x[0] & 0xff == 4 {
            self.rtts(rd, ipa, i64::from(r.index()), 3);
            self.ok(0x153, &[rd, dst, ipa, src, flags]);
        } else {
            assert_eq!(r.x[0], 0);
        }
    }
    fn init_ripas(&mut self, rd: u64, mut ipa: u64, end: u64, skip_hack: bool) {
        while ipa < end {
            let r = self.call(0x168, &[rd, ipa, end]);
            if r.x[0] == 0 {
                ipa = r.x[1];
                continue;
            }
            assert_eq!(r.x[0] & 0xff, 4);
            let err = i64::from(r.index());
            let level = Self::map_level(ipa, end);
            if err >= level {
                assert!(skip_hack, "v10 has no skip");
                ipa += 4096;
            } else {
                self.rtts(rd, ipa, err, level);
            }
        }
    }
    fn rec(&mut self, rd: u64, runnable: bool, mpidr: u64, pc: u64, x0: u64) {
        let rec = self.delegated();
        let mut p = vec![0u8; 4096];
        let mut put = |off: usize, v: u64| p[off..off + 8].copy_from_slice(&v.to_le_bytes());
        put(0, u64::from(runnable));
        put(0x100, mpidr);
        put(0x200, pc);
        put(0x300, x0);
        let aux = self.ok(0x167, &[rd]).x[1];
        put(0x800, aux);
        for i in 0..aux {
            let a = self.delegated();
            put(0x808 + 8 * usize::try_from(i).unwrap(), a);
        }
        let params = self.page();
        self.rmm.write(params, &p).unwrap();
        self.ok(0x15a, &[rd, rec, params]);
    }
}

fn kernel_pages() -> impl Iterator<Item = u64> {
    (0..KERNEL_PAGES).map(|i| KERNEL_GPA + i * 4096)
}

/// Write the image pages into user memory at `hva` (page `gpa - base`).
fn load(h: &H<Rmm>, hva: u64, base: u64) {
    for ipa in kernel_pages().chain([DTB_GPA]) {
        h.k.user_memory()
            .write(hva + (ipa - base), &page_content(ipa))
            .unwrap();
    }
}

fn realm_h(abi: AbiRevision) -> H<Rmm> {
    H::with_rmm(abi, Arc::new(Rmm::new(qemu_max())), None)
}

fn close_all(h: &H<Rmm>, fds: &[Fd]) {
    for fd in fds.iter().rev() {
        h.k.close(*fd).unwrap();
    }
    h.rmm.check_invariants().unwrap();
    assert_eq!(h.rmm.realm_granule_count(), 0);
    assert_eq!(h.k.page_allocator().in_use(), 0);
}

#[test]
fn v12_rim_equals_direct_rmi_sequence() {
    let mut h = realm_h(AbiRevision::V12);
    let vm = h.realm_vm();
    let gic = h.vgic(vm).unwrap();
    let mut fds = vec![vm, gic];
    for (slot, (gpa, size)) in [(1, RAM1), (3, RAM3)] {
        let shared = h.user(size);
        let g = h.gmem(vm, size).unwrap();
        fds.push(g);
        h.memslot(vm, slot, gpa, size, shared, Some((g, 0)))
            .unwrap();
        h.private(vm, gpa, size, true).unwrap();
    }
    let v0 = h.vcpu(vm, 0).unwrap();
    let v1 = h.vcpu(vm, 1).unwrap();
    fds.extend([v0, v1]);
    h.vcpu_init(v0, psci_0_2()).unwrap();
    h.vcpu_init(v1, psci_0_2()).unwrap();
    h.set_reg(v0, reg::PC, KERNEL_GPA).unwrap();
    h.set_reg(v0, reg::x(0), DTB_GPA).unwrap();
    // The VMM's image buffer (source_uaddr), as kvmtool/QEMU keep it.
    let image = h.user(RAM1.1);
    load(&h, image, RAM1.0);
    let measure = KVM_ARM_RMI_POPULATE_FLAGS_MEASURE;
    let mut left = KERNEL_PAGES * 4096;
    let mut base = KERNEL_GPA;
    while left > 0 {
        // The VMM repeats on partial progress.
        let done = u64::try_from(
            h.populate(vm, base, left, image + (base - RAM1.0), measure)
                .unwrap(),
        )
        .unwrap();
        assert!(done > 0);
        base += done;
        left -= done;
    }
    assert_eq!(
        h.populate(vm, DTB_GPA, 4096, image + (DTB_GPA - RAM1.0), 0),
        Ok(4096)
    );
    h.k.kvm_run(v0).unwrap().set_immediate_exit(1);
    assert_eq!(h.run(v0), Err(Errno::EINTR));
    assert_eq!(h.k.debug_realm_state(vm), Some(KvmRealmState::Active));
    h.rmm.check_invariants().unwrap();
    let rd = h.k.debug_realm_rd(vm).unwrap();
    let got = h.rmm.measurements(rd).unwrap();
    let got_log = h.rmm.measurement_log(rd).unwrap();

    let mut r = Ref::new();
    let rrd = r.realm(0, &[0; 64]);
    for ipa in kernel_pages() {
        r.data(rrd, ipa, 1);
    }
    r.data(rrd, DTB_GPA, 0);
    r.rec(rrd, true, 0, KERNEL_GPA, DTB_GPA);
    r.rec(rrd, false, 1, 0, 0);
    r.init_ripas(rrd, RAM3.0, RAM3.0 + RAM3.1, true);
    r.init_ripas(rrd, RAM1.0, RAM1.0 + RAM1.1, true);
    r.ok(0x157, &[rrd]);
    let want_log = r.rmm.measurement_log(rrd).unwrap();
    assert_eq!(got_log.len(), want_log.len());
    for (i, (g, w)) in got_log.iter().zip(&want_log).enumerate() {
        assert_eq!(g.kind, w.kind, "event {i}");
    }
    assert_eq!(got, r.rmm.measurements(rrd).unwrap());
    close_all(&h, &fds);
}

#[test]
fn v10_rim_equals_direct_rmi_sequence() {
    let mut h = realm_h(AbiRevision::V10);
    let vm = h.realm_vm();
    let mut fds = vec![vm];
    let shared = h.user(RAM1.1);
    load(&h, shared, RAM1.0);
    let g = h.gmem(vm, RAM1.1).unwrap();
    fds.push(g);
    h.memslot(vm, 1, RAM1.0, RAM1.1, shared, Some((g, 0)))
        .unwrap();
    let rpv: [u8; 64] = std::array::from_fn(|i| u8::try_from(i).unwrap() ^ 0x5a);
    let mut cfg = vec![0u8; 260];
    cfg[0..4].copy_from_slice(&rme::ARM_RME_CONFIG_RPV.to_le_bytes());
    cfg[4..68].copy_from_slice(&rpv);
    h.rme(vm, rme::KVM_CAP_ARM_RME_CONFIG_REALM, &cfg).unwrap();
    let mut cfg = vec![0u8; 260];
    cfg[0..4].copy_from_slice(&rme::ARM_RME_CONFIG_HASH_ALGO.to_le_bytes());
    cfg[4..8].copy_from_slice(&rme::ARM_RME_CONFIG_HASH_ALGO_SHA512.to_le_bytes());
    h.rme(vm, rme::KVM_CAP_ARM_RME_CONFIG_REALM, &cfg).unwrap();
    h.rme(vm, rme::KVM_CAP_ARM_RME_CREATE_REALM, &[]).unwrap();
    let mut ripas = [0u8; 32];
    ripas[0..8].copy_from_slice(&RAM1.0.to_le_bytes());
    ripas[8..16].copy_from_slice(&RAM1.1.to_le_bytes());
    h.rme(vm, rme::KVM_CAP_ARM_RME_INIT_RIPAS_REALM, &ripas)
        .unwrap();
    for (base, pages, flags) in [(KERNEL_GPA, KERNEL_PAGES, 1u32), (DTB_GPA, 1, 0)] {
        let mut pop = [0u8; 32];
        pop[0..8].copy_from_slice(&base.to_le_bytes());
        pop[8..16].copy_from_slice(&(pages * 4096).to_le_bytes());
        pop[16..20].copy_from_slice(&flags.to_le_bytes());
        h.rme(vm, rme::KVM_CAP_ARM_RME_POPULATE_REALM, &pop)
            .unwrap();
    }
    let mut vcpus = Vec::new();
    for id in 0..2 {
        let v = h.vcpu(vm, id).unwrap();
        fds.push(v);
        h.vcpu_init(v, psci_0_2() | (1 << feature::KVM_ARM_VCPU_REC))
            .unwrap();
        vcpus.push(v);
    }
    h.set_reg(vcpus[0], reg::PC, KERNEL_GPA).unwrap();
    h.set_reg(vcpus[0], reg::x(0), DTB_GPA).unwrap();
    for &v in &vcpus {
        let mut what = feature::KVM_ARM_VCPU_REC.cast_signed().to_le_bytes();
        h.ios(v, KVM_ARM_VCPU_FINALIZE, &mut what).unwrap();
    }
    h.rme(vm, rme::KVM_CAP_ARM_RME_ACTIVATE_REALM, &[]).unwrap();
    h.rmm.check_invariants().unwrap();
    let rd = h.k.debug_realm_rd(vm).unwrap();
    let got = h.rmm.measurements(rd).unwrap();
    let got_log = h.rmm.measurement_log(rd).unwrap();

    let mut r = Ref::new();
    let rrd = r.realm(1, &rpv);
    r.init_ripas(rrd, RAM1.0, RAM1.0 + RAM1.1, false);
    for ipa in kernel_pages() {
        r.data(rrd, ipa, 1);
    }
    r.data(rrd, DTB_GPA, 0);
    r.rec(rrd, true, 0, KERNEL_GPA, DTB_GPA);
    r.rec(rrd, false, 1, 0, 0);
    r.ok(0x157, &[rrd]);
    let want_log = r.rmm.measurement_log(rrd).unwrap();
    assert_eq!(got_log.len(), want_log.len());
    for (i, (g, w)) in got_log.iter().zip(&want_log).enumerate() {
        assert_eq!(g.kind, w.kind, "event {i}");
    }
    assert_eq!(got, r.rmm.measurements(rrd).unwrap());
    assert_eq!(got.rim.len(), 64, "SHA-512 realm");
    close_all(&h, &fds);
}

/// The platform these expectations were written for: `qemu-max` (NUM_BPS 5, NUM_WPS 3, 6 PMU counters).
pub(crate) fn qemu_max() -> PlatformConfig {
    PlatformConfig::from_platform(
        &realm_rmm::Platform::by_name("qemu-max").expect("a named platform"),
    )
}
