//! Unit tests of the realm-exit handling (RSI, PSCI, aborts, WFx) and the entry completions over a fake realm.

use zerocopy::FromZeros;

use super::fake::{FakeRealm, PA_OFFSET};
use crate::abi::rsi::*;
use crate::abi::{
    REC_ENTRY_FLAG_EMUL_MMIO, REC_ENTRY_FLAG_INJECT_SEA, RMI_EXIT_HOST_CALL, RMI_EXIT_IRQ,
    RMI_EXIT_PSCI, RMI_EXIT_RIPAS_CHANGE, RMI_EXIT_SYNC, RmiRecEnter, RmiRecExit, SMC_UNKNOWN,
};
use crate::cpu::{DataAbort, RealmExit, Stage2Fault, esr};
use crate::psci::{self, complete::complete_request};
use crate::rec::access::{IpaWalk, RealmAccess, Ripas};
use crate::rec::run::{entry, exit::handle_realm_exit};
use crate::rec::state::RecRun;

const PAR: u64 = 1 << 38; // ipa_bits 39

fn rec(idx: u64) -> RecRun {
    let mut r = RecRun::new(0x1000, idx, idx, 0x100, &[], true);
    r.ctx.gprs[4] = 0x4444;
    r.ctx.gprs[5] = 0x5555;
    r
}

/// Execute an SMC with `regs` in X0..; returns (resumed, exit).
fn smc(rec: &mut RecRun, realm: &mut FakeRealm, regs: &[u64]) -> (bool, RmiRecExit) {
    rec.ctx.gprs[..regs.len()].copy_from_slice(regs);
    let mut exit = RmiRecExit::new_zeroed();
    let resumed = handle_realm_exit(rec, realm, &mut exit, RealmExit::Smc);
    (resumed, exit)
}

#[test]
fn rsi_version_features_and_unknown_zero_x1_to_x3_and_keep_x4() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let (resumed, _) = smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_VERSION), 0x1_0000, 7, 7],
    );
    assert!(resumed);
    assert_eq!(r.ctx.gprs[..6], [0, 0x1_0000, 0x1_0000, 0, 0x4444, 0x5555]);
    assert_eq!(r.ctx.pc, 0x104);
    smc(&mut r, &mut realm, &[u64::from(RSI_VERSION), 0x2_0000]);
    assert_eq!(r.ctx.gprs[..3], [RSI_ERROR_INPUT, 0x1_0000, 0x1_0000]);
    smc(&mut r, &mut realm, &[u64::from(RSI_FEATURES), 3, 9]);
    assert_eq!(r.ctx.gprs[..3], [0, 0, 0]);
    smc(&mut r, &mut realm, &[0xC400_01A0, 1, 2, 3]);
    assert_eq!(r.ctx.gprs[..4], [SMC_UNKNOWN, 0, 0, 0]);
    // The upper 32 bits of X0 and the SVE hint are ignored.
    smc(
        &mut r,
        &mut realm,
        &[
            0xFFFF_FFFF_0000_0000 | u64::from(RSI_VERSION) | (1 << 16),
            0x1_0000,
        ],
    );
    assert_eq!(r.ctx.gprs[0], 0);
    smc(&mut r, &mut realm, &[u64::from(psci::SMCCC_VERSION)]);
    assert_eq!(r.ctx.gprs[0], 0x1_0002);
    assert_eq!(r.ctx.pc, 0x118);
}

#[test]
fn measurement_extend_then_read_matches_sha256_of_old_and_value() {
    use sha2::{Digest, Sha256};
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let mut regs = vec![u64::from(RSI_MEASUREMENT_EXTEND), 2, 10];
    regs.extend([0x0807_0605_0403_0201, 0x0A09, 0, 0, 0, 0, 0, 0]);
    smc(&mut r, &mut realm, &regs);
    assert_eq!(r.ctx.gprs[0], RSI_SUCCESS);
    let expected = Sha256::new()
        .chain_update([0u8; 32])
        .chain_update([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        .finalize();
    assert_eq!(realm.measurements[2][..32], expected[..]);
    assert_eq!(realm.measurements[2][32..], [0; 32]);
    smc(&mut r, &mut realm, &[u64::from(RSI_MEASUREMENT_READ), 2]);
    let mut read = Vec::new();
    for w in &r.ctx.gprs[1..9] {
        read.extend_from_slice(&w.to_le_bytes());
    }
    assert_eq!(r.ctx.gprs[0], RSI_SUCCESS);
    assert_eq!(read[..], realm.measurements[2][..]);
    for bad in [[0, 8], [5, 8], [1, 65]] {
        smc(
            &mut r,
            &mut realm,
            &[u64::from(RSI_MEASUREMENT_EXTEND), bad[0], bad[1]],
        );
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:?}");
    }
    smc(&mut r, &mut realm, &[u64::from(RSI_MEASUREMENT_READ), 5]);
    assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT);
}

