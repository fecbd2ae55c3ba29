//! The requests the executor sends, recorded by a fake kernel: request numbers (pinned to Linux's values)
//! and argument bytes. The host backend sends exactly these to /dev/kvm.
use std::sync::{Arc, Mutex};

use vm_memory::MmapRegion;
use zerocopy::FromBytes;

use super::memory::{LOAD_PIECE, load_image};
use super::*;
use crate::backend::{RunArea, UserMemory};
use crate::config::AbiRevision;
use crate::config::ConfigFile;
use crate::image::synthetic_image;
use crate::prepare::prepare;
use realm_uapi::{v10, v12};
use vm_memory::{Bytes, VolatileMemory};

#[derive(Debug, Default)]
struct Recorder {
    abi: Option<AbiRevision>,
    calls: Mutex<Vec<Call>>,
    next_fd: Mutex<i32>,
    memory: Mutex<Vec<UserMemory>>,
}

/// (fd, request, argument bytes, value, bytes at the pointer inside the argument when it has one).
type Call = (i32, u64, Vec<u8>, Option<u64>, Vec<u8>);

#[derive(Debug)]
struct Run(Mutex<Vec<u8>>);
impl RunArea for Run {
    fn with(&self, f: &mut dyn FnMut(&mut [u8])) {
        f(&mut self.0.lock().unwrap());
    }
}

impl Recorder {
    fn fd(&self) -> i64 {
        let mut n = self.next_fd.lock().unwrap();
        *n += 1;
        i64::from(*n)
    }
    /// Read `len` bytes at `hva` in memory this recorder mapped.
    fn read(&self, hva: u64, len: usize) -> Vec<u8> {
        let mems = self.memory.lock().unwrap();
        let m = mems
            .iter()
            .find(|m| hva >= m.hva && hva < m.hva + m.region.size() as u64)
            .unwrap();
        let mut buf = vec![0u8; len];
        m.region
            .as_volatile_slice()
            .read_slice(&mut buf, usize::try_from(hva - m.hva).unwrap())
            .unwrap();
        buf
    }
}

impl KvmBackend for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn abi(&self) -> AbiRevision {
        self.abi.unwrap()
    }
    fn open_kvm(&self) -> Result<Fd, BackendError> {
        Ok(Fd(3))
    }
    fn ioctl(&self, fd: Fd, request: u64, arg: IoctlArg<'_>) -> Result<i64, Errno> {
        let (bytes, val) = match &arg {
            IoctlArg::Val(v) => (Vec::new(), Some(*v)),
            IoctlArg::Buf(b) => (b.to_vec(), None),
        };
        let pointee = match request {
            k::KVM_ENABLE_CAP => {
                let cap = k::kvm_enable_cap::read_from_bytes(&bytes).unwrap();
                if cap.args[1] == 0 {
                    Vec::new()
                } else {
                    self.read(cap.args[1], 260)
                }
            }
            k::KVM_SET_ONE_REG => {
                self.read(k::kvm_one_reg::read_from_bytes(&bytes).unwrap().addr, 8)
            }
            _ => Vec::new(),
        };
        self.calls
            .lock()
            .unwrap()
            .push((fd.0, request, bytes, val, pointee));
        match (request, arg) {
            (k::KVM_CREATE_VM | k::KVM_CREATE_VCPU | k::KVM_CREATE_GUEST_MEMFD, _) => Ok(self.fd()),
            (k::KVM_CREATE_DEVICE, IoctlArg::Buf(b)) => {
                let fd = u32::try_from(self.fd()).unwrap();
                b[4..8].copy_from_slice(&fd.to_le_bytes());
                Ok(0)
            }
            (v12::KVM_ARM_RMI_POPULATE, IoctlArg::Buf(b)) => Ok(i64::try_from(
                v12::kvm_arm_rmi_populate::read_from_bytes(b).unwrap().size,
            )
            .unwrap()),
            (k::KVM_GET_ONE_REG, IoctlArg::Buf(b)) => {
                // ID_AA64DFR0_EL1 as a host with 6 breakpoints and 4 watchpoints reports it.
                let reg = k::kvm_one_reg::read_from_bytes(b).unwrap();
                let mems = self.memory.lock().unwrap();
                let m = mems
                    .iter()
                    .find(|m| reg.addr >= m.hva && reg.addr < m.hva + m.region.size() as u64)
                    .unwrap();
                let v: u64 = (5 << 12) | (3 << 20);
                m.region
                    .as_volatile_slice()
                    .write_slice(&v.to_le_bytes(), usize::try_from(reg.addr - m.hva).unwrap())
                    .unwrap();
                Ok(0)
            }
            (k::KVM_RUN, _) => Err(Errno::EINTR),
            _ => Ok(0),
        }
    }
    fn close(&self, _fd: Fd) {}
    fn map_memory(&self, size: u64) -> Result<UserMemory, BackendError> {
        let region = Arc::new(MmapRegion::new(usize::try_from(size).unwrap()).unwrap());
        let m = UserMemory {
            hva: region.as_ptr().addr() as u64,
            region,
        };
        self.memory.lock().unwrap().push(m.clone());
        Ok(m)
    }
    fn unmap_memory(&self, _mem: &UserMemory) {}
    fn run_area(&self, _vcpu_fd: Fd) -> Result<Box<dyn RunArea>, BackendError> {
        Ok(Box::new(Run(Mutex::new(vec![0; size_of::<k::kvm_run>()]))))
    }
}

