//! `struct kvm_run` (arm64 layout, include/uapi/linux/kvm.h): the page a VMM mmaps from a vCPU fd.

use std::sync::{Arc, Mutex};

use realm_uapi::arm64::{
    KVM_EXIT_HYPERCALL, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO, KVM_EXIT_SYSTEM_EVENT,
    KVM_MEMORY_EXIT_FLAG_PRIVATE, KvmRunExit, kvm_run, kvm_run_hypercall, kvm_run_memory_fault,
    kvm_run_mmio, kvm_run_system_event,
};
use zerocopy::{FromBytes, FromZeros, IntoBytes};

use crate::abi::KVM_RUN_SIZE;
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

    /// Read the mapping as `struct kvm_run` (its first 2352 bytes).
    fn get(&self) -> kvm_run {
        self.with(|b| {
            kvm_run::read_from_prefix(b).map_or_else(|_| kvm_run::new_zeroed(), |(r, _)| r)
        })
    }

    /// Read, modify and write back `struct kvm_run`.
    fn update(&self, f: impl FnOnce(&mut kvm_run)) {
        self.with(|b| {
            if let Ok((mut r, _)) = kvm_run::read_from_prefix(b) {
                f(&mut r);
                let _ = r.write_to_prefix(b);
            }
        });
    }

    /// `exit_reason`.
    pub fn exit_reason(&self) -> u32 {
        self.get().exit_reason
    }

    /// `immediate_exit` (`immediate_exit__unsafe`).
    pub fn immediate_exit(&self) -> u8 {
        self.get().immediate_exit
    }

    /// Set `immediate_exit`.
    pub fn set_immediate_exit(&self, v: u8) {
        self.update(|r| r.immediate_exit = v);
    }

    /// The `mmio` exit: `(phys_addr, data, len, is_write)`.
    pub fn mmio(&self) -> (u64, [u8; 8], u32, bool) {
        let m: kvm_run_mmio = self.get().exit_as();
        (m.phys_addr, m.data, m.len, m.is_write != 0)
    }

    /// Set the MMIO read data the next `KVM_RUN` completes the access with.
    pub fn set_mmio_data(&self, data: [u8; 8]) {
        self.update(|r| {
            let mut m: kvm_run_mmio = r.exit_as();
            m.data = data;
            r.set_exit(&m);
        });
    }

    /// The `memory_fault` exit: `(flags, gpa, size)`.
    pub fn memory_fault(&self) -> (u64, u64, u64) {
        let f: kvm_run_memory_fault = self.get().exit_as();
        (f.flags, f.gpa, f.size)
    }

    /// The `hypercall` exit: `(nr, flags)`.
    pub fn hypercall(&self) -> (u64, u64) {
        let h: kvm_run_hypercall = self.get().exit_as();
        (h.nr, h.flags)
    }

    /// The `system_event` exit: `(type, ndata, data[0])`.
    pub fn system_event(&self) -> (u32, u32, u64) {
        let e: kvm_run_system_event = self.get().exit_as();
        (e.r#type, e.ndata, e.data[0])
    }

    pub(crate) fn set_exit_reason(&self, reason: u32) {
        self.update(|r| {
            r.exit_reason = reason;
            r.flags = 0;
        });
    }

    /// Set `exit_reason` and the exit union to `exit` (the rest of the union zeroed).
    fn prepare_exit<T: KvmRunExit>(&self, reason: u32, exit: &T) {
        self.update(|r| {
            r.exit_reason = reason;
            r.exit = [0; _];
            r.set_exit(exit);
        });
    }

    /// `kvm_prepare_memory_fault_exit(vcpu, gpa, size, write, exec, private)`.
    pub(crate) fn prepare_memory_fault(&self, gpa: u64, size: u64, private: bool) {
        let flags = if private {
            u64::from(KVM_MEMORY_EXIT_FLAG_PRIVATE)
        } else {
            0
        };
        self.prepare_exit(
            KVM_EXIT_MEMORY_FAULT,
            &kvm_run_memory_fault { flags, gpa, size },
        );
    }

    /// `kvm_prepare_hypercall_exit(vcpu, func_id)`.
    pub(crate) fn prepare_hypercall(&self, nr: u64, flags: u64) {
        let mut h = kvm_run_hypercall::new_zeroed();
        h.nr = nr;
        h.flags = flags;
        self.prepare_exit(KVM_EXIT_HYPERCALL, &h);
    }

    /// `kvm_prepare_system_event(vcpu, type, flags)`: `ndata = 1`, `data[0] = flags`.
    pub(crate) fn prepare_system_event(&self, ty: u32, flags: u64) {
        let mut e = kvm_run_system_event::new_zeroed();
        e.r#type = ty;
        e.ndata = 1;
        e.data[0] = flags;
        self.prepare_exit(KVM_EXIT_SYSTEM_EVENT, &e);
    }

    /// An MMIO exit (`io_mem_abort`).
    pub(crate) fn prepare_mmio(&self, addr: u64, data: [u8; 8], len: u32, is_write: bool) {
        let mut m = kvm_run_mmio::new_zeroed();
        m.phys_addr = addr;
        m.data = data;
        m.len = len;
        m.is_write = u8::from(is_write);
        self.prepare_exit(KVM_EXIT_MMIO, &m);
    }
}
