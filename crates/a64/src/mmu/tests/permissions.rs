//! Permission checks through whole translations: AP, XN, the hierarchical controls, WXN and PAN.

use super::*;
use AccessKind::{Fetch, Read, Write};

const VA: u64 = 0x40_2000;

/// Whether each (EL, kind) access to `va` translates, as the letters "r w x" for EL1 then EL0, `-` where
/// the access faults with a Permission fault. The TLB is flushed before each access.
fn perm_string(mem: &mut TestMem, regs: &Stage1Regs, va: u64) -> String {
    let mut mmu = Mmu::new();
    let mut out = String::new();
    for unprivileged in [false, true] {
        for (kind, letter) in [(Read, 'r'), (Write, 'w'), (Fetch, 'x')] {
            mmu.flush();
            let access = if unprivileged {
                el0(va, kind)
            } else {
                el1(va, kind)
            };
            out.push(match translate(&mut mmu, mem, regs, access) {
                Ok(_) => letter,
                Err(Stage1Fault::Permission { .. }) => '-',
                Err(other) => panic!("unexpected {other:?} for {access:?}"),
            });
        }
        if !unprivileged {
            out.push(' ');
        }
    }
    out
}

/// [`perm_string`] for a page with descriptor attributes `attrs`.
fn matrix(attrs: u64, regs: &Stage1Regs) -> String {
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, VA, 3, page(0x9000, attrs));
    perm_string(&mut mem, regs, VA)
}

#[test]
fn ap_and_xn_for_el0_and_el1() {
    let r = regs(ROOT0, ROOT1);
    // "EL1 EL0"; EL0-writable pages are privileged-execute-never (D8.4.1.2.3 R_VWLLR).
    let cases = [
        (AP_EL1_RW, "rwx --x"),
        (AP_ALL_RW, "rw- rwx"),
        (AP_EL1_RO, "r-x --x"),
        (AP_ALL_RO, "r-x r-x"),
        (AP_EL1_RW | UXN, "rwx ---"),
        (AP_ALL_RO | PXN, "r-- r-x"),
        (AP_ALL_RO | PXN | UXN, "r-- r--"),
    ];
    for (attrs, expected) in cases {
        assert_eq!(
            matrix(attrs, &r),
            expected,
            "permissions of descriptor attrs {attrs:#x}"
        );
    }
}

#[test]
fn wxn_makes_writable_pages_execute_never() {
    let r = Stage1Regs {
        sctlr: SCTLR_M | SCTLR_WXN,
        ..regs(ROOT0, ROOT1)
    };
    assert_eq!(matrix(AP_EL1_RW, &r), "rw- --x", "WXN: EL1-writable");
    assert_eq!(matrix(AP_ALL_RW, &r), "rw- rw-", "WXN: EL0-writable");
    assert_eq!(
        matrix(AP_ALL_RO, &r),
        "r-x r-x",
        "WXN: read-only unaffected"
    );
}

#[test]
fn pan_blocks_privileged_data_access_to_user_pages() {
    let r = Stage1Regs {
        pan: true,
        ..regs(ROOT0, ROOT1)
    };
    assert_eq!(matrix(AP_ALL_RW, &r), "--- rwx", "PAN: EL0 RW page");
    assert_eq!(
        matrix(AP_ALL_RO, &r),
        "--x r-x",
        "PAN: EL0 RO page, EL1 fetch unaffected"
    );
    assert_eq!(
        matrix(AP_EL1_RW, &r),
        "rwx --x",
        "PAN: kernel page unaffected"
    );
}

