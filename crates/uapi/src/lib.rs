//! The KVM user ABI for Arm CCA realms, every posted revision, bit-exact, under the kernel's own names.
#![forbid(unsafe_code)]
