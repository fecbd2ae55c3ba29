//! What the RMM does with each exception a REC takes to EL2: handle it and resume the realm, or fill the
//! `RmiRecExit` and return to the host. As TF-RMM `rmm-spec-v1.0-rel0` `runtime/core/exit.c`
//! (`handle_realm_exit`, `handle_exception_sync`, `handle_data_abort`, `handle_instruction_abort`,
//! `handle_exception_serror_lel`); system register traps in [`super::sysreg`].
//!
//! A stage-2 fault on a stage-1 table walk (`S1PTW`) goes through the data or instruction abort path of the
//! access it translated, with its own syndrome: TF-RMM's report masks (`ESR_NONEMULATED_ABORT_MASK`,
//! `ESR_EMULATED_ABORT_MASK`) do not include ISS bit 7, so the host sees the abort without `S1PTW`, while
//! the REC's last-exit record keeps the whole syndrome.
//!
//! Not modelled: synchronous external aborts reported by the CPU (it reports only translation faults), RAS
//! syndromes of SErrors, FPU/SVE traps (the CPU trait does not report them).

use super::inject::{inject_sync_external_abort, inject_undefined};
use super::smc::handle_realm_smc;
use super::sysreg::{SERROR_EXIT_ESR, handle_sysreg_access_trap};
use crate::abi::{RMI_EXIT_FIQ, RMI_EXIT_IRQ, RMI_EXIT_SERROR, RMI_EXIT_SYNC, RmiRecExit};
use crate::cpu::{RealmExit, esr};
use crate::rec::access::{IpaWalk, RealmAccess, Ripas};
use crate::rec::state::{LastRunInfo, RecRun};

/// `ESR_EL2` of an `SMC #0` from AArch64 (IL set, imm16 zero).
const ESR_SMC: u64 = esr::EC_SMC | esr::IL_BIT;

/// Handle `taken`. Returns `true` to resume the realm, `false` to return to the host with `exit` filled.
pub(crate) fn handle_realm_exit(
    rec: &mut RecRun,
    realm: &mut dyn RealmAccess,
    exit: &mut RmiRecExit,
    taken: RealmExit,
) -> bool {
    // A synchronous exception that goes to the host leaves its syndrome for the next entry's MMIO and SEA
    // checks; asynchronous exits leave what the entry reset.
    let (resume, syndrome) = match taken {
        RealmExit::Smc => {
            exit.exit_reason = RMI_EXIT_SYNC;
            let resume = handle_realm_smc(rec, realm, exit);
            (
                resume,
                Some(LastRunInfo {
                    esr: ESR_SMC,
                    far: 0,
                    hpfar: 0,
                }),
            )
        }
        RealmExit::Hvc => {
            inject_undefined(&mut rec.ctx);
            (true, None)
        }
        RealmExit::Wfx { wfe } => {
            exit.exit_reason = RMI_EXIT_SYNC;
            let syndrome = esr::EC_WFX | esr::IL_BIT | if wfe { esr::WFX_TI_BIT } else { 0 };
            exit.esr = syndrome & (esr::EC_MASK | esr::WFX_TI_BIT);
            rec.ctx.pc = rec.ctx.pc.wrapping_add(4);
            (
                false,
                Some(LastRunInfo {
                    esr: syndrome,
                    far: 0,
                    hpfar: 0,
                }),
            )
        }
        RealmExit::DataAbort(abort) => {
            let fault = Fault::new(abort.esr(), abort.va, abort.ipa);
            exit.exit_reason = RMI_EXIT_SYNC;
            (
                handle_data_abort(rec, realm, exit, &fault),
                Some(fault.info()),
            )
        }
        RealmExit::InstructionAbort(abort) => {
            let fault = Fault::new(abort.esr(), abort.va, abort.ipa);
            exit.exit_reason = RMI_EXIT_SYNC;
            (
                handle_instruction_abort(rec, realm, exit, &fault),
                Some(fault.info()),
            )
        }
        RealmExit::WalkAbort(walk) => {
            let fault = Fault::new(walk.esr(), walk.va, walk.ipa);
            exit.exit_reason = RMI_EXIT_SYNC;
            let resume = if walk.fetch {
                handle_instruction_abort(rec, realm, exit, &fault)
            } else {
                handle_data_abort(rec, realm, exit, &fault)
            };
            (resume, Some(fault.info()))
        }
        RealmExit::SysReg(access) => {
            exit.exit_reason = RMI_EXIT_SYNC;
            let resume = handle_sysreg_access_trap(rec, exit, &access);
            let info = LastRunInfo {
                esr: access.esr(),
                far: 0,
                hpfar: 0,
            };
            (resume, Some(info))
        }
        RealmExit::Irq => {
            exit.exit_reason = RMI_EXIT_IRQ;
            (false, None)
        }
        RealmExit::Fiq => {
            exit.exit_reason = RMI_EXIT_FIQ;
            (false, None)
        }
        RealmExit::SError => {
            // handle_exception_serror_lel: a restartable error is reported (ISS fields only), not injected.
            exit.exit_reason = RMI_EXIT_SERROR;
            exit.esr = SERROR_EXIT_ESR;
            (false, None)
        }
    };
    if !resume && let Some(info) = syndrome {
        rec.last_run = info;
    }
    resume
}

