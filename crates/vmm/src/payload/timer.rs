//! **timer**: the EL1 virtual timer (CNTV, DDI 0487 D12.8) taken as an interrupt through the GIC. The
//! payload enables PPI 27 in its redistributor, sets up the CPU interface, arms `CNTV_CVAL_EL0` one period
//! after `CNTVCT_EL0` and waits in WFI; each interrupt is acknowledged (`ICC_IAR1_EL1`), the compare value
//! moved one period on (so the period does not drift), the INTID and the lateness checked, and ended
//! (`ICC_EOIR1_EL1`); after the last one the timer is disabled. It then prints what it measured against the
//! counter: the time from arming to the last interrupt, the mean time from each compare value to the end of
//! its handler's EOI (the interrupt round trip), and how many interrupts came early or had another INTID
//! (both must be 0).
//!
//! What it exercises: the RMM's timer hand-over (`check_pending_timers`, the exit's `cntv_ctl`/`cntv_cval`),
//! the kernel layer's timer PPI level from each exit and its WFI sleep until the compare value (the REC
//! enters with TRAP_WFI), level interrupts in the list registers with EOI maintenance, and the realm's
//! virtual CPU interface.
//!
//! Output (the numbers in decimal; the measured ones vary from run to run):
//! `timer: CNTFRQ F Hz, period P ticks, N interrupts`, `timer: N interrupts on INTID 27 in T us (T/N us per
//! period)`, `timer: fire to EOI M us mean`, `timer: early 0, other INTIDs 0`.
//!
//! [`timer_samples`] builds the variant `realm bench` runs: before arming the timer it also times `n`
//! reads of `GICD_CTLR` (each a REC exit emulated in the kernel layer and a re-entry: the plain exit round
//! trip the interrupt's is compared with), keeps every sample, and prints them after the summary, one
//! `timer: irq T` and one `timer: exit T` line each (T in counter ticks).

use super::Target;
use super::asm::{self as enc, Program, cond};
use super::gic::{self, CNTFRQ_EL0, NE, cmp_x_reg, print_dec, sub_x_reg, udiv_x};
use super::runtime::{print, prologue, subroutines, system_off};
use enc::reg::{CNTV_CTL_EL0, CNTV_CVAL_EL0, CNTVCT_EL0, ICC_EOIR1_EL1, ICC_IAR1_EL1};

/// The payload's size: vectors and code (3 granules), the RSI config granule, a data granule, a samples
/// granule.
pub const TIMER_SIZE: usize = 6 * 0x1000;
/// The most samples [`timer_samples`] keeps of each kind.
pub const MAX_SAMPLES: u32 = 256;
/// Interrupts the registry's `timer` takes.
pub const TIMER_INTERRUPTS: u32 = 5;
/// Its period in microseconds.
pub const TIMER_PERIOD_US: u32 = 10_000;
/// The virtual timer's PPI.
const PPI_VTIMER: u32 = 27;
const CONFIG: usize = 0x3000;
const DATA: usize = 0x4000;
/// The interrupt round-trip samples, then the exit round-trip samples (8 bytes each).
const IRQ_SAMPLES: usize = 0x5000;
const EXIT_SAMPLES: usize = 0x5800;

/// The registry's builder: [`TIMER_INTERRUPTS`] interrupts [`TIMER_PERIOD_US`] apart.
pub(super) fn build(t: &Target) -> Vec<u8> {
    timer(t, TIMER_INTERRUPTS, TIMER_PERIOD_US)
}

/// The timer payload taking `n` (1..4096) interrupts `period_us` microseconds apart.
pub fn timer(target: &Target, n: u32, period_us: u32) -> Vec<u8> {
    build_timer(target, n.clamp(1, 4095), period_us, false)
}

/// The timer payload that also times `n` (1..=[`MAX_SAMPLES`]) kernel-emulated exits and prints every
/// sample (see the module documentation).
pub fn timer_samples(target: &Target, n: u32, period_us: u32) -> Vec<u8> {
    build_timer(target, n.clamp(1, MAX_SAMPLES), period_us, true)
}