#[test]
fn ipa_state_set_exits_and_completes_with_progress_and_response() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let (resumed, exit) = smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_IPA_STATE_SET), 0x1000, 0x5000, 1, 0],
    );
    assert!(!resumed);
    assert_eq!(
        (
            exit.exit_reason,
            exit.ripas_base,
            exit.ripas_top,
            exit.ripas_value
        ),
        (RMI_EXIT_RIPAS_CHANGE, 0x1000, 0x5000, 1)
    );
    assert_eq!(r.ctx.gprs[..2], [RSI_SUCCESS, 0x5000]);
    // The host applied [0x1000, 0x3000) and rejected the rest.
    r.set_ripas.addr = 0x3000;
    r.set_ripas.reject = true;
    super::complete_set_ripas(&mut r);
    assert_eq!(r.ctx.gprs[..3], [RSI_SUCCESS, 0x3000, RSI_REJECT]);
    // Nothing pending any more: a second completion changes nothing.
    r.ctx.gprs[2] = 99;
    super::complete_set_ripas(&mut r);
    assert_eq!(r.ctx.gprs[2], 99);
    // EMPTY requests are always accepted.
    smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_IPA_STATE_SET), 0x1000, 0x5000, 0, 0],
    );
    r.set_ripas.reject = true;
    super::complete_set_ripas(&mut r);
    assert_eq!(r.ctx.gprs[..3], [RSI_SUCCESS, 0x1000, RSI_ACCEPT]);
    for bad in [
        [0x1000, 0x5000, 2],
        [0x1001, 0x5000, 1],
        [0x1000, 0x1000, 1],
        [0x1000, PAR + 0x1000, 1],
    ] {
        let (resumed, _) = smc(
            &mut r,
            &mut realm,
            &[u64::from(RSI_IPA_STATE_SET), bad[0], bad[1], bad[2], 0],
        );
        assert!(resumed);
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:x?}");
    }
}

#[test]
fn ipa_state_get_reports_the_uniform_run_capped_at_end() {
    let mut realm = FakeRealm::new(39).ram(0, 0x3000);
    let mut r = rec(0);
    smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_IPA_STATE_GET), 0, 0x10000],
    );
    assert_eq!(r.ctx.gprs[..3], [RSI_SUCCESS, 0x3000, RSI_RIPAS_RAM]);
    smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_IPA_STATE_GET), 0, 0x2000],
    );
    assert_eq!(r.ctx.gprs[..3], [RSI_SUCCESS, 0x2000, RSI_RIPAS_RAM]);
    smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_IPA_STATE_GET), 0x3000, 0x5000],
    );
    assert_eq!(r.ctx.gprs[..3], [RSI_SUCCESS, 0x5000, RSI_RIPAS_EMPTY]);
    for bad in [
        [0x10, 0x2000],
        [0x2000, 0x2000],
        [0, PAR + 0x1000],
        [PAR, PAR + 0x1000],
    ] {
        smc(
            &mut r,
            &mut realm,
            &[u64::from(RSI_IPA_STATE_GET), bad[0], bad[1]],
        );
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:x?}");
    }
}

