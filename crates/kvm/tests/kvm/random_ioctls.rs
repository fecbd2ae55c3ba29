//! Property: random ioctl sequences with random argument bytes never panic, every call returns a value or
//! a known errno, and closing every fd leaves nothing behind (no granule in the Realm PAS, no page).

use crate::common::uapi::*;
use proptest::prelude::*;
use realm_kvm::{AbiRevision, Fd, IoctlArg};

use crate::common::{H, RAM_GPA};

/// Requests the generator draws from (plus arbitrary numbers).
const REQUESTS: &[u32] = &[
    KVM_GET_API_VERSION,
    KVM_CREATE_VM,
    KVM_CHECK_EXTENSION,
    KVM_GET_VCPU_MMAP_SIZE,
    KVM_CREATE_VCPU,
    KVM_SET_USER_MEMORY_REGION,
    KVM_SET_USER_MEMORY_REGION2,
    KVM_CREATE_IRQCHIP,
    KVM_RUN,
    KVM_ENABLE_CAP,
    KVM_GET_ONE_REG,
    KVM_SET_ONE_REG,
    KVM_ARM_VCPU_INIT,
    KVM_ARM_PREFERRED_TARGET,
    KVM_ARM_VCPU_FINALIZE,
    KVM_SET_MEMORY_ATTRIBUTES,
    KVM_CREATE_GUEST_MEMFD,
    KVM_ARM_VCPU_RMI_PSCI_COMPLETE,
    KVM_ARM_RMI_POPULATE,
    KVM_CREATE_DEVICE,
    KVM_SET_DEVICE_ATTR,
    KVM_HAS_DEVICE_ATTR,
];

#[derive(Debug, Clone)]
enum Op {
    /// A structured step of a plausible construction: a realm VM of this IPA size.
    Realm(u8),
    Vcpu(u8, u64),
    Init(u8, u32),
    Slot(u8, u8, u64, u64),
    Populate(u8, u64, u64, u32),
    Run(u8, bool),
    Close(u8),
    /// Any request on any fd with any bytes.
    Raw(u8, u32, Vec<u8>),
    RawVal(u8, u32, u64),
    Rme(u8, u64, Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (30u8..42).prop_map(Op::Realm),
        (any::<u8>(), 0u64..4).prop_map(|(v, id)| Op::Vcpu(v, id)),
        (
            any::<u8>(),
            prop_oneof![Just(4u32), Just(5), Just(0x204), any::<u32>()]
        )
            .prop_map(|(v, f)| Op::Init(v, f)),
        (any::<u8>(), 0u8..3, 0u64..8, 1u64..8).prop_map(|(v, s, a, n)| Op::Slot(v, s, a, n)),
        (any::<u8>(), 0u64..64, 0u64..8, 0u32..3).prop_map(|(v, a, n, f)| Op::Populate(v, a, n, f)),
        (any::<u8>(), any::<bool>()).prop_map(|(v, i)| Op::Run(v, i)),
        any::<u8>().prop_map(Op::Close),
        (
            any::<u8>(),
            prop_oneof![proptest::sample::select(REQUESTS), any::<u32>()],
            proptest::collection::vec(any::<u8>(), 0..200)
        )
            .prop_map(|(f, r, b)| Op::Raw(f, r, b)),
        (
            any::<u8>(),
            proptest::sample::select(REQUESTS),
            any::<u64>()
        )
            .prop_map(|(f, r, v)| Op::RawVal(f, r, v)),
        (
            any::<u8>(),
            0u64..6,
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(f, a, b)| Op::Rme(f, a, b)),
    ]
}

fn pick(fds: &[Fd], i: u8) -> Option<Fd> {
    (!fds.is_empty()).then(|| fds[usize::from(i) % fds.len()])
}

/// What the property needs of an RMM: the granule count and (for the real one) its invariant checker.
trait Checked: realm_rmm::host::Rmi + realm_rmm::host::HostMemory + 'static {
    fn granules(&self) -> usize;
    fn invariants(&self) -> Result<(), String>;
}

impl Checked for crate::common::mini_rmm::MiniRmm {
    fn granules(&self) -> usize {
        self.realm_granule_count()
    }
    fn invariants(&self) -> Result<(), String> {
        Ok(())
    }
}

impl Checked for realm_rmm::Rmm {
    fn granules(&self) -> usize {
        self.realm_granule_count()
    }
    fn invariants(&self) -> Result<(), String> {
        self.check_invariants()
    }
}

