//! Property tests: random and adversarial RMI sequences never panic, keep every invariant after every
//! call, and can always be torn down to an all-NS platform; `call_many` over DATA_CREATE runs equals
//! issuing the calls one by one.
#![cfg(test)]

use proptest::prelude::*;
use realm_rmm::abi::{self, RmiRecParams};
use realm_rmm::host::{HostMemory as _, Rmi as _, SmcRegs};
use realm_rmm::testing::{DRAM_BASE, RealmParams, World};
use zerocopy::{FromZeros as _, IntoBytes as _};

const POOL: u64 = 48;
const IPAS: [u64; 7] = [
    0,
    0x1000,
    0x2000,
    0x20_0000,
    0x4000_0000,
    1 << 39,
    (1 << 39) + 0x1000,
];

fn g(i: u8) -> u64 {
    DRAM_BASE + u64::from(i) % POOL * 0x1000
}

#[derive(Clone, Debug)]
enum Op {
    Delegate(u8),
    Undelegate(u8),
    RealmCreate {
        rd: u8,
        rtt: u8,
        s2sz: u32,
        sl: i64,
        vmid: u16,
        params: u8,
    },
    RealmActivate(u8),
    RealmDestroy(u8),
    RttCreate {
        rd: u8,
        rtt: u8,
        ipa: u8,
        level: u8,
    },
    RttDestroy {
        rd: u8,
        ipa: u8,
        level: u8,
    },
    RttFold {
        rd: u8,
        ipa: u8,
        level: u8,
    },
    MapUnprotected {
        rd: u8,
        ipa: u8,
        level: u8,
        desc: u64,
    },
    UnmapUnprotected {
        rd: u8,
        ipa: u8,
        level: u8,
    },
    ReadEntry {
        rd: u8,
        ipa: u8,
        level: u8,
    },
    InitRipas {
        rd: u8,
        base: u8,
        top: u8,
    },
    DataCreate {
        rd: u8,
        data: u8,
        ipa: u8,
        src: u8,
        flags: u8,
    },
    DataCreateUnknown {
        rd: u8,
        data: u8,
        ipa: u8,
    },
    DataDestroy {
        rd: u8,
        ipa: u8,
    },
    RecCreate {
        rd: u8,
        rec: u8,
        aux: u8,
        params: u8,
        mpidr: u8,
        runnable: bool,
    },
    RecDestroy(u8),
    Raw {
        fid: u8,
        args: [u64; 6],
    },
    /// Delegate two pool granules and create a 39-bit realm (one root) from them.
    QuickRealm {
        base: u8,
        vmid: u16,
    },
    /// Delegate two pool granules and create level-2 and level-3 tables for `ipa`.
    QuickTables {
        rd: u8,
        rtt: u8,
        ipa: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<u8>().prop_map(Op::Delegate),
        1 => any::<u8>().prop_map(Op::Undelegate),
        2 => (any::<u8>(), any::<u8>(), prop_oneof![Just(39u32), Just(40), 30u32..54], prop_oneof![Just(1i64), -2i64..5], 0u16..3, any::<u8>())
            .prop_map(|(rd, rtt, s2sz, sl, vmid, params)| Op::RealmCreate { rd, rtt, s2sz, sl, vmid, params }),
        1 => any::<u8>().prop_map(Op::RealmActivate),
        1 => any::<u8>().prop_map(Op::RealmDestroy),
        4 => (any::<u8>(), any::<u8>(), any::<u8>(), 0u8..5).prop_map(|(rd, rtt, ipa, level)| Op::RttCreate { rd, rtt, ipa, level }),
        2 => (any::<u8>(), any::<u8>(), 0u8..5).prop_map(|(rd, ipa, level)| Op::RttDestroy { rd, ipa, level }),
        1 => (any::<u8>(), any::<u8>(), 0u8..5).prop_map(|(rd, ipa, level)| Op::RttFold { rd, ipa, level }),
        1 => (any::<u8>(), any::<u8>(), 0u8..5, prop_oneof![Just(0x1_0000_00dcu64 & !0xfff | 0xd8), any::<u64>()])
            .prop_map(|(rd, ipa, level, desc)| Op::MapUnprotected { rd, ipa, level, desc }),
        1 => (any::<u8>(), any::<u8>(), 0u8..5).prop_map(|(rd, ipa, level)| Op::UnmapUnprotected { rd, ipa, level }),
        1 => (any::<u8>(), any::<u8>(), 0u8..5).prop_map(|(rd, ipa, level)| Op::ReadEntry { rd, ipa, level }),
        2 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(rd, base, top)| Op::InitRipas { rd, base, top }),
        4 => (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), 0u8..3)
            .prop_map(|(rd, data, ipa, src, flags)| Op::DataCreate { rd, data, ipa, src, flags }),
        2 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(rd, data, ipa)| Op::DataCreateUnknown { rd, data, ipa }),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(rd, ipa)| Op::DataDestroy { rd, ipa }),
        1 => (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), 0u8..3, any::<bool>())
            .prop_map(|(rd, rec, aux, params, mpidr, runnable)| Op::RecCreate { rd, rec, aux, params, mpidr, runnable }),
        1 => any::<u8>().prop_map(Op::RecDestroy),
        2 => (any::<u8>(), any::<[u64; 6]>()).prop_map(|(fid, args)| Op::Raw { fid, args }),
        3 => (any::<u8>(), 0u16..3).prop_map(|(base, vmid)| Op::QuickRealm { base, vmid }),
        4 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(rd, rtt, ipa)| Op::QuickTables { rd, rtt, ipa }),
    ]
}

