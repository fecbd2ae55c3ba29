//! The KVM user ABI for Arm CCA realms, every posted revision, bit-exact, under the kernel's own names.
//!
//! One module per revision of Steven Price's "arm64: Support for Arm CCA in KVM" series — [`v10`], [`v12`],
//! [`v13`], [`v14`] — each exporting every constant, struct and ioctl request number that revision defines
//! (items unchanged from an earlier revision are re-exported, so the types are shared). [`arm64`] holds the
//! generic arm64 KVM pieces a realm VMM needs (vCPU init, one-reg ids, `kvm_run`, memslots, guest_memfd);
//! [`ioctl`] the `_IOC` encoding every request number is computed with; [`AbiRevision`] and [`detect`] say
//! which revision a host speaks. [`catalog()`] lists every item of every revision as data: the C compile test,
//! `realm abi` and the docs are driven from it.
//!
//! Layouts are asserted at compile time (`size_of`, every `offset_of!`) and checked against the C compiler
//! compiling each revision's header text (`tests/c_layout.rs`, fixtures in `tests/c/`).
//!
//! Not modelled: the kernel's behaviour (see `realm-kvm`), and revisions other than v10/v12/v13/v14 (v11 was
//! never a distinct uAPI target; v15 is only known second-hand).
#![forbid(unsafe_code)]

pub mod arm64;
pub mod catalog;
pub mod ioctl;
mod revision;
pub mod v10;
pub mod v12;
pub mod v13;
pub mod v14;

pub use catalog::catalog;
pub use revision::{
    AbiRevision, DetectError, PROBE_WINDOW, UnknownRevision, detect, detect_with_override,
};
pub use zerocopy;
