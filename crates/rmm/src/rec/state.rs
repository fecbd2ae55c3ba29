//! The execution state a REC carries between `RMI_REC_ENTER` calls: its register context, its CPU model, and
//! the requests pending with the host (PSCI, RIPAS change, host call, the last exit's syndrome for MMIO
//! emulation and SEA injection), as TF-RMM `rmm-spec-v1.0-rel0` `struct rec` keeps them
//! (`runtime/include/rec.h`).

use std::sync::Mutex;

use crate::abi::REC_GIC_NUM_LRS;
use crate::cpu::{RealmCpu, RecContext};
use crate::rec::realm_mem::MemCache;

/// A pending RIPAS change requested by RSI_IPA_STATE_SET (TF-RMM `rec->set_ripas`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SetRipas {
    /// Base of the requested range; `base == top` means nothing is pending.
    pub(crate) base: u64,
    /// Top of the requested range.
    pub(crate) top: u64,
    /// How far the host has applied the change (RMI_RTT_SET_RIPAS advances it).
    pub(crate) addr: u64,
    /// The requested RIPAS (`RsiRipas`, EMPTY or RAM).
    pub(crate) ripas: u64,
    /// The realm's `flags` register as given (`RsiRipasChangeDestroyed` is compared with 1).
    pub(crate) change_destroyed: u64,
    /// The host's answer from the last entry's `REC_ENTRY_FLAG_RIPAS_RESPONSE`: reject.
    pub(crate) reject: bool,
}

/// Syndrome registers of the last synchronous exit to the host (TF-RMM `rec->last_run_info`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LastRunInfo {
    /// `ESR_EL2` as the exception reported it (before masking for the host).
    pub(crate) esr: u64,
    /// `FAR_EL2`.
    pub(crate) far: u64,
    /// `HPFAR_EL2`.
    pub(crate) hpfar: u64,
}

/// The REC's virtual GIC CPU interface state that `RmiRecRun` carries (TF-RMM `struct gic_cpu_state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct GicState {
    /// `ICH_HCR_EL2`.
    pub(crate) hcr: u64,
    /// `ICH_LR<n>_EL2`.
    pub(crate) lrs: [u64; REC_GIC_NUM_LRS],
    /// `ICH_VMCR_EL2`.
    pub(crate) vmcr: u64,
    /// `ICH_MISR_EL2`.
    pub(crate) misr: u64,
}

/// The run state of one REC. A clone has no CPU model; one is made again on its next entry.
#[derive(Debug)]
pub(crate) struct RecRun {
    /// PA of the REC's RD.
    pub(crate) rd: u64,
    /// The REC's index (order of creation in its realm).
    pub(crate) rec_idx: u64,
    /// The MPIDR given at REC_CREATE.
    pub(crate) mpidr: u64,
    /// Registers.
    pub(crate) ctx: RecContext,
    /// `runnable`: REC_CREATE's RUNNABLE flag; cleared by PSCI CPU_OFF, set by a completed CPU_ON.
    pub(crate) runnable: bool,
    /// A PSCI CPU_ON or AFFINITY_INFO waits for RMI_PSCI_COMPLETE.
    pub(crate) psci_pending: bool,
    /// A RIPAS change waits for the host.
    pub(crate) set_ripas: SetRipas,
    /// An RSI_HOST_CALL waits for its results.
    pub(crate) host_call: bool,
    /// Syndrome of the last synchronous exit.
    pub(crate) last_run: LastRunInfo,
    /// Virtual GIC state.
    pub(crate) gic: GicState,
    /// Attestation token creation in progress (TF-RMM `rec->aux_data.attest_data`).
    pub(crate) attest: crate::rsi::attestation::AttestState,
    /// The CPU model, made on the first entry (behind a mutex so that the RMM state stays `Sync`).
    pub(crate) cpu: Option<Mutex<Box<dyn RealmCpu>>>,
    /// What the REC's view of realm memory keeps between runs (stage-2 translations, its own generation
    /// bumps).
    pub(crate) mem_cache: MemCache,
}

/// `ICH_HCR_EL2.En`: virtual CPU interface enabled.
const ICH_HCR_EL2_EN: u64 = 1 << 0;
/// `ICH_HCR_EL2.vSGIEOICount`.
const ICH_HCR_EL2_VSGIEOICOUNT: u64 = 1 << 8;
/// `ICH_HCR_EL2.DVIM`.
const ICH_HCR_EL2_DVIM: u64 = 1 << 15;

impl RecRun {
    /// The state REC_CREATE gives a REC: X0..X7 = `gprs`, PC = `pc`, reset PSTATE and `SCTLR_EL1`,
    /// `VMPIDR_EL2` from `mpidr`, nothing pending; the GIC interface enabled as TF-RMM `gic_cpu_state_init`.
    pub(crate) fn new(
        rd: u64,
        rec_idx: u64,
        mpidr: u64,
        pc: u64,
        gprs: &[u64],
        runnable: bool,
    ) -> Self {
        Self {
            rd,
            rec_idx,
            mpidr,
            ctx: RecContext::reset(pc, gprs, vmpidr_of(mpidr)),
            runnable,
            psci_pending: false,
            set_ripas: SetRipas::default(),
            host_call: false,
            last_run: LastRunInfo::default(),
            gic: GicState {
                hcr: ICH_HCR_EL2_EN | ICH_HCR_EL2_VSGIEOICOUNT | ICH_HCR_EL2_DVIM,
                ..GicState::default()
            },
            attest: crate::rsi::attestation::AttestState::default(),
            cpu: None,
            mem_cache: MemCache::default(),
        }
    }
}

impl Clone for RecRun {
    fn clone(&self) -> Self {
        Self {
            rd: self.rd,
            rec_idx: self.rec_idx,
            mpidr: self.mpidr,
            ctx: self.ctx.clone(),
            runnable: self.runnable,
            psci_pending: self.psci_pending,
            set_ripas: self.set_ripas,
            host_call: self.host_call,
            last_run: self.last_run,
            gic: self.gic,
            attest: self.attest.clone(),
            cpu: None,
            mem_cache: self.mem_cache.clone(),
        }
    }
}

impl RecRun {
    /// Take the state out for a run, leaving a shell that keeps the REC's identity (realm, index, MPIDR) for
    /// the checks other RMI calls make on a running REC.
    pub(crate) fn take_for_run(&mut self) -> Self {
        let shell = Self::new(self.rd, self.rec_idx, self.mpidr, 0, &[], false);
        std::mem::replace(self, shell)
    }
}

/// `VMPIDR_EL2` of a REC from its `RmiRecMpidr`: Aff0..Aff2 in place, Aff3 moved from \[31:24\] to \[39:32\],
/// bit 31 (RES1) set (TF-RMM `rec_mpidr_to_mpidr`).
pub(crate) const fn vmpidr_of(mpidr: u64) -> u64 {
    (mpidr & 0xFF_FFFF) | (((mpidr >> 24) & 0xFF) << 32) | (1 << 31)
}
