//! The RSI: one handler per command family (DEN0137 1.0-rel0 B5), as TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/rsi/` has them. The dispatch of a realm's SMC to these handlers, PSCI and SMCCC is the REC run
//! path's ([`crate::rec::run`]); the handlers reach the realm only through [`crate::rec::access::RealmAccess`]
//! and report through [`crate::rec::call::RsiResult`].

pub(crate) mod attestation;
#[cfg(test)]
mod attestation_tests;
pub(crate) mod config;
pub(crate) mod host_call;
pub(crate) mod ipa_state;
pub(crate) mod measurement;
pub(crate) mod ripas_change;
#[cfg(test)]
mod tests;

pub(crate) use host_call::{HostCallCompletion, complete_host_call};
pub(crate) use ipa_state::complete_set_ripas;
