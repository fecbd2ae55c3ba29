//! realm-a64 behaviour tests: hand-encoded programs (see `asm`) run on an `A64Cpu` over `FlatMemory`, each
//! ending in `SMC #0` (or an exception), with hand-checked results.

#[cfg(test)]
mod alu;
#[cfg(test)]
mod asm;
#[cfg(test)]
mod exceptions;
#[cfg(test)]
mod gic;
#[cfg(test)]
mod harness;
#[cfg(test)]
mod ldst;
#[cfg(test)]
mod mmu;
#[cfg(test)]
mod muldiv;
#[cfg(test)]
mod paged;
#[cfg(test)]
mod programs;
#[cfg(test)]
mod props;
#[cfg(test)]
mod system;