fn exercise<R: Checked>(mut h: H<R>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let user = h.user(1 << 20);
    h.fill(user, 1 << 20, 9);
    let mut fds: Vec<Fd> = Vec::new();
    let check = |r: Result<i64, realm_kvm::Errno>| -> Result<Option<i64>, TestCaseError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                prop_assert!(e.name().is_some(), "unknown errno {e:?}");
                Ok(None)
            }
        }
    };
    for op in ops {
        let before: Vec<Fd> = fds.clone();
        let new_fd = match op {
            Op::Realm(ipa) => check(
                h.vm((KVM_VM_TYPE_ARM_REALM << KVM_VM_TYPE_ARM_SHIFT) | u64::from(ipa))
                    .map(|f| i64::from(f.0)),
            )?,
            Op::Vcpu(v, id) => match pick(&before, v) {
                Some(fd) => check(h.io(fd, KVM_CREATE_VCPU, id))?,
                None => None,
            },
            Op::Init(v, f) => {
                if let Some(fd) = pick(&before, v) {
                    check(h.vcpu_init(fd, f))?;
                }
                None
            }
            Op::Slot(v, slot, at, n) => {
                if let Some(fd) = pick(&before, v) {
                    if let Some(g) = check(h.gmem(fd, n << 20).map(|f| i64::from(f.0)))? {
                        let g = Fd(i32::try_from(g).unwrap());
                        fds.push(g);
                        check(h.memslot(
                            fd,
                            u32::from(slot),
                            RAM_GPA + (at << 20),
                            n << 20,
                            user,
                            Some((g, 0)),
                        ))?;
                        check(h.private(fd, RAM_GPA + (at << 20), n << 20, true))?;
                    }
                    if let Ok(gic) = h.vgic(fd) {
                        fds.push(gic);
                    }
                }
                None
            }
            Op::Populate(v, at, n, flags) => {
                if let Some(fd) = pick(&before, v) {
                    check(h.populate(fd, RAM_GPA + (at << 12), n << 12, user, flags))?;
                }
                None
            }
            Op::Run(v, immediate) => {
                if let Some(fd) = pick(&before, v) {
                    if let Ok(run) = h.k.kvm_run(fd) {
                        run.set_immediate_exit(u8::from(immediate));
                        // A powered-off vCPU would sleep: a pending "signal" ends the wait.
                        h.k.kick(fd).unwrap();
                    }
                    check(h.run(fd))?;
                }
                None
            }
            Op::Close(i) => {
                if let Some(fd) = pick(&before, i) {
                    h.k.close(fd).unwrap();
                    fds.retain(|&f| f != fd);
                }
                None
            }
            Op::Raw(i, req, mut bytes) => match pick(&before, i) {
                Some(fd) => {
                    let r = check(h.k.ioctl(fd, u64::from(req), IoctlArg::Buf(&mut bytes)))?;
                    r.filter(|_| {
                        [KVM_CREATE_VM, KVM_CREATE_VCPU, KVM_CREATE_GUEST_MEMFD].contains(&req)
                    })
                }
                None => None,
            },
            Op::RawVal(i, req, v) => match pick(&before, i) {
                Some(fd) => {
                    if req == KVM_RUN {
                        let _ = h.k.kick(fd);
                    }
                    let r = check(h.k.ioctl(fd, u64::from(req), IoctlArg::Val(v)))?;
                    r.filter(|_| [KVM_CREATE_VM, KVM_CREATE_VCPU].contains(&req))
                }
                None => None,
            },
            Op::Rme(i, action, bytes) => {
                if let Some(fd) = pick(&before, i) {
                    check(h.rme(fd, action, &bytes))?;
                }
                None
            }
        };
        if let Some(fd) = new_fd {
            fds.push(Fd(i32::try_from(fd).unwrap()));
        }
        prop_assert_eq!(h.rmm.invariants(), Ok(()));
    }
    // Device fds from KVM_CREATE_DEVICE made by raw ioctls are not tracked: close every fd number.
    for n in 3..4096 {
        let _ = h.k.close(Fd(n));
    }
    prop_assert_eq!(h.rmm.invariants(), Ok(()));
    prop_assert_eq!(h.rmm.granules(), 0);
    prop_assert_eq!(h.k.page_allocator().in_use(), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_v12(ops in proptest::collection::vec(op(), 1..40)) {
        exercise(H::new(AbiRevision::V12), ops)?;
    }

    #[test]
    fn random_sequences_v10(ops in proptest::collection::vec(op(), 1..40)) {
        exercise(H::new(AbiRevision::V10), ops)?;
    }

    /// Against the real RMM, with `Rmm::check_invariants` after every step.
    #[test]
    fn random_sequences_real_rmm(v10 in any::<bool>(), ops in proptest::collection::vec(op(), 1..30)) {
        let abi = if v10 { AbiRevision::V10 } else { AbiRevision::V12 };
        let rmm = std::sync::Arc::new(realm_rmm::Rmm::new(realm_rmm::PlatformConfig::default()));
        exercise(H::with_rmm(abi, rmm, None), ops)?;
    }
}
