//! RMI_REC_ENTER — DEN0137 1.0-rel0 B4.3 (RMI commands), with TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/run.c`
//! (`smc_rec_enter`) order of checks and results.
//!
//! Failure conditions, in order: the run granule is not an NS granule → RMI_ERROR_INPUT; `rec` is not a REC
//! granule → RMI_ERROR_INPUT; the REC is running (refcount ≠ 0) → RMI_ERROR_REC; the `RmiRecEnter` cannot
//! be read → RMI_ERROR_INPUT; realm NEW → RMI_ERROR_REALM index 0, SYSTEM_OFF → index 1; REC not runnable →
//! RMI_ERROR_REC; PSCI request pending → RMI_ERROR_REC; invalid GIC state → RMI_ERROR_REC; INJECT_SEA or
//! EMUL_MMIO inconsistent with the last exit → RMI_ERROR_REC. Then the host's answers are applied (SEA, MMIO
//! read, RIPAS change response, host call results), the realm runs, and the exit is written back; a write
//! failure there is RMI_ERROR_INPUT (TF-RMM `ns_buffer_write`).
//!
//! The REC is marked running (refcount 1) from the checks to the end; the RMM state lock is not held while
//! the realm CPU runs, so other RECs and RMI calls progress meanwhile.
//!
//! GIC and timers: `rec::run::gic` (validation, LR hand-over, VMCR/HCR/MISR on exit) and `rec::run::timer`
//! (`check_pending_timers` before each run, timer state on every exit); the realm CPU model delivers the
//! virtual interrupts. Not modelled: system register trap emulation beyond the GIC's, PMU overflow
//! (NOT_ACTIVE).

use std::sync::Mutex;

use zerocopy::{FromZeros, IntoBytes};

use super::{RawArgs, Reply, RmiError, RmiResult};
use crate::Rmm;
use crate::abi::{REC_ENTRY_FLAG_RIPAS_RESPONSE, RmiRecEnter, RmiRecExit, RmiStatus};
use crate::cpu::RecIdentity;
use crate::granule::GranuleState;
use crate::memory::granule_aligned;
use crate::realm::RealmState;
use crate::rec::access::par_size;
use crate::rec::run::{emulate_stage2_data_abort, entry, run_realm, timer};
use crate::rec::state::RecRun;
use crate::rec::view::{self, RealmView};
use crate::rsi;

/// Offset of `RmiRecRun.exit`.
const EXIT_OFFSET: u64 = 0x800;

/// RMI_REC_ENTER(rec, run_ptr).
///
/// On a platform that keeps no DATA contents ([`crate::DataContents::NotKept`], a measure-only model) no
/// realm can run: RMI_ERROR_REC before any other check (a status of this model; DEN0137 has no such
/// platform).
pub(crate) fn rec_enter(rmm: &Rmm, a: &RawArgs) -> RmiResult {
    if rmm.platform().data_contents == crate::DataContents::NotKept {
        return Err(RmiError::REC);
    }
    let (rec_pa, run_pa) = (a.arg(1), a.arg(2));
    let running = RunningRec::mark(rmm, rec_pa, run_pa)?;
    let mut enter = RmiRecEnter::new_zeroed();
    rmm.mem
        .host_read(run_pa, enter.as_mut_bytes())
        .map_err(|_| RmiError::INPUT)?;
    let mut exit = RmiRecExit::new_zeroed();
    let Some(mut rec) = prepare(rmm, rec_pa, &enter, &mut exit)? else {
        // The pending host call could not complete: the emulated abort is the exit.
        return write_exit(rmm, run_pa, &exit);
    };
    run_realm(rmm, &mut rec, &mut exit);
    entry::gic_copy_to_exit(&mut rec, &mut exit, &rmm.platform().features.gic);
    timer::report_timer_state(&mut rec, &mut exit);
    tracing::debug!(
        target: "realm_rmm::rec",
        rec = rec_pa,
        exit_reason = exit.exit_reason,
        esr = exit.esr,
        hpfar = exit.hpfar,
        pc = rec.ctx.pc,
        "REC exit"
    );
    view::put_rec_run(&mut rmm.lock(), rec_pa, rec);
    drop(running);
    write_exit(rmm, run_pa, &exit)
}

