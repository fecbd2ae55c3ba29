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
    let (vm, gic, g, _) = h.realm_with_ram(RAM, true);
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
    let (vm, gic, g, _) = h.realm_with_ram(RAM, false);
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

/// The real RMM with RMI_PSCI_COMPLETE slowed down, so that a target vCPU woken before its CPU_ON is
/// completed would reach REC_ENTER first and fail (RMI_ERROR_REC → -ENXIO).
struct SlowPsciComplete(Arc<Rmm>);

impl realm_rmm::host::Rmi for SlowPsciComplete {
    fn call(&self, regs: realm_rmm::host::SmcRegs) -> realm_rmm::host::SmcRegs {
        if regs.x[0] == u64::from(realm_rmm::abi::RMI_PSCI_COMPLETE) {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.0.call(regs)
    }
}

impl realm_rmm::host::HostMemory for SlowPsciComplete {
    fn dram(&self) -> Vec<std::ops::Range<u64>> {
        self.0.dram()
    }
    fn read(&self, pa: u64, buf: &mut [u8]) -> Result<(), realm_rmm::host::HostAccessFault> {
        self.0.read(pa, buf)
    }
    fn write(&self, pa: u64, data: &[u8]) -> Result<(), realm_rmm::host::HostAccessFault> {
        self.0.write(pa, data)
    }
}

/// v12 psci.c `kvm_psci_vcpu_on`: in-kernel CPU_ON issues RMI_PSCI_COMPLETE *before* the powered-off
/// target can run. vCPU 1 waits in KVM_RUN on its own thread; vCPU 0 calls CPU_ON(1), then writes to the
/// UART; vCPU 1, once woken, must enter its REC and reach its own UART write, never fail with -ENXIO.
#[test]
fn cpu_on_completes_before_the_target_runs() {
    let cpus = ScriptedCpus::new();
    // PSCI CPU_ON (SMC64) of MPIDR 1 at the RAM base, then an MMIO exit.
    cpus.script(0).extend([
        Step::smc(0xc400_0003, &[1, RAM_GPA, 0]),
        Step::store(UART, 1, 1, u64::from(b'0')),
    ]);
    cpus.script(1)
        .extend([Step::store(UART, 1, 1, u64::from(b'1'))]);
    let platform = PlatformConfig {
        cpu: cpus.model(),
        ..PlatformConfig::default()
    };
    let rmm = Arc::new(Rmm::new(platform));
    let mut h = H::with_rmm(
        AbiRevision::V12,
        Arc::new(SlowPsciComplete(rmm.clone())),
        None,
    );
    let (vm, gic, g, _) = h.realm_with_ram(RAM, true);
    let v0 = h.vcpu(vm, 0).unwrap();
    let v1 = h.vcpu(vm, 1).unwrap();
    h.vcpu_init(v0, psci_0_2()).unwrap();
    let off = 1 << crate::common::uapi::feature::KVM_ARM_VCPU_POWER_OFF;
    h.vcpu_init(v1, psci_0_2() | off).unwrap();
    let run0 = h.k.kvm_run(v0).unwrap();
    let run1 = h.k.kvm_run(v1).unwrap();
    let h = Arc::new(h);

    let secondary = {
        let h = h.clone();
        std::thread::spawn(move || h.run(v1))
    };
    assert_eq!(h.run(v0), Ok(0));
    assert_eq!(run0.exit_reason(), KVM_EXIT_MMIO);
    assert_eq!(run0.mmio().1[0], b'0');
    assert_eq!(
        cpus.script(0).records()[0].ctx.gprs[0],
        0,
        "CPU_ON: SUCCESS"
    );
    assert_eq!(
        secondary.join().unwrap(),
        Ok(0),
        "the woken vCPU entered its REC"
    );
    assert_eq!(run1.exit_reason(), KVM_EXIT_MMIO);
    assert_eq!(run1.mmio().1[0], b'1');

    for fd in [v0, v1, g, gic, vm] {
        h.k.close(fd).unwrap();
    }
    rmm.check_invariants().unwrap();
    assert_eq!(rmm.realm_granule_count(), 0);
}
