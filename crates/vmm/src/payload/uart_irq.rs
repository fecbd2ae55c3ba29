//! **uart-irq**: an interrupt-driven console. The payload enables the UART's SPI in the distributor
//! (`GICD_ISENABLER<n>`, routed to vCPU 0 by the reset `GICD_IROUTER`), its CPU interface, and then the
//! 16550's transmitter-holding-register-empty interrupt (IER.ETBEI); every byte of its message is then
//! written from the IRQ handler: acknowledge (`ICC_IAR1_EL1`), read IIR (which clears the THRE cause), write
//! the next byte to THR (which raises it again), `ICC_EOIR1_EL1`. After the last byte the handler clears IER,
//! so the line stays low, and main code prints how many interrupts it took (one per byte and the last
//! THRE, which finds nothing left to send).
//!
//! What it exercises: the VMM's UART driving its interrupt *level* with `KVM_IRQ_LINE` after every access
//! (IIR/IER, as Linux's 8250 driver relies on for user-space output), level-sensitive SPIs in the kernel
//! layer's vgic (pending while the line is high, EOI maintenance to resample it), and a vCPU sleeping in a
//! trapped WFI woken by an SPI.
//!
//! Output: `uart-irq: the next line is written from the THRE interrupt handler`, the message
//! ([`UART_IRQ_MESSAGE`]), then `uart-irq: N THRE interrupts for M bytes` (N = M + 1).

use super::Target;
use super::asm::{self as enc, Program};
use super::gic::{self, NE, print_dec};
use super::runtime::{print, prologue, subroutines, system_off};
use enc::reg::ICC_IAR1_EL1;

/// The payload's size: vectors and code (3 granules), the RSI config granule, a data granule.
pub const UART_IRQ_SIZE: usize = 5 * 0x1000;
/// The line the IRQ handler writes.
pub const UART_IRQ_MESSAGE: &str = "Hello from an interrupt handler in a realm!\n";
const CONFIG: usize = 0x3000;
const DATA: usize = 0x4000;
/// 16550 registers (offsets from the transmit register): IER, IIR.
const IER: u32 = 1;
const IIR: u32 = 2;
/// IER.ETBEI.
const IER_ETBEI: u32 = 0x02;
/// IIR interrupt ID for "transmitter holding register empty" (bits \[3:0\]).
const IIR_THRE: u32 = 0x2;
/// The first SPI's INTID.
const SPI_BASE: u32 = 32;

/// The uart-irq payload for `target`.
pub fn uart_irq(target: &Target) -> Vec<u8> {
    let intid = SPI_BASE + target.uart_spi;
    let mut p = Program::new();
    p.label_at("config", CONFIG).label_at("decbuf", DATA);
    gic::vectors(&mut p);
    prologue(&mut p, target.uart_base);
    gic::alias_bit(&mut p, target.uart_base);
    gic::distributor(&mut p, target.gic_dist, Some(intid));
    gic::cpu_interface(&mut p);
    print(
        &mut p,
        "uart-irq: the next line is written from the THRE interrupt handler\n",
    );
    // X22 = the next byte to send, X26 = interrupts taken, X27 = done, X15 = other INTIDs.
    p.adr_string(22, UART_IRQ_MESSAGE);
    for r in [15, 26, 27] {
        p.emit(enc::movz_x(r, 0, 0));
    }
    p.emit_all(&[
        enc::movz_x(5, IER_ETBEI, 0),
        enc::add_x(4, 20, IER),
        enc::strb(5, 4),
    ]);
    p.label("wait").cbnz_x(27, "sent");
    p.emit_all(&[enc::WFI, enc::msr_daifclr(2), enc::ISB, gic::msr_daifset(2)]);
    p.b("wait");
    p.label("sent");
    print(&mut p, "uart-irq: ");
    print_dec(&mut p, 26);
    print(
        &mut p,
        &format!(" THRE interrupts for {} bytes", UART_IRQ_MESSAGE.len()),
    );
    p.cbz_x(15, "report.end");
    print(&mut p, ", other INTIDs ");
    print_dec(&mut p, 15);
    p.label("report.end");
    print(&mut p, "\n");
    system_off(&mut p);
    subroutines(&mut p);
    gic::dec_subroutine(&mut p);
    handler(&mut p, intid);
    assert!(p.here() < CONFIG, "uart-irq code overlaps its data");
    p.finish(UART_IRQ_SIZE)
}

/// The IRQ handler (X9..X12): for the UART's INTID with IIR naming THRE, send the next byte (or, at the
/// end, clear IER and set X27) and count the interrupt in X26; another INTID counts in X15; the spurious
/// 1023 is not EOI'd.
fn handler(p: &mut Program, intid: u32) {
    p.label("irq");
    p.emit(enc::mrs(9, ICC_IAR1_EL1));
    p.mov_imm(10, u64::from(intid));
    p.emit(gic::cmp_x_reg(9, 10));
    p.b_cond(NE, "irq.other");
    p.emit_all(&[
        enc::ldrb_off(10, 20, IIR),
        enc::and_x_0xf(10, 10),
        enc::cmp_x(10, IIR_THRE),
    ]);
    p.b_cond(NE, "irq.eoi");
    p.emit_all(&[enc::add_x(26, 26, 1), enc::ldrb_off(11, 22, 0)]);
    p.cbz_x(11, "irq.last");
    p.emit_all(&[enc::strb(11, 20), enc::add_x(22, 22, 1)]);
    p.b("irq.eoi");
    p.label("irq.last").emit_all(&[
        enc::add_x(12, 20, IER),
        enc::strb(31, 12),
        enc::movz_x(27, 1, 0),
    ]);
    p.b("irq.eoi");
    gic::handler_end(p);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_granules_are_free() {
        let code = uart_irq(&Target::kvmtool(1));
        assert_eq!(code.len(), UART_IRQ_SIZE);
        assert!(code[CONFIG..].iter().all(|b| *b == 0));
    }
}
