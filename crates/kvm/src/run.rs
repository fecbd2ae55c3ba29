//! `struct kvm_run` (arm64 layout, include/uapi/linux/kvm.h): the page a VMM mmaps from a vCPU fd.

use std::sync::{Arc, Mutex};

use crate::abi::run::*;
use crate::lock;

/// A vCPU's `struct kvm_run`, shared between the kernel and the VMM as the mmap is.
#[derive(Clone, Debug)]
pub struct KvmRun(Arc<Mutex<Vec<u8>>>);

impl Default for KvmRun {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(vec![0; KVM_RUN_SIZE])))
    }
}

impl KvmRun {
    /// A copy of the bytes.
    pub fn bytes(&self) -> Vec<u8> {
        lock(&self.0).clone()
    }

    /// Read or modify the bytes in place (the VMM writes `immediate_exit`, MMIO read data, …).
    pub fn with<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        f(&mut lock(&self.0))
    }

    /// `exit_reason`.
    pub fn exit_reason(&self) -> u32 {
        self.with(|b| crate::abi::u32_at(b, OFF_EXIT_REASON))
    }

    /// `immediate_exit` (`immediate_exit__unsafe`).
    pub fn immediate_exit(&self) -> u8 {
        self.with(|b| b[OFF_IMMEDIATE_EXIT])
    }

    /// Set `immediate_exit`.
    pub fn set_immediate_exit(&self, v: u8) {
        self.with(|b| b[OFF_IMMEDIATE_EXIT] = v);
    }

    /// The `mmio` exit: `(phys_addr, data, len, is_write)`.
    pub fn mmio(&self) -> (u64, [u8; 8], u32, bool) {
        self.with(|b| {
            let mut data = [0; 8];
            data.copy_from_slice(&b[OFF_EXIT + 8..OFF_EXIT + 16]);
            (
                crate::abi::u64_at(b, OFF_EXIT),
                data,
                crate::abi::u32_at(b, OFF_EXIT + 16),
                b[OFF_EXIT + 20] != 0,
            )
        })
    }

    /// Set the MMIO read data the next `KVM_RUN` completes the access with.
    pub fn set_mmio_data(&self, data: [u8; 8]) {
        self.with(|b| b[OFF_EXIT + 8..OFF_EXIT + 16].copy_from_slice(&data));
    }

    /// The `memory_fault` exit: `(flags, gpa, size)`.
    pub fn memory_fault(&self) -> (u64, u64, u64) {
        self.with(|b| {
            (
                crate::abi::u64_at(b, OFF_EXIT),
                crate::abi::u64_at(b, OFF_EXIT + 8),
                crate::abi::u64_at(b, OFF_EXIT + 16),
            )
        })
    }

    /// The `hypercall` exit: `(nr, flags)`.
    pub fn hypercall(&self) -> (u64, u64) {
        self.with(|b| {
            (
                crate::abi::u64_at(b, OFF_EXIT),
                crate::abi::u64_at(b, OFF_EXIT + 64),
            )
        })
    }

    /// The `system_event` exit: `(type, ndata, data[0])`.
    pub fn system_event(&self) -> (u32, u32, u64) {
        self.with(|b| {
            (
                crate::abi::u32_at(b, OFF_EXIT),
                crate::abi::u32_at(b, OFF_EXIT + 4),
                crate::abi::u64_at(b, OFF_EXIT + 8),
            )
        })
    }

    pub(crate) fn set_exit_reason(&self, reason: u32) {
        self.with(|b| {
            crate::abi::put_u32(b, OFF_EXIT_REASON, reason);
            b[OFF_FLAGS..OFF_FLAGS + 2].fill(0);
        });
    }

    /// `kvm_prepare_memory_fault_exit(vcpu, gpa, size, write, exec, private)`.
    pub(crate) fn prepare_memory_fault(&self, gpa: u64, size: u64, private: bool) {
        self.with(|b| {
            crate::abi::put_u32(b, OFF_EXIT_REASON, KVM_EXIT_MEMORY_FAULT);
            b[OFF_EXIT..OFF_EXIT + 256].fill(0);
            crate::abi::put_u64(
                b,
                OFF_EXIT,
                if private {
                    KVM_MEMORY_EXIT_FLAG_PRIVATE
                } else {
                    0
                },
            );
            crate::abi::put_u64(b, OFF_EXIT + 8, gpa);
            crate::abi::put_u64(b, OFF_EXIT + 16, size);
        });
    }

    /// `kvm_prepare_hypercall_exit(vcpu, func_id)`.
    pub(crate) fn prepare_hypercall(&self, nr: u64, flags: u64) {
        self.with(|b| {
            crate::abi::put_u32(b, OFF_EXIT_REASON, KVM_EXIT_HYPERCALL);
            b[OFF_EXIT..OFF_EXIT + 256].fill(0);
            crate::abi::put_u64(b, OFF_EXIT, nr);
            crate::abi::put_u64(b, OFF_EXIT + 64, flags);
        });
    }

    /// `kvm_prepare_system_event(vcpu, type, flags)`: `ndata = 1`, `data[0] = flags`.
    pub(crate) fn prepare_system_event(&self, ty: u32, flags: u64) {
        self.with(|b| {
            crate::abi::put_u32(b, OFF_EXIT_REASON, KVM_EXIT_SYSTEM_EVENT);
            b[OFF_EXIT..OFF_EXIT + 256].fill(0);
            crate::abi::put_u32(b, OFF_EXIT, ty);
            crate::abi::put_u32(b, OFF_EXIT + 4, 1);
            crate::abi::put_u64(b, OFF_EXIT + 8, flags);
        });
    }

    /// An MMIO exit (`io_mem_abort`).
    pub(crate) fn prepare_mmio(&self, addr: u64, data: [u8; 8], len: u32, is_write: bool) {
        self.with(|b| {
            crate::abi::put_u32(b, OFF_EXIT_REASON, KVM_EXIT_MMIO);
            b[OFF_EXIT..OFF_EXIT + 256].fill(0);
            crate::abi::put_u64(b, OFF_EXIT, addr);
            b[OFF_EXIT + 8..OFF_EXIT + 16].copy_from_slice(&data);
            crate::abi::put_u32(b, OFF_EXIT + 16, len);
            b[OFF_EXIT + 20] = u8::from(is_write);
        });
    }
}