fn record(abi: &str) -> (Recorder, Vec<Call>) {
    let mut cfg = ConfigFile {
        kernel: Some("k".into()),
        abi: Some(abi.into()),
        mem: Some("64M".into()),
        num_bps: Some(4),
        ..ConfigFile::default()
    }
    .validate()
    .unwrap();
    cfg.kernel = Some(crate::image::ImageSource::Bytes {
        name: "k".into(),
        data: Arc::from(synthetic_image(70_000, 1)),
    });
    let p = prepare(&cfg).unwrap();
    let rec = Recorder {
        abi: Some(cfg.abi),
        ..Recorder::default()
    };
    {
        let built = realm(&rec, &p, &mut Quiet).unwrap();
        assert_eq!(built.stats.measured_bytes, 0x2_0000 + 0x1_0000);
    }
    let calls = rec.calls.lock().unwrap().clone();
    (rec, calls)
}

#[test]
fn load_image_writes_what_one_write_slice_writes() {
    // Several pieces, a partial last one, at an unaligned offset; and an image that does not fit.
    let bytes = crate::image::filler(2 * LOAD_PIECE + 12_345, 5);
    let mem = |len: usize| UserMemory {
        region: Arc::new(MmapRegion::new(len).unwrap()),
        hva: 0,
    };
    let (a, b) = (mem(3 * LOAD_PIECE), mem(3 * LOAD_PIECE));
    load_image(&a, 4097, &bytes).unwrap();
    b.region
        .as_volatile_slice()
        .write_slice(&bytes, 4097)
        .unwrap();
    let read = |m: &UserMemory| {
        let mut v = vec![0u8; 3 * LOAD_PIECE];
        m.region.as_volatile_slice().read_slice(&mut v, 0).unwrap();
        v
    };
    assert_eq!(read(&a), read(&b));
    let small = mem(LOAD_PIECE);
    assert_eq!(
        load_image(&small, 1, &bytes).unwrap_err().to_string(),
        small
            .region
            .as_volatile_slice()
            .write_slice(&bytes, 1)
            .unwrap_err()
            .to_string()
    );
}

