//! The Realm Execution Context (REC) and everything that enters and leaves it.
//!
//! - this module: what RMI_REC_CREATE records about a vCPU ([`Rec`]);
//! - [`state`]: the REC's run state — its CPU context and model, what the last exit left pending;
//! - [`access`], [`view`]: the realm as a running REC's handlers see it (IPA walks, RIPAS, measurements,
//!   memory), and the view over the RMM state that implements it;
//! - [`realm_mem`]: realm memory through stage 2 as the CPU model reaches it, with each REC's translation
//!   cache, and the generation that tells CPU models when what they cached went stale;
//! - [`call`]: what an RSI/PSCI handler asks the run loop to do;
//! - [`run`]: RMI_REC_ENTER's run — completions on entry, the run loop, exit handling, the realm SMC dispatch
//!   and exception injection (TF-RMM `runtime/core/{run,exit,inject_exp}.c`).
//!
//! Dependencies point one way: `rsi` and `psci` use `state`, `access` and `call`; `run` uses them all.

pub(crate) mod access;
pub(crate) mod call;
#[cfg(test)]
pub(crate) mod fake;
pub(crate) mod realm_mem;
pub(crate) mod run;
pub(crate) mod state;
pub(crate) mod view;
#[cfg(test)]
mod view_tests;

use crate::abi::REC_EXIT_NR_GPRS;

/// Initial PSTATE of a REC: EL1h, AArch64, DAIF masked (TF-RMM `init_rec_regs`).
pub(crate) const REC_INITIAL_PSTATE: u64 = 0x5 | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9);

/// A REC (TF-RMM `struct rec`, the parts REC_CREATE sets).
#[derive(Clone, Debug)]
pub(crate) struct Rec {
    /// PA of the owning RD.
    pub(crate) rd: u64,
    /// Index of this REC in its realm.
    pub(crate) rec_idx: u64,
    /// `mpidr` as given in `RmiRecParams` (RmiRecMpidr format).
    pub(crate) mpidr: u64,
    /// x0..x30.
    pub(crate) gprs: [u64; REC_EXIT_NR_GPRS],
    /// Program counter.
    pub(crate) pc: u64,
    /// PSTATE (SPSR_EL2 layout).
    pub(crate) pstate: u64,
    /// Whether the REC may run.
    pub(crate) runnable: bool,
    /// PAs of the auxiliary granules.
    pub(crate) aux: Vec<u64>,
    /// Execution state (registers, pending requests, CPU model), made from the fields above on first use by
    /// RMI_REC_ENTER or PSCI; those fields keep the REC_CREATE values.
    pub(crate) run: Option<state::RecRun>,
}

/// Whether an `RmiRecMpidr` has only Aff0[3:0], Aff1[15:8], Aff2[23:16], Aff3[31:24] set
/// (TF-RMM `rec_mpidr_is_valid`).
pub(crate) fn rec_mpidr_is_valid(mpidr: u64) -> bool {
    mpidr & !(0xf | 0xff00 | 0xff_0000 | 0xff00_0000) == 0
}

/// The REC index an `RmiRecMpidr` names: Aff0 | Aff1 << 4 | Aff2 << 12 | Aff3 << 20
/// (TF-RMM `rec_mpidr_to_idx`).
pub(crate) fn rec_mpidr_to_idx(mpidr: u64) -> u64 {
    (mpidr & 0xf)
        | (((mpidr >> 8) & 0xff) << 4)
        | (((mpidr >> 16) & 0xff) << 12)
        | (((mpidr >> 24) & 0xff) << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpidr_index() {
        assert_eq!(rec_mpidr_to_idx(0x3), 3);
        assert_eq!(rec_mpidr_to_idx(0x0100), 16);
        assert_eq!(rec_mpidr_to_idx(0x0100_0000), 1 << 20);
        assert!(rec_mpidr_is_valid(0x0102_0304 & !0xf0));
        assert!(!rec_mpidr_is_valid(0x10));
        assert!(!rec_mpidr_is_valid(1 << 32));
    }
}
