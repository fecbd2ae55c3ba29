//! Property tests: random registers, descriptors and accesses never panic, and what the MMU reports is
//! self-consistent (fault levels in range, AT agreeing with translate, TLB hits agreeing with walks).

use super::super::TlbiOp;
use super::*;
use proptest::prelude::*;

/// A memory whose every 64-bit word comes from a small pool (so random table descriptors lead to more
/// random descriptors and walks go deep); a pool word with bits \[63:62\] = 0b11 and bit 0 clear faults at
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

/// Virtual addresses: arbitrary, or near the bottom of the lower range (optionally tagged) or the top
/// of the upper range, where every 25..48-bit configuration translates them.
fn va() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => any::<u64>(),
        2 => (0u64..1 << 24, any::<u8>(), any::<bool>()).prop_map(|(low, tag, tagged)| {
            if tagged { low | (u64::from(tag & 0x7f) << 56) } else { low }
        }),
        2 => (0u64..1 << 24).prop_map(|low| !low),
    ]
}

fn access() -> impl Strategy<Value = Access> {
    (va(), kind(), any::<bool>(), 0u8..=1).prop_map(|(va, kind, unprivileged, el)| Access {
        va,
        kind,
        unprivileged,
        el,
    })
}

/// TCR_EL1: arbitrary, or with in-range T0SZ/T1SZ and walks mostly enabled (other fields random).
fn tcr() -> impl Strategy<Value = u64> {
    let fields = 0x3f | (1 << 7) | (0x3f << 16) | (1 << 23);
    prop_oneof![
        1 => any::<u64>(),
        4 => (any::<u64>(), 16u64..=39, 16u64..=39, 0u8..8).prop_map(move |(raw, t0sz, t1sz, epd)| {
            let epd0 = if epd == 0 { 1 << 7 } else { 0 };
            let epd1 = if epd == 1 { 1 << 23 } else { 0 };
            (raw & !fields) | t0sz | (t1sz << 16) | epd0 | epd1
        }),
    ]
}

/// A TTBR: arbitrary, or a small table address with a random ASID.
fn ttbr() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => any::<u64>(),
        4 => (0u64..0x100, any::<u16>()).prop_map(|(page, asid)| (u64::from(asid) << 48) | (page << 12)),
    ]
}

fn stage1_regs() -> impl Strategy<Value = Stage1Regs> {
    (
        any::<u64>(),
        tcr(),
        ttbr(),
        ttbr(),
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

/// Descriptor-like words: mostly valid tables/pages with small output addresses, random attributes
/// (AP, SH, nG, AttrIndx) and upper bits \[61:52\] (PXN, UXN, PXNTable, UXNTable, APTable\[0\]), AF set;
/// some arbitrary.
fn word() -> impl Strategy<Value = u64> {
    let kind = prop_oneof![4 => Just(0b11u64), 1 => 0u64..4];
    prop_oneof![
        1 => any::<u64>(),
        5 => (0u64..0x100, any::<u16>(), kind, any::<u16>()).prop_map(|(page, attrs, kind, upper)| {
            (page << 12) | (u64::from(attrs) & 0xffc) | kind | (1 << 10) | (u64::from(upper & 0x3ff) << 52)
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
    fn warm_tlb_agrees_with_a_cold_walk(
        regs in stage1_regs(),
        pool in proptest::collection::vec(word(), 1..16),
        accesses in proptest::collection::vec((access(), any::<u16>(), any::<u16>()), 1..12),
        pa_range in 32u8..=48,
    ) {
        // With the tables unchanged, a TLB may only ever answer what a walk would: the same access through
        // a long-lived MMU (TLB warmed by earlier accesses, other ASIDs included) and a fresh one agree.
        let mut warm = Mmu::with_pa_range(pa_range);
        let regs = Stage1Regs { sctlr: regs.sctlr | 1, ..regs };
        for (access, asid0, asid1) in &accesses {
            let regs = Stage1Regs {
                ttbr0: (regs.ttbr0 & ((1 << 48) - 1)) | (u64::from(*asid0) << 48),
                ttbr1: (regs.ttbr1 & ((1 << 48) - 1)) | (u64::from(*asid1) << 48),
                ..regs
            };
            let got = warm.translate(&regs, *access, &mut |ipa| pool_read(&pool, ipa));
            let cold = Mmu::with_pa_range(pa_range).translate(&regs, *access, &mut |ipa| pool_read(&pool, ipa));
            prop_assert_eq!(got, cold, "warm and cold MMUs disagree on {:?}", access);
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