#[test]
fn request_numbers_are_linuxs() {
    // Values of the Linux headers (include/uapi/linux/kvm.h, the v10/v12 realm patches).
    assert_eq!(k::KVM_CREATE_VM, 0xae01);
    assert_eq!(k::KVM_CREATE_VCPU, 0xae41);
    assert_eq!(k::KVM_RUN, 0xae80);
    assert_eq!(k::KVM_ENABLE_CAP, 0x4068_aea3);
    assert_eq!(k::KVM_SET_ONE_REG, 0x4010_aeac);
    assert_eq!(k::KVM_GET_ONE_REG, 0x4010_aeab);
    assert_eq!(k::KVM_ARM_VCPU_INIT, 0x4020_aeae);
    assert_eq!(k::KVM_ARM_PREFERRED_TARGET, 0x8020_aeaf);
    assert_eq!(k::KVM_ARM_VCPU_FINALIZE, 0x4004_aec2);
    assert_eq!(k::KVM_SET_USER_MEMORY_REGION2, 0x40a0_ae49);
    assert_eq!(k::KVM_CREATE_GUEST_MEMFD, 0xc040_aed4);
    assert_eq!(k::KVM_SET_MEMORY_ATTRIBUTES, 0x4020_aed2);
    assert_eq!(k::KVM_CREATE_DEVICE, 0xc00c_aee0);
    assert_eq!(k::KVM_SET_DEVICE_ATTR, 0x4018_aee1);
    assert_eq!(v12::KVM_ARM_RMI_POPULATE, 0x4020_aed7);
    assert_eq!(v12::KVM_ARM_VCPU_RMI_PSCI_COMPLETE, 0x4018_aed6);
    assert_eq!(k::REG_ID_AA64DFR0_EL1, 0x6030_0000_0013_c028);
    assert_eq!(k::REG_PMCR_EL0, 0x6030_0000_0013_dce0);
    assert_eq!(k::REG_PC, 0x6030_0000_0010_0040);
}

#[test]
fn v12_sequence_and_argument_bytes() {
    let (rec, calls) = record("v12");
    let reqs: Vec<u64> = calls.iter().map(|c| c.1).collect();
    assert_eq!(reqs[0], k::KVM_CREATE_VM);
    assert_eq!(
        calls[0].3,
        Some(0x100 | 33),
        "KVM_VM_TYPE_ARM_REALM | 33-bit IPA"
    );
    assert_eq!(*reqs.last().unwrap(), k::KVM_RUN);
    assert!(!reqs.contains(&k::KVM_ENABLE_CAP), "v12 has no RME actions");
    // The memslot: guest_memfd-backed, at RAM base, 64 MiB.
    let slot = calls
        .iter()
        .find(|c| c.1 == k::KVM_SET_USER_MEMORY_REGION2)
        .unwrap();
    let r = k::kvm_userspace_memory_region2::read_from_bytes(&slot.2).unwrap();
    assert_eq!(
        (r.slot, r.flags, r.guest_phys_addr, r.memory_size),
        (0, k::KVM_MEM_GUEST_MEMFD, 0x8000_0000, 64 << 20)
    );
    // Populates: kernel then DTB, measured, with the source in the slot's memory.
    let pops: Vec<v12::kvm_arm_rmi_populate> = calls
        .iter()
        .filter(|c| c.1 == v12::KVM_ARM_RMI_POPULATE)
        .map(|c| v12::kvm_arm_rmi_populate::read_from_bytes(&c.2).unwrap())
        .collect();
    assert_eq!(pops.len(), 2);
    assert_eq!(
        (pops[0].base, pops[0].size, pops[0].flags, pops[0].reserved),
        (0x8000_0000, 0x2_0000, 1, 0)
    );
    assert_eq!(pops[0].source_uaddr, r.userspace_addr);
    assert_eq!(
        rec.read(pops[0].source_uaddr, 64),
        synthetic_image(70_000, 1)[..64].to_vec()
    );
    assert_eq!((pops[1].base, pops[1].size), (0x83e0_0000, 0x1_0000));
    assert_eq!(pops[1].source_uaddr, r.userspace_addr + 0x3e0_0000);
    // vCPU init asks for PSCI 0.2 only; PC then x0 by SET_ONE_REG.
    let init = calls.iter().find(|c| c.1 == k::KVM_ARM_VCPU_INIT).unwrap();
    assert_eq!(
        u32::from_le_bytes(init.2[4..8].try_into().unwrap()),
        1 << k::KVM_ARM_VCPU_PSCI_0_2
    );
    let sets: Vec<k::kvm_one_reg> = calls
        .iter()
        .filter(|c| c.1 == k::KVM_SET_ONE_REG)
        .map(|c| k::kvm_one_reg::read_from_bytes(&c.2).unwrap())
        .collect();
    assert_eq!(
        sets.iter().map(|s| s.id).collect::<Vec<_>>(),
        [k::REG_ID_AA64DFR0_EL1, k::REG_PC, k::REG_X[0]]
    );
    let values: Vec<u64> = calls
        .iter()
        .filter(|c| c.1 == k::KVM_SET_ONE_REG)
        .map(|c| u64::from_le_bytes(c.4[..8].try_into().unwrap()))
        .collect();
    // BRPs = 4 - 1 in bits [15:12], WRPs kept; PC = kernel; x0 = DTB.
    assert_eq!(values, [(3 << 12) | (3 << 20), 0x8000_0000, 0x83e0_0000]);
}

