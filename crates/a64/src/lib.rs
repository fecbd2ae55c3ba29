//! An AArch64 (A64) processor model for realm EL1/EL0 code, following the Arm ARM (DDI 0487).
//!
//! This minimal root exists on the `mmu` branch only so that the stage-1 MMU compiles on its own; the
//! interpreter's branch provides the real crate root.
#![forbid(unsafe_code)]

pub mod mmu;
