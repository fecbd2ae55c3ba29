//! REC exits as the VMM sees them (v12 rmi-exit.c and the realm hooks in mmio.c/psci.c/hypercalls.c),
//! with REC_ENTER scripted by the test double (the RMM's REC_ENTER lands with the rmmrun work).

use crate::common::uapi::run::*;
use crate::common::uapi::*;
use realm_kvm::{AbiRevision, Errno, Fd};

use crate::common::{H, RAM_GPA, psci_0_2};

const RAM: u64 = 4 << 20;

/// Exit fields: reason, esr, far, hpfar, gprs[0..3], ripas base/top/value.
#[derive(Default)]
struct Exit {
    reason: u8,
    esr: u64,
    far: u64,
    hpfar: u64,
    gprs: [u64; 4],
    ripas: Option<(u64, u64, u8)>,
}

fn script(h: &H, x0: u64, e: &Exit) {
    let mut w = vec![
        (0x800, vec![e.reason]),
        (0x900, e.esr.to_le_bytes().to_vec()),
    ];
    w.push((0x908, e.far.to_le_bytes().to_vec()));
    w.push((0x910, e.hpfar.to_le_bytes().to_vec()));
    for (i, g) in e.gprs.iter().enumerate() {
        w.push((0xa00 + 8 * i, g.to_le_bytes().to_vec()));
    }
    if let Some((b, t, v)) = e.ripas {
        w.push((0xd00, b.to_le_bytes().to_vec()));
        w.push((0xd08, t.to_le_bytes().to_vec()));
        w.push((0xd10, vec![v]));
    }
    h.rmm.state().enter_script.push_back((x0, w));
}

/// An active v12 realm with vCPU 0 (and vCPU 1 powered off) after the first run.
fn active(h: &mut H) -> (Fd, Fd, Fd) {
    let vm = h.realm_vm();
    h.vgic(vm).unwrap();
    let shared = h.user(RAM);
    let g = h.gmem(vm, RAM).unwrap();
    h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0)))
        .unwrap();
    let v0 = h.vcpu(vm, 0).unwrap();
    let v1 = h.vcpu(vm, 1).unwrap();
    let f = psci_0_2() | (1 << feature::KVM_ARM_VCPU_POWER_OFF);
    h.vcpu_init(v0, f).unwrap();
    h.vcpu_init(v1, f).unwrap();
    h.k.kvm_run(v0).unwrap().set_immediate_exit(1);
    assert_eq!(h.run(v0), Err(Errno::EINTR));
    h.k.kvm_run(v0).unwrap().set_immediate_exit(0);
    (vm, v0, v1)
}

const SHARED: u64 = 1 << 39;
const DABT: u64 = 0x24 << 26 | 1 << 24 | 2 << 22;

fn dabt_exit(ipa: u64, write: bool, x0: u64) -> Exit {
    Exit {
        reason: 0,
        esr: DABT | if write { 1 << 6 } else { 0 },
        far: ipa & 0xfff,
        hpfar: (ipa >> 8) & 0xff_ffff_fff0,
        gprs: [x0, 0, 0, 0],
        ..Exit::default()
    }
}

/// A vCPU initialised with POWER_OFF sleeps in KVM_RUN (after the first-run activation) until PSCI
/// CPU_ON or a signal; here a kick (signal) ends the sleep with -EINTR and no REC_ENTER was issued.
#[test]
fn powered_off_vcpu_sleeps_until_kicked() {
    let mut h = H::new(AbiRevision::V12);
    let (_vm, v0, _v1) = active(&mut h);
    h.k.kick(v0).unwrap();
    assert_eq!(h.run(v0), Err(Errno::EINTR));
    assert!(!h.call_fids().contains(&0x15c));
}

