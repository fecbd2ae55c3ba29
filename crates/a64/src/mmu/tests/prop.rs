//! Property tests: random registers, descriptors and accesses never panic, and what the MMU reports is
//! self-consistent (fault levels in range, AT agreeing with translate, TLB hits agreeing with walks).

use super::super::TlbiOp;
use super::*;
use proptest::prelude::*;

/// A memory whose every 64-bit word comes from a small pool (so random table descriptors lead to more
/// random descriptors and walks go deep); a pool word with bits [63:62] = 0b11 and bit 0 clear faults at
/// stage 2 instead, at level `bits [2:1] - 1`.
fn pool_read(pool: &[u64], ipa: u64) -> Result<u64, Stage2Fault> {
    let slot = usize::try_from((ipa >> 3) % 16).unwrap_or(0);
    let word = pool[slot % pool.len()];
    if word >> 62 == 0b11 && word & 1 == 0 {
        let level = i8::try_from((word >> 1) & 0b11).unwrap_or(0) - 1;
        return Err(Stage2Fault { level });
    }
    Ok(word)
}

fn kind() -> impl Strategy<Value = AccessKind> {
    prop_oneof![
        Just(AccessKind::Read),
        Just(AccessKind::Write),
        Just(AccessKind::Fetch)
    ]
}

fn access() -> impl Strategy<Value = Access> {
    (any::<u64>(), kind(), any::<bool>(), 0u8..=1).prop_map(|(va, kind, unprivileged, el)| Access {
        va,
        kind,
        unprivileged,
        el,
    })
}

fn stage1_regs() -> impl Strategy<Value = Stage1Regs> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(sctlr, tcr, ttbr0, ttbr1, mair, pan, mmu_on)| Stage1Regs {
            sctlr: if mmu_on { sctlr | 1 } else { sctlr },
            tcr,
            ttbr0,
            ttbr1,
            mair,
            pan,
        })
}

fn tlbi() -> impl Strategy<Value = TlbiOp> {
    prop_oneof![
        Just(TlbiOp::Vmalle1),
        (any::<u64>(), any::<u16>()).prop_map(|(va, asid)| TlbiOp::Vae1 { va, asid }),
        (any::<u64>(), any::<u16>()).prop_map(|(va, asid)| TlbiOp::Vale1 { va, asid }),
        any::<u16>().prop_map(|asid| TlbiOp::Aside1 { asid }),
        any::<u64>().prop_map(|va| TlbiOp::Vaae1 { va }),
        any::<u64>().prop_map(|va| TlbiOp::Vaale1 { va }),
    ]
}

/// Descriptor-like words: mostly valid tables/pages with small output addresses, some arbitrary.
fn word() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        (0u64..0x100, any::<u16>(), 0u64..4).prop_map(|(page, attrs, kind)| {
            (page << 12) | (u64::from(attrs) & 0xffc) | kind | (1 << 10)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_state_never_panics_and_is_consistent(
        regs in stage1_regs(),
        pool in proptest::collection::vec(word(), 1..16),
        accesses in proptest::collection::vec(access(), 1..8),
        ops in proptest::collection::vec(tlbi(), 0..3),
        pa_range in 0u8..=64,
    ) {
        let mut mmu = Mmu::with_pa_range(pa_range);
        for access in &accesses {
            let first = mmu.translate(&regs, *access, &mut |ipa| pool_read(&pool, ipa));
            match first {
                Ok(t) => {
                    // A second translation (a TLB hit when cached) gives the same result.
                    let again = mmu.translate(&regs, *access, &mut |ipa| pool_read(&pool, ipa));
                    prop_assert_eq!(again, Ok(t), "TLB hit differs from walk for {:?}", access);
                    if access.kind != AccessKind::Fetch {
                        let par = mmu.at(&regs, *access, &mut |ipa| pool_read(&pool, ipa));
                        prop_assert_eq!(par & 1, 0, "AT faults where translate succeeded: {:?}", access);
                        prop_assert_eq!(par & 0xffff_ffff_f000, t.pa & 0xffff_ffff_f000, "AT PA");
                    }
                }
                Err(fault) => {
                    prop_assert!(fault.level().is_none_or(|l| l <= 3), "level out of range: {:?}", fault);
                    prop_assert!(fault.fsc() <= 0x3f, "FSC wider than 6 bits: {:?}", fault);
                    if access.kind != AccessKind::Fetch {
                        let par = mmu.at(&regs, *access, &mut |ipa| pool_read(&pool, ipa));
                        prop_assert_eq!(par & 1, 1, "AT succeeds where translate faulted: {:?}", fault);
                        prop_assert_eq!((par >> 1) & 0x3f, u64::from(fault.fsc()), "PAR.FST");
                    }
                }
            }
            for op in &ops {
                mmu.tlbi(*op);
            }
        }
    }

    #[test]
    fn tlbi_decode_never_panics(crm in any::<u8>(), op2 in any::<u8>(), xt in any::<u64>()) {
        if let Some((op, _)) = TlbiOp::decode(crm, op2, xt) {
            let mut mmu = Mmu::new();
            mmu.tlbi(op);
        }
    }
}
