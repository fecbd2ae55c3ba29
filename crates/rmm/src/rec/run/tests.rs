//! Unit tests of the REC exit handling (aborts, WFx, HVC, interrupts) and the entry completions, over a fake
//! realm.

use zerocopy::FromZeros;

use crate::abi::{
    REC_ENTRY_FLAG_EMUL_MMIO, REC_ENTRY_FLAG_INJECT_SEA, RMI_EXIT_IRQ, RMI_EXIT_SYNC, RmiRecEnter,
    RmiRecExit,
};
use crate::cpu::{DataAbort, RealmExit, Stage2Fault, esr};
use crate::rec::access::{IpaWalk, Ripas};
use crate::rec::fake::{FakeRealm, PAR, rec};
use crate::rec::run::{entry, exit::handle_realm_exit};

fn abort(ipa: u64, write: bool, level: i8) -> DataAbort {
    DataAbort {
        ipa,
        va: ipa | 0xFFFF_0000_0000_0000,
        len: 4,
        write,
        rt: 3,
        sign_extend: false,
        sixty_four: false,
        syndrome_valid: true,
        fault: Stage2Fault { level },
    }
}

#[test]
fn data_aborts_unprotected_are_emulatable_protected_are_not_empty_gets_sea() {
    let mut realm = FakeRealm::new(39).entry(
        0x3000,
        IpaWalk::Fail {
            level: 3,
            ripas: Ripas::Ram,
        },
    );
    let mut r = rec(0);
    r.ctx.gprs[3] = 0xDEAD_BEEF_1234_5678;
    let mut exit = RmiRecExit::new_zeroed();
    let a = abort(PAR + 0x10_0123, true, 2);
    assert!(!handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        RealmExit::DataAbort(a)
    ));
    assert_eq!(exit.exit_reason, RMI_EXIT_SYNC);
    assert_eq!(exit.esr, a.esr() & esr::EMULATED_ABORT_MASK);
    assert_ne!(exit.esr & esr::ABORT_ISV_BIT, 0);
    assert_eq!(
        (exit.far, exit.hpfar, exit.gprs[0]),
        (0x123, (PAR + 0x10_0000) >> 8, 0x1234_5678)
    );
    assert_eq!(r.last_run.esr, a.esr());

    let mut exit = RmiRecExit::new_zeroed();
    let a = abort(0x3008, false, 3);
    assert!(!handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        RealmExit::DataAbort(a)
    ));
    assert_eq!(
        (exit.esr, exit.far, exit.gprs[0]),
        (a.esr() & esr::NONEMULATED_ABORT_MASK, 0, 0)
    );

    // EMPTY protected granule and beyond the IPA space: the realm takes an SEA and carries on.
    for ipa in [0x5000, 1 << 39] {
        let mut exit = RmiRecExit::new_zeroed();
        let mut r = rec(0);
        r.ctx.sysregs.vbar_el1 = 0x8000;
        assert!(handle_realm_exit(
            &mut r,
            &mut realm,
            &mut exit,
            RealmExit::DataAbort(abort(ipa, false, 2))
        ));
        assert_eq!(r.ctx.pc, 0x8200, "{ipa:#x}");
        assert_eq!(r.ctx.sysregs.esr_el1 & esr::ABORT_FSC_MASK, esr::FSC_SEA);
    }
}

#[test]
fn wfx_hvc_and_interrupts() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let mut exit = RmiRecExit::new_zeroed();
    assert!(!handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        RealmExit::Wfx { wfe: true }
    ));
    assert_eq!(
        (exit.exit_reason, exit.esr),
        (RMI_EXIT_SYNC, esr::EC_WFX | esr::WFX_TI_BIT)
    );
    assert_eq!(r.ctx.pc, 0x104);
    assert!(handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        RealmExit::Hvc
    ));
    assert_eq!(r.ctx.sysregs.esr_el1, esr::IL_BIT);
    let mut exit = RmiRecExit::new_zeroed();
    assert!(!handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        RealmExit::Irq
    ));
    assert_eq!(exit.exit_reason, RMI_EXIT_IRQ);
}

