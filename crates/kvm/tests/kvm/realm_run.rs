//! KVM_RUN against the real RMM with scripted realm CPUs: what the VMM sees for MMIO, a RIPAS change and
//! PSCI, end to end (RMM REC_ENTER from the rmmrun work).

use std::sync::Arc;

use crate::common::uapi::run::*;
use realm_kvm::{AbiRevision, Errno};
use realm_rmm::cpu::scripted::{ScriptedCpus, Step};
use realm_rmm::{PlatformConfig, Rmm};

use crate::common::{H, RAM_GPA, psci_0_2};

const RAM: u64 = 16 << 20;
const SHARED: u64 = 1 << 39;
const UART: u64 = SHARED | 0x0900_0000;

#[test]
fn scripted_guest_mmio_ripas_psci() {
    let cpus = ScriptedCpus::new();
    cpus.script(0).extend([
        Step::store(UART, 4, 1, 0xabcd),
        Step::load(UART, 4, 2),
        Step::smc(
            realm_rmm::abi::rsi::RSI_IPA_STATE_SET,
            &[RAM_GPA + 0x10_0000, RAM_GPA + 0x10_1000, 0, 0],
        ),
        Step::smc(0x8400_0008, &[]),
    ]);
    let platform = PlatformConfig {
        cpu: cpus.model(),
        ..PlatformConfig::default()
    };
    let mut h = H::with_rmm(AbiRevision::V12, Arc::new(Rmm::new(platform)), None);
    let vm = h.realm_vm();
    let gic = h.vgic(vm).unwrap();
    let shared = h.user(RAM);
    let g = h.gmem(vm, RAM).unwrap();
    h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0)))
        .unwrap();
    h.private(vm, RAM_GPA, RAM, true).unwrap();
    let v0 = h.vcpu(vm, 0).unwrap();
    h.vcpu_init(v0, psci_0_2()).unwrap();
    let run = h.k.kvm_run(v0).unwrap();

    assert_eq!(h.run(v0), Ok(0));
    assert_eq!(run.exit_reason(), KVM_EXIT_MMIO);
    let (addr, data, len, is_write) = run.mmio();
    assert_eq!(
        (
            addr,
            u32::from_le_bytes(data[..4].try_into().unwrap()),
            len,
            is_write
        ),
        (UART, 0xabcd, 4, true)
    );

    assert_eq!(h.run(v0), Ok(0));
    assert_eq!(run.exit_reason(), KVM_EXIT_MMIO);
    assert!(!run.mmio().3, "a read");
    run.set_mmio_data(0x5566_7788u64.to_le_bytes());

    assert_eq!(h.run(v0), Err(Errno::EFAULT), "RIPAS change");
    assert_eq!(run.exit_reason(), KVM_EXIT_MEMORY_FAULT);
    assert_eq!(
        run.memory_fault(),
        (0, RAM_GPA + 0x10_0000, 0x1000),
        "to EMPTY: shared"
    );
    h.private(vm, RAM_GPA + 0x10_0000, 0x1000, false).unwrap();

    assert_eq!(h.run(v0), Ok(0));
    assert_eq!(run.exit_reason(), KVM_EXIT_SYSTEM_EVENT);
    assert_eq!(run.system_event().0, KVM_SYSTEM_EVENT_SHUTDOWN);
    let records = cpus.script(0).records();
    assert_eq!(
        records[1].ctx.gprs[2], 0x5566_7788,
        "the load saw the VMM's data"
    );
    assert_eq!(records[2].ctx.gprs[0], 0, "RSI_IPA_STATE_SET succeeded");
    assert_eq!(
        records[2].ctx.gprs[1],
        RAM_GPA + 0x10_1000,
        "whole range changed"
    );
    h.rmm.check_invariants().unwrap();
    for fd in [v0, g, gic, vm] {
        h.k.close(fd).unwrap();
    }
    h.rmm.check_invariants().unwrap();
    assert_eq!(h.rmm.realm_granule_count(), 0);
}

/// A guest touching protected RAM that was not populated: KVM maps a guest_memfd page with
/// `RMI_DATA_CREATE_UNKNOWN` (v12 24/46) and the access completes; a page the VMM made shared (not
/// PRIVATE) faults to userspace with KVM_EXIT_MEMORY_FAULT.
#[test]
fn runtime_fault_on_private_memory() {
    let cpus = ScriptedCpus::new();
    cpus.script(0).extend([
        Step::load(RAM_GPA + 0x20_0008, 8, 3),
        Step::store(RAM_GPA + 0x30_0000, 8, 4, 0x77),
        Step::smc(0x8400_0008, &[]),
    ]);
    let platform = PlatformConfig {
        cpu: cpus.model(),
        ..PlatformConfig::default()
    };
    let mut h = H::with_rmm(AbiRevision::V12, Arc::new(Rmm::new(platform)), None);
    let vm = h.realm_vm();
    let gic = h.vgic(vm).unwrap();
    let shared = h.user(RAM);
    let g = h.gmem(vm, RAM).unwrap();
    h.memslot(vm, 0, RAM_GPA, RAM, shared, Some((g, 0)))
        .unwrap();
    h.private(vm, RAM_GPA, 0x30_0000, true).unwrap();
    let v0 = h.vcpu(vm, 0).unwrap();
    h.vcpu_init(v0, psci_0_2()).unwrap();
    let run = h.k.kvm_run(v0).unwrap();
    // The store to a non-PRIVATE page exits to the VMM.
    assert_eq!(h.run(v0), Err(Errno::EFAULT));
    assert_eq!(run.exit_reason(), KVM_EXIT_MEMORY_FAULT);
    assert_eq!(
        run.memory_fault(),
        (KVM_MEMORY_EXIT_FLAG_PRIVATE, RAM_GPA + 0x30_0000, 0x1000)
    );
    assert_eq!(
        cpus.script(0).records().len(),
        1,
        "the load retired after KVM mapped the page"
    );
    h.private(vm, RAM_GPA + 0x30_0000, 0x1000, true).unwrap();
    assert_eq!(h.run(v0), Ok(0));
    assert_eq!(run.exit_reason(), KVM_EXIT_SYSTEM_EVENT);
    assert_eq!(
        cpus.script(0).records().len(),
        2,
        "load and store retired; SYSTEM_OFF is in flight"
    );
    h.rmm.check_invariants().unwrap();
    for fd in [v0, g, gic, vm] {
        h.k.close(fd).unwrap();
    }
    h.rmm.check_invariants().unwrap();
    assert_eq!(h.rmm.realm_granule_count(), 0);
    assert_eq!(h.k.page_allocator().in_use(), 0);
}
