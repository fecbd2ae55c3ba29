//! `realm-a64`: an AArch64 processor model — an interpreter of the A64 instruction set at EL0 and EL1 — that
//! runs a realm's code behind the `realm-cpu` seam ([`realm_cpu::RealmCpu`]).
//!
//! What it models (Arm ARM DDI 0487 is the specification; section names in each module):
//! - the A64 base instruction set (data processing, branches, loads/stores in every addressing mode,
//!   acquire/release, exclusives with a monitor committed through [`realm_cpu::RealmMemory::compare_exchange`]);
//! - synchronous exceptions taken to EL1 (`AArch64.TakeException`) and ERET (`AArch64.ExceptionReturn`);
//! - the system instructions and ~60 system registers a Linux kernel uses, with ID registers from
//!   [`CpuConfig`] advertising only what is implemented;
//! - the stage-1 MMU of the EL1&0 regime ([`mmu`]: 4 KiB granule, TTBR0/TTBR1, ASIDs, a TLB and TLBI, AT),
//!   table walks reading through stage 2;
//! - the GICv3 virtual CPU interface over the REC's list registers (`gic`: ICC_* → ICV_*, priorities,
//!   preemption, EOI modes, maintenance), virtual IRQ/FIQ exceptions to EL1, WFI wake-up, and the EL1
//!   timers' interrupts to EL2 (masked by the RMM's `CNTHCTL_EL2.CNTVMASK/CNTPMASK`);
//! - exits to EL2 as the seam describes them: SMC, HVC, stage-2 aborts with their syndrome (S1PTW for
//!   walks), trapped WFI/WFE, trapped `ICC_SGI0R/SGI1R/ASGI1R_EL1` writes (and `ICC_DIR_EL1` under
//!   `ICH_HCR_EL2.TDIR`), and [`realm_cpu::RealmExit::Irq`] for a physical interrupt (maintenance, timer),
//!   when kicked or out of budget ([`realm_cpu::RunControl`]).
//!
//! Decoded instructions are cached per 4 KiB IPA page, each paired at decode time with the handler that runs
//! it (specialised on the instruction's constant fields for the hot forms), and dropped on stores to the
//! page, IC invalidation and changes of [`realm_cpu::RealmMemory::generation`] (so self-modifying code
//! works). The run loop executes blocks: straight-line runs of a page's handlers with the PC in a local,
//! chained across taken branches within the page, ended by a branch out of the page, an exception, or any
//! instruction that may change the translation, the decoded code or PSTATE (system instructions, stores
//! that hit decoded code). Data accesses go through a direct-mapped micro-TLB of page translations
//! before the MMU's TLB and table walks.
//!
//! Not modelled (yet): FP/AdvSIMD, SVE, LSE, PAuth, BTI, MTE, PAN (all reported absent), AArch32, debug
//! exceptions (breakpoints, watchpoints, single step), big-endian data accesses (`SCTLR_EL1.EE`/`E0E` are ignored).
//!
//! Tier 2: blocks of a decoded page entered often ([`JitConfig`]) are compiled with Cranelift into host code
//! that keeps the interpreter's state and exits exactly (see `jit`); the interpreter runs everything else and
//! every instruction a compiled block declines. `REALMKIT_JIT=0` (or [`JitConfig::OFF`]) leaves the
//! interpreter alone.
//!
//! Speed: [`bench::sha256_workload`] is the reference workload (`realm bench cpu`).

// Unsafe code lives in one module, `jit::native` (calling compiled blocks), which says why.
#![deny(unsafe_code)]

pub mod asm;
pub mod bench;
mod cache;
mod config;
mod cpu;
mod decode;
mod exception;
mod exec;
mod gic;
mod jit;
mod memory;
pub mod mmu;
mod sysreg;
mod translate;

pub use config::CpuConfig;
pub use cpu::{A64Cpu, A64CpuFactory};
pub use jit::{DEFAULT_THRESHOLD as JIT_DEFAULT_THRESHOLD, JitConfig};
