//! Fuzz the kernel layer's byte-level entry point: a sequence of ioctls on the fds it hands out, with
//! arbitrary requests and argument bytes, against the real RMM. Properties: no panic; every call returns
//! a value or an errno Linux has; the RMM's invariants hold after every call; closing every fd leaves no
//! granule in the Realm PAS and no page allocated.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use realm_kvm::{AbiRevision, Fd, IoctlArg, Kernel, KernelConfig};
use realm_rmm::{PlatformConfig, Rmm};
use realm_uapi::arm64::{
    KVM_ARM_VCPU_FINALIZE, KVM_ARM_VCPU_INIT, KVM_CHECK_EXTENSION, KVM_CREATE_DEVICE,
    KVM_CREATE_GUEST_MEMFD, KVM_CREATE_VCPU, KVM_CREATE_VM, KVM_ENABLE_CAP, KVM_GET_ONE_REG,
    KVM_RUN, KVM_SET_DEVICE_ATTR, KVM_SET_MEMORY_ATTRIBUTES, KVM_SET_ONE_REG,
    KVM_SET_USER_MEMORY_REGION2,
};
use realm_uapi::v12::{KVM_ARM_RMI_POPULATE, KVM_ARM_VCPU_RMI_PSCI_COMPLETE};
use vm_memory::MmapRegion;

/// Requests the fuzzer picks by index (anything else is taken literally).
const REQUESTS: &[u64] = &[
    KVM_CREATE_VM,
    KVM_CHECK_EXTENSION,
    KVM_CREATE_VCPU,
    KVM_SET_USER_MEMORY_REGION2,
    KVM_RUN,
    KVM_ENABLE_CAP,
    KVM_SET_ONE_REG,
    KVM_GET_ONE_REG,
    KVM_ARM_VCPU_INIT,
    KVM_ARM_VCPU_FINALIZE,
    KVM_SET_MEMORY_ATTRIBUTES,
    KVM_CREATE_GUEST_MEMFD,
    KVM_ARM_VCPU_RMI_PSCI_COMPLETE,
    KVM_ARM_RMI_POPULATE,
    KVM_CREATE_DEVICE,
    KVM_SET_DEVICE_ATTR,
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let abi = if first & 1 == 0 {
        AbiRevision::V12
    } else {
        AbiRevision::V10
    };
    let rmm = Arc::new(Rmm::new(PlatformConfig::default()));
    let k = Kernel::new(rmm.clone(), rmm.clone(), KernelConfig::new(abi));
    let region = Arc::new(MmapRegion::new(1 << 20).unwrap());
    let user = k.user_memory().register(region);
    let mut fds = vec![k.open_kvm().unwrap()];
    while rest.len() >= 4 {
        let (head, tail) = rest.split_at(4);
        let fd = fds[usize::from(head[0]) % fds.len()];
        let req = match REQUESTS.get(usize::from(head[1])) {
            Some(&r) => r,
            None => u64::from(head[1]) << 8 | u64::from(head[2]) | 0xAE00,
        };
        let len = usize::from(head[3]).min(tail.len());
        let (arg, tail) = tail.split_at(len);
        rest = tail;
        let mut bytes = arg.to_vec();
        // Some pointers should land in user memory: patch the first u64 of long arguments.
        if head[2] & 1 == 1 && bytes.len() >= 24 {
            bytes[16..24].copy_from_slice(&(user + u64::from(head[2]) * 64).to_le_bytes());
        }
        if req == KVM_RUN {
            if let Ok(run) = k.kvm_run(fd) {
                run.set_immediate_exit(1);
            }
            let _ = k.kick(fd);
        }
        let r = if head[2] & 2 == 2 {
            k.ioctl(
                fd,
                req,
                IoctlArg::Val(u64::from_le_bytes(
                    bytes
                        .get(..8)
                        .and_then(|b| b.try_into().ok())
                        .unwrap_or([0; 8]),
                )),
            )
        } else {
            k.ioctl(fd, req, IoctlArg::Buf(&mut bytes))
        };
        match r {
            Ok(v) if [KVM_CREATE_VM, KVM_CREATE_VCPU, KVM_CREATE_GUEST_MEMFD].contains(&req) => {
                fds.push(Fd(i32::try_from(v).unwrap()));
            }
            Ok(_) => {}
            Err(e) => assert!(e.name().is_some(), "unknown errno {e:?}"),
        }
        rmm.check_invariants().unwrap();
    }
    for n in 0..4096 {
        let _ = k.close(Fd(n));
    }
    rmm.check_invariants().unwrap();
    assert_eq!(rmm.realm_granule_count(), 0);
    assert_eq!(k.page_allocator().in_use(), 0);
});