fn ipa(i: u8) -> u64 {
    IPAS[usize::from(i) % IPAS.len()]
}

fn apply(w: &World, op: &Op) -> SmcRegs {
    match *op {
        Op::Delegate(i) => w.rmi(abi::RMI_GRANULE_DELEGATE, &[g(i)]),
        Op::Undelegate(i) => w.rmi(abi::RMI_GRANULE_UNDELEGATE, &[g(i)]),
        Op::RealmCreate {
            rd,
            rtt,
            s2sz,
            sl,
            vmid,
            params,
        } => {
            let p = RealmParams {
                s2sz,
                start_level: sl,
                vmid,
                ..RealmParams::default_sha256()
            };
            let bytes = World::realm_params(&p, g(rtt));
            let _ = w.rmm.write(g(params), bytes.as_bytes());
            w.rmi(abi::RMI_REALM_CREATE, &[g(rd), g(params)])
        }
        Op::RealmActivate(i) => w.rmi(abi::RMI_REALM_ACTIVATE, &[g(i)]),
        Op::RealmDestroy(i) => w.rmi(abi::RMI_REALM_DESTROY, &[g(i)]),
        Op::RttCreate {
            rd,
            rtt,
            ipa: a,
            level,
        } => w.rmi(
            abi::RMI_RTT_CREATE,
            &[g(rd), g(rtt), ipa(a), u64::from(level)],
        ),
        Op::RttDestroy { rd, ipa: a, level } => {
            w.rmi(abi::RMI_RTT_DESTROY, &[g(rd), ipa(a), u64::from(level)])
        }
        Op::RttFold { rd, ipa: a, level } => {
            w.rmi(abi::RMI_RTT_FOLD, &[g(rd), ipa(a), u64::from(level)])
        }
        Op::MapUnprotected {
            rd,
            ipa: a,
            level,
            desc,
        } => w.rmi(
            abi::RMI_RTT_MAP_UNPROTECTED,
            &[g(rd), ipa(a), u64::from(level), desc],
        ),
        Op::UnmapUnprotected { rd, ipa: a, level } => w.rmi(
            abi::RMI_RTT_UNMAP_UNPROTECTED,
            &[g(rd), ipa(a), u64::from(level)],
        ),
        Op::ReadEntry { rd, ipa: a, level } => {
            w.rmi(abi::RMI_RTT_READ_ENTRY, &[g(rd), ipa(a), u64::from(level)])
        }
        Op::InitRipas { rd, base, top } => {
            w.rmi(abi::RMI_RTT_INIT_RIPAS, &[g(rd), ipa(base), ipa(top)])
        }
        Op::DataCreate {
            rd,
            data,
            ipa: a,
            src,
            flags,
        } => {
            let _ = w.rmm.write(g(src), &[src; 64]);
            w.rmi(
                abi::RMI_DATA_CREATE,
                &[g(rd), g(data), ipa(a), g(src), u64::from(flags)],
            )
        }
        Op::DataCreateUnknown { rd, data, ipa: a } => {
            w.rmi(abi::RMI_DATA_CREATE_UNKNOWN, &[g(rd), g(data), ipa(a)])
        }
        Op::DataDestroy { rd, ipa: a } => w.rmi(abi::RMI_DATA_DESTROY, &[g(rd), ipa(a)]),
        Op::RecCreate {
            rd,
            rec,
            aux,
            params,
            mpidr,
            runnable,
        } => {
            let mut p = RmiRecParams::new_zeroed();
            p.flags = u64::from(runnable);
            p.mpidr = u64::from(mpidr);
            p.num_aux = 16;
            for (k, a) in p.aux.iter_mut().enumerate() {
                *a = g(aux.wrapping_add(u8::try_from(k).unwrap_or(0)));
            }
            let _ = w.rmm.write(g(params), p.as_bytes());
            w.rmi(abi::RMI_REC_CREATE, &[g(rd), g(rec), g(params)])
        }
        Op::RecDestroy(i) => w.rmi(abi::RMI_REC_DESTROY, &[g(i)]),
        Op::QuickRealm { base, vmid } => {
            let (root, rd, params) = (g(base), g(base.wrapping_add(1)), g(base.wrapping_add(2)));
            let _ = w.rmi(abi::RMI_GRANULE_DELEGATE, &[root]);
            let _ = w.rmi(abi::RMI_GRANULE_DELEGATE, &[rd]);
            let p = RealmParams {
                s2sz: 39,
                vmid,
                ..RealmParams::default_sha256()
            };
            let _ = w
                .rmm
                .write(params, World::realm_params(&p, root).as_bytes());
            w.rmi(abi::RMI_REALM_CREATE, &[rd, params])
        }
        Op::QuickTables { rd, rtt, ipa: a } => {
            let (t2, t3) = (g(rtt), g(rtt.wrapping_add(1)));
            let _ = w.rmi(abi::RMI_GRANULE_DELEGATE, &[t2]);
            let _ = w.rmi(abi::RMI_GRANULE_DELEGATE, &[t3]);
            let _ = w.rmi(abi::RMI_RTT_CREATE, &[g(rd), t2, ipa(a) & !0x3fff_ffff, 2]);
            w.rmi(abi::RMI_RTT_CREATE, &[g(rd), t3, ipa(a) & !0x1f_ffff, 3])
        }
        Op::Raw { fid, args } => {
            let mut regs = SmcRegs::call(0xC400_0150 + u32::from(fid % 0x1c), &args);
            if fid >= 0xf0 {
                regs.x[1] = g(fid);
            }
            w.rmm.call(regs)
        }
    }
}

