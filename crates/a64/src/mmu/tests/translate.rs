//! Translations and every stage-1 fault kind at every level where it can occur.

use super::*;
use AccessKind::{Fetch, Read, Write};

#[test]
fn stage1_disabled_is_identity_with_device_data_and_normal_fetch() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    let regs = Stage1Regs {
        sctlr: 0,
        ..regs(0, 0)
    };
    let data = translate(&mut mmu, &mut mem, &regs, el1(0x8000_1234, Read)).expect("data, MMU off");
    assert_eq!(
        (data.pa, data.device, data.memattr, data.sh),
        (0x8000_1234, true, 0x00, 0b10),
        "data: Device-nGnRnE"
    );
    let fetch =
        translate(&mut mmu, &mut mem, &regs, el1(0x8000_1234, Fetch)).expect("fetch, MMU off");
    assert_eq!(
        (fetch.device, fetch.memattr),
        (false, 0x44),
        "fetch with I=0: Normal Non-cacheable"
    );
    let regs_i = Stage1Regs {
        sctlr: 1 << 12,
        ..regs
    };
    let fetch =
        translate(&mut mmu, &mut mem, &regs_i, el0(0x8000_1234, Fetch)).expect("fetch, I=1");
    assert_eq!(
        (fetch.device, fetch.memattr),
        (false, 0xaa),
        "fetch with I=1: Normal Write-Through"
    );
    assert_eq!(mem.reads, 0, "no walk with the MMU off");
}

#[test]
fn stage1_disabled_checks_the_pa_range() {
    let mut mmu = Mmu::with_pa_range(40);
    let mut mem = TestMem::new();
    let regs = Stage1Regs {
        sctlr: 0,
        ..regs(0, 0)
    };
    let err = translate(&mut mmu, &mut mem, &regs, el1(1 << 40, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::AddressSize { level: 0 },
        "VA above the 40-bit PA range"
    );
    assert!(
        translate(&mut mmu, &mut mem, &regs, el1((1 << 40) - 8, Write)).is_ok(),
        "last bytes of the range"
    );
    let tagged = 0x3400_0000_0000_1000;
    assert!(
        translate(&mut mmu, &mut mem, &regs, el1(tagged, Read)).is_err(),
        "tag without TBI0"
    );
    let regs_tbi = Stage1Regs {
        tcr: regs.tcr | TCR_TBI0,
        ..regs
    };
    let t = translate(&mut mmu, &mut mem, &regs_tbi, el1(tagged, Read)).expect("tag with TBI0");
    assert_eq!(t.pa, 0x1000, "top byte ignored");
}

#[test]
fn page_block_and_attributes() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(
        ROOT0,
        0,
        0x40_1000,
        3,
        page(0x8765_4000, AP_ALL_RW | NG | PXN),
    );
    mem.map(
        ROOT1,
        0,
        KVA + 0x20_0000,
        2,
        block(0x8020_0000, AP_EL1_RW | UXN),
    );
    mem.map(
        ROOT1,
        0,
        KVA + 0x4000_0000,
        1,
        block(0xc000_0000, AP_EL1_RW | UXN | ATTR_DEVICE),
    );
    let regs = regs(ROOT0 | (7 << 48), ROOT1);

    let t = translate(&mut mmu, &mut mem, &regs, el0(0x40_1abc, Write)).expect("user page");
    assert_eq!(t.pa, 0x8765_4abc, "page output address");
    assert_eq!(
        (t.device, t.memattr, t.attr_index, t.global, t.sh),
        (false, 0xff, 0, false, 0b11),
        "page attributes"
    );

    let t = translate(&mut mmu, &mut mem, &regs, el1(KVA + 0x3f_fff8, Read)).expect("2 MiB block");
    assert_eq!(
        (t.pa, t.global),
        (0x803f_fff8, true),
        "last word of a 2 MiB block"
    );

    let t =
        translate(&mut mmu, &mut mem, &regs, el1(KVA + 0x4123_4568, Write)).expect("1 GiB block");
    assert_eq!(
        (t.pa, t.device, t.memattr, t.attr_index),
        (0xc123_4568, true, 0x04, 1),
        "device block"
    );
}

