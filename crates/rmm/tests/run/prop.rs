//! Property: random REC_ENTER / PSCI_COMPLETE / RTT_SET_RIPAS sequences, with realms running random scripts,
//! never panic, answer only RMI statuses, and keep the RMM's invariants.

use proptest::prelude::*;
use realm_rmm::abi::{self, rsi};
use realm_rmm::cpu::scripted::Step;
use realm_rmm::psci;

use crate::world::*;

fn ipa() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(CODE_IPA),
        Just(BUF_IPA + 0x100),
        Just(0x10_0000),
        Just(RAM_TOP + 0x1000),
        Just(MMIO_IPA),
        Just(UNPROT - 0x1000),
        any::<u64>(),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let fid = prop_oneof![
        Just(psci::PSCI_CPU_ON_64),
        Just(psci::PSCI_AFFINITY_INFO_64),
        Just(psci::PSCI_CPU_OFF),
        Just(psci::PSCI_SYSTEM_OFF),
        Just(psci::PSCI_CPU_SUSPEND_64),
        Just(rsi::RSI_IPA_STATE_SET),
        Just(rsi::RSI_IPA_STATE_GET),
        Just(rsi::RSI_HOST_CALL),
        Just(rsi::RSI_MEASUREMENT_EXTEND),
        Just(rsi::RSI_REALM_CONFIG),
        any::<u32>(),
    ];
    let arg = prop_oneof![0..4u64, ipa(), any::<u64>()];
    prop_oneof![
        4 => (fid, proptest::collection::vec(arg, 0..5)).prop_map(|(f, a)| Step::smc(f, &a)),
        1 => (ipa(), prop_oneof![Just(1u32), Just(4), Just(8)], 0..32u8).prop_map(|(i, l, r)| Step::load(i, l, r)),
        1 => (ipa(), Just(8u32), 0..32u8, any::<u64>()).prop_map(|(i, l, r, v)| Step::store(i, l, r, v)),
        1 => Just(Step::Wfi),
        1 => Just(Step::Hvc),
        1 => Just(Step::Irq),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Enter {
        rec: usize,
        flags: u64,
        x0: u64,
    },
    PsciComplete {
        calling: usize,
        target: usize,
        status: u64,
    },
    SetRipas {
        rec: usize,
        base: u64,
        top: u64,
    },
    Raw {
        fid: u32,
        args: [u64; 4],
    },
}

fn op() -> impl Strategy<Value = Op> {
    let status = prop_oneof![Just(0u64), Just(psci::PSCI_RETURN_DENIED), any::<u64>()];
    let fid = prop_oneof![
        Just(abi::RMI_REC_ENTER),
        Just(abi::RMI_PSCI_COMPLETE),
        Just(abi::RMI_RTT_SET_RIPAS)
    ];
    prop_oneof![
        4 => (0..3usize, 0..32u64, any::<u64>()).prop_map(|(rec, flags, x0)| Op::Enter { rec, flags, x0 }),
        2 => (0..3usize, 0..3usize, status).prop_map(|(calling, target, status)| Op::PsciComplete { calling, target, status }),
        2 => (0..3usize, ipa(), ipa()).prop_map(|(rec, base, top)| Op::SetRipas { rec, base, top }),
        1 => (fid, any::<[u64; 4]>()).prop_map(|(fid, args)| Op::Raw { fid, args }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_runs_never_panic_and_keep_invariants(
        scripts in proptest::collection::vec(proptest::collection::vec(step(), 0..12), 3),
        ops in proptest::collection::vec(op(), 1..24),
    ) {
        let w = World::realm(3, true);
        for (i, s) in scripts.into_iter().enumerate() {
            w.script(u64::try_from(i).unwrap_or(0)).extend(s);
        }
        for op in ops {
            let x0 = match op {
                Op::Enter { rec, flags, x0 } => w.enter_with(rec, flags, &[x0]).0,
                Op::PsciComplete { calling, target, status } => w.psci_complete(calling, target, status),
                Op::SetRipas { rec, base, top } => {
                    // Half the time follow the REC's pending request, as a host would.
                    let base = if base & 1 == 0 { base } else { base & !0xFFF };
                    w.call(abi::RMI_RTT_SET_RIPAS, &[w.rd, w.recs[rec], base, top]).x[0]
                }
                Op::Raw { fid, args } => w.call(fid, &args).x[0],
            };
            prop_assert!(x0 & 0xFF <= 4 && x0 >> 16 == 0, "not an RMI status: {x0:#x}");
            prop_assert_eq!(w.rmm.check_invariants(), Ok(()));
        }
    }
}