fn build_timer(target: &Target, n: u32, period_us: u32, samples: bool) -> Vec<u8> {
    let mut p = Program::new();
    p.label_at("config", CONFIG)
        .label_at("decbuf", DATA)
        .label_at("irqsamples", IRQ_SAMPLES)
        .label_at("exitsamples", EXIT_SAMPLES);
    gic::vectors(&mut p);
    prologue(&mut p, target.uart_base);
    gic::alias_bit(&mut p, target.uart_base);
    gic::distributor(&mut p, target.gic_dist, None);
    gic::redistributor0(&mut p, 22, target.gic_redist);
    gic::enable_private(&mut p, 22, 1 << PPI_VTIMER);
    gic::cpu_interface(&mut p);

    // X24 = CNTFRQ, X25 = the period in ticks.
    p.emit(enc::mrs(24, CNTFRQ_EL0));
    p.mov_imm(5, u64::from(period_us));
    p.emit(enc::mul_x(25, 24, 5));
    p.mov_imm(5, 1_000_000);
    p.emit(udiv_x(25, 25, 5));
    print(&mut p, "timer: CNTFRQ ");
    print_dec(&mut p, 24);
    print(&mut p, " Hz, period ");
    print_dec(&mut p, 25);
    print(&mut p, &format!(" ticks, {n} interrupts\n"));
    if samples {
        time_exits(&mut p, target.gic_dist, n);
        p.adr(16, "irqsamples");
    }

    // Arm: X26 = the counter at arming; CVAL = X26 + period; CTL.ENABLE.
    for r in [13, 14, 15, 27, 28] {
        p.emit(enc::movz_x(r, 0, 0));
    }
    p.emit_all(&[
        enc::mrs(26, CNTVCT_EL0),
        enc::add_x_reg(11, 26, 25),
        enc::msr(CNTV_CVAL_EL0, 11),
        enc::movz_x(4, 1, 0),
        enc::msr(CNTV_CTL_EL0, 4),
        enc::ISB,
    ]);
    p.label("wait").emit(enc::cmp_x(27, n));
    p.b_cond(cond::HS, "measured");
    p.emit_all(&[enc::WFI, enc::msr_daifclr(2), enc::ISB, gic::msr_daifset(2)]);
    p.b("wait");

    // X22 = microseconds from arming to the last interrupt; X23 = the mean fire-to-EOI in microseconds.
    p.label("measured");
    p.emit(sub_x_reg(22, 28, 26));
    micros(&mut p, 22);
    p.mov_imm(5, u64::from(n));
    p.emit(udiv_x(23, 13, 5));
    micros(&mut p, 23);
    print(&mut p, &format!("timer: {n} interrupts on INTID 27 in "));
    print_dec(&mut p, 22);
    print(&mut p, " us (");
    p.mov_imm(5, u64::from(n));
    p.emit(udiv_x(22, 22, 5));
    print_dec(&mut p, 22);
    print(&mut p, " us per period)\ntimer: fire to EOI ");
    print_dec(&mut p, 23);
    print(&mut p, " us mean\ntimer: early ");
    print_dec(&mut p, 14);
    print(&mut p, ", other INTIDs ");
    print_dec(&mut p, 15);
    print(&mut p, "\n");
    if samples {
        print_samples(&mut p, "irqsamples", "timer: irq ", n);
        print_samples(&mut p, "exitsamples", "timer: exit ", n);
    }
    system_off(&mut p);
    subroutines(&mut p);
    gic::dec_subroutine(&mut p);
    handler(&mut p, n, samples);
    assert!(p.here() < CONFIG, "timer code overlaps its data");
    p.finish(TIMER_SIZE)
}

