//! What an RSI or PSCI handler asks the run loop to do with the realm's registers (TF-RMM `struct rsi_result`,
//! `enum rsi_action`).

use super::state::RecRun;

/// What the RMM does after an RSI/PSCI handler (TF-RMM `enum rsi_action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RsiAction {
    /// Write X0..X4 from the result and return to the realm.
    UpdateReturn,
    /// Write X0..X4 and exit to the host with the exit the handler filled.
    UpdateExit,
    /// Leave the registers and exit to the host.
    Exit,
    /// The realm buffer at X1 is not mapped: exit with an emulated stage-2 data abort at this level; the PC
    /// does not advance.
    Stage2Fault(i8),
}

/// A handler's result registers and action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RsiResult {
    /// Action.
    pub(crate) action: RsiAction,
    /// X0..X4.
    pub(crate) x: [u64; 5],
}

impl RsiResult {
    /// Return `x0` (and X1..X3 zero) to the realm.
    pub(crate) fn ret(x0: u64, rec: &RecRun) -> Self {
        Self {
            action: RsiAction::UpdateReturn,
            x: [x0, 0, 0, 0, rec.ctx.gprs[4]],
        }
    }

    /// Return X0..X3 to the realm.
    pub(crate) fn ret4(x: [u64; 4], rec: &RecRun) -> Self {
        Self {
            action: RsiAction::UpdateReturn,
            x: [x[0], x[1], x[2], x[3], rec.ctx.gprs[4]],
        }
    }

    /// Leave the registers and exit to the host.
    pub(crate) fn exit(rec: &RecRun) -> Self {
        Self {
            action: RsiAction::Exit,
            x: [0, 0, 0, 0, rec.ctx.gprs[4]],
        }
    }

    /// Stage-2 fault on the buffer at X1.
    pub(crate) fn stage2_fault(level: i8, rec: &RecRun) -> Self {
        Self {
            action: RsiAction::Stage2Fault(level),
            x: [0, 0, 0, 0, rec.ctx.gprs[4]],
        }
    }
}
