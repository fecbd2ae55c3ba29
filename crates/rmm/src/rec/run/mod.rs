//! The REC run loop (TF-RMM `rmm-spec-v1.0-rel0` `runtime/core/run.c` `rec_run_loop`): run the REC on its
//! CPU model until it takes an exception the host must see, handling the rest in the RMM.

pub(crate) mod entry;
pub(crate) mod exit;
mod inject;
mod smc;
#[cfg(test)]
mod tests;

pub(crate) use smc::emulate_stage2_data_abort;

use std::sync::{Mutex, PoisonError};

use super::state::RecRun;
use super::view::{RealmMem, RealmView};
use crate::Rmm;
use crate::abi::RmiRecExit;

/// Run the REC until an exit goes to the host, taking the state lock only to handle each exit.
pub(crate) fn run_realm(rmm: &Rmm, rec: &mut RecRun, exit: &mut RmiRecExit) {
    let Some(cpu) = rec.cpu.take() else {
        return;
    };
    let mut cpu = cpu.into_inner().unwrap_or_else(PoisonError::into_inner);
    let rd = rec.rd;
    loop {
        let taken = cpu.run(&mut rec.ctx, &mut RealmMem::new(rmm, rd));
        let mut st = rmm.lock();
        let resume =
            exit::handle_realm_exit(rec, &mut RealmView::new(rmm, &mut st, rd), exit, taken);
        if !resume {
            break;
        }
    }
    rec.cpu = Some(Mutex::new(cpu));
}