#[test]
fn entry_completes_mmio_reads_and_checks_the_last_exit() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let mut enter = RmiRecEnter::new_zeroed();
    enter.flags = REC_ENTRY_FLAG_EMUL_MMIO;
    enter.gprs[0] = 0xFFFF_FF80;
    // No data abort before: refused.
    assert!(!entry::complete_mmio_emulation(&mut r, &enter));
    let mut exit = RmiRecExit::new_zeroed();
    let a = DataAbort {
        len: 1,
        sign_extend: true,
        sixty_four: true,
        ..abort(PAR + 0x2000, false, 3)
    };
    handle_realm_exit(&mut r, &mut realm, &mut exit, RealmExit::DataAbort(a));
    assert!(entry::complete_mmio_emulation(&mut r, &enter));
    assert_eq!((r.ctx.gprs[3], r.ctx.pc), (0xFFFF_FFFF_FFFF_FF80, 0x104));
    // SEA instead: only after an abort outside PAR.
    enter.flags = REC_ENTRY_FLAG_INJECT_SEA | REC_ENTRY_FLAG_EMUL_MMIO;
    assert!(entry::complete_sea_insertion(&mut r, &enter, |ipa| ipa < PAR));
    assert!(
        entry::complete_mmio_emulation(&mut r, &enter),
        "EMUL_MMIO ignored with INJECT_SEA"
    );
    r.last_run.hpfar = esr::hpfar_for_ipa(0x1000);
    assert!(!entry::complete_sea_insertion(&mut r, &enter, |ipa| ipa < PAR));
}

#[test]
fn instruction_aborts_inject_sea_outside_ram_and_exit_for_unassigned_ram() {
    use crate::cpu::InstructionAbort;
    let mut realm = FakeRealm::new(39).entry(
        0x3000,
        IpaWalk::Fail {
            level: 3,
            ripas: Ripas::Ram,
        },
    );
    let fetch = |ipa| {
        RealmExit::InstructionAbort(InstructionAbort {
            ipa,
            va: ipa,
            fault: Stage2Fault { level: 3 },
        })
    };
    let mut r = rec(0);
    let mut exit = RmiRecExit::new_zeroed();
    assert!(!handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        fetch(0x3010)
    ));
    assert_eq!(
        (exit.esr, exit.hpfar, exit.far),
        (esr::EC_INST_ABORT | 0x07, 0x30, 0)
    );
    for ipa in [0x5000, PAR + 0x1000] {
        let mut r = rec(0);
        assert!(handle_realm_exit(&mut r, &mut realm, &mut exit, fetch(ipa)));
        assert_eq!(
            r.ctx.sysregs.esr_el1,
            esr::EC_INST_ABORT_SAME_EL | esr::IL_BIT | esr::FSC_SEA,
            "{ipa:#x}"
        );
    }
}

/// A stage-2 fault on a stage-1 walk: through the data (or, for a fetch, instruction) abort path of what it
/// translated; the host sees the non-emulatable syndrome without S1PTW (TF-RMM's masks drop ISS bit 7), the
/// REC's last-exit record keeps it; a walk into EMPTY or unprotected (fetch) memory gets an SEA.
#[test]
fn walk_aborts_report_without_s1ptw_and_inject_sea_where_aborts_do() {
    use crate::cpu::WalkAbort;
    let mut realm = FakeRealm::new(39).entry(
        0x3000,
        IpaWalk::Fail {
            level: 3,
            ripas: Ripas::Ram,
        },
    );
    let walk = |ipa, fetch| {
        RealmExit::WalkAbort(WalkAbort {
            ipa,
            va: 0xFFFF_0000_0040_0000,
            fetch,
            fault: Stage2Fault { level: 3 },
        })
    };
    for fetch in [false, true] {
        let mut r = rec(0);
        let mut exit = RmiRecExit::new_zeroed();
        assert!(
            !handle_realm_exit(&mut r, &mut realm, &mut exit, walk(0x3008, fetch)),
            "fetch {fetch}: unassigned RAM goes to the host"
        );
        let ec = if fetch { 0x20u64 } else { 0x24 };
        assert_eq!(exit.exit_reason, RMI_EXIT_SYNC);
        assert_eq!(
            (exit.esr, exit.far, exit.hpfar),
            ((ec << 26) | 0x07, 0, 0x30),
            "fetch {fetch}: host syndrome (no IL, no S1PTW), FAR hidden, HPFAR of the descriptor"
        );
        assert_eq!(
            r.last_run.esr,
            (ec << 26) | 0x0200_0087,
            "fetch {fetch}: the last-exit record keeps IL and S1PTW"
        );
    }
    // Data walk into EMPTY; fetch walk into the unprotected half: SEA to the realm, no exit.
    for (ipa, fetch, ec_el1) in [(0x5000, false, 0x25u64), (PAR + 0x1000, true, 0x21)] {
        let mut r = rec(0);
        r.ctx.sysregs.vbar_el1 = 0x8000;
        let mut exit = RmiRecExit::new_zeroed();
        assert!(handle_realm_exit(
            &mut r,
            &mut realm,
            &mut exit,
            walk(ipa, fetch)
        ));
        assert_eq!(
            r.ctx.sysregs.esr_el1,
            (ec_el1 << 26) | esr::IL_BIT | esr::FSC_SEA,
            "{ipa:#x}: SEA syndrome"
        );
        assert_eq!(r.ctx.pc, 0x8200, "{ipa:#x}: current-EL SPx vector");
    }
}

