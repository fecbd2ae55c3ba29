//! v12's skip over populated pages (`ripas_change`'s "ugly hack": one RMI_RTT_INIT_RIPAS a page, each
//! failing with RMI_ERROR_RTT at level 3) goes to the RMM in runs (`Rmi::call_while`). The RMM must see the
//! same calls, in the same order, with the same replies, as when the kernel makes them one by one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::common::uapi::*;
use crate::common::{H, psci_0_2};
use crate::rim::qemu_max;
use realm_kvm::{AbiRevision, Errno, Kernel, KernelConfig, KvmRealmState};
use realm_rmm::Rmm;
use realm_rmm::host::{HostMemory, Rmi, SmcRegs};

const RAM: (u64, u64) = (0x8000_0000, 16 << 20);
const PAGES: u64 = 0x300;

/// Every RMI call the kernel makes, with its reply. `runs`: `call_while` runs go to the RMM as runs (else
/// they are made one by one here, as `Rmi`'s default does).
struct Recorder {
    rmm: Arc<Rmm>,
    runs: bool,
    calls: Mutex<Vec<(SmcRegs, SmcRegs)>>,
    longest_run: AtomicUsize,
}

impl Recorder {
    fn record(&self, calls: &[SmcRegs], replies: &[SmcRegs]) {
        let mut log = self.calls.lock().unwrap();
        log.extend(calls.iter().copied().zip(replies.iter().copied()));
    }
}

impl Rmi for Recorder {
    fn call(&self, regs: SmcRegs) -> SmcRegs {
        let ret = self.rmm.call(regs);
        self.record(&[regs], &[ret]);
        ret
    }

    fn call_many(&self, calls: &[SmcRegs], out: &mut Vec<SmcRegs>) {
        let start = out.len();
        self.rmm.call_many(calls, out);
        self.record(calls, &out[start..]);
    }

    fn call_while(&self, calls: &[SmcRegs], status: u64, out: &mut Vec<SmcRegs>) {
        if !self.runs {
            for regs in calls {
                let ret = self.call(*regs);
                out.push(ret);
                if ret.x[0] != status {
                    break;
                }
            }
            return;
        }
        let start = out.len();
        self.rmm.call_while(calls, status, out);
        self.record(calls, &out[start..]);
        self.longest_run
            .fetch_max(out.len() - start, Ordering::Relaxed);
    }
}

/// Build and activate a v12 realm with `PAGES` populated pages in its RAM; the kernel's calls.
fn construct(runs: bool) -> (Vec<(SmcRegs, SmcRegs)>, usize, Vec<u8>) {
    let rmm = Arc::new(Rmm::new(qemu_max()));
    let recorder = Arc::new(Recorder {
        rmm: Arc::clone(&rmm),
        runs,
        calls: Mutex::new(Vec::new()),
        longest_run: AtomicUsize::new(0),
    });
    let mem: Arc<dyn HostMemory> = rmm.clone();
    let mut h = H {
        k: Kernel::new(recorder.clone(), mem, KernelConfig::new(AbiRevision::V12)),
        rmm,
        regions: Vec::new(),
    };
    let vm = h.realm_vm();
    h.vgic(vm).unwrap();
    let shared = h.user(RAM.1);
    let g = h.gmem(vm, RAM.1).unwrap();
    h.memslot(vm, 1, RAM.0, RAM.1, shared, Some((g, 0)))
        .unwrap();
    h.private(vm, RAM.0, RAM.1, true).unwrap();
    let v0 = h.vcpu(vm, 0).unwrap();
    h.vcpu_init(v0, psci_0_2()).unwrap();
    h.set_reg(v0, reg::PC, RAM.0).unwrap();
    let image = h.user(RAM.1);
    for i in 0..PAGES {
        let byte = u8::try_from(i % 251).unwrap();
        h.k.user_memory()
            .write(image + i * 4096, &[byte; 4096])
            .unwrap();
    }
    // Two populated runs with a hole between them: skips, a success, then skips again.
    let measure = KVM_ARM_RMI_POPULATE_FLAGS_MEASURE;
    let half = PAGES / 2 * 4096;
    assert_eq!(
        h.populate(vm, RAM.0, half, image, measure),
        Ok(i64::try_from(half).unwrap())
    );
    let second = RAM.0 + half + (1 << 20);
    assert_eq!(
        h.populate(vm, second, half, image + half, measure),
        Ok(i64::try_from(half).unwrap())
    );
    h.k.kvm_run(v0).unwrap().set_immediate_exit(1);
    assert_eq!(h.run(v0), Err(Errno::EINTR));
    assert_eq!(h.k.debug_realm_state(vm), Some(KvmRealmState::Active));
    let rd = h.k.debug_realm_rd(vm).unwrap();
    let rim = h.rmm.measurements(rd).unwrap().rim;
    let calls = recorder.calls.lock().unwrap().clone();
    (calls, recorder.longest_run.load(Ordering::Relaxed), rim)
}

#[test]
fn skip_runs_make_the_calls_and_get_the_replies_of_one_by_one() {
    let (one_by_one, _, rim_one) = construct(false);
    let (in_runs, longest, rim_runs) = construct(true);
    let init_ripas =
        |calls: &[(SmcRegs, SmcRegs)]| calls.iter().filter(|(c, _)| c.x[0] == 0xC400_0168).count();
    // Every populated page is skipped with a call of its own.
    assert!(init_ripas(&one_by_one) > usize::try_from(PAGES).unwrap());
    assert!(
        longest > 64,
        "the skips went to the RMM in runs (longest {longest})"
    );
    assert_eq!(init_ripas(&in_runs), init_ripas(&one_by_one));
    assert_eq!(in_runs.len(), one_by_one.len(), "calls made");
    for (i, (a, b)) in in_runs.iter().zip(&one_by_one).enumerate() {
        assert_eq!(a, b, "call {i}: (call, reply) in runs vs one by one");
    }
    assert_eq!(rim_runs, rim_one);
    follows_the_linux_loop(&in_runs);
}

/// The RTT_INIT_RIPAS calls are those of v12's `ripas_change` loop over the RAM, given their replies:
/// the first at the RAM's base, each next one at the reply's top after a success, one page on after a
/// failure at level 3 (the skip), at the same base again after a failure at a higher level (RTTs are
/// created in between); every one up to the RAM's end.
fn follows_the_linux_loop(calls: &[(SmcRegs, SmcRegs)]) {
    let end = RAM.0 + RAM.1;
    let mut expected = RAM.0;
    let mut seen = 0;
    for (i, (call, reply)) in calls.iter().enumerate() {
        if call.x[0] != 0xC400_0168 {
            continue;
        }
        seen += 1;
        assert_eq!(
            (call.x[2], call.x[3]),
            (expected, end),
            "call {i}: base and top"
        );
        expected = match (reply.x[0] & 0xFF, reply.x[0] >> 8) {
            (0, _) => reply.x[1],
            (4, 3) => expected + 4096,
            (4, _) => expected,
            other => panic!("call {i}: unexpected reply {other:?}"),
        };
    }
    assert!(seen > 0);
    assert_eq!(expected, end, "the loop reached the end of the RAM");
}
