//! PSCI calls from a realm (DEN0137 1.0-rel0, PSCI chapter), as TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/rsi/psci.c` `handle_psci`.
//!
//! VERSION and FEATURES are answered by the RMM. CPU_SUSPEND, CPU_OFF, SYSTEM_OFF and SYSTEM_RESET are
//! notifications: the host sees RMI_EXIT_PSCI with X0 (the FID) and no completion is needed. CPU_ON and
//! AFFINITY_INFO on another valid REC exit with the FID and target MPIDR and block the caller until
//! RMI_PSCI_COMPLETE.

use super::*;
use crate::abi::{REC_EXIT_NR_GPRS, RMI_EXIT_PSCI, RmiRecExit};
use crate::rec::access::RealmAccess;
use crate::rec::call::{RsiAction, RsiResult};
use crate::rec::state::RecRun;

/// Handle PSCI function `fid` from `rec`.
pub(crate) fn handle_psci(
    fid: u32,
    rec: &mut RecRun,
    realm: &mut dyn RealmAccess,
    exit: &mut RmiRecExit,
) -> RsiResult {
    let res = match fid {
        PSCI_VERSION => RsiResult::ret(PSCI_VERSION_1_1, rec),
        PSCI_CPU_SUSPEND_32 | PSCI_CPU_SUSPEND_64 => {
            forward_args_to_host(1, rec, exit);
            RsiResult {
                action: RsiAction::UpdateExit,
                ..RsiResult::ret(PSCI_RETURN_SUCCESS, rec)
            }
        }
        PSCI_CPU_OFF => {
            rec.runnable = false;
            forward_args_to_host(1, rec, exit);
            RsiResult {
                action: RsiAction::UpdateExit,
                ..RsiResult::ret(PSCI_RETURN_SUCCESS, rec)
            }
        }
        PSCI_CPU_ON_32 | PSCI_CPU_ON_64 => cpu_on(rec, realm, exit),
        PSCI_AFFINITY_INFO_32 | PSCI_AFFINITY_INFO_64 => affinity_info(rec, realm, exit),
        PSCI_SYSTEM_OFF | PSCI_SYSTEM_RESET => {
            realm.system_off();
            forward_args_to_host(1, rec, exit);
            RsiResult::exit(rec)
        }
        PSCI_FEATURES => features(rec),
        _ => RsiResult::ret(PSCI_RETURN_NOT_SUPPORTED, rec),
    };
    if matches!(res.action, RsiAction::UpdateExit | RsiAction::Exit) {
        exit.exit_reason = RMI_EXIT_PSCI;
    }
    res
}

/// Copy X0..X(count-1) to the exit, the other exit GPRs zero.
fn forward_args_to_host(count: usize, rec: &RecRun, exit: &mut RmiRecExit) {
    exit.gprs = [0; REC_EXIT_NR_GPRS];
    exit.gprs[..count].copy_from_slice(&rec.ctx.gprs[..count]);
}

/// CPU_ON(target, entry, context): INVALID_ADDRESS when `entry` is outside PAR, INVALID_PARAMS when the
/// target index is not a created REC, ALREADY_ON for the caller itself; otherwise pending.
fn cpu_on(rec: &mut RecRun, realm: &dyn RealmAccess, exit: &mut RmiRecExit) -> RsiResult {
    let [target, entry] = [rec.ctx.gprs[1], rec.ctx.gprs[2]];
    if !realm.in_par(entry) {
        return RsiResult::ret(PSCI_RETURN_INVALID_ADDRESS, rec);
    }
    let idx = mpidr_to_rec_idx(target);
    if idx >= realm.rec_count() {
        return RsiResult::ret(PSCI_RETURN_INVALID_PARAMS, rec);
    }
    if idx == rec.rec_idx {
        return RsiResult::ret(PSCI_RETURN_ALREADY_ON, rec);
    }
    rec.psci_pending = true;
    forward_args_to_host(2, rec, exit);
    RsiResult::exit(rec)
}

/// AFFINITY_INFO(target, lowest level): INVALID_PARAMS unless the level is 0 and the target a created REC;
/// ON for the caller itself; otherwise pending.
fn affinity_info(rec: &mut RecRun, realm: &dyn RealmAccess, exit: &mut RmiRecExit) -> RsiResult {
    let [target, level] = [rec.ctx.gprs[1], rec.ctx.gprs[2]];
    if level != 0 {
        return RsiResult::ret(PSCI_RETURN_INVALID_PARAMS, rec);
    }
    let idx = mpidr_to_rec_idx(target);
    if idx >= realm.rec_count() {
        return RsiResult::ret(PSCI_RETURN_INVALID_PARAMS, rec);
    }
    if idx == rec.rec_idx {
        return RsiResult::ret(PSCI_AFFINITY_INFO_ON, rec);
    }
    rec.psci_pending = true;
    forward_args_to_host(2, rec, exit);
    RsiResult::exit(rec)
}

/// PSCI_FEATURES(fid): SUCCESS for the functions the RMM implements, NOT_SUPPORTED otherwise (the argument is
/// read as 32 bits).
fn features(rec: &RecRun) -> RsiResult {
    let queried = u32::try_from(rec.ctx.gprs[1] & u64::from(u32::MAX)).unwrap_or(0);
    let supported = matches!(
        queried,
        PSCI_CPU_SUSPEND_32
            | PSCI_CPU_SUSPEND_64
            | PSCI_CPU_OFF
            | PSCI_CPU_ON_32
            | PSCI_CPU_ON_64
            | PSCI_AFFINITY_INFO_32
            | PSCI_AFFINITY_INFO_64
            | PSCI_SYSTEM_OFF
            | PSCI_SYSTEM_RESET
            | PSCI_FEATURES
            | SMCCC_VERSION
    );
    RsiResult::ret(
        if supported {
            PSCI_RETURN_SUCCESS
        } else {
            PSCI_RETURN_NOT_SUPPORTED
        },
        rec,
    )
}
