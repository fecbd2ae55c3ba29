//! A Linux arm64-shaped configuration (48-bit VAs, 4 KiB pages, ASIDs in TTBR1_EL1, TBI0, a kernel image
//! in 2 MiB blocks, a paged linear map, a user process in TTBR0_EL1) driven through the operations the
//! kernel performs: fetches and stores in its image, user accesses, uaccess with PAN, a context switch,
//! and a TLBI built the way the kernel builds its operand.

use super::super::TlbiOp;
use super::*;
use AccessKind::{Fetch, Read, Write};

/// TCR_EL1: T0SZ = T1SZ = 16, TG1 = 4 KiB, IPS = 48 bits, A1 (ASID from TTBR1_EL1), AS (16-bit ASIDs),
/// TBI0 (tagged user pointers).
const TCR_LINUX: u64 =
    16 | (16 << 16) | (0b10 << 30) | (0b101 << 32) | TCR_A1 | (1 << 36) | TCR_TBI0;
/// Kernel image (text then data) at the start of the vmalloc-style area.
const KIMAGE: u64 = 0xffff_8000_8000_0000;
/// The linear map of memory.
const LINEAR: u64 = 0xffff_0000_0000_0000;
const USER_TEXT: u64 = 0x0000_aaaa_0000_0000;
const USER_DATA: u64 = 0x0000_ffff_f000_0000;

fn linux_tables() -> TestMem {
    let mut mem = TestMem::new();
    // Kernel text: read-only, executable at EL1 only; kernel data: read-write, never executable.
    mem.map(ROOT1, 0, KIMAGE, 2, block(0x4020_0000, AP_EL1_RO | UXN));
    mem.map(
        ROOT1,
        0,
        KIMAGE + 0x20_0000,
        2,
        block(0x4040_0000, AP_EL1_RW | UXN | PXN),
    );
    mem.map(
        ROOT1,
        0,
        LINEAR + 0x4060_0000,
        3,
        page(0x4060_0000, AP_EL1_RW | UXN | PXN),
    );
    // The user process: text read-only executable at EL0 (PXN), data read-write (PXN implied anyway).
    mem.map(
        ROOT0,
        0,
        USER_TEXT,
        3,
        page(0x5000_0000, AP_ALL_RO | NG | PXN),
    );
    mem.map(
        ROOT0,
        0,
        USER_DATA,
        3,
        page(0x5000_1000, AP_ALL_RW | NG | PXN | UXN),
    );
    mem
}

fn linux_regs(asid: u64, pan: bool) -> Stage1Regs {
    Stage1Regs {
        tcr: TCR_LINUX,
        ttbr1: ROOT1 | (asid << 48),
        pan,
        ..regs(ROOT0, ROOT1)
    }
}

#[test]
fn kernel_image_and_linear_map() {
    let mut mmu = Mmu::new();
    let mut mem = linux_tables();
    let r = linux_regs(1, true);
    assert_eq!(
        pa_of(
            &mut mmu,
            &mut mem,
            &r,
            el1(KIMAGE + 0x1234, Fetch),
            "kernel text fetch"
        ),
        0x4020_1234
    );
    let err = translate(&mut mmu, &mut mem, &r, el1(KIMAGE + 0x1234, Write)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 2 },
        "store to kernel text"
    );
    let data = KIMAGE + 0x20_0008;
    assert_eq!(
        pa_of(
            &mut mmu,
            &mut mem,
            &r,
            el1(data, Write),
            "kernel data store"
        ),
        0x4040_0008
    );
    let err = translate(&mut mmu, &mut mem, &r, el1(data, Fetch)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 2 },
        "fetch from kernel data"
    );
    let t = translate(&mut mmu, &mut mem, &r, el1(LINEAR + 0x4060_0010, Read)).expect("linear map");
    assert_eq!(
        (t.pa, t.global),
        (0x4060_0010, true),
        "linear map is global"
    );
    let err = translate(&mut mmu, &mut mem, &r, el0(KIMAGE, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 2 },
        "EL0 read of the kernel"
    );
}