/// Time `n` 32-bit reads of `GICD_CTLR` with the counter, each sample into `exitsamples`. Clobbers X3, X4,
/// X7, X8, X17.
fn time_exits(p: &mut Program, gicd: u64, n: u32) {
    gic::alias(p, gicd);
    p.adr(17, "exitsamples").mov_imm(7, u64::from(n));
    p.label("exits.loop").emit_all(&[
        enc::mrs(8, CNTVCT_EL0),
        enc::ldr_w(3, 4, 0),
        enc::mrs(3, CNTVCT_EL0),
        sub_x_reg(3, 3, 8),
        enc::str_x_post(3, 17, 8),
        enc::sub_x(7, 7, 1),
    ]);
    p.cbnz_x(7, "exits.loop");
}

/// Print the `n` samples at `label`, one `prefix` line each. Clobbers X0..X6, X22, X23.
fn print_samples(p: &mut Program, label: &str, prefix: &str, n: u32) {
    let top = format!("{label}.print");
    p.adr(22, label).mov_imm(23, u64::from(n));
    p.label(&top);
    print(p, prefix);
    p.emit(enc::ldr_x_off(0, 22, 0)).bl("dec");
    print(p, "\n");
    p.emit_all(&[enc::add_x(22, 22, 8), enc::sub_x(23, 23, 1)]);
    p.cbnz_x(23, &top);
}

/// X`reg` (ticks) = X`reg` × 1 000 000 / CNTFRQ (X24). Clobbers X5.
fn micros(p: &mut Program, reg: u32) {
    p.mov_imm(5, 1_000_000);
    p.emit_all(&[enc::mul_x(reg, reg, 5), udiv_x(reg, reg, 24)]);
}

/// The IRQ handler (X9..X15): acknowledge; for INTID 27 count it, note lateness, move CVAL one period on
/// (disable the timer after the `n`-th), EOI, and add the time from the compare value to just after the EOI
/// to X13 (and, with `samples`, to the next slot at X16); another INTID counts in X15 (the spurious 1023
/// is not EOI'd).
fn handler(p: &mut Program, n: u32, samples: bool) {
    p.label("irq");
    p.emit_all(&[enc::mrs(9, ICC_IAR1_EL1), enc::cmp_x(9, PPI_VTIMER)]);
    p.b_cond(NE, "irq.other");
    p.emit_all(&[
        enc::mrs(10, CNTVCT_EL0),
        enc::mrs(11, CNTV_CVAL_EL0),
        enc::mov_x(12, 11),
        cmp_x_reg(10, 11),
    ]);
    p.b_cond(cond::HS, "irq.ontime");
    p.emit(enc::add_x(14, 14, 1));
    p.label("irq.ontime");
    p.emit_all(&[
        enc::add_x_reg(11, 11, 25),
        enc::msr(CNTV_CVAL_EL0, 11),
        enc::add_x(27, 27, 1),
        enc::mov_x(28, 10),
        enc::cmp_x(27, n),
    ]);
    p.b_cond(cond::LO, "irq.eoi27");
    p.emit(enc::msr(CNTV_CTL_EL0, 31));
    p.label("irq.eoi27");
    p.emit_all(&[
        enc::msr(ICC_EOIR1_EL1, 9),
        enc::mrs(10, CNTVCT_EL0),
        sub_x_reg(10, 10, 12),
        enc::add_x_reg(13, 13, 10),
    ]);
    if samples {
        // X16: the next sample slot (set by main; only the handler moves it).
        p.emit(enc::str_x_post(10, 16, 8));
    }
    p.emit(enc::ERET);
    gic::handler_end(p);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_granules_are_free_and_the_handler_is_vectored() {
        let code = timer(&Target::kvmtool(1), 5, 10_000);
        assert_eq!(code.len(), TIMER_SIZE);
        assert!(
            code[CONFIG..].iter().all(|b| *b == 0),
            "the RSI config and data granules must be zero"
        );
        let word = |at: usize| u32::from_le_bytes(code[at..at + 4].try_into().unwrap());
        assert_eq!(word(0xa80) >> 26, 0b000101, "the IRQ vector is a B");
    }
}
