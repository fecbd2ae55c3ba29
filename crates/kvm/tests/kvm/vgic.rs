//! The in-kernel vgic of a realm VM (KVM `vgic-mmio-v3.c`, `vgic_rmm_restore_state`/`_save_state`): its
//! device attributes, distributor/redistributor MMIO answered in the kernel without reaching the VMM,
//! `KVM_IRQ_LINE`, SGIs from trapped `ICC_SGI1R_EL1` writes, and interrupts handed to the RMM in
//! `rec_enter.gicv3_lrs`. REC_ENTER is scripted by the test double.

use crate::common::uapi::*;
use crate::common::{H, RAM_GPA, psci_0_2};
use realm_kvm::{AbiRevision, Errno, Fd};

const RAM: u64 = 4 << 20;
const DIST: u64 = 0x3fff_0000;
const REDIST: u64 = 0x3ffd_0000;
/// The shared (unprotected) alias bit of the test VM's 40-bit IPA space.
const SHARED: u64 = 1 << 39;
const DABT: u64 = 0x24 << 26 | 1 << 24 | 2 << 22;
/// ICH_LR state bits and the group bit.
const LR_PENDING: u64 = 1 << 62;
const LR_GROUP: u64 = 1 << 60;
const LR_EOI: u64 = 1 << 41;
/// `REC_ENTER_FLAG_TRAP_WFI` / `_TRAP_WFE`.
const TRAP_WFI: u64 = 1 << 2;
const TRAP_WFE: u64 = 1 << 3;

/// `KVM_SET_DEVICE_ATTR` on `dev` with `val` (a u64) behind `addr`.
fn set_attr(h: &mut H, dev: Fd, group: u32, attr: u64, val: u64) -> Result<i64, Errno> {
    let hva = h.user(4096);
    h.k.user_memory().write(hva, &val.to_le_bytes()).unwrap();
    let mut b = [0u8; 24];
    b[4..8].copy_from_slice(&group.to_le_bytes());
    b[8..16].copy_from_slice(&attr.to_le_bytes());
    b[16..24].copy_from_slice(&hva.to_le_bytes());
    h.ios(dev, KVM_SET_DEVICE_ATTR, &mut b)
}

/// A v12 realm with a vgic at kvmtool's addresses, one vCPU after its first run.
fn realm(h: &mut H) -> (Fd, Fd, Fd) {
    let vm = h.realm_vm();
    let dev = h.vgic(vm).unwrap();
    set_attr(
        h,
        dev,
        KVM_DEV_ARM_VGIC_GRP_ADDR,
        u64::from(KVM_VGIC_V3_ADDR_TYPE_DIST),
        DIST,
    )
    .unwrap();
    set_attr(
        h,
        dev,
        KVM_DEV_ARM_VGIC_GRP_ADDR,
        u64::from(KVM_VGIC_V3_ADDR_TYPE_REDIST),
        REDIST,
    )
    .unwrap();
    set_attr(
        h,
        dev,
        KVM_DEV_ARM_VGIC_GRP_CTRL,
        u64::from(KVM_DEV_ARM_VGIC_CTRL_INIT),
        0,
    )
    .unwrap();
    let shared = h.user(RAM);
    let g = h.gmem(vm, RAM).unwrap();
    h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0)))
        .unwrap();
    let v0 = h.vcpu(vm, 0).unwrap();
    h.vcpu_init(v0, psci_0_2()).unwrap();
    h.k.kvm_run(v0).unwrap().set_immediate_exit(1);
    assert_eq!(h.run(v0), Err(Errno::EINTR));
    h.k.kvm_run(v0).unwrap().set_immediate_exit(0);
    (vm, dev, v0)
}