#[test]
fn host_call_forwards_the_structure_and_completion_writes_results() {
    let mut realm = FakeRealm::new(39).ram(0, 0x2000);
    let pa = 0x1100 + PA_OFFSET;
    realm.write_pa(pa, &0x1234_5678u32.to_le_bytes());
    realm.write_pa(pa + 8 + 8 * 30, &77u64.to_le_bytes());
    let mut r = rec(0);
    let (resumed, exit) = smc(&mut r, &mut realm, &[u64::from(RSI_HOST_CALL), 0x1100]);
    assert!(!resumed);
    assert_eq!(
        (exit.exit_reason, exit.imm, exit.gprs[30]),
        (RMI_EXIT_HOST_CALL, 0x1234_5678, 77)
    );
    assert_eq!(
        r.ctx.gprs[0],
        u64::from(RSI_HOST_CALL),
        "registers untouched until completion"
    );
    assert!(r.host_call);
    let mut enter = RmiRecEnter::new_zeroed();
    enter.gprs[0] = 0xAA;
    enter.gprs[30] = 0xBB;
    assert_eq!(
        super::complete_host_call(&mut r, &realm, &enter),
        super::HostCallCompletion::Done
    );
    assert_eq!(
        (realm.read_u64(pa + 8), realm.read_u64(pa + 8 + 8 * 30)),
        (0xAA, 0xBB)
    );
    assert_eq!(r.ctx.gprs[0], RSI_SUCCESS);
    assert!(!r.host_call);
    for bad in [0x1080, 0x1001, PAR] {
        let (resumed, _) = smc(&mut r, &mut realm, &[u64::from(RSI_HOST_CALL), bad]);
        assert!(resumed);
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:#x}");
    }
    // EMPTY buffer: ERROR_INPUT; unassigned RAM buffer: stage-2 fault exit, PC unchanged.
    smc(&mut r, &mut realm, &[u64::from(RSI_HOST_CALL), 0x5000]);
    assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT);
    let mut realm = realm.entry(
        0x6000,
        IpaWalk::Fail {
            level: 3,
            ripas: Ripas::Ram,
        },
    );
    let pc = r.ctx.pc;
    let (resumed, exit) = smc(&mut r, &mut realm, &[u64::from(RSI_HOST_CALL), 0x6100]);
    assert!(!resumed);
    assert_eq!(
        (exit.exit_reason, exit.esr, exit.far, exit.hpfar),
        (RMI_EXIT_SYNC, esr::EC_DATA_ABORT | 0x7, 0, 0x61)
    );
    assert_eq!(r.ctx.pc, pc);
}

#[test]
fn realm_config_writes_width_algorithm_and_rpv() {
    let mut realm = FakeRealm::new(39).ram(0, 0x2000);
    realm.hash_algo = 1;
    let mut r = rec(0);
    smc(&mut r, &mut realm, &[u64::from(RSI_REALM_CONFIG), 0x1000]);
    assert_eq!(r.ctx.gprs[0], RSI_SUCCESS);
    let pa = 0x1000 + PA_OFFSET;
    assert_eq!(realm.read_u64(pa), 39);
    let mut b = [0u8; 1];
    realm.read_pa(pa + 8, &mut b);
    assert_eq!(b[0], 1);
    realm.read_pa(pa + 0x200 + 63, &mut b);
    assert_eq!(b[0], 0x5A);
    for bad in [0x1008, PAR, 0x4000] {
        smc(&mut r, &mut realm, &[u64::from(RSI_REALM_CONFIG), bad]);
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:#x}");
    }
}

#[test]
fn attestation_without_a_token_fails_init_and_continue_has_no_state() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_ATTESTATION_TOKEN_INIT), 1, 2],
    );
    assert_eq!(r.ctx.gprs[..2], [RSI_ERROR_UNKNOWN, 0]);
    smc(
        &mut r,
        &mut realm,
        &[u64::from(RSI_ATTESTATION_TOKEN_CONTINUE), 0x1000, 0, 0x1000],
    );
    assert_eq!(r.ctx.gprs[0], RSI_ERROR_STATE);
    for bad in [
        [0x1001, 0, 8],
        [0x1000, 0x1000, 0],
        [0x1000, 8, 0x1000],
        [PAR, 0, 8],
    ] {
        smc(
            &mut r,
            &mut realm,
            &[
                u64::from(RSI_ATTESTATION_TOKEN_CONTINUE),
                bad[0],
                bad[1],
                bad[2],
            ],
        );
        assert_eq!(r.ctx.gprs[0], RSI_ERROR_INPUT, "{bad:x?}");
    }
}

