//! A realm VMM library: configuration, arm64 boot images, platform layouts (kvmtool, QEMU virt), the device
//! tree, the realm-construction plan, and the backends that carry it out.
//!
//! A [`config::RealmConfig`] is placed by [`layout::place`] into a [`layout::MemoryMap`]; [`plan::Plan`] turns
//! that into the ordered steps the kernel ABI revision implies (v10 or v12). Both backends execute the plan through
//! one ioctl-level trait: the simulated backend (realm-kvm + realm-rmm in process) and the host `/dev/kvm` backend.
//!
//! The simulated backend's vCPUs run no code by default; with [`backend::CpuChoice::A64`] they execute realm code
//! on `realm-a64` ([`payload`] has small programs for it). Not done here: virtio devices.
#![deny(unsafe_code)]

pub mod backend;
pub mod bench;
pub mod bench_irq;
pub mod bench_linux;
pub mod bench_run;
pub mod build;
pub mod config;
pub mod demo;
pub mod exits;
pub mod fdt;
pub mod image;
pub mod initramfs;
pub mod launch;
pub mod layout;
pub mod limits;
pub mod linux;
pub mod measure;
mod os;
pub mod payload;
pub mod plan;
pub mod prepare;
pub mod run_stats;
pub mod size;