#[test]
fn exits_map_to_kvm_run() {
    let mut h = H::new(AbiRevision::V12);
    let vm = h.realm_vm();
    h.vgic(vm).unwrap();
    let shared = h.user(RAM);
    let g = h.gmem(vm, RAM).unwrap();
    h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0)))
        .unwrap();
    let v0 = h.vcpu(vm, 0).unwrap();
    let v1 = h.vcpu(vm, 1).unwrap();
    h.vcpu_init(v0, psci_0_2()).unwrap();
    h.vcpu_init(v1, psci_0_2()).unwrap();
    let run = h.k.kvm_run(v0).unwrap();
    let dev = SHARED | 0x0900_0000;

    // MMIO write: data from exit.gprs[0].
    script(&h, 0, &dabt_exit(dev, true, 0xabcd));
    assert_eq!(h.run(v0), Ok(0));
    assert_eq!(run.exit_reason(), KVM_EXIT_MMIO);
    let (addr, data, len, is_write) = run.mmio();
    assert_eq!(
        (addr, &data[..4], len, is_write),
        (dev, &0xabcdu32.to_le_bytes()[..], 4, true)
    );

    // MMIO read; the next entry carries EMULATED_MMIO and the data in gprs[0].
    script(&h, 0, &dabt_exit(dev, false, 0));
    assert_eq!(h.run(v0), Ok(0));
    assert!(!run.mmio().3);
    run.set_mmio_data(0x1234_5678u64.to_le_bytes());
    // RIPAS change to EMPTY: KVM_EXIT_MEMORY_FAULT, -EFAULT.
    script(
        &h,
        0,
        &Exit {
            reason: 4,
            ripas: Some((RAM_GPA, RAM_GPA + 0x2000, 0)),
            ..Exit::default()
        },
    );
    assert_eq!(h.run(v0), Err(Errno::EFAULT));
    assert_eq!(
        h.rmm.state().entries.last(),
        Some(&(1 | 1 << 2, 0x1234_5678)),
        "EMULATED_MMIO + read data (and TRAP_WFI, set on every entry)"
    );
    assert_eq!(run.exit_reason(), KVM_EXIT_MEMORY_FAULT);
    assert_eq!(run.memory_fault(), (0, RAM_GPA, 0x2000));
    // The RIPAS change is committed at the next entry with RMI_RTT_SET_RIPAS.
    let before = h.call_fids().len();
    // In-kernel PSCI CPU_ON of vCPU 1 (MPIDR 1): RMI_PSCI_COMPLETE(rec0, rec1, SUCCESS).
    script(
        &h,
        0,
        &Exit {
            reason: 3,
            gprs: [0xc400_0003, 1, 0x8000_0000, 0],
            ..Exit::default()
        },
    );
    // Then PSCI SYSTEM_OFF → KVM_EXIT_SYSTEM_EVENT.
    script(
        &h,
        0,
        &Exit {
            reason: 3,
            gprs: [0x8400_0008, 0, 0, 0],
            ..Exit::default()
        },
    );
    assert_eq!(h.run(v0), Ok(0));
    let fids: Vec<u32> = h.call_fids()[before..].to_vec();
    assert_eq!(fids[0], 0x169, "RTT_SET_RIPAS before the entry: {fids:x?}");
    assert!(fids.contains(&0x164), "PSCI_COMPLETE: {fids:x?}");
    assert_eq!(run.exit_reason(), KVM_EXIT_SYSTEM_EVENT);
    assert_eq!(run.system_event(), (KVM_SYSTEM_EVENT_SHUTDOWN, 1, 0));
    assert_eq!(
        h.get_reg(v0, reg::x(0)),
        Ok(0x8400_0008),
        "x0..x30 from the PSCI exit"
    );

    // RMI_ERROR_REALM index 1 from REC_ENTER → KVM_EXIT_SHUTDOWN.
    script(&h, 2 | 1 << 8, &Exit::default());
    assert_eq!(h.run(v0), Ok(0));
    assert_eq!(run.exit_reason(), KVM_EXIT_SHUTDOWN);
    // Unknown exit reason → KVM_EXIT_INTERNAL_ERROR.
    script(
        &h,
        0,
        &Exit {
            reason: 9,
            ..Exit::default()
        },
    );
    assert_eq!(h.run(v0), Ok(0));
    assert_eq!(run.exit_reason(), KVM_EXIT_INTERNAL_ERROR);
    // Any other REC_ENTER failure → -ENXIO.
    assert_eq!(h.run(v0), Err(Errno::ENXIO));
    // A RIPAS change outside the protected half is refused: -EINVAL.
    script(
        &h,
        0,
        &Exit {
            reason: 4,
            ripas: Some((SHARED, SHARED + 0x1000, 1)),
            ..Exit::default()
        },
    );
    assert_eq!(h.run(v0), Err(Errno::EINVAL));
}