/// Tear everything down through the RMI only, deepest first; returns whether all granules are NS again.
fn teardown(w: &World) -> bool {
    for _ in 0..8 {
        for i in 0..POOL {
            let pa = DRAM_BASE + i * 0x1000;
            let _ = w.rmi(abi::RMI_REC_DESTROY, &[pa]);
            for a in IPAS {
                let _ = w.rmi(abi::RMI_DATA_DESTROY, &[pa, a]);
                for level in (1..=3u64).rev() {
                    let _ = w.rmi(
                        abi::RMI_RTT_UNMAP_UNPROTECTED,
                        &[pa, a & !((1 << (12 + 9 * (3 - level))) - 1), level],
                    );
                    let _ = w.rmi(
                        abi::RMI_RTT_DESTROY,
                        &[pa, a & !((1 << (12 + 9 * (4 - level))) - 1), level],
                    );
                }
            }
        }
        for i in 0..POOL {
            let pa = DRAM_BASE + i * 0x1000;
            let _ = w.rmi(abi::RMI_REALM_DESTROY, &[pa]);
            let _ = w.rmi(abi::RMI_GRANULE_UNDELEGATE, &[pa]);
        }
        if w.rmm.realm_granule_count() == 0 {
            return true;
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_invariants_and_tear_down(ops in prop::collection::vec(op(), 1..120)) {
        let w = World::new();
        for op in &ops {
            let _ = apply(&w, op);
            if let Err(e) = w.rmm.check_invariants() {
                return Err(TestCaseError::fail(format!("after {op:?}: {e}")));
            }
        }
        prop_assert!(teardown(&w), "granules left in the Realm PAS: {}", w.rmm.realm_granule_count());
        prop_assert!(w.rmm.check_invariants().is_ok());
    }

    #[test]
    fn call_many_data_create_equals_one_by_one(
        n in 1usize..40,
        flags in prop::collection::vec(0u64..3, 40),
        skip in prop::collection::vec(any::<bool>(), 40),
        sha512 in any::<bool>(),
    ) {
        let build = || {
            let mut w = World::new();
            let p = RealmParams { hash_algo: u8::from(sha512), ..RealmParams::default_sha256() };
            let rd = w.realm_create(&p);
            w.rtt_path(rd, p.start_level, 0, 3);
            let mut calls = Vec::new();
            for i in 0..n {
                let src = w.host_page(&[u8::try_from(i).unwrap_or(0); 0x1000]);
                // Some calls fail: an undelegated data granule, or a bad flags value.
                let data = if skip[i] { w.alloc() } else { w.delegated() };
                let ipa = u64::try_from(i).unwrap_or(0) * 0x1000;
                calls.push(SmcRegs::call(abi::RMI_DATA_CREATE, &[rd, data, ipa, src, flags[i]]));
            }
            (w, rd, calls)
        };
        let (a, rd, calls) = build();
        let mut one_by_one = Vec::new();
        for c in &calls {
            let r = a.rmm.call(*c);
            one_by_one.push(r);
            if r.x[0] != 0 {
                break;
            }
        }
        let (b, rd_b, calls_b) = build();
        prop_assert_eq!(rd, rd_b);
        let mut batched = Vec::new();
        b.rmm.call_many(&calls_b, &mut batched);
        prop_assert_eq!(&one_by_one, &batched);
        prop_assert_eq!(a.rmm.measurement_log(rd), b.rmm.measurement_log(rd));
        for c in &calls {
            let ra = a.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, c.x[3], 3]);
            let rb = b.rmi(abi::RMI_RTT_READ_ENTRY, &[rd, c.x[3], 3]);
            prop_assert_eq!(ra, rb);
        }
        prop_assert_eq!(a.rmm.realm_granule_count(), b.rmm.realm_granule_count());
        b.rmm.check_invariants().map_err(TestCaseError::fail)?;
    }
}
