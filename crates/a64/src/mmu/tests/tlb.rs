//! TLB behaviour seen through translations: hits need no walk, stale entries are used until the TLBI
//! that covers them, faults are never cached, and ASIDs tag non-global entries.

use super::super::TlbiOp;
use super::*;
use AccessKind::{Read, Write};

/// A user page at 0x40_0000 (nG, ASID 1 from TTBR0) and a global kernel 2 MiB block at KVA.
fn setup() -> (Mmu, TestMem, Stage1Regs) {
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, 0x40_0000, 3, page(0xa000, AP_ALL_RW | NG));
    mem.map(ROOT1, 0, KVA, 2, block(0x8000_0000, AP_EL1_RW));
    (Mmu::new(), mem, regs(ROOT0 | (1 << 48), ROOT1))
}

/// Rewrites the user page's descriptor to map `oa` instead, without any TLB maintenance.
fn remap_user_page(mem: &mut TestMem, oa: u64) {
    let slot = mem.slot(ROOT0, 0, 0x40_0000, 3);
    mem.write(slot, page(oa, AP_ALL_RW | NG));
}

#[test]
fn hits_do_not_walk() {
    let (mut mmu, mut mem, r) = setup();
    pa_of(&mut mmu, &mut mem, &r, el0(0x40_0010, Read), "first access");
    assert_eq!(mem.reads, 4, "a 48-bit walk reads four descriptors");
    for offset in [0, 8, 0xff8] {
        pa_of(
            &mut mmu,
            &mut mem,
            &r,
            el0(0x40_0000 + offset, Write),
            "same page",
        );
    }
    assert_eq!(mem.reads, 4, "later accesses to the page hit the TLB");
    pa_of(&mut mmu, &mut mem, &r, el1(KVA + 0x1f_f000, Read), "block");
    pa_of(
        &mut mmu,
        &mut mem,
        &r,
        el1(KVA + 0x12_3000, Read),
        "another page of the block",
    );
    assert_eq!(mem.reads, 7, "one 3-level walk for the whole block");
}

#[test]
fn stale_entry_used_until_tlbi_va() {
    for (op, what) in [
        (
            TlbiOp::Vae1 {
                va: 0x40_0000,
                asid: 1,
            },
            "VAE1",
        ),
        (
            TlbiOp::Vale1 {
                va: 0x40_0fff,
                asid: 1,
            },
            "VALE1",
        ),
        (TlbiOp::Vaae1 { va: 0x40_0000 }, "VAAE1"),
        (TlbiOp::Vaale1 { va: 0x40_0000 }, "VAALE1"),
        (TlbiOp::Aside1 { asid: 1 }, "ASIDE1"),
        (TlbiOp::Vmalle1, "VMALLE1"),
    ] {
        let (mut mmu, mut mem, r) = setup();
        assert_eq!(
            pa_of(&mut mmu, &mut mem, &r, el0(0x40_0123, Read), what),
            0xa123
        );
        remap_user_page(&mut mem, 0xb000);
        assert_eq!(
            pa_of(&mut mmu, &mut mem, &r, el0(0x40_0123, Read), what),
            0xa123,
            "{what}: stale before"
        );
        let generation = mmu.generation();
        mmu.tlbi(op);
        assert_eq!(
            mmu.generation(),
            generation + 1,
            "{what} bumps the generation"
        );
        assert_eq!(
            pa_of(&mut mmu, &mut mem, &r, el0(0x40_0123, Read), what),
            0xb123,
            "{what}: new after"
        );
    }
}

#[test]
fn tlbi_that_does_not_cover_the_entry_keeps_it() {
    for (op, what) in [
        (
            TlbiOp::Vae1 {
                va: 0x40_0000,
                asid: 2,
            },
            "VAE1 for another ASID",
        ),
        (
            TlbiOp::Vae1 {
                va: 0x40_1000,
                asid: 1,
            },
            "VAE1 for the next page",
        ),
        (TlbiOp::Aside1 { asid: 2 }, "ASIDE1 for another ASID"),
        (
            TlbiOp::Vaae1 {
                va: 0xffff_0000_0040_0000,
            },
            "VAAE1 in the other range",
        ),
    ] {
        let (mut mmu, mut mem, r) = setup();
        pa_of(&mut mmu, &mut mem, &r, el0(0x40_0000, Read), what);
        remap_user_page(&mut mem, 0xb000);
        mmu.tlbi(op);
        assert_eq!(
            pa_of(&mut mmu, &mut mem, &r, el0(0x40_0000, Read), what),
            0xa000,
            "{what}: still stale"
        );
    }
}

#[test]
fn global_block_survives_aside1_and_goes_with_a_va_inside_it() {
    let (mut mmu, mut mem, r) = setup();
    pa_of(&mut mmu, &mut mem, &r, el1(KVA, Read), "fill");
    let slot = mem.slot(ROOT1, 0, KVA, 2);
    mem.write(slot, block(0x9000_0000, AP_EL1_RW));
    mmu.tlbi(TlbiOp::Aside1 { asid: 1 });
    assert_eq!(
        pa_of(&mut mmu, &mut mem, &r, el1(KVA + 8, Read), "after ASIDE1"),
        0x8000_0008,
        "global kept"
    );
    mmu.tlbi(TlbiOp::Vae1 {
        va: KVA + 0x15_5000,
        asid: 9,
    });
    assert_eq!(
        pa_of(&mut mmu, &mut mem, &r, el1(KVA + 8, Read), "after VAE1"),
        0x9000_0008,
        "block dropped"
    );
}