#[test]
fn psci_calls_answered_by_the_rmm() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    smc(&mut r, &mut realm, &[u64::from(psci::PSCI_VERSION)]);
    assert_eq!(r.ctx.gprs[0], 0x1_0001);
    smc(
        &mut r,
        &mut realm,
        &[
            u64::from(psci::PSCI_FEATURES),
            u64::from(psci::PSCI_CPU_ON_64),
        ],
    );
    assert_eq!(r.ctx.gprs[0], 0);
    smc(
        &mut r,
        &mut realm,
        &[
            u64::from(psci::PSCI_FEATURES),
            u64::from(psci::PSCI_VERSION),
        ],
    );
    assert_eq!(r.ctx.gprs[0], psci::PSCI_RETURN_NOT_SUPPORTED);
    smc(&mut r, &mut realm, &[0x8400_0012]);
    assert_eq!(r.ctx.gprs[0], psci::PSCI_RETURN_NOT_SUPPORTED);
    let on = u64::from(psci::PSCI_CPU_ON_64);
    for (args, expected) in [
        ([1, PAR, 0], psci::PSCI_RETURN_INVALID_ADDRESS),
        ([2, 0x1000, 0], psci::PSCI_RETURN_INVALID_PARAMS),
        ([0, 0x1000, 0], psci::PSCI_RETURN_ALREADY_ON),
    ] {
        let (resumed, _) = smc(&mut r, &mut realm, &[on, args[0], args[1], args[2]]);
        assert!(resumed);
        assert_eq!(r.ctx.gprs[0], expected, "{args:x?}");
    }
    let info = u64::from(psci::PSCI_AFFINITY_INFO_64);
    smc(&mut r, &mut realm, &[info, 1, 1]);
    assert_eq!(r.ctx.gprs[0], psci::PSCI_RETURN_INVALID_PARAMS);
    smc(&mut r, &mut realm, &[info, 0, 0]);
    assert_eq!(r.ctx.gprs[0], psci::PSCI_AFFINITY_INFO_ON);
    assert!(!r.psci_pending);
}

#[test]
fn psci_notifications_and_pending_requests_exit_with_the_fid() {
    let mut realm = FakeRealm::new(39);
    let mut r = rec(0);
    let (resumed, exit) = smc(
        &mut r,
        &mut realm,
        &[u64::from(psci::PSCI_CPU_ON_64), 1, 0x2000, 0xC0, 9],
    );
    assert!(!resumed);
    assert_eq!(
        (exit.exit_reason, exit.gprs[0], exit.gprs[1], exit.gprs[2]),
        (RMI_EXIT_PSCI, 0xC400_0003, 1, 0)
    );
    assert!(r.psci_pending);
    assert_eq!(
        r.ctx.gprs[..4],
        [0xC400_0003, 1, 0x2000, 0xC0],
        "registers kept for PSCI_COMPLETE"
    );
    let mut target = rec(1);
    target.runnable = false;
    target.ctx.sysregs.sctlr_el1 = 0;
    r.ctx.sysregs.sctlr_el1 |= crate::cpu::SCTLR_EL1_EE;
    assert_eq!(complete_request(&mut r, &mut target, false, 0), Ok(true));
    assert_eq!(r.ctx.gprs[..4], [0, 0, 0, 0]);
    assert!(!r.psci_pending && target.runnable);
    assert_eq!((target.ctx.pc, target.ctx.gprs[0]), (0x2000, 0xC0));
    assert_ne!(target.ctx.sysregs.sctlr_el1 & crate::cpu::SCTLR_EL1_EE, 0);

    let (_, exit) = smc(&mut r, &mut realm, &[u64::from(psci::PSCI_CPU_OFF), 5]);
    assert_eq!(
        (exit.exit_reason, exit.gprs[0], exit.gprs[1]),
        (RMI_EXIT_PSCI, 0x8400_0002, 0)
    );
    assert_eq!(r.ctx.gprs[0], 0);
    assert!(!r.runnable);
    let (_, exit) = smc(&mut r, &mut realm, &[u64::from(psci::PSCI_SYSTEM_RESET)]);
    assert_eq!(
        (exit.exit_reason, exit.gprs[0]),
        (RMI_EXIT_PSCI, 0x8400_0009)
    );
    assert!(realm.system_off);
}