fn sysreg(op0: u8, op1: u8, crn: u8, crm: u8, op2: u8, rt: u8, read: bool) -> RealmExit {
    RealmExit::SysReg(crate::cpu::SysRegAccess {
        op0,
        op1,
        crn,
        crm,
        op2,
        rt,
        read,
    })
}

/// EC 0x18 as TF-RMM's `handle_sysreg_access_trap`: an ICC_SGI1R_EL1 write exits with the whole ESR and the
/// value in gprs[0]; ID-space reads are emulated (zero here) and others RAZ/WI, resuming past the
/// instruction; reads of ICC_SGI1R_EL1 and writes of ID registers are UNDEFINED.
#[test]
fn sysreg_traps_follow_the_tf_rmm_handler_table() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    r.ctx.gprs[2] = 0x0001_0000_0000_0003; // SGI 1 to targets 0,1 of Aff1 0
    let mut exit = RmiRecExit::new_zeroed();
    assert!(!handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        sysreg(3, 0, 12, 11, 5, 2, false)
    ));
    assert_eq!(exit.exit_reason, RMI_EXIT_SYNC);
    assert_eq!(
        exit.esr, 0x623A_3056,
        "msr icc_sgi1r_el1, x2: EC 0x18, IL, ISS"
    );
    assert_eq!(exit.gprs[0], 0x0001_0000_0000_0003, "the written value");
    assert_eq!(r.ctx.pc, 0x104, "PC past the MSR");
    assert_eq!(r.last_run.esr, 0x623A_3056);

    // XZR write: value 0.
    let mut exit = RmiRecExit::new_zeroed();
    exit.gprs[0] = 0xFF;
    assert!(!handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        sysreg(3, 0, 12, 11, 5, 31, false)
    ));
    assert_eq!(exit.gprs[0], 0, "XZR writes zero");

    // ID_AA64MMFR0_EL1 read into X7: zero, resume past it.
    let mut r = rec(0);
    r.ctx.gprs[7] = 0x77;
    let mut exit = RmiRecExit::new_zeroed();
    assert!(handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        sysreg(3, 0, 0, 7, 0, 7, true)
    ));
    assert_eq!((r.ctx.gprs[7], r.ctx.pc), (0, 0x104), "ID read emulated");
    assert_eq!(exit.exit_reason, RMI_EXIT_SYNC, "no exit fields touched");
    assert_eq!(exit.esr, 0);

    // An unhandled register (PMCR_EL0): RAZ on read, WI on write.
    r.ctx.gprs[8] = 0x88;
    assert!(handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        sysreg(3, 3, 9, 12, 0, 8, true)
    ));
    assert_eq!((r.ctx.gprs[8], r.ctx.pc), (0, 0x108), "RAZ");
    r.ctx.gprs[8] = 0x88;
    assert!(handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        sysreg(3, 3, 9, 12, 0, 8, false)
    ));
    assert_eq!((r.ctx.gprs[8], r.ctx.pc), (0x88, 0x10C), "WI");

    // mrs x1, icc_sgi1r_el1 and msr id_aa64pfr0_el1, x1: UNDEFINED at the instruction itself.
    for access in [
        sysreg(3, 0, 12, 11, 5, 1, true),
        sysreg(3, 0, 0, 4, 0, 1, false),
    ] {
        let mut r = rec(0);
        r.ctx.sysregs.vbar_el1 = 0x8000;
        assert!(handle_realm_exit(&mut r, &mut realm, &mut exit, access));
        assert_eq!(
            (r.ctx.pc, r.ctx.sysregs.elr_el1, r.ctx.sysregs.esr_el1),
            (0x8200, 0x100, esr::IL_BIT),
            "{access:?}: undefined, ELR at the instruction"
        );
    }
}

/// An SError goes to the host as RMI_EXIT_SERROR with the restartable asynchronous syndrome (ISS only).
#[test]
fn serror_exits_with_its_iss() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let mut exit = RmiRecExit::new_zeroed();
    assert!(!handle_realm_exit(
        &mut r,
        &mut realm,
        &mut exit,
        RealmExit::SError
    ));
    assert_eq!(exit.exit_reason, crate::abi::RMI_EXIT_SERROR);
    assert_eq!(exit.esr, 0x811, "AET UEO, DFSC asynchronous SError, no EC");
    assert_eq!(r.ctx.pc, 0x100, "the realm resumes where it was");
}