/// A scripted exit: a data abort at `ipa` (write of `x0` when `write`).
fn dabt(h: &H, ipa: u64, write: bool, x0: u64) {
    let esr = DABT | if write { 1 << 6 } else { 0 };
    let w = vec![
        (0x800, vec![0]),
        (0x900, esr.to_le_bytes().to_vec()),
        (0x908, (ipa & 0xfff).to_le_bytes().to_vec()),
        (0x910, ((ipa >> 8) & 0xff_ffff_fff0).to_le_bytes().to_vec()),
        (0xa00, x0.to_le_bytes().to_vec()),
    ];
    h.rmm.state().enter_script.push_back((0, w));
}

/// An exit the VMM must see (an MMIO write to a device that is not the vgic), ending `KVM_RUN`.
fn to_user(h: &H) {
    dabt(h, SHARED | 0x0900_0000, true, 0);
}

#[test]
fn device_attributes_are_checked_as_vgic_v3_set_attr_does() {
    let mut h = H::new(AbiRevision::V12);
    let vm = h.realm_vm();
    let dev = h.vgic(vm).unwrap();
    let dist = u64::from(KVM_VGIC_V3_ADDR_TYPE_DIST);
    assert_eq!(
        set_attr(&mut h, dev, KVM_DEV_ARM_VGIC_GRP_ADDR, dist, DIST + 0x1000),
        Err(Errno::EINVAL),
        "not 64 KiB aligned"
    );
    set_attr(&mut h, dev, KVM_DEV_ARM_VGIC_GRP_ADDR, dist, DIST).unwrap();
    assert_eq!(
        set_attr(&mut h, dev, KVM_DEV_ARM_VGIC_GRP_ADDR, dist, DIST),
        Err(Errno::EEXIST),
        "set twice"
    );
    assert_eq!(
        set_attr(&mut h, dev, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, 100),
        Err(Errno::EINVAL),
        "not a multiple of 32"
    );
    set_attr(&mut h, dev, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, 128).unwrap();
    assert_eq!(
        set_attr(&mut h, dev, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, 128),
        Err(Errno::EBUSY),
        "set once"
    );
}

#[test]
fn distributor_reads_are_answered_in_the_kernel() {
    let mut h = H::new(AbiRevision::V12);
    let (_vm, _dev, v0) = realm(&mut h);
    dabt(&h, SHARED | (DIST + 0xffe8), false, 0); // GICD_PIDR2
    dabt(&h, SHARED | (REDIST + 0x8), false, 0); // GICR_TYPER (low word)
    to_user(&h);
    assert_eq!(h.run(v0), Ok(0));
    let run = h.k.kvm_run(v0).unwrap();
    assert_eq!(
        run.mmio().0,
        SHARED | 0x0900_0000,
        "only the UART-like access reached the VMM"
    );
    let entries = h.rmm.state().entries.clone();
    let n = entries.len();
    assert_eq!(
        &entries[n - 2..],
        &[(1 | TRAP_WFI, 0x3b), (1 | TRAP_WFI, 1 << 4)],
        "EMULATED_MMIO with GICD_PIDR2 = 0x3b, then GICR_TYPER = Last (TRAP_WFI on every entry)"
    );
}

#[test]
fn an_spi_raised_with_irq_line_is_handed_over_in_a_list_register() {
    let mut h = H::new(AbiRevision::V12);
    let (vm, _dev, v0) = realm(&mut h);
    // The guest enables the distributor, SPI 33 and gives it priority 0xa0.
    dabt(&h, SHARED | DIST, true, 0x2);
    dabt(&h, SHARED | (DIST + 0x104), true, 0b10);
    dabt(&h, SHARED | (DIST + 0x420), true, 0xa0 << 8);
    to_user(&h);
    assert_eq!(h.run(v0), Ok(0));
    // KVM_IRQ_LINE: type SPI (1), INTID 33, level high.
    let mut b = [0u8; 8];
    b[0..4].copy_from_slice(&((1u32 << 24) | 33).to_le_bytes());
    b[4..8].copy_from_slice(&1u32.to_le_bytes());
    h.ios(vm, KVM_IRQ_LINE, &mut b).unwrap();
    to_user(&h);
    assert_eq!(h.run(v0), Ok(0));
    let (_, lr0) = *h.rmm.state().entry_gic.last().unwrap();
    assert_eq!(
        lr0,
        33 | (0xa0 << 48) | LR_GROUP | LR_PENDING | LR_EOI,
        "pending level SPI 33 in LR0"
    );
    // Out-of-range SPI numbers and PPIs of unknown vCPUs are refused.
    b[0..4].copy_from_slice(&((1u32 << 24) | 31).to_le_bytes());
    assert_eq!(h.ios(vm, KVM_IRQ_LINE, &mut b), Err(Errno::EINVAL));
    b[0..4].copy_from_slice(&((2u32 << 24) | (5 << 16) | 27).to_le_bytes());
    assert_eq!(h.ios(vm, KVM_IRQ_LINE, &mut b), Err(Errno::EINVAL));
}

