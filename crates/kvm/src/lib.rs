//! The host kernel's realm layer: KVM's realm user ABI (v10, v12) over the RMM, with Linux's semantics.
#![forbid(unsafe_code)]