#[test]
fn psci_complete_rules() {
    let mut realm = FakeRealm::new(39);
    let mut a = rec(0);
    let mut b = rec(1);
    // Nothing pending.
    assert!(complete_request(&mut a, &mut b, false, 0).is_err());
    smc(
        &mut a,
        &mut realm,
        &[u64::from(psci::PSCI_CPU_ON_64), 1, 0x2000, 0],
    );
    // Bad status, wrong target, other realm: refused and still pending.
    assert!(complete_request(&mut a, &mut b, false, 5).is_err());
    let mut c = rec(2);
    assert!(complete_request(&mut a, &mut c, false, 0).is_err());
    let mut other = RecRun::new(0x9000, 1, 1, 0, &[], false);
    assert!(complete_request(&mut a, &mut other, false, 0).is_err());
    assert!(a.psci_pending);
    // DENIED on a target that is already on: error, yet consumed with ALREADY_ON (observed on TF-RMM).
    assert_eq!(
        complete_request(&mut a, &mut b, false, psci::PSCI_RETURN_DENIED),
        Ok(false)
    );
    assert_eq!(a.ctx.gprs[0], psci::PSCI_RETURN_ALREADY_ON);
    assert!(!a.psci_pending);
    // DENIED on an off target.
    b.runnable = false;
    smc(
        &mut a,
        &mut realm,
        &[u64::from(psci::PSCI_CPU_ON_32), 1, 0x2000, 0],
    );
    assert_eq!(
        complete_request(&mut a, &mut b, false, psci::PSCI_RETURN_DENIED),
        Ok(true)
    );
    assert_eq!(a.ctx.gprs[0], psci::PSCI_RETURN_DENIED);
    // AFFINITY_INFO: running counts as on; only SUCCESS is accepted.
    smc(
        &mut a,
        &mut realm,
        &[u64::from(psci::PSCI_AFFINITY_INFO_32), 1, 0],
    );
    assert!(complete_request(&mut a, &mut b, false, psci::PSCI_RETURN_DENIED).is_err());
    assert_eq!(complete_request(&mut a, &mut b, false, 0), Ok(true));
    assert_eq!(a.ctx.gprs[0], psci::PSCI_AFFINITY_INFO_OFF);
    smc(
        &mut a,
        &mut realm,
        &[u64::from(psci::PSCI_AFFINITY_INFO_64), 1, 0],
    );
    assert_eq!(complete_request(&mut a, &mut b, true, 0), Ok(true));
    assert_eq!(a.ctx.gprs[0], psci::PSCI_AFFINITY_INFO_ON);
}

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
fn gic_state_validation() {
    let mut enter = RmiRecEnter::new_zeroed();
    assert!(entry::gic_validate_state(&enter, 4));
    enter.gicv3_hcr = 1; // En is not the host's
    assert!(!entry::gic_validate_state(&enter, 4));
    enter.gicv3_hcr = 0b10;
    let pending = |intid: u64| (1u64 << 62) | (0xA0 << 48) | intid;
    enter.gicv3_lrs[0] = pending(27);
    enter.gicv3_lrs[1] = pending(30);
    assert!(entry::gic_validate_state(&enter, 4));
    enter.gicv3_lrs[3] = pending(27);
    assert!(!entry::gic_validate_state(&enter, 4), "duplicate vINTID");
    assert!(
        entry::gic_validate_state(&enter, 3),
        "LRs past the implemented ones are not looked at"
    );
    enter.gicv3_lrs[3] = pending(1020);
    assert!(!entry::gic_validate_state(&enter, 4));
    enter.gicv3_lrs[3] = pending(8192) | (1 << 61);
    assert!(!entry::gic_validate_state(&enter, 4), "HW bit");
    enter.gicv3_lrs[3] = (1u64 << 62) | (0xA1 << 48) | 40;
    assert!(!entry::gic_validate_state(&enter, 4), "RES0 priority bits");
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

#[test]
fn measurement_extend_sha512_fills_the_slot() {
    use sha2::{Digest, Sha512};
    let mut realm = FakeRealm::new(39);
    realm.hash_algo = 1;
    realm.measurements[4] = [7; 64];
    let mut r = rec(0);
    smc(
        &mut r,
        &mut realm,
        &[
            u64::from(RSI_MEASUREMENT_EXTEND),
            4,
            64,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
        ],
    );
    let mut value = Vec::new();
    for w in 1u64..=8 {
        value.extend_from_slice(&w.to_le_bytes());
    }
    let expected = Sha512::new()
        .chain_update([7u8; 64])
        .chain_update(&value)
        .finalize();
    assert_eq!(realm.measurements[4][..], expected[..]);
}
