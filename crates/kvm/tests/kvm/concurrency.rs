//! Concurrency: vCPU fds used from their own threads (as VMMs do), several VMs at once, and VM teardown
//! (closing the VM and guest_memfd fds) while vCPUs are inside KVM_RUN; everything finishes and nothing
//! is left behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use realm_kvm::{AbiRevision, Errno, Fd, Kernel};
use realm_rmm::{PlatformConfig, Rmm};

use crate::common::{H, RAM_GPA, psci_0_2};

const RAM: u64 = 4 << 20;

#[test]
fn kernel_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Kernel>();
}

/// One realm VM with `n` vCPUs, not yet run; returns (vm, gic, gmem, vcpus).
fn realm(h: &mut H<Rmm>, n: u64) -> (Fd, Fd, Fd, Vec<Fd>) {
    let (vm, gic, g, _) = h.realm_with_ram(RAM, true);
    let src = h.user(4096);
    h.populate(vm, RAM_GPA, 4096, src, 1).unwrap();
    let vcpus: Vec<Fd> = (0..n).map(|id| h.vcpu(vm, id).unwrap()).collect();
    for (i, &v) in vcpus.iter().enumerate() {
        // Secondaries start powered off, as kvmtool/QEMU start them; PSCI CPU_ON would wake them.
        let off = if i == 0 {
            0
        } else {
            1 << crate::common::uapi::feature::KVM_ARM_VCPU_POWER_OFF
        };
        h.vcpu_init(v, psci_0_2() | off).unwrap();
    }
    (vm, gic, g, vcpus)
}

#[test]
fn teardown_while_vcpus_run() {
    // The default CPU model has no code to run: every REC_ENTER exits with an IRQ and KVM re-enters, so
    // KVM_RUN only returns when the thread is "signalled" (kicked).
    let mut h = H::with_rmm(
        AbiRevision::V12,
        Arc::new(Rmm::new(PlatformConfig::default())),
        None,
    );
    let vms: Vec<_> = (0..2).map(|_| realm(&mut h, 3)).collect();
    let h = Arc::new(h);
    let stop = Arc::new(AtomicBool::new(false));
    // Threads whose KVM_RUN has returned at least once.
    let running = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for (_, _, _, vcpus) in &vms {
        for &v in vcpus {
            let (h, stop, running) = (Arc::clone(&h), Arc::clone(&stop), Arc::clone(&running));
            threads.push(thread::spawn(move || {
                let mut runs = 0;
                while !stop.load(Ordering::SeqCst) {
                    match h.run(v) {
                        Err(Errno::EINTR) => runs += 1,
                        other => panic!("KVM_RUN: {other:?}"),
                    }
                    if runs == 1 {
                        running.fetch_add(1, Ordering::SeqCst);
                    }
                }
                runs
            }));
        }
    }
    // Let every vCPU run (kicked out of KVM_RUN at least once, so each thread is in its run loop), then
    // close the VM, vGIC and guest_memfd fds under them.
    while running.load(Ordering::SeqCst) < threads.len() {
        for (_, _, _, vcpus) in &vms {
            for &v in vcpus {
                let _ = h.k.kick(v);
            }
        }
        thread::yield_now();
    }
    for (vm, gic, g, _) in &vms {
        h.k.close(*g).unwrap();
        h.k.close(*gic).unwrap();
        h.k.close(*vm).unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    for (_, _, _, vcpus) in &vms {
        for &v in vcpus {
            h.k.kick(v).unwrap();
        }
    }
    // Keep kicking until every thread has seen `stop`.
    let mut done = Vec::new();
    for t in threads {
        while !t.is_finished() {
            for (_, _, _, vcpus) in &vms {
                for &v in vcpus {
                    let _ = h.k.kick(v);
                }
            }
            thread::yield_now();
        }
        done.push(t.join().unwrap());
    }
    assert!(done.iter().all(|&r| r >= 1));
    for (_, _, _, vcpus) in &vms {
        for &v in vcpus {
            h.k.close(v).unwrap();
        }
    }
    h.rmm.check_invariants().unwrap();
    assert_eq!(h.rmm.realm_granule_count(), 0);
    assert_eq!(h.k.page_allocator().in_use(), 0);
}
