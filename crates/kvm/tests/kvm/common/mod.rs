//! Shared test scaffolding: a VMM-shaped driver over the byte-level ioctl entry point.
#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "raw fd and register values in tests"
)]

pub mod mini_rmm;
pub mod uapi;

use std::sync::Arc;

use crate::common::uapi::*;
use mini_rmm::MiniRmm;
use realm_kvm::{AbiRevision, Errno, Fd, IoctlArg, Kernel, KernelConfig};
use realm_rmm::host::{HostMemory, Rmi, SmcRegs};
use vm_memory::MmapRegion;

/// An `Rmi` decorator that fails call number `fail_at` (0-based) with RMI_ERROR_INPUT, without executing it.
pub struct Failing<R> {
    pub inner: Arc<R>,
    pub fail_at: Option<usize>,
    pub count: std::sync::atomic::AtomicUsize,
    pub failed: std::sync::Mutex<Option<SmcRegs>>,
}

impl<R: Rmi> Rmi for Failing<R> {
    fn call(&self, regs: SmcRegs) -> SmcRegs {
        let n = self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if Some(n) == self.fail_at {
            *self.failed.lock().unwrap() = Some(regs);
            let mut r = SmcRegs::default();
            r.x[0] = 1;
            return r;
        }
        self.inner.call(regs)
    }
}

pub struct H<R = MiniRmm> {
    pub k: Kernel,
    pub rmm: Arc<R>,
    pub regions: Vec<Arc<MmapRegion>>,
}

pub const RAM_GPA: u64 = 0x8000_0000;

impl H<MiniRmm> {
    pub fn new(abi: AbiRevision) -> Self {
        Self::with_rmm(abi, Arc::new(MiniRmm::new(40)), None)
    }

    /// FIDs (low 12 bits) of every call so far.
    pub fn call_fids(&self) -> Vec<u32> {
        self.rmm
            .state()
            .calls
            .iter()
            .map(|c| (c.x[0] as u32) & 0xfff)
            .collect()
    }
}

