//! The RMM side of RMI_PSCI_COMPLETE once both RECs are locked and the caller is known not to be running:
//! TF-RMM `rmm-spec-v1.0-rel0` `runtime/rsi/psci.c` `psci_complete_request`.

use super::*;
use crate::cpu::{PSTATE_INIT, SCTLR_EL1_EE, SCTLR_EL1_RESET};
use crate::rec::state::RecRun;

/// Why PSCI_COMPLETE refuses (every case is `RMI_ERROR_INPUT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CompleteRefused;

/// Complete the pending PSCI request of `calling` that targets `target` with the host's `status`.
///
/// `target_running` is whether the target REC is executing now (its refcount is not zero). Returns
/// `Ok(true)` on success, `Ok(false)` when the request was consumed but the host's answer was wrong (CPU_ON
/// DENIED on a target that is already on: TF-RMM returns `RMI_ERROR_INPUT` yet updates the caller, as
/// observed), `Err` when nothing changed.
pub(crate) fn complete_request(
    calling: &mut RecRun,
    target: &mut RecRun,
    target_running: bool,
    status: u64,
) -> Result<bool, CompleteRefused> {
    if !calling.psci_pending
        || calling.rd != target.rd
        || mpidr_to_rec_idx(calling.ctx.gprs[1]) != target.rec_idx
    {
        return Err(CompleteRefused);
    }
    let fid = u32::try_from(calling.ctx.gprs[0] & u64::from(u32::MAX)).unwrap_or(0);
    let mut ok = true;
    let result = match fid {
        PSCI_CPU_ON_32 | PSCI_CPU_ON_64 => {
            if status != PSCI_RETURN_SUCCESS && status != PSCI_RETURN_DENIED {
                return Err(CompleteRefused);
            }
            let result = if target_running || target.runnable {
                PSCI_RETURN_ALREADY_ON
            } else if status == PSCI_RETURN_DENIED {
                PSCI_RETURN_DENIED
            } else {
                reset_target(
                    target,
                    calling.ctx.gprs[2],
                    calling.ctx.gprs[3],
                    calling.ctx.sysregs.sctlr_el1,
                );
                PSCI_RETURN_SUCCESS
            };
            ok = !(status == PSCI_RETURN_DENIED && result == PSCI_RETURN_ALREADY_ON);
            result
        }
        PSCI_AFFINITY_INFO_32 | PSCI_AFFINITY_INFO_64 => {
            if status != PSCI_RETURN_SUCCESS {
                return Err(CompleteRefused);
            }
            if target_running || target.runnable {
                PSCI_AFFINITY_INFO_ON
            } else {
                PSCI_AFFINITY_INFO_OFF
            }
        }
        // Only CPU_ON and AFFINITY_INFO leave a request pending.
        _ => {
            debug_assert!(false, "PSCI request pending for {fid:#x}");
            return Err(CompleteRefused);
        }
    };
    calling.ctx.gprs[..4].copy_from_slice(&[result, 0, 0, 0]);
    calling.psci_pending = false;
    Ok(ok)
}

/// Power on `target` at `entry` with X0 = `context_id`: EL1h with DAIF masked, MMU off, endianness of the
/// caller (TF-RMM `psci_reset_rec`); the other registers keep their values.
fn reset_target(target: &mut RecRun, entry: u64, context_id: u64, caller_sctlr: u64) {
    target.ctx.pstate = PSTATE_INIT;
    target.ctx.sysregs.sctlr_el1 = SCTLR_EL1_RESET | (caller_sctlr & SCTLR_EL1_EE);
    target.ctx.gprs[0] = context_id;
    target.ctx.pc = entry;
    target.runnable = true;
}
