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