#[test]
fn fetch_from_device_memory_is_normal_non_cacheable() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(ROOT1, 0, KVA, 3, page(0x9000_0000, AP_EL1_RO | ATTR_DEVICE));
    let t = translate(&mut mmu, &mut mem, &regs(ROOT0, ROOT1), el1(KVA + 4, Fetch))
        .expect("device fetch");
    assert_eq!(
        (t.pa, t.device, t.memattr),
        (0x9000_0004, false, 0x44),
        "fetch treated as Normal NC"
    );
}

#[test]
fn smaller_va_spaces_start_at_lower_levels() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    // T0SZ = 25: 39-bit VA, walk starts at level 1. T1SZ = 34: 30-bit VA, walk starts at level 2.
    let tcr = 25 | (34 << 16) | (0b101 << 32);
    let regs = Stage1Regs {
        tcr,
        ..regs(ROOT0, ROOT1)
    };
    mem.map(ROOT0, 1, 0x7f_ffff_f000, 3, page(0x5000, AP_EL1_RW));
    let pa = pa_of(
        &mut mmu,
        &mut mem,
        &regs,
        el1(0x7f_ffff_f010, Read),
        "top of the 39-bit range",
    );
    assert_eq!(pa, 0x5010);
    mem.map(ROOT1, 2, 0xffff_ffff_c000_0000, 3, page(0x6000, AP_EL1_RW));
    let pa = pa_of(
        &mut mmu,
        &mut mem,
        &regs,
        el1(0xffff_ffff_c000_0008, Read),
        "bottom of the 30-bit upper range",
    );
    assert_eq!(pa, 0x6008);
    let err = translate(&mut mmu, &mut mem, &regs, el1(0x80_0000_0000, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Translation { level: 0 },
        "just above the 39-bit range"
    );
    let err = translate(&mut mmu, &mut mem, &regs, el1(0xffff_ffff_8000_0000, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Translation { level: 0 },
        "just below the 30-bit upper range"
    );
}

#[test]
fn translation_faults_at_each_level() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    let regs = regs(ROOT0, ROOT1);
    let va = 0x12_3456_7000;
    let err = translate(&mut mmu, &mut mem, &regs, el1(va, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Translation { level: 0 },
        "empty level 0 table"
    );
    mem.map(ROOT0, 0, va, 3, page(0x9000, AP_EL1_RW));
    for level in [3u8, 2, 1] {
        // Clear the descriptor at `level` (bit 0), leaving the rest in place.
        let slot = mem.slot(ROOT0, 0, va, level);
        mem.write(slot, 0x9000 | 0b10);
        let err = translate(&mut mmu, &mut mem, &regs, el1(va, Read)).unwrap_err();
        assert_eq!(
            err,
            Stage1Fault::Translation { level },
            "invalid descriptor at level {level}"
        );
    }
    // A block descriptor at level 0 is reserved with the 4 KiB granule.
    mem.write(ROOT0 + index(va, 0) * 8, block(0, AP_EL1_RW));
    let err = translate(&mut mmu, &mut mem, &regs, el1(va, Read)).unwrap_err();
    assert_eq!(err, Stage1Fault::Translation { level: 0 }, "level 0 block");
}

#[test]
fn reserved_page_encoding_at_level_3() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, 0x5000, 3, block(0x9000, AP_EL1_RW));
    let err = translate(&mut mmu, &mut mem, &regs(ROOT0, ROOT1), el1(0x5000, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Translation { level: 3 },
        "descriptor 0b01 at level 3"
    );
}