#[test]
fn psci_forwarded_to_userspace() {
    let mut h = H::new(AbiRevision::V12);
    let vm = h.realm_vm();
    h.vgic(vm).unwrap();
    let v0 = h.vcpu(vm, 0).unwrap();
    let v1 = h.vcpu(vm, 1).unwrap();
    h.vcpu_init(v0, psci_0_2()).unwrap();
    h.vcpu_init(v1, psci_0_2()).unwrap();
    // KVM_ARM_VM_SMCCC_FILTER: forward the PSCI SMC64 range.
    let filter = h.user(4096);
    let mut f = [0u8; 24];
    f[0..4].copy_from_slice(&0xc400_0000u32.to_le_bytes());
    f[4..8].copy_from_slice(&0x20u32.to_le_bytes());
    f[8] = KVM_SMCCC_FILTER_FWD_TO_USER;
    h.k.user_memory().write(filter, &f).unwrap();
    let mut attr = [0u8; 24];
    attr[16..24].copy_from_slice(&filter.to_le_bytes());
    h.ios(vm, KVM_SET_DEVICE_ATTR, &mut attr).unwrap();
    assert_eq!(
        h.ios(vm, KVM_SET_DEVICE_ATTR, &mut attr),
        Err(Errno::EEXIST),
        "overlapping range"
    );
    let run = h.k.kvm_run(v0).unwrap();
    script(
        &h,
        0,
        &Exit {
            reason: 3,
            esr: 0x17 << 26,
            gprs: [0xc400_0003, 1, 0, 0],
            ..Exit::default()
        },
    );
    assert_eq!(h.run(v0), Ok(0));
    assert_eq!(run.exit_reason(), KVM_EXIT_HYPERCALL);
    assert_eq!(run.hypercall(), (0xc400_0003, KVM_HYPERCALL_EXIT_SMC));
    assert_eq!(
        h.ios(vm, KVM_SET_DEVICE_ATTR, &mut attr),
        Err(Errno::EBUSY),
        "filter fixed once run"
    );
    // The VMM completes on the calling vCPU's fd.
    let mut pc = [0u8; 24];
    pc[0..8].copy_from_slice(&1u64.to_le_bytes());
    assert_eq!(h.ios(v0, KVM_ARM_VCPU_RMI_PSCI_COMPLETE, &mut pc), Ok(0));
    assert_eq!(h.call_fids().last(), Some(&0x164));
    pc[0..8].copy_from_slice(&7u64.to_le_bytes());
    assert_eq!(
        h.ios(v0, KVM_ARM_VCPU_RMI_PSCI_COMPLETE, &mut pc),
        Err(Errno::EINVAL),
        "unknown MPIDR"
    );
    // x0 set by the VMM goes back to the REC at the next entry.
    h.set_reg(v0, reg::x(0), 0).unwrap();
    script(
        &h,
        0,
        &Exit {
            reason: 1,
            ..Exit::default()
        },
    );
    assert_eq!(
        h.run(v0),
        Err(Errno::ENXIO),
        "IRQ exit re-enters; the empty script then fails"
    );
    let entries = h.rmm.state().entries.clone();
    assert_eq!(
        entries[entries.len() - 2].1,
        0,
        "gprs from the vCPU after a PSCI exit"
    );
}