#[test]
fn wfi_with_a_fired_timer_reenters_with_the_timer_ppi_pending() {
    let mut h = H::new(AbiRevision::V12);
    let (_vm, _dev, v0) = realm(&mut h);
    dabt(&h, SHARED | DIST, true, 0x2);
    dabt(&h, SHARED | (REDIST + 0x1_0100), true, 1 << 27); // GICR_ISENABLER0: PPI 27
    // WFI exit with CNTV enabled and a compare value long past: no sleep, PPI 27 pending.
    let w = vec![
        (0x800, vec![0]),
        (0x900, (0x01u64 << 26).to_le_bytes().to_vec()),
        (0xc10, 1u64.to_le_bytes().to_vec()),
        (0xc18, 0u64.to_le_bytes().to_vec()),
    ];
    h.rmm.state().enter_script.push_back((0, w));
    to_user(&h);
    assert_eq!(h.run(v0), Ok(0));
    let (_, lr0) = *h.rmm.state().entry_gic.last().unwrap();
    assert_eq!(
        lr0,
        27 | LR_GROUP | LR_PENDING | LR_EOI,
        "the virtual timer's PPI"
    );
}

#[test]
fn wfi_with_nothing_pending_sleeps_until_a_signal() {
    let mut h = H::new(AbiRevision::V12);
    let (_vm, _dev, v0) = realm(&mut h);
    h.rmm.state().enter_script.push_back((
        0,
        vec![
            (0x800, vec![0]),
            (0x900, (0x01u64 << 26).to_le_bytes().to_vec()),
        ],
    ));
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(30));
            h.k.kick(v0).unwrap();
        });
        assert_eq!(
            h.run(v0),
            Err(Errno::EINTR),
            "woken by the signal, not by a timer"
        );
    });
}

#[test]
fn every_rec_enter_traps_wfi_but_not_wfe() {
    let mut h = H::new(AbiRevision::V12);
    let (_vm, _dev, v0) = realm(&mut h);
    // Three entries: a WFI exit with an interrupt pending (no sleep), a vgic access, one to user space.
    dabt(&h, SHARED | DIST, true, 0x2);
    dabt(&h, SHARED | (REDIST + 0x1_0100), true, 1 << 27);
    let wfi = vec![
        (0x800, vec![0]),
        (0x900, (0x01u64 << 26).to_le_bytes().to_vec()),
        (0xc10, 1u64.to_le_bytes().to_vec()),
        (0xc18, 0u64.to_le_bytes().to_vec()),
    ];
    h.rmm.state().enter_script.push_back((0, wfi));
    to_user(&h);
    let before = h.rmm.state().entries.len();
    assert_eq!(h.run(v0), Ok(0));
    let entries = h.rmm.state().entries.clone();
    assert_eq!(entries.len() - before, 4, "four REC_ENTERs");
    for (i, (flags, _)) in entries[before..].iter().enumerate() {
        assert_ne!(
            flags & TRAP_WFI,
            0,
            "entry {i}: TRAP_WFI (HCR_EL2.TWI) must be set"
        );
        assert_eq!(
            flags & TRAP_WFE,
            0,
            "entry {i}: TRAP_WFE must be clear (single-task policy)"
        );
    }
}