#[test]
fn addresses_outside_both_ranges_and_disabled_walks() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, 0x1000, 3, page(0x9000, AP_EL1_RW));
    let regs = regs(ROOT0, ROOT1);
    for va in [
        0x0001_0000_0000_0000,
        0xfffe_ffff_ffff_f000,
        0x8000_0000_0000_0000,
    ] {
        let err = translate(&mut mmu, &mut mem, &regs, el1(va, Read)).unwrap_err();
        assert_eq!(
            err,
            Stage1Fault::Translation { level: 0 },
            "VA {va:#x} outside both ranges"
        );
    }
    let epd0 = Stage1Regs {
        tcr: regs.tcr | TCR_EPD0,
        ..regs
    };
    let err = translate(&mut mmu, &mut mem, &epd0, el1(0x1000, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Translation { level: 0 },
        "EPD0 disables TTBR0 walks"
    );
    assert_eq!(mem.reads, 0, "no descriptor read for any of these");
    // EPD0 stops walks, not TLB hits (TCR_EL1.EPD0 description: "a TLB miss … generates a fault").
    pa_of(&mut mmu, &mut mem, &regs, el1(0x1000, Read), "fill the TLB");
    let pa = pa_of(
        &mut mmu,
        &mut mem,
        &epd0,
        el1(0x1000, Read),
        "EPD0 with a TLB hit",
    );
    assert_eq!(pa, 0x9000);
}

#[test]
fn tagged_addresses_with_tbi() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, 0x7000, 3, page(0x9000, AP_ALL_RW));
    let regs = regs(ROOT0, ROOT1);
    let tagged = 0xb400_0000_0000_7008;
    let err = translate(&mut mmu, &mut mem, &regs, el0(tagged, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Translation { level: 0 },
        "tagged pointer without TBI0"
    );
    let tbi = Stage1Regs {
        tcr: regs.tcr | TCR_TBI0,
        ..regs
    };
    let pa = pa_of(
        &mut mmu,
        &mut mem,
        &tbi,
        el0(tagged, Read),
        "tagged pointer with TBI0",
    );
    assert_eq!(pa, 0x9008);
}

#[test]
fn address_size_faults() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    // IPS = 0b000: 32-bit output addresses.
    let small = |ttbr0| Stage1Regs {
        tcr: (TCR_48 & !(0b111 << 32)),
        ..regs(ttbr0, ROOT1)
    };
    let err = translate(&mut mmu, &mut mem, &small(1 << 32), el1(0x1000, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::AddressSize { level: 0 },
        "TTBR0 table base above 32 bits"
    );

    mem.write(ROOT0 + index(0x1000, 0) * 8, (1 << 33) | 0b11);
    let err = translate(&mut mmu, &mut mem, &small(ROOT0), el1(0x1000, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::AddressSize { level: 0 },
        "next table above 32 bits, read at level 0"
    );

    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, 0x1000, 3, page(1 << 32, AP_EL1_RW));
    let err = translate(&mut mmu, &mut mem, &small(ROOT0), el1(0x1000, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::AddressSize { level: 3 },
        "page output address above 32 bits"
    );
    mem.map(ROOT0, 0, 0x4000_0000, 2, block(0x1_0000_0000, AP_EL1_RW));
    let err = translate(&mut mmu, &mut mem, &small(ROOT0), el1(0x4000_0000, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::AddressSize { level: 2 },
        "block output address above 32 bits"
    );
    // The same tables with a 48-bit IPS but a 36-bit implemented PA range.
    let mut narrow = Mmu::with_pa_range(36);
    mem.map(ROOT0, 0, 0x8000, 3, page(1 << 36, AP_EL1_RW));
    let err = translate(
        &mut narrow,
        &mut mem,
        &regs(ROOT0, ROOT1),
        el1(0x8000, Read),
    )
    .unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::AddressSize { level: 3 },
        "IPS limited by PARange"
    );
}

#[test]
fn access_flag_faults_at_each_leaf_level() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    let regs = regs(ROOT0, ROOT1);
    let cases = [(0x4000_0000u64, 1u8), (0x8020_0000, 2), (0x9000_3000, 3)];
    for (va, level) in cases {
        let desc = if level == 3 {
            page(va, AP_EL1_RW)
        } else {
            block(va, AP_EL1_RW)
        };
        mem.map(ROOT0, 0, va, level, desc & !AF);
        let err = translate(&mut mmu, &mut mem, &regs, el1(va, Read)).unwrap_err();
        assert_eq!(
            err,
            Stage1Fault::AccessFlag { level },
            "AF = 0 at level {level}"
        );
    }
}

