//! Arm CCA attestation for realmkit: the CCA attestation token of DEN0137 1.0-rel0 A7 (a CBOR tag 399
//! collection of a platform token and a realm token, each a COSE_Sign1), the simulated platform that signs
//! it, and the verifier side (endorsements, reference values, appraisal).
//!
//! Token shape and claim order follow TF-RMM `rmm-spec-v1.0-rel0` `lib/attestation/src/attestation_token.c`;
//! platform claims follow the CCA platform token profile as Veraison's `ccatoken` reads it. Two encodings are
//! produced ([`TokenFormat`]): the 1.0-rel0 one (realm profile claim, RAK as a COSE_Key) and the earlier draft
//! one still read by the `ccatoken` 0.1.0 crate (no realm profile, RAK as a raw SEC1 point); both verify.
//!
//! All CBOR goes through `ciborium` and all COSE through `coset`; decoding bounds input size and nesting and
//! never panics on hostile input. Not modelled: the v2.0 (tag 907 CMW) collection, ES512 realm signatures,
//! certificate chains for the CPAK.
#![forbid(unsafe_code)]

pub mod cbor;
pub mod claims;
pub mod corim;
pub mod cose;
pub mod endorsements;
pub mod keys;
pub mod platform;
pub mod refvalues;
pub mod token;
pub mod verify;

pub use claims::{PlatformClaims, RealmClaims, SwComponent};
pub use endorsements::Endorsements;
pub use keys::{PublicKey, derive_cpak, derive_rak};
pub use platform::{DEFAULT_PLATFORM_SEED, SimulatedPlatform};
pub use refvalues::RealmReferenceValues;
pub use token::{CcaToken, DecodeError, RealmHashAlgorithm, RealmTokenInput, TokenFormat};
pub use verify::{Check, Outcome, Report, VerifyInputs, verify};