/// The checks and completions under the lock; on success the REC's run state is taken out of the RMM state
/// for the run (`None`: nothing to run, `exit` already holds the answer).
fn prepare(
    rmm: &Rmm,
    rec_pa: u64,
    enter: &RmiRecEnter,
    exit: &mut RmiRecExit,
) -> Result<Option<RecRun>, RmiError> {
    let mut st = rmm.lock();
    let Some(rec) = view::rec_run_mut(&mut st, rec_pa) else {
        debug_assert!(false, "REC granule without run state");
        return Err(RmiError::INPUT);
    };
    let rd = rec.rd;
    match view::realm_state(&st, rd) {
        Some(RealmState::Active) => {}
        Some(RealmState::SystemOff) => return Err(RmiError::new(RmiStatus::ErrorRealm, 1)),
        Some(RealmState::New) | None => return Err(RmiError::new(RmiStatus::ErrorRealm, 0)),
    }
    let rec = view::rec_run_mut(&mut st, rec_pa).ok_or(RmiError::INPUT)?;
    if !rec.runnable || rec.psci_pending {
        return Err(RmiError::REC);
    }
    let gic = rmm.platform().features.gic;
    if !entry::gic_validate_state(enter, &gic) {
        return Err(RmiError::REC);
    }
    entry::gic_copy_from_entry(rec, enter, &gic);
    let par = par_size(view::ipa_bits(&st, rd));
    let rec = view::rec_run_mut(&mut st, rec_pa).ok_or(RmiError::INPUT)?;
    if !entry::complete_sea_insertion(rec, enter, |ipa| ipa < par)
        || !entry::complete_mmio_emulation(rec, enter)
    {
        return Err(RmiError::REC);
    }
    rec.set_ripas.reject = enter.flags & REC_ENTRY_FLAG_RIPAS_RESPONSE != 0;
    rsi::complete_set_ripas(rec);
    let mut run = view::take_rec_run(&mut st, rec_pa).ok_or(RmiError::INPUT)?;
    let completion = rsi::complete_host_call(&mut run, &RealmView::new(rmm, &mut st, rd), enter);
    if let rsi::HostCallCompletion::Stage2Fault(level) = completion {
        emulate_stage2_data_abort(exit, level, run.ctx.gprs[1]);
        view::put_rec_run(&mut st, rec_pa, run);
        return Ok(None);
    }
    run.last_run.esr = 0;
    entry::set_wfx_traps(&mut run, enter);
    if run.cpu.is_none() {
        let id = RecIdentity {
            rd,
            rec: rec_pa,
            index: run.rec_idx,
            mpidr: run.mpidr,
        };
        run.cpu = Some(Mutex::new(rmm.platform().cpu.create(id)));
    }
    Ok(Some(run))
}

/// Write the exit half of `RmiRecRun`; a refused write is RMI_ERROR_INPUT.
fn write_exit(rmm: &Rmm, run_pa: u64, exit: &RmiRecExit) -> RmiResult {
    rmm.mem
        .host_write(run_pa + EXIT_OFFSET, exit.as_bytes())
        .map_err(|_| RmiError::INPUT)?;
    Ok(Reply::OK)
}

/// A REC marked running (refcount 1); dropping it makes the REC idle again.
struct RunningRec<'a> {
    rmm: &'a Rmm,
    rec: u64,
}

impl<'a> RunningRec<'a> {
    /// The first checks: `run` an NS granule, `rec` an idle REC granule; then mark it running.
    fn mark(rmm: &'a Rmm, rec: u64, run: u64) -> Result<Self, RmiError> {
        let mut st = rmm.lock();
        if !granule_aligned(run)
            || !rmm.mem.is_granule(run)
            || st.granules.state(run) != GranuleState::Undelegated
        {
            return Err(RmiError::INPUT);
        }
        if !granule_aligned(rec)
            || !rmm.mem.is_granule(rec)
            || st.granules.state(rec) != GranuleState::Rec
        {
            return Err(RmiError::INPUT);
        }
        if st.granules.refcount(rec) != 0 {
            return Err(RmiError::REC);
        }
        st.granules.refcount_add(rec, 1);
        Ok(Self { rmm, rec })
    }
}

impl Drop for RunningRec<'_> {
    fn drop(&mut self) {
        self.rmm.lock().granules.refcount_add(self.rec, -1);
    }
}