#[test]
fn v10_sequence_and_argument_bytes() {
    let (_rec, calls) = record("v10");
    let caps: Vec<(u32, u64, u64, Vec<u8>)> = calls
        .iter()
        .filter(|c| c.1 == k::KVM_ENABLE_CAP)
        .map(|c| {
            let cap = k::kvm_enable_cap::read_from_bytes(&c.2).unwrap();
            (cap.cap, cap.args[0], cap.args[1], c.4.clone())
        })
        .collect();
    let actions: Vec<u64> = caps.iter().map(|c| c.1).collect();
    assert!(caps.iter().all(|c| c.0 == v10::KVM_CAP_ARM_RME));
    // CONFIG(hash), CREATE, INIT_RIPAS, POPULATE ×2, ACTIVATE.
    assert_eq!(actions, [0, 1, 2, 3, 3, 4]);
    let cfg = v10::arm_rme_config::read_from_prefix(&caps[0].3).unwrap().0;
    assert_eq!(
        (cfg.cfg, cfg.hash_algo()),
        (
            v10::ARM_RME_CONFIG_HASH_ALGO,
            v10::ARM_RME_CONFIG_HASH_ALGO_SHA256
        )
    );
    assert_eq!(caps[1].2, 0, "CREATE takes no argument");
    let ripas = v10::arm_rme_init_ripas::read_from_prefix(&caps[2].3)
        .unwrap()
        .0;
    assert_eq!((ripas.base, ripas.size), (0x8000_0000, 64 << 20));
    let pop = v10::arm_rme_populate_realm::read_from_prefix(&caps[3].3)
        .unwrap()
        .0;
    assert_eq!(
        (pop.base, pop.size, pop.flags),
        (
            0x8000_0000,
            0x2_0000,
            v10::KVM_ARM_RME_POPULATE_FLAGS_MEASURE
        )
    );
    assert_ne!(caps[3].2, 0);
    // The REC feature at init, FINALIZE(REC) after the registers, before ACTIVATE.
    let init = calls.iter().find(|c| c.1 == k::KVM_ARM_VCPU_INIT).unwrap();
    let features = u32::from_le_bytes(init.2[4..8].try_into().unwrap());
    assert_eq!(
        features,
        (1 << k::KVM_ARM_VCPU_PSCI_0_2) | (1 << v10::KVM_ARM_VCPU_REC)
    );
    let fin = calls
        .iter()
        .position(|c| c.1 == k::KVM_ARM_VCPU_FINALIZE)
        .unwrap();
    assert_eq!(calls[fin].2, v10::KVM_ARM_VCPU_REC.to_le_bytes());
    let last_set = calls
        .iter()
        .rposition(|c| c.1 == k::KVM_SET_ONE_REG)
        .unwrap();
    let activate = calls
        .iter()
        .rposition(|c| c.1 == k::KVM_ENABLE_CAP)
        .unwrap();
    assert!(last_set < fin && fin < activate);
}
