//! **ipi**: vCPUs exchange software-generated interrupts. vCPU 0 enables the distributor, its SGIs and its
//! CPU interface, powers the others on (`PSCI CPU_ON`, context id = the shared words), and once every one
//! has enabled its own SGIs sends each in turn SGI 1 (`ICC_SGI1R_EL1`: TargetList bit Aff0, INTID \[27:24\],
//! DDI 0487 ICC_SGI1R_EL1) and waits for its answer, SGI 2 back to vCPU 0; a secondary
//! answers from its handler's flag and powers itself off. With one vCPU, vCPU 0 sends SGI 1 to itself.
//! Every interrupt is acknowledged (`ICC_IAR1_EL1`) and ended (`ICC_EOIR1_EL1`); any other INTID is counted.
//!
//! What it exercises: `ICC_SGI1R_EL1` writes trapped to EL2 (RMI_EXIT_SYNC, EC 0x18, the value in
//! `exit.gprs[0]`), the kernel layer's SGI dispatch with wake-ups of a vCPU sleeping in a trapped WFI, SGIs
//! in the target REC's list registers, and per-vCPU redistributors (RD_base 128 KiB apart).
//!
//! Up to 16 vCPUs take part (one Aff0 TargetList, Aff1 0); any more stay powered off. Output:
//! `ipi: N vCPUs, SGI 1 out and SGI 2 back`, one `ipi: vCPU k answered` per secondary in order (or
//! `ipi: vCPU 0 took its own SGI 1`), then `ipi: done, other INTIDs 0`.

use super::Target;
use super::asm::{self as enc, Program, cond};
use super::gic::{self, ICC_SGI1R_EL1, NE, print_dec};
use super::runtime::{PSCI_CPU_OFF, PSCI_CPU_ON_64, print, prologue, smc, subroutines, system_off};
use enc::reg::ICC_IAR1_EL1;

/// The payload's size: vectors and code (3 granules), the RSI config granule, a data granule.
pub const IPI_SIZE: usize = 5 * 0x1000;
/// The most vCPUs that take part.
pub const IPI_MAX_VCPUS: u32 = 16;
const CONFIG: usize = 0x3000;
const DATA: usize = 0x4000;
/// The shared words in the data granule: the UART through the alias (+0), the alias bit (+8), the count of
/// secondaries ready (+16).
const SHARED: usize = DATA + 0x100;
/// `MPIDR_EL1`.
const MPIDR_EL1: u32 = enc::sysreg(3, 0, 0, 0, 5);
/// The SGI vCPU 0 sends, and the one that answers.
const SGI_PING: u32 = 1;
const SGI_PONG: u32 = 2;

/// `ICC_SGI1R_EL1` for SGI `intid` to the vCPU with Aff0 `aff0` (< 16), Aff1..3 and RS 0.
fn sgi1r(intid: u32, aff0: u32) -> u64 {
    (u64::from(intid) << 24) | (1 << aff0)
}

/// Wait until X`flag` ≠ 0 with IRQs masked while testing and sleeping, unmasked between two instructions
/// (a pending interrupt wakes WFI even when PSTATE.I masks it).
fn wait_flag(p: &mut Program, flag: u32, tag: &str) {
    let (top, done) = (format!("{tag}.wait"), format!("{tag}.done"));
    p.label(&top).cbnz_x(flag, &done);
    p.emit_all(&[enc::WFI, enc::msr_daifclr(2), enc::ISB, gic::msr_daifset(2)]);
    p.b(&top);
    p.label(&done);
}