#[test]
fn asids_tag_non_global_entries() {
    let (mut mmu, mut mem, r) = setup();
    pa_of(&mut mmu, &mut mem, &r, el0(0x40_0000, Read), "ASID 1");
    remap_user_page(&mut mem, 0xb000);
    let other = Stage1Regs {
        ttbr0: ROOT0 | (2 << 48),
        ..r
    };
    assert_eq!(
        pa_of(&mut mmu, &mut mem, &other, el0(0x40_0000, Read), "ASID 2"),
        0xb000,
        "ASID 2 walks"
    );
    assert_eq!(
        pa_of(&mut mmu, &mut mem, &r, el0(0x40_0000, Read), "ASID 1 again"),
        0xa000,
        "ASID 1 keeps its entry"
    );
    // The global kernel block hits under either ASID.
    pa_of(&mut mmu, &mut mem, &r, el1(KVA, Read), "kernel, ASID 1");
    let reads = mem.reads;
    pa_of(&mut mmu, &mut mem, &other, el1(KVA, Read), "kernel, ASID 2");
    assert_eq!(mem.reads, reads, "global entry shared by ASIDs");
}

#[test]
fn faults_are_not_cached() {
    let (mut mmu, mut mem, r) = setup();
    let slot = mem.slot(ROOT0, 0, 0x40_0000, 3);
    mem.write(slot, page(0xa000, AP_ALL_RW | NG) & !AF);
    let err = translate(&mut mmu, &mut mem, &r, el0(0x40_0000, Read)).unwrap_err();
    assert_eq!(err, Stage1Fault::AccessFlag { level: 3 }, "AF clear");
    // Software sets AF (no TLBI needed: the fault was not cached).
    mem.set_bits(slot, AF);
    assert_eq!(
        pa_of(&mut mmu, &mut mem, &r, el0(0x40_0000, Read), "AF set"),
        0xa000
    );
    mem.write(slot, 0);
    mmu.tlbi(TlbiOp::Vae1 {
        va: 0x40_0000,
        asid: 1,
    });
    assert!(
        translate(&mut mmu, &mut mem, &r, el0(0x40_0000, Read)).is_err(),
        "unmapped"
    );
    mem.write(slot, page(0xc000, AP_ALL_RW | NG));
    assert_eq!(
        pa_of(&mut mmu, &mut mem, &r, el0(0x40_0000, Read), "mapped again"),
        0xc000
    );
}

#[test]
fn permission_changes_need_tlbi_and_wxn_pan_apply_to_hits() {
    let (mut mmu, mut mem, r) = setup();
    pa_of(&mut mmu, &mut mem, &r, el0(0x40_0000, Write), "writable");
    let slot = mem.slot(ROOT0, 0, 0x40_0000, 3);
    mem.write(slot, page(0xa000, AP_ALL_RO | NG));
    pa_of(
        &mut mmu,
        &mut mem,
        &r,
        el0(0x40_0000, Write),
        "stale writable entry",
    );
    mmu.tlbi(TlbiOp::Vale1 {
        va: 0x40_0000,
        asid: 1,
    });
    let err = translate(&mut mmu, &mut mem, &r, el0(0x40_0000, Write)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 3 },
        "read-only after TLBI"
    );
    // PSTATE.PAN is not cached: the same TLB entry faults for EL1 once PAN is set.
    let pan = Stage1Regs { pan: true, ..r };
    let err = translate(&mut mmu, &mut mem, &pan, el1(0x40_0000, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 3 },
        "PAN on a TLB hit"
    );
}

#[test]
fn flush_drops_everything() {
    let (mut mmu, mut mem, r) = setup();
    pa_of(&mut mmu, &mut mem, &r, el0(0x40_0000, Read), "user");
    pa_of(&mut mmu, &mut mem, &r, el1(KVA, Read), "kernel");
    let reads = mem.reads;
    let generation = mmu.generation();
    mmu.flush();
    assert_eq!(
        mmu.generation(),
        generation + 1,
        "flush bumps the generation"
    );
    pa_of(&mut mmu, &mut mem, &r, el0(0x40_0000, Read), "user");
    pa_of(&mut mmu, &mut mem, &r, el1(KVA, Read), "kernel");
    assert_eq!(mem.reads, reads + 7, "both walked again after flush");
}

#[test]
fn many_pages_all_translate_correctly() {
    // More pages than TLB entries, in both ranges: conflicts evict, never mistranslate.
    let mut mem = TestMem::new();
    let mut mmu = Mmu::new();
    let r = regs(ROOT0, ROOT1);
    let pages = 3000u64;
    for i in 0..pages {
        mem.map(ROOT0, 0, i << 12, 3, page((i + 0x100) << 12, AP_EL1_RW));
        mem.map(
            ROOT1,
            0,
            KVA | (i << 12),
            3,
            page((i + 0x10_0000) << 12, AP_EL1_RW),
        );
    }
    for round in 0..2 {
        for i in 0..pages {
            let user = pa_of(
                &mut mmu,
                &mut mem,
                &r,
                el1((i << 12) | 8, Read),
                "user page",
            );
            assert_eq!(
                user,
                ((i + 0x100) << 12) | 8,
                "user page {i}, round {round}"
            );
            let kernel = pa_of(
                &mut mmu,
                &mut mem,
                &r,
                el1(KVA | (i << 12), Read),
                "kernel page",
            );
            assert_eq!(
                kernel,
                (i + 0x10_0000) << 12,
                "kernel page {i}, round {round}"
            );
        }
    }
}