/// A stage-2 abort as `ESR_EL2`, `FAR_EL2` and `HPFAR_EL2` hold it when the exception is taken.
struct Fault {
    esr: u64,
    va: u64,
    hpfar: u64,
}

impl Fault {
    fn new(esr: u64, va: u64, ipa: u64) -> Self {
        Self {
            esr,
            va,
            hpfar: esr::hpfar_for_ipa(ipa),
        }
    }

    /// What the REC remembers of it for the next entry's checks (TF-RMM `last_run_info`).
    fn info(&self) -> LastRunInfo {
        LastRunInfo {
            esr: self.esr,
            far: self.va,
            hpfar: self.hpfar,
        }
    }
}

/// A stage-2 data abort (TF-RMM `handle_data_abort`): outside the IPA space or on an EMPTY protected granule
/// the realm gets a synchronous external abort and resumes; in PAR the host sees the non-emulatable syndrome
/// (no FAR, no register); in the unprotected half it sees the emulatable syndrome, the page offset of FAR and,
/// for a write, the value stored in `exit.gprs[0]`.
fn handle_data_abort(
    rec: &mut RecRun,
    realm: &dyn RealmAccess,
    exit: &mut RmiRecExit,
    abort: &Fault,
) -> bool {
    let syndrome = abort.esr;
    let hpfar = abort.hpfar;
    let fipa = esr::ipa_of_hpfar(hpfar);
    let ipa_size = 1u64.checked_shl(realm.ipa_bits()).unwrap_or(u64::MAX);
    if fipa >= ipa_size || ipa_is_empty(realm, fipa) {
        inject_sync_external_abort(&mut rec.ctx, syndrome, abort.va);
        return true;
    }
    let (reported, far, write_val) = if realm.in_par(fipa) {
        (syndrome & esr::NONEMULATED_ABORT_MASK, 0, 0)
    } else {
        let write_val = if esr::is_write(syndrome) {
            dabt_write_value(rec, syndrome)
        } else {
            0
        };
        (
            syndrome & esr::EMULATED_ABORT_MASK,
            abort.va & 0xFFF,
            write_val,
        )
    };
    exit.esr = reported;
    exit.far = far;
    exit.hpfar = hpfar;
    exit.gprs[0] = write_val;
    false
}

/// A stage-2 instruction abort (TF-RMM `handle_instruction_abort`): outside the IPA space, in the
/// unprotected half, or on an EMPTY granule the realm gets a synchronous external abort and resumes;
/// otherwise the host sees the non-emulatable syndrome and HPFAR (no FAR).
fn handle_instruction_abort(
    rec: &mut RecRun,
    realm: &dyn RealmAccess,
    exit: &mut RmiRecExit,
    abort: &Fault,
) -> bool {
    let syndrome = abort.esr;
    let hpfar = abort.hpfar;
    let fipa = esr::ipa_of_hpfar(hpfar);
    let ipa_size = 1u64.checked_shl(realm.ipa_bits()).unwrap_or(u64::MAX);
    if fipa >= ipa_size || !realm.in_par(fipa) || ipa_is_empty(realm, fipa) {
        inject_sync_external_abort(&mut rec.ctx, syndrome, abort.va);
        return true;
    }
    exit.hpfar = hpfar;
    exit.esr = syndrome & esr::NONEMULATED_ABORT_MASK;
    false
}

/// The value a trapped store writes: X\[SRT\] masked to the access size, 0 for XZR.
fn dabt_write_value(rec: &RecRun, syndrome: u64) -> u64 {
    let rt = esr::srt(syndrome);
    rec.ctx
        .gprs
        .get(rt)
        .map_or(0, |v| v & esr::access_mask(syndrome))
}

/// TF-RMM `ipa_is_empty`: `ipa` is in PAR and its RIPAS is EMPTY.
fn ipa_is_empty(realm: &dyn RealmAccess, ipa: u64) -> bool {
    realm.in_par(ipa)
        && matches!(
            realm.ipa_to_pa(ipa),
            IpaWalk::Fail {
                ripas: Ripas::Empty,
                ..
            }
        )
}