#[test]
fn unprivileged_loads_at_el1_use_el0_permissions_and_ignore_pan() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, VA, 3, page(0x9000, AP_ALL_RO));
    mem.map(ROOT0, 0, VA + 0x1000, 3, page(0xa000, AP_EL1_RW));
    let r = Stage1Regs {
        pan: true,
        ..regs(ROOT0, ROOT1)
    };
    let ldtr = Access {
        va: VA,
        kind: Read,
        unprivileged: true,
        el: 1,
    };
    assert!(
        translate(&mut mmu, &mut mem, &r, ldtr).is_ok(),
        "LDTR of an EL0-readable page under PAN"
    );
    let sttr = Access {
        kind: Write,
        ..ldtr
    };
    let err = translate(&mut mmu, &mut mem, &r, sttr).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 3 },
        "STTR to an EL0 read-only page"
    );
    let ldtr_kernel = Access {
        va: VA + 0x1000,
        ..ldtr
    };
    let err = translate(&mut mmu, &mut mem, &r, ldtr_kernel).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 3 },
        "LDTR of an EL1-only page"
    );
    let plain = Access {
        unprivileged: false,
        ..ldtr
    };
    let err = translate(&mut mmu, &mut mem, &r, plain).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 3 },
        "LDR of the EL0 page under PAN"
    );
}

#[test]
fn el0_accesses_are_unprivileged_even_if_not_flagged() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, VA, 3, page(0x9000, AP_EL1_RW));
    let access = Access {
        va: VA,
        kind: Read,
        unprivileged: false,
        el: 0,
    };
    let err = translate(&mut mmu, &mut mem, &regs(ROOT0, ROOT1), access).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 3 },
        "EL0 read of an EL1-only page"
    );
}

#[test]
fn hierarchical_controls_apply_unless_hpd() {
    let r = regs(ROOT0, ROOT1);
    let hpd = Stage1Regs {
        tcr: TCR_48 | TCR_HPD0,
        ..r
    };
    // Each case sets bits in the level 1 table descriptor above an AP=01 (EL0 RW) page.
    let cases = [
        (
            1u64 << 61,
            "rwx --x",
            "APTable = 01: no EL0 access (EL0 no longer writes, so EL1 may execute)",
        ),
        (2 << 61, "r-x r-x", "APTable = 10: read-only everywhere"),
        (
            3 << 61,
            "r-x --x",
            "APTable = 11: EL1 read-only, no EL0 access",
        ),
        (1 << 59, "rw- rwx", "PXNTable"),
        (1 << 60, "rw- rw-", "UXNTable"),
    ];
    for (bits, expected, what) in cases {
        let mut mem = TestMem::new();
        mem.map(ROOT0, 0, VA, 3, page(0x9000, AP_ALL_RW));
        mem.set_bits(mem.slot(ROOT0, 0, VA, 1), bits);
        assert_eq!(perm_string(&mut mem, &r, VA), expected, "{what}");
        assert_eq!(
            perm_string(&mut mem, &hpd, VA),
            "rw- rwx",
            "{what}: ignored under HPD0"
        );
    }
}

#[test]
fn permission_fault_reports_the_leaf_level() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(
        ROOT1,
        0,
        0xffff_8000_0020_0000,
        2,
        block(0x20_0000, AP_EL1_RO),
    );
    mem.map(
        ROOT1,
        0,
        0xffff_8000_4000_0000,
        1,
        block(0x4000_0000, AP_EL1_RO),
    );
    let r = regs(ROOT0, ROOT1);
    let err = translate(&mut mmu, &mut mem, &r, el1(0xffff_8000_0020_0010, Write)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 2 },
        "write to a read-only 2 MiB block"
    );
    let err = translate(&mut mmu, &mut mem, &r, el0(0xffff_8000_4000_0010, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 1 },
        "EL0 read of a 1 GiB kernel block"
    );
}

#[test]
fn translation_reports_effective_permissions() {
    let mut mmu = Mmu::new();
    let mut mem = TestMem::new();
    mem.map(ROOT0, 0, VA, 3, page(0x9000, AP_ALL_RW | UXN));
    let t = translate(&mut mmu, &mut mem, &regs(ROOT0, ROOT1), el0(VA, Read)).expect("EL0 read");
    let expected = super::super::Perms {
        read: true,
        write: true,
        exec: false,
    };
    assert_eq!(t.perms, expected, "EL0 perms of an RW UXN page");
}