impl<R: Rmi + HostMemory + 'static> H<R> {
    pub fn with_rmm(abi: AbiRevision, rmm: Arc<R>, fail_at: Option<usize>) -> Self {
        let rmi: Arc<dyn Rmi> = match fail_at {
            None => rmm.clone(),
            Some(n) => Arc::new(Failing {
                inner: rmm.clone(),
                fail_at: Some(n),
                count: 0.into(),
                failed: Default::default(),
            }),
        };
        let mem: Arc<dyn HostMemory> = rmm.clone();
        Self {
            k: Kernel::new(rmi, mem, KernelConfig::new(abi)),
            rmm,
            regions: Vec::new(),
        }
    }

    pub fn io(&self, fd: Fd, req: u32, v: u64) -> Result<i64, Errno> {
        self.k.ioctl(fd, u64::from(req), IoctlArg::Val(v))
    }

    pub fn ios(&self, fd: Fd, req: u32, b: &mut [u8]) -> Result<i64, Errno> {
        self.k.ioctl(fd, u64::from(req), IoctlArg::Buf(b))
    }

    /// Register `size` bytes of user memory; returns the HVA.
    pub fn user(&mut self, size: u64) -> u64 {
        let r = Arc::new(MmapRegion::new(usize::try_from(size).unwrap()).unwrap());
        self.regions.push(r.clone());
        self.k.user_memory().register(r)
    }

    pub fn vm(&self, ty: u64) -> Result<Fd, Errno> {
        let kvm = self.k.open_kvm()?;
        let r = self.io(kvm, KVM_CREATE_VM, ty);
        self.k.close(kvm)?;
        r.map(|fd| Fd(fd as i32))
    }

    /// A realm VM with a vGIC and `ram` bytes of RAM at [`RAM_GPA`] (guest_memfd slot 0 with a shared
    /// alias in user memory, private if `private`): returns (vm, gic, gmem, shared alias HVA).
    pub fn realm_with_ram(&mut self, ram: u64, private: bool) -> (Fd, Fd, Fd, u64) {
        let vm = self.realm_vm();
        let gic = self.vgic(vm).unwrap();
        let shared = self.user(ram);
        let g = self.gmem(vm, ram).unwrap();
        self.memslot(vm, 0, RAM_GPA, ram, shared, Some((g, 0)))
            .unwrap();
        if private {
            self.private(vm, RAM_GPA, ram, true).unwrap();
        }
        (vm, gic, g, shared)
    }

    pub fn realm_vm(&self) -> Fd {
        self.vm((KVM_VM_TYPE_ARM_REALM << KVM_VM_TYPE_ARM_SHIFT) | 40)
            .unwrap()
    }

    /// Create the vGICv3; returns the device fd.
    pub fn vgic(&self, vm: Fd) -> Result<Fd, Errno> {
        let mut b = [0u8; 12];
        b[0..4].copy_from_slice(&KVM_DEV_TYPE_ARM_VGIC_V3.to_le_bytes());
        self.ios(vm, KVM_CREATE_DEVICE, &mut b)?;
        Ok(Fd(i32::from_le_bytes(b[4..8].try_into().unwrap())))
    }

    pub fn gmem(&self, vm: Fd, size: u64) -> Result<Fd, Errno> {
        let mut b = [0u8; 64];
        b[0..8].copy_from_slice(&size.to_le_bytes());
        self.ios(vm, KVM_CREATE_GUEST_MEMFD, &mut b)
            .map(|fd| Fd(fd as i32))
    }

    pub fn memslot(
        &self,
        vm: Fd,
        slot: u32,
        gpa: u64,
        size: u64,
        uaddr: u64,
        gmem: Option<(Fd, u64)>,
    ) -> Result<i64, Errno> {
        let mut b = [0u8; 160];
        b[0..4].copy_from_slice(&slot.to_le_bytes());
        let flags = if gmem.is_some() {
            KVM_MEM_GUEST_MEMFD
        } else {
            0
        };
        b[4..8].copy_from_slice(&flags.to_le_bytes());
        b[8..16].copy_from_slice(&gpa.to_le_bytes());
        b[16..24].copy_from_slice(&size.to_le_bytes());
        b[24..32].copy_from_slice(&uaddr.to_le_bytes());
        if let Some((fd, off)) = gmem {
            b[32..40].copy_from_slice(&off.to_le_bytes());
            b[40..44].copy_from_slice(&(fd.0 as u32).to_le_bytes());
        }
        self.ios(vm, KVM_SET_USER_MEMORY_REGION2, &mut b)
    }

    pub fn private(&self, vm: Fd, gpa: u64, size: u64, private: bool) -> Result<i64, Errno> {
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&gpa.to_le_bytes());
        b[8..16].copy_from_slice(&size.to_le_bytes());
        let a = if private {
            KVM_MEMORY_ATTRIBUTE_PRIVATE
        } else {
            0
        };
        b[16..24].copy_from_slice(&a.to_le_bytes());
        self.ios(vm, KVM_SET_MEMORY_ATTRIBUTES, &mut b)
    }

    pub fn vcpu(&self, vm: Fd, id: u64) -> Result<Fd, Errno> {
        self.io(vm, KVM_CREATE_VCPU, id).map(|fd| Fd(fd as i32))
    }

    pub fn vcpu_init(&self, vcpu: Fd, features: u32) -> Result<i64, Errno> {
        let mut b = [0u8; 32];
        b[0..4].copy_from_slice(&KVM_ARM_TARGET_GENERIC_V8.to_le_bytes());
        b[4..8].copy_from_slice(&features.to_le_bytes());
        self.ios(vcpu, KVM_ARM_VCPU_INIT, &mut b)
    }

    /// Set a one-reg through a scratch user page.
    pub fn set_reg(&mut self, vcpu: Fd, id: u64, val: u64) -> Result<i64, Errno> {
        let hva = self.user(4096);
        self.k.user_memory().write(hva, &val.to_le_bytes()).unwrap();
        let mut b = [0u8; 16];
        b[0..8].copy_from_slice(&id.to_le_bytes());
        b[8..16].copy_from_slice(&hva.to_le_bytes());
        self.ios(vcpu, KVM_SET_ONE_REG, &mut b)
    }

    pub fn get_reg(&mut self, vcpu: Fd, id: u64) -> Result<u64, Errno> {
        let hva = self.user(4096);
        let mut b = [0u8; 16];
        b[0..8].copy_from_slice(&id.to_le_bytes());
        b[8..16].copy_from_slice(&hva.to_le_bytes());
        self.ios(vcpu, KVM_GET_ONE_REG, &mut b)?;
        let mut v = [0u8; 8];
        self.k.user_memory().read(hva, &mut v).unwrap();
        Ok(u64::from_le_bytes(v))
    }

    pub fn populate(
        &self,
        vm: Fd,
        base: u64,
        size: u64,
        src: u64,
        flags: u32,
    ) -> Result<i64, Errno> {
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&base.to_le_bytes());
        b[8..16].copy_from_slice(&size.to_le_bytes());
        b[16..24].copy_from_slice(&src.to_le_bytes());
        b[24..28].copy_from_slice(&flags.to_le_bytes());
        self.ios(vm, KVM_ARM_RMI_POPULATE, &mut b)
    }

    /// v10 `KVM_ENABLE_CAP(KVM_CAP_ARM_RME, action, &arg)`; `arg` bytes are placed in user memory.
    pub fn rme(&mut self, vm: Fd, action: u64, arg: &[u8]) -> Result<i64, Errno> {
        let hva = self.user(4096);
        self.k.user_memory().write(hva, arg).unwrap();
        let mut b = [0u8; 104];
        b[0..4].copy_from_slice(&(cap::KVM_CAP_ARM_RME as u32).to_le_bytes());
        b[8..16].copy_from_slice(&action.to_le_bytes());
        b[16..24].copy_from_slice(&hva.to_le_bytes());
        self.ios(vm, KVM_ENABLE_CAP, &mut b)
    }

    pub fn run(&self, vcpu: Fd) -> Result<i64, Errno> {
        self.io(vcpu, KVM_RUN, 0)
    }

    /// Fill user memory at `hva` with a pattern derived from `seed`.
    pub fn fill(&self, hva: u64, len: u64, seed: u8) {
        let data: Vec<u8> = (0..usize::try_from(len).unwrap())
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect();
        self.k.user_memory().write(hva, &data).unwrap();
    }
}

pub fn psci_0_2() -> u32 {
    1 << feature::KVM_ARM_VCPU_PSCI_0_2
}