#[test]
fn user_process_and_uaccess() {
    let mut mmu = Mmu::new();
    let mut mem = linux_tables();
    let r = linux_regs(1, true);
    assert_eq!(
        pa_of(
            &mut mmu,
            &mut mem,
            &r,
            el0(USER_TEXT + 0x40, Fetch),
            "user fetch"
        ),
        0x5000_0040
    );
    let tagged = USER_DATA | (0x5a << 56) | 0x18;
    assert_eq!(
        pa_of(
            &mut mmu,
            &mut mem,
            &r,
            el0(tagged, Write),
            "tagged user store"
        ),
        0x5000_1018
    );
    let err = translate(&mut mmu, &mut mem, &r, el1(USER_TEXT, Fetch)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 3 },
        "kernel executing user text (PXN)"
    );
    // copy_from_user with PAN set: a plain LDR faults, LDTR (unprivileged) works.
    let err = translate(&mut mmu, &mut mem, &r, el1(USER_DATA, Read)).unwrap_err();
    assert_eq!(
        err,
        Stage1Fault::Permission { level: 3 },
        "LDR of user memory under PAN"
    );
    let ldtr = Access {
        va: USER_DATA,
        kind: Read,
        unprivileged: true,
        el: 1,
    };
    assert_eq!(
        pa_of(&mut mmu, &mut mem, &r, ldtr, "LDTR under PAN"),
        0x5000_1000
    );
    // uaccess_enable (PAN cleared): the plain load works.
    let open = linux_regs(1, false);
    assert_eq!(
        pa_of(
            &mut mmu,
            &mut mem,
            &open,
            el1(USER_DATA, Read),
            "LDR with PAN clear"
        ),
        0x5000_1000
    );
}

#[test]
fn context_switch_and_tlbi() {
    let mut mmu = Mmu::new();
    let mut mem = linux_tables();
    let first = linux_regs(1, false);
    assert_eq!(
        pa_of(
            &mut mmu,
            &mut mem,
            &first,
            el0(USER_DATA, Read),
            "process 1"
        ),
        0x5000_1000
    );
    // Process 2 (ASID 2) maps the same VA elsewhere; cpu_switch_mm changes TTBR0 and TTBR1's ASID only.
    let root2 = 0x3000;
    mem.map(
        root2,
        0,
        USER_DATA,
        3,
        page(0x6000_1000, AP_ALL_RW | NG | PXN | UXN),
    );
    let second = Stage1Regs {
        ttbr0: root2,
        ..linux_regs(2, false)
    };
    assert_eq!(
        pa_of(
            &mut mmu,
            &mut mem,
            &second,
            el0(USER_DATA, Read),
            "process 2"
        ),
        0x6000_1000
    );
    assert_eq!(
        pa_of(
            &mut mmu,
            &mut mem,
            &first,
            el0(USER_DATA, Read),
            "back to 1"
        ),
        0x5000_1000
    );
    // Process 1 remaps its page, then flush_tlb_page: TLBI VALE1IS, Xt = (va >> 12) | (asid << 48).
    let slot = mem.slot(ROOT0, 0, USER_DATA, 3);
    mem.write(slot, page(0x5000_7000, AP_ALL_RW | NG | PXN | UXN));
    assert_eq!(
        pa_of(&mut mmu, &mut mem, &first, el0(USER_DATA, Read), "stale"),
        0x5000_1000
    );
    let (op, broadcast) =
        TlbiOp::decode(3, 5, (USER_DATA >> 12) | (1 << 48)).expect("TLBI VALE1IS");
    assert!(broadcast, "the IS form is broadcast");
    mmu.tlbi(op);
    assert_eq!(
        pa_of(
            &mut mmu,
            &mut mem,
            &first,
            el0(USER_DATA, Read),
            "after TLBI"
        ),
        0x5000_7000
    );
    assert_eq!(
        pa_of(
            &mut mmu,
            &mut mem,
            &second,
            el0(USER_DATA, Read),
            "process 2 kept"
        ),
        0x6000_1000
    );
}
