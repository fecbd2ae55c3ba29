//! **smp**: vCPU 0 brings up every other vCPU with `PSCI CPU_ON` (DEN0022 5.1.4: target MPIDR, entry point,
//! context id), each vCPU prints its `MPIDR_EL1` under a spinlock, counts itself with an exclusive-monitor
//! increment, and powers itself off with `PSCI CPU_OFF`; the last one to count powers the realm off
//! (`PSCI SYSTEM_OFF`).
//!
//! What it exercises: the RMM's PSCI handling (CPU_ON exits to the host, completed with RMI_PSCI_COMPLETE by
//! the kernel's in-kernel PSCI), RECs running on their own host threads, and LDAXR/STXR/STLR on memory the
//! RECs share (the RMM's atomic compare-exchange): a lost increment would leave the realm running.
//!
//! Layout (3 granules, MMU off): code and strings at +0; the `RsiRealmConfig` buffer at +0x1000; shared
//! words at +0x2000: the UART's alias address (+0, written by vCPU 0 for the others), the print lock (+8),
//! the count of vCPUs that have reported (+16). CPU_ON passes the load address as the context id, so a
//! secondary finds everything from X0.
//!
//! Output: `smp: vCPU 0 powers on N-1 more`, then one `MPIDR 0x…` line per vCPU in the order they took the
//! lock (MPIDR_EL1 with its RES1 bit 31; Aff0 = index\[3:0\], Aff1 = index\[11:4\], as the kernel assigns
//! them), then `smp: all N vCPUs reported` from the last.

use super::Target;
use super::asm::{self as enc, Program, cond};
use super::runtime::{
    PSCI_CPU_OFF, PSCI_CPU_ON_64, print, print_hex, prologue, smc, subroutines, system_off,
};

/// The payload's size.
pub const SMP_SIZE: usize = 3 * 0x1000;
/// Offset of the shared words.
const SHARED: u32 = 0x2000;
/// `MPIDR_EL1`.
const MPIDR_EL1: u32 = enc::sysreg(3, 0, 0, 0, 5);

/// The MPIDR affinity the kernel gives vCPU `index` (Aff0 = index\[3:0\], Aff1 = index\[11:4\]).
pub fn mpidr_of(index: u32) -> u64 {
    u64::from(index & 0xF) | (u64::from(index >> 4) << 8)
}

/// Take the spinlock at X1 (clobbers X2, X3), waiting in WFE while it is held (an untrapped WFE gives the
/// host its thread back: with hundreds of vCPUs on a few host CPUs, the holder gets to run).
fn lock(p: &mut Program) {
    p.label("lock.spin");
    p.emit(enc::ldaxr_x(2, 1)).cbz_x(2, "lock.try");
    p.emit(enc::WFE).b("lock.spin");
    p.label("lock.try");
    p.emit_all(&[enc::movz_x(2, 1, 0), enc::stxr_x(3, 2, 1)]);
    p.cbnz_x(3, "lock.spin");
}

/// The `smp` payload for `target` (its vCPU count decides how many CPU_ONs and when the count is complete).
pub fn smp(target: &Target) -> Vec<u8> {
    let n = target.vcpus.clamp(1, 4095);
    let mut p = Program::new();
    p.label_at("config", 0x1000);
    p.label_at("shared", usize::try_from(SHARED).unwrap_or(0));

    // vCPU 0.
    prologue(&mut p, target.uart_base);
    p.adr(7, "shared").emit(enc::str_x_off(20, 7, 0));
    print(&mut p, &format!("smp: vCPU 0 powers on {} more\n", n - 1));
    p.emit(enc::movz_x(22, 1, 0)); // next vCPU index
    p.label("on.loop");
    p.emit(enc::cmp_x(22, n)).b_cond(cond::HS, "common");
    p.emit_all(&[
        enc::and_x_0xf(1, 22),
        enc::movz_x(3, 4, 0),
        enc::lsrv_x(2, 22, 3),
        enc::movz_x(3, 8, 0),
        enc::lslv_x(2, 2, 3),
        enc::orr_x(1, 1, 2), // target MPIDR
    ]);
    p.adr(2, "secondary").emit(enc::mov_x(3, 19));
    smc(&mut p, PSCI_CPU_ON_64);
    p.emit(enc::mov_x(23, 0)).cbz_x(23, "on.next");
    print(&mut p, "smp: CPU_ON failed for vCPU ");
    print_hex(&mut p, 22);
    print(&mut p, ", status ");
    print_hex(&mut p, 23);
    print(&mut p, "\n");
    p.label("on.next").emit(enc::add_x(22, 22, 1)).b("on.loop");

    // Secondaries enter here with X0 = the context id (the load address).
    p.label("secondary");
    p.emit_all(&[
        enc::mov_x(19, 0),
        enc::add_x_lsl12(7, 19, SHARED >> 12),
        enc::ldr_x_off(20, 7, 0),
    ]);

    p.label("common");
    p.emit(enc::mrs(22, MPIDR_EL1));
    p.adr(1, "shared").emit(enc::add_x(1, 1, 8));
    lock(&mut p);
    print(&mut p, "MPIDR ");
    print_hex(&mut p, 22);
    print(&mut p, "\n");
    p.adr(1, "shared")
        .emit_all(&[enc::add_x(1, 1, 8), enc::stlr_x(31, 1)]);
    // count += 1 (exclusive pair), then CPU_OFF unless this vCPU completed the count.
    p.adr(1, "shared").emit(enc::add_x(1, 1, 16));
    p.label("count.retry");
    p.emit_all(&[
        enc::ldaxr_x(2, 1),
        enc::add_x(2, 2, 1),
        enc::stxr_x(3, 2, 1),
    ]);
    p.cbnz_x(3, "count.retry");
    p.emit(enc::cmp_x(2, n)).b_cond(cond::EQ, "last");
    smc(&mut p, PSCI_CPU_OFF);
    p.emit(enc::B_SELF);

    p.label("last");
    print(&mut p, &format!("smp: all {n} vCPUs reported\n"));
    system_off(&mut p);
    subroutines(&mut p);
    p.finish(SMP_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpidr_affinity_as_the_kernel_assigns_it() {
        assert_eq!(mpidr_of(0), 0);
        assert_eq!(mpidr_of(15), 0xF);
        assert_eq!(mpidr_of(16), 0x100);
        assert_eq!(mpidr_of(255), 0xF0F);
    }
}
