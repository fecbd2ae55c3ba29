//! PSCI as the RMM implements it for realms (DEN0022 1.1 through TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/rsi/psci.c`): the realm-side handling and the host's `RMI_PSCI_COMPLETE`. Function ids and return
//! codes are [`realm_rmi::psci`]'s, re-exported here.

pub(crate) mod complete;
pub(crate) mod handle;
#[cfg(test)]
mod tests;

pub use realm_rmi::psci::*;
