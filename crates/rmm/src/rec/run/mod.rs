//! The REC run loop (TF-RMM `rmm-spec-v1.0-rel0` `runtime/core/run.c` `rec_run_loop`): run the REC on its
//! CPU model until it takes an exception the host must see, handling the rest in the RMM.

pub(crate) mod entry;
pub(crate) mod exit;
pub(crate) mod gic;
mod inject;
mod smc;
mod sysreg;
#[cfg(test)]
mod tests;
pub(crate) mod timer;

pub(crate) use smc::emulate_stage2_data_abort;

use std::sync::{Mutex, PoisonError};

use super::state::RecRun;
use super::view::{RealmMem, RealmView};
use crate::Rmm;
use crate::abi::RmiRecExit;
use crate::cpu::RealmExit;

/// How many exits the RMM handles itself (and resumes the realm after) within one RMI_REC_ENTER before a host
/// interrupt is taken to end it with RMI_EXIT_IRQ. On hardware the host's timer interrupt ends any REC_ENTER
/// within a tick; a count models that deterministically, so a realm caught in a loop of exits the RMM
/// handles (an injected abort whose vector faults again, say) still returns control to the host.
pub(crate) const MAX_HANDLED_EXITS_PER_ENTRY: u32 = 4096;

/// Run the REC until an exit goes to the host, taking the state lock only to handle each exit.
pub(crate) fn run_realm(rmm: &Rmm, rec: &mut RecRun, exit: &mut RmiRecExit) {
    let Some(cpu) = rec.cpu.take() else {
        return;
    };
    let mut cpu = cpu.into_inner().unwrap_or_else(PoisonError::into_inner);
    let rd = rec.rd;
    let mut handled = 0;
    loop {
        if timer::check_pending_timers(&mut rec.ctx, exit, cpu.counter()) {
            break;
        }
        let mut mem = RealmMem::with_cache(rmm, rd, std::mem::take(&mut rec.mem_cache));
        let taken = cpu.run(&mut rec.ctx, &mut mem);
        rec.mem_cache = mem.into_cache();
        let mut st = rmm.lock();
        let mut view = RealmView::new(rmm, &mut st, rd);
        if !exit::handle_realm_exit(rec, &mut view, exit, taken) {
            break;
        }
        handled += 1;
        if handled >= MAX_HANDLED_EXITS_PER_ENTRY {
            exit::handle_realm_exit(rec, &mut view, exit, RealmExit::Irq);
            break;
        }
    }
    rec.cpu = Some(Mutex::new(cpu));
}