/// The ipi payload for `target`.
pub fn ipi(target: &Target) -> Vec<u8> {
    let n = target.vcpus.clamp(1, IPI_MAX_VCPUS);
    let mut p = Program::new();
    p.label_at("config", CONFIG)
        .label_at("decbuf", DATA)
        .label_at("shared", SHARED);
    gic::vectors(&mut p);
    prologue(&mut p, target.uart_base);
    gic::alias_bit(&mut p, target.uart_base);
    p.adr(7, "shared")
        .emit_all(&[enc::str_x_off(20, 7, 0), enc::str_x_off(21, 7, 8)]);
    gic::distributor(&mut p, target.gic_dist, None);
    gic::redistributor0(&mut p, 22, target.gic_redist);
    gic::enable_private(&mut p, 22, 0xffff);
    gic::cpu_interface(&mut p);
    for r in [15, 27, 28] {
        p.emit(enc::movz_x(r, 0, 0));
    }
    print(
        &mut p,
        &format!("ipi: {n} vCPUs, SGI {SGI_PING} out and SGI {SGI_PONG} back\n"),
    );
    for k in 1..n {
        p.mov_imm(1, u64::from(k));
        p.adr(2, "secondary").adr(3, "shared");
        smc(&mut p, PSCI_CPU_ON_64);
    }
    // Every secondary counts itself ready once its SGIs are enabled.
    p.adr(7, "shared");
    p.label("ready")
        .emit_all(&[enc::ldr_x_off(2, 7, 16), enc::cmp_x(2, n - 1)]);
    p.b_cond(cond::EQ, "go");
    p.emit(enc::WFE).b("ready");
    p.label("go");
    for k in 1..n {
        p.emit(enc::movz_x(28, 0, 0));
        p.mov_imm(0, sgi1r(SGI_PING, k));
        p.emit(enc::msr(ICC_SGI1R_EL1, 0));
        wait_flag(&mut p, 28, &format!("pong{k}"));
        print(&mut p, &format!("ipi: vCPU {k} answered\n"));
    }
    if n == 1 {
        p.mov_imm(0, sgi1r(SGI_PING, 0));
        p.emit(enc::msr(ICC_SGI1R_EL1, 0));
        wait_flag(&mut p, 27, "self");
        print(&mut p, "ipi: vCPU 0 took its own SGI 1\n");
    }
    print(&mut p, "ipi: done, other INTIDs ");
    print_dec(&mut p, 15);
    print(&mut p, "\n");
    system_off(&mut p);

    // Secondaries: X0 = the shared words.
    p.label("secondary");
    p.emit_all(&[
        enc::mov_x(7, 0),
        enc::ldr_x_off(20, 7, 0),
        enc::ldr_x_off(21, 7, 8),
        enc::movz_x(27, 0, 0),
        enc::movz_x(15, 0, 0),
    ]);
    gic::cpu_interface(&mut p);
    // This vCPU's redistributor: RD_base of redistributor 0 + Aff0 × 128 KiB.
    p.emit_all(&[enc::mrs(22, MPIDR_EL1), enc::and_x_0xf(23, 22)]);
    gic::redistributor0(&mut p, 24, target.gic_redist);
    p.emit_all(&[
        enc::movz_x(6, 17, 0),
        enc::lslv_x(5, 23, 6),
        enc::add_x_reg(24, 24, 5),
    ]);
    gic::enable_private(&mut p, 24, 0xffff);
    p.emit(enc::add_x(1, 7, 16));
    p.label("count.retry").emit_all(&[
        enc::ldaxr_x(2, 1),
        enc::add_x(2, 2, 1),
        enc::stxr_x(3, 2, 1),
    ]);
    p.cbnz_x(3, "count.retry");
    wait_flag(&mut p, 27, "ping");
    p.mov_imm(0, sgi1r(SGI_PONG, 0));
    p.emit(enc::msr(ICC_SGI1R_EL1, 0));
    smc(&mut p, PSCI_CPU_OFF);
    p.emit(enc::B_SELF);

    subroutines(&mut p);
    gic::dec_subroutine(&mut p);
    handler(&mut p);
    assert!(p.here() < CONFIG, "ipi code overlaps its data");
    p.finish(IPI_SIZE)
}

/// The IRQ handler (X9..X15): SGI 1 sets X27, SGI 2 sets X28, another INTID counts in X15; the spurious
/// 1023 is not EOI'd.
fn handler(p: &mut Program) {
    p.label("irq");
    p.emit_all(&[enc::mrs(9, ICC_IAR1_EL1), enc::cmp_x(9, SGI_PING)]);
    p.b_cond(NE, "irq.pong");
    p.emit(enc::movz_x(27, 1, 0)).b("irq.eoi");
    p.label("irq.pong").emit(enc::cmp_x(9, SGI_PONG));
    p.b_cond(NE, "irq.other");
    p.emit(enc::movz_x(28, 1, 0)).b("irq.eoi");
    gic::handler_end(p);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgi1r_values() {
        // SGI 1 to Aff0 3: INTID in [27:24], TargetList bit 3.
        assert_eq!(sgi1r(1, 3), 0x0100_0008);
        assert_eq!(sgi1r(2, 0), 0x0200_0001);
    }

    #[test]
    fn the_data_granules_are_free() {
        let code = ipi(&Target::kvmtool(4));
        assert_eq!(code.len(), IPI_SIZE);
        assert!(code[CONFIG..].iter().all(|b| *b == 0));
    }
}