#[test]
fn access_flag_fault_wins_over_permission_fault() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, 0x3000, 3, page(0x9000, AP_EL1_RO) & !AF);
    let err = translate(&mut mmu, &mut mem, &regs(ROOT0, ROOT1), el0(0x3000, Write)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::AccessFlag { level: 3 },
        "D8.15.5 fault priority"
    );
}

#[test]
fn stage2_fault_on_each_walk_level() {
    let va = KVA + 0x1234_5000;
    for level in 0u8..=3 {
        let mut mmu = Mmu::new();
        let mut mem = TestMem::new();
        mem.map(ROOT1, 0, va, 3, page(0x9000, AP_EL1_RW));
        let slot = mem.slot(ROOT1, 0, va, level);
        mem.fault_page(slot, 1);
        let err = translate(&mut mmu, &mut mem, &regs(ROOT0, ROOT1), el1(va, Read)).unwrap_err();
        let expected = Stage1Fault::Stage2Walk {
            ipa: slot,
            level,
            fault: Stage2Fault { level: 1 },
        };
        assert_eq!(
            err, expected,
            "stage-2 fault reading the level {level} descriptor"
        );
        assert_eq!(
            err.fsc(),
            0x05,
            "FSC is the stage-2 level 1 translation fault"
        );
    }
}

#[test]
fn asid_width_and_source() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, 0x1000, 3, page(0x9000, AP_EL1_RW | NG));
    // 8-bit ASIDs: 0x0105 and 0x0205 are the same ASID 0x05.
    let r8 = Stage1Regs {
        tcr: TCR_48 & !(1 << 36),
        ..regs(ROOT0 | (0x0105 << 48), ROOT1)
    };
    pa_of(&mut mmu, &mut mem, &r8, el1(0x1000, Read), "fill");
    let reads = mem.reads;
    let r8b = Stage1Regs {
        ttbr0: ROOT0 | (0x0205 << 48),
        ..r8
    };
    pa_of(
        &mut mmu,
        &mut mem,
        &r8b,
        el1(0x1000, Read),
        "8-bit ASID ignores bits [63:56]",
    );
    assert_eq!(mem.reads, reads, "hit with the same 8-bit ASID");
    // 16-bit ASIDs taken from TTBR1 (A1 = 1): TTBR0's ASID field no longer matters.
    let r16 = Stage1Regs {
        tcr: TCR_48 | TCR_A1,
        ttbr1: ROOT1 | (0x0205 << 48),
        ..r8
    };
    pa_of(
        &mut mmu,
        &mut mem,
        &r16,
        el1(0x1000, Read),
        "A1 = 1, ASID 0x0205",
    );
    assert!(mem.reads > reads, "ASID 0x0205 misses the 0x05 entry");
    let reads = mem.reads;
    let r16b = Stage1Regs {
        ttbr0: ROOT0 | (0x0999 << 48),
        ..r16
    };
    pa_of(
        &mut mmu,
        &mut mem,
        &r16b,
        el1(0x1000, Read),
        "A1 = 1, TTBR0 ASID changed",
    );
    assert_eq!(mem.reads, reads, "hit: the ASID comes from TTBR1");
}

#[test]
fn register_changes_take_effect_on_the_next_access() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    let va = 0x80_0000_0000; // needs more than 39 VA bits
    mem.map(ROOT0, 0, va, 3, page(0x9000, AP_EL1_RW));
    let wide = regs(ROOT0, ROOT1);
    assert_eq!(
        pa_of(&mut mmu, &mut mem, &wide, el1(va, Read), "48-bit VA"),
        0x9000
    );
    // T0SZ = 25 without a flush: the cached entry is not used for a VA now outside the range.
    let narrow = Stage1Regs {
        tcr: (TCR_48 & !0x3f) | 25,
        ..wide
    };
    let err = translate(&mut mmu, &mut mem, &narrow, el1(va, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Translation { level: 0 },
        "range check uses the new T0SZ"
    );
    assert_eq!(
        pa_of(&mut mmu, &mut mem, &wide, el1(va, Read), "back to 48 bits"),
        0x9000
    );
}
