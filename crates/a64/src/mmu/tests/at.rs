//! AT S1E1R/W, S1E1RP/WP and S1E0R/W: PAR_EL1 values (Arm ARM D8.2.13, D8.15.2 and the PAR_EL1 register
//! description, 64-bit layout).

use super::*;
use AccessKind::{Read, Write};

/// PAR_EL1 bit 11 (RES1 without FEAT_RME) and F.
const RES1: u64 = 1 << 11;
const F: u64 = 1;

fn at(mmu: &mut Mmu, mem: &mut TestMem, regs: &Stage1Regs, access: Access) -> u64 {
    mmu.at(regs, access, &mut |ipa| mem.read(ipa))
}

fn tables() -> TestMem {
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, 0x40_0000, 3, page(0x8_1234_5000, AP_ALL_RO | NG));
    mem.map(
        ROOT0,
        0,
        0x60_0000,
        2,
        block(0x9000_0000, AP_EL1_RW | ATTR_DEVICE),
    );
    mem.map(ROOT0, 0, 0x80_0000, 3, page(0x7000, AP_EL1_RW) & !AF);
    mem
}

#[test]
fn successful_translations() {
    let mut mmu = Mmu::new();
    let mut mem = tables();
    let r = regs(ROOT0, ROOT1);
    // Normal WB (0xff), Inner Shareable, PA 0x8_1234_5000: ATTR 0xff, SH 0b11.
    let normal = 0xff00_0000_0000_0000 | 0x8_1234_5000 | RES1 | (0b11 << 7);
    assert_eq!(
        at(&mut mmu, &mut mem, &r, el1(0x40_0abc, Read)),
        normal,
        "AT S1E1R, user RO page"
    );
    assert_eq!(
        at(&mut mmu, &mut mem, &r, el0(0x40_0abc, Read)),
        normal,
        "AT S1E0R"
    );
    // Device-nGnRE block: ATTR 0x04, SH reported Outer Shareable.
    let device = 0x0400_0000_0000_0000 | 0x9012_3000 | RES1 | (0b10 << 7);
    assert_eq!(
        at(&mut mmu, &mut mem, &r, el1(0x72_3456, Write)),
        device,
        "AT S1E1W, device block"
    );
}

#[test]
fn stage1_faults_in_par() {
    let mut mmu = Mmu::new();
    let mut mem = tables();
    let r = regs(ROOT0, ROOT1);
    let fault = |fsc: u64| RES1 | (fsc << 1) | F;
    assert_eq!(
        at(&mut mmu, &mut mem, &r, el0(0x40_0000, Write)),
        fault(0x0f),
        "AT S1E0W: permission, level 3"
    );
    assert_eq!(
        at(&mut mmu, &mut mem, &r, el0(0x60_0000, Read)),
        fault(0x0e),
        "AT S1E0R: permission, level 2"
    );
    assert_eq!(
        at(&mut mmu, &mut mem, &r, el1(0x80_0000, Read)),
        fault(0x0b),
        "access flag, level 3"
    );
    assert_eq!(
        at(&mut mmu, &mut mem, &r, el1(0xa0_0000, Read)),
        fault(0x06),
        "translation, level 2"
    );
    assert_eq!(
        at(&mut mmu, &mut mem, &r, el1(1 << 50, Read)),
        fault(0x04),
        "translation, level 0"
    );
    // AT S1E1RP: PAN in effect.
    let pan = Stage1Regs { pan: true, ..r };
    assert_eq!(
        at(&mut mmu, &mut mem, &pan, el1(0x40_0000, Read)),
        fault(0x0f),
        "AT S1E1RP on a user page"
    );
}

#[test]
fn stage2_fault_on_the_walk() {
    let mut mmu = Mmu::new();
    let mut mem = tables();
    let r = regs(ROOT0, ROOT1);
    let slot = mem.slot(ROOT0, 0, 0x40_0000, 2);
    mem.fault_page(slot, 2);
    let par = at(&mut mmu, &mut mem, &r, el1(0x40_0000, Read));
    assert_eq!(
        par,
        RES1 | (1 << 9) | (1 << 8) | (0x06 << 1) | F,
        "F, S, PTW and the stage-2 FSC"
    );
    let checked = mmu.at_checked(&r, el1(0x40_0000, Read), &mut |ipa| mem.read(ipa));
    let expected = Stage1Fault::Stage2Walk {
        ipa: slot,
        level: 2,
        fault: Stage2Fault { level: 2 },
    };
    assert_eq!(
        checked,
        Err(expected),
        "at_checked hands the stage-2 fault back"
    );
    assert_eq!(
        mmu.at_checked(&r, el0(0x40_0000, Write), &mut |_| Ok(0)),
        Ok(RES1 | (0x04 << 1) | F),
        "at_checked reports stage-1 faults in PAR"
    );
}

#[test]
fn stage1_disabled() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    let r = Stage1Regs {
        sctlr: 0,
        ..regs(ROOT0, ROOT1)
    };
    // Device-nGnRnE (ATTR 0), Outer Shareable, PA = VA.
    assert_eq!(
        at(&mut mmu, &mut mem, &r, el1(0x8000_1234, Read)),
        0x8000_1000 | RES1 | (0b10 << 7)
    );
    assert_eq!(
        at(&mut mmu, &mut mem, &r, el1(1 << 50, Write)),
        RES1 | F,
        "address size, level 0"
    );
}
