//! Handling a vCPU's exits after `KVM_RUN`: MMIO to the emulated ns16550a UART (vm-superio) and the level of
//! its interrupt output, which the VMM drives into the in-kernel GIC with `KVM_IRQ_LINE`, PSCI calls
//! forwarded to userspace (`KVM_EXIT_HYPERCALL`, completed with `KVM_ARM_VCPU_RMI_PSCI_COMPLETE`), RIPAS
//! changes (`KVM_EXIT_MEMORY_FAULT` → `KVM_SET_MEMORY_ATTRIBUTES`), and system events (SYSTEM_OFF / RESET /
//! crash → the exit status). The exit table is kvm-realm-abi.md §1.1 "Exits the VMM sees (v12)".
//!
//! Beside the UART, the VMM emulates one register of its own, the payload [`DOORBELL`]: a realm program
//! writes there the IPA (unprotected alias) of a [`Message`] it placed in memory it shares with the VMM
//! (converted to RIPAS EMPTY and reached through the alias, so the host sees the realm's bytes), and the VMM
//! reads the message, keeps it for the launcher, and answers an [`MESSAGE_ECHO`] in the same buffer.
#![forbid(unsafe_code)]

use std::io::Write;

use realm_rmi::psci::{
    PSCI_AFFINITY_INFO_32, PSCI_AFFINITY_INFO_64, PSCI_CPU_ON_32, PSCI_CPU_ON_64,
    PSCI_RETURN_NOT_SUPPORTED,
};
use realm_uapi::arm64 as k;
use vm_superio::{Serial, Trigger};
use zerocopy::FromBytes;

use crate::layout::UartInfo;

/// The PSCI functions Linux forwards to the VMM (`KVM_EXIT_HYPERCALL`), completed with PSCI_COMPLETE.
pub const FORWARDED_PSCI: [u32; 4] = [
    PSCI_CPU_ON_64,
    PSCI_CPU_ON_32,
    PSCI_AFFINITY_INFO_64,
    PSCI_AFFINITY_INFO_32,
];

/// The doorbell's IPA (the realm writes it through the unprotected alias): 8 bytes, write-only (reads 0).
/// Free in both layouts (kvmtool: UART at 0x0100_0000, GIC below 0x4000_0000 from 0x2001_0000 at 4095
/// vCPUs; QEMU virt: firmware RAM below 0x0800_0000, GIC and PL011 below 0x0a00_0000, RAM from 0x4000_0000),
/// where QEMU virt would put its first virtio-mmio transport.
pub const DOORBELL: u64 = 0x0a00_0000;
/// A message asking the VMM to answer: the reply (kind [`MESSAGE_REPLY`]) is `pong: ` and the request's
/// bytes, written over the message, NUL-terminated.
pub const MESSAGE_ECHO: u32 = 1;
/// A message carrying a CCA attestation token (the `attest` payload).
pub const MESSAGE_TOKEN: u32 = 2;
/// A request for the attestation challenge: the VMM answers (kind [`MESSAGE_CHALLENGE`] | [`MESSAGE_ANSWER`])
/// with the 64 bytes the launcher was given (zeros without one), written over the request.
pub const MESSAGE_CHALLENGE: u32 = 3;
/// The bit the VMM sets in the kind of an answer.
pub const MESSAGE_ANSWER: u32 = 0x8000_0000;
/// The kind of the VMM's answer to [`MESSAGE_ECHO`].
pub const MESSAGE_REPLY: u32 = 0x8000_0001;
/// The largest message body the VMM reads (bytes).
pub const MESSAGE_MAX: u32 = 64 * 1024;
/// The size of a message's header: `kind: u32`, `len: u32` (little-endian), then `len` bytes.
pub const MESSAGE_HEADER: u64 = 8;

/// A message a realm handed the VMM through the [`DOORBELL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The vCPU that rang.
    pub vcpu: u32,
    /// `MESSAGE_*`.
    pub kind: u32,
    /// The body.
    pub data: Vec<u8>,
}

/// vm-superio's interrupt callback, unused: it only signals rising edges, so the VMM derives the UART's
/// interrupt *level* from IIR/IER after every access instead ([`Uart::take_line_change`]).
#[derive(Debug, Default)]
pub struct NoIrq;

/// 16550 IIR bit 0: no interrupt pending (NS16550A data sheet, "Interrupt Identification Register").
const IIR_NO_INTERRUPT: u8 = 0x01;
/// IIR: transmitter holding register empty (priority 3).
const IIR_THRE: u8 = 0x02;
/// IIR: received data available (priority 2).
const IIR_RDA: u8 = 0x04;
/// IER bit 0: enable the received-data-available interrupt.
const IER_ERBFI: u8 = 0x01;
/// IER bit 1: enable the transmitter-holding-register-empty interrupt.
const IER_ETBEI: u8 = 0x02;
/// `KVM_ARM_IRQ_TYPE_SPI` in bits \[27:24\] of `kvm_irq_level.irq` (Documentation/virt/kvm/api.rst 4.25).
const KVM_ARM_IRQ_TYPE_SPI: u32 = 1;
/// The first SPI's interrupt ID (GICv3: SPIs are INTIDs 32..1019; the DT's SPI number counts from it).
const SPI_BASE: u32 = 32;

impl Trigger for NoIrq {
    type E = std::convert::Infallible;
    fn trigger(&self) -> Result<(), Self::E> {
        Ok(())
    }
}

/// The emulated UART at the layout's address.
pub struct Uart<W: Write> {
    info: UartInfo,
    serial: Serial<NoIrq, vm_superio::serial::NoEvents, W>,
    /// The level last driven into the GIC (the line starts low).
    line: bool,
}

impl<W: Write> std::fmt::Debug for Uart<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uart")
            .field("info", &self.info)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Uart<W> {
    /// A UART writing the guest's output to `out`.
    pub fn new(info: UartInfo, out: W) -> Self {
        Self {
            info,
            serial: Serial::new(NoIrq, out),
            line: false,
        }
    }

    /// The UART's interrupt output now (the 16550's INTRPT pin): high while IIR identifies an interrupt whose
    /// source IER enables (THRE with ETBEI, received data with ERBFI). vm-superio only records an IIR cause
    /// when IER enables it, but the guest may disable the source afterwards, so IER is checked again.
    pub fn irq_level(&self) -> bool {
        let st = self.serial.state();
        let iir = st.interrupt_identification;
        if iir & IIR_NO_INTERRUPT != 0 {
            return false;
        }
        let ier = st.interrupt_enable;
        (iir & IIR_THRE != 0 && ier & IER_ETBEI != 0)
            || (iir & IIR_RDA != 0 && ier & IER_ERBFI != 0)
    }

    /// The level to drive if it changed since the last call (`None` if not): the VMM calls it after every
    /// access (and input event) and passes a change to `KVM_IRQ_LINE` — a level, not an edge, because
    /// vm-superio's trigger has no de-assert.
    pub fn take_line_change(&mut self) -> Option<bool> {
        let level = self.irq_level();
        (level != self.line).then(|| {
            self.line = level;
            level
        })
    }

    /// The `kvm_irq_level.irq` of this UART's SPI: type SPI in \[27:24\], INTID (32 + the DT's SPI number)
    /// in \[15:0\] (`kvm_vm_ioctl_irq_line`).
    pub fn kvm_irq(&self) -> u32 {
        (KVM_ARM_IRQ_TYPE_SPI << 24) | (SPI_BASE + self.info.spi)
    }

    /// Handle an access at `addr` (the shared-alias bit already removed); `false` if it is not this device's.
    pub fn access(&mut self, addr: u64, data: &mut [u8], is_write: bool) -> bool {
        let r = self.info.range;
        if addr < r.base || addr >= r.end() || data.is_empty() {
            return false;
        }
        let Ok(offset) = u8::try_from(addr - r.base) else {
            return false;
        };
        if is_write {
            let _ = self.serial.write(offset, data[0]);
        } else {
            data.fill(0);
            data[0] = self.serial.read(offset);
        }
        true
    }

    /// The writer.
    pub fn writer(&self) -> &W {
        self.serial.writer()
    }
}

/// How a realm stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum ExitStatus {
    /// PSCI SYSTEM_OFF.
    PowerOff,
    /// PSCI SYSTEM_RESET.
    Reset,
    /// A crash report.
    Crash,
    /// `KVM_EXIT_SHUTDOWN` (v12: RMI_ERROR_REALM index 1 on REC_ENTER, a SYSTEM_OFF race).
    Shutdown,
    /// The launcher's time limit ran out first: the vCPUs were kicked out of `KVM_RUN` and stopped.
    TimedOut,
    /// The launcher was interrupted (Ctrl-C): the vCPUs were kicked out of `KVM_RUN` and stopped.
    Interrupted,
}

impl ExitStatus {
    /// The process exit code a launcher gives it: 0 for a power-off (SYSTEM_OFF or the v12 shutdown race),
    /// 3 for a reset, 4 for a crash report, 124 when the time limit stopped it (as `timeout(1)` exits) and
    /// 130 when Ctrl-C did (128 + SIGINT, as shells report an interrupted command).
    pub fn code(self) -> u8 {
        match self {
            Self::PowerOff | Self::Shutdown => 0,
            Self::Reset => 3,
            Self::Crash => 4,
            Self::TimedOut => 124,
            Self::Interrupted => 130,
        }
    }
}

/// What the VMM must do after an exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitAction {
    /// Run the vCPU again.
    Continue,
    /// Convert `[gpa, gpa + size)` to private (`true`) or shared, then run again.
    ConvertMemory {
        /// Guest physical address.
        gpa: u64,
        /// Bytes.
        size: u64,
        /// To private.
        private: bool,
    },
    /// A PSCI call to complete with `KVM_ARM_VCPU_RMI_PSCI_COMPLETE(target_mpidr, status)`.
    PsciComplete {
        /// The function id.
        function: u64,
        /// The target MPIDR.
        target_mpidr: u64,
        /// Entry point (CPU_ON).
        entry: u64,
        /// Context id (CPU_ON).
        context: u64,
    },
    /// The realm rang the [`DOORBELL`] with the IPA of a [`Message`] (the write has been completed).
    Doorbell {
        /// The IPA written (unprotected alias).
        ipa: u64,
    },
    /// The realm stopped.
    Stop(ExitStatus),
    /// An exit the VMM cannot handle.
    Unhandled(String),
}

/// Decode the exit in `run` (a `struct kvm_run`) and handle what needs no other vCPU: MMIO is answered in
/// place (the read value written back into `kvm_run.mmio.data`). `ipa_bits` gives the shared-alias bit.
pub fn handle<W: Write>(run: &mut [u8], ipa_bits: u8, uart: &mut Uart<W>) -> ExitAction {
    let Ok((mut r, _)) = k::kvm_run::read_from_prefix(run) else {
        return ExitAction::Unhandled("short kvm_run".into());
    };
    let action = match r.exit_reason {
        k::KVM_EXIT_MMIO => {
            let mut m: k::kvm_run_mmio = r.exit_as();
            let shared = 1u64 << (ipa_bits - 1);
            let len = usize::try_from(m.len).unwrap_or(0).min(8);
            let addr = m.phys_addr & !shared;
            if uart.access(addr, &mut m.data[..len], m.is_write != 0) {
                r.set_exit(&m);
                ExitAction::Continue
            } else if addr == DOORBELL && len == 8 {
                if m.is_write != 0 {
                    ExitAction::Doorbell {
                        ipa: u64::from_le_bytes(m.data),
                    }
                } else {
                    m.data = [0; 8];
                    r.set_exit(&m);
                    ExitAction::Continue
                }
            } else {
                ExitAction::Unhandled(format!(
                    "MMIO at {:#x} ({} bytes): no device",
                    m.phys_addr, m.len
                ))
            }
        }
        k::KVM_EXIT_SYSTEM_EVENT => {
            let e: k::kvm_run_system_event = r.exit_as();
            match e.r#type {
                k::KVM_SYSTEM_EVENT_SHUTDOWN => ExitAction::Stop(ExitStatus::PowerOff),
                k::KVM_SYSTEM_EVENT_RESET => ExitAction::Stop(ExitStatus::Reset),
                k::KVM_SYSTEM_EVENT_CRASH => ExitAction::Stop(ExitStatus::Crash),
                t => ExitAction::Unhandled(format!("system event {t}")),
            }
        }
        k::KVM_EXIT_SHUTDOWN => ExitAction::Stop(ExitStatus::Shutdown),
        k::KVM_EXIT_MEMORY_FAULT => {
            let f: k::kvm_run_memory_fault = r.exit_as();
            ExitAction::ConvertMemory {
                gpa: f.gpa,
                size: f.size,
                private: f.flags & u64::from(k::KVM_MEMORY_EXIT_FLAG_PRIVATE) != 0,
            }
        }
        k::KVM_EXIT_HYPERCALL => {
            let h: k::kvm_run_hypercall = r.exit_as();
            match h.nr {
                nr if FORWARDED_PSCI.iter().any(|f| u64::from(*f) == nr) => {
                    ExitAction::PsciComplete {
                        function: h.nr,
                        target_mpidr: h.args[0],
                        entry: h.args[1],
                        context: h.args[2],
                    }
                }
                nr => {
                    let mut h = h;
                    // NOT_SUPPORTED (-1) as the 32-bit value this VMM has always returned in `ret`.
                    h.ret = PSCI_RETURN_NOT_SUPPORTED & 0xffff_ffff;
                    r.set_exit(&h);
                    tracing::debug!(target: "realm_vmm", function = format_args!("{nr:#x}"), "SMCCC call not supported");
                    ExitAction::Continue
                }
            }
        }
        k::KVM_EXIT_INTR => ExitAction::Continue,
        other => ExitAction::Unhandled(format!("exit reason {other}")),
    };
    run[..size_of::<k::kvm_run>()].copy_from_slice(zerocopy::IntoBytes::as_bytes(&r));
    action
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::IpaRange;
    use zerocopy::{FromZeros, IntoBytes};

    fn uart() -> Uart<Vec<u8>> {
        Uart::new(
            UartInfo {
                range: IpaRange {
                    base: 0x0100_0000,
                    size: 8,
                },
                spi: 0,
            },
            Vec::new(),
        )
    }

    fn run_with<T: k::KvmRunExit>(reason: u32, exit: &T) -> Vec<u8> {
        let mut r = k::kvm_run::new_zeroed();
        r.exit_reason = reason;
        r.set_exit(exit);
        r.as_bytes().to_vec()
    }

    #[test]
    fn uart_output_reaches_the_writer_through_the_shared_alias() {
        let mut u = uart();
        for c in b"hi\n" {
            let mut m = k::kvm_run_mmio::new_zeroed();
            m.phys_addr = 0x0100_0000 | (1 << 32); // 33-bit IPA: shared bit 32
            m.data[0] = *c;
            m.len = 1;
            m.is_write = 1;
            let mut run = run_with(k::KVM_EXIT_MMIO, &m);
            assert_eq!(handle(&mut run, 33, &mut u), ExitAction::Continue);
        }
        assert_eq!(u.writer(), b"hi\n");
        // A read of LSR (offset 5) reports the transmitter empty (THRE | TEMT).
        let mut m = k::kvm_run_mmio::new_zeroed();
        m.phys_addr = 0x0100_0005;
        m.len = 1;
        let mut run = run_with(k::KVM_EXIT_MMIO, &m);
        assert_eq!(handle(&mut run, 33, &mut u), ExitAction::Continue);
        let r = k::kvm_run::read_from_prefix(&run[..]).unwrap().0;
        let back: k::kvm_run_mmio = r.exit_as();
        assert_eq!(back.data[0] & 0x60, 0x60);
    }

    /// One byte access at UART offset `off` through the exit path; the byte read (0 for a write).
    fn access(u: &mut Uart<Vec<u8>>, off: u64, write: Option<u8>) -> u8 {
        let mut m = k::kvm_run_mmio::new_zeroed();
        m.phys_addr = 0x0100_0000 + off;
        m.len = 1;
        m.is_write = u8::from(write.is_some());
        m.data[0] = write.unwrap_or(0);
        let mut run = run_with(k::KVM_EXIT_MMIO, &m);
        assert_eq!(
            handle(&mut run, 33, u),
            ExitAction::Continue,
            "offset {off}"
        );
        let r = k::kvm_run::read_from_prefix(&run[..]).unwrap().0;
        let back: k::kvm_run_mmio = r.exit_as();
        if write.is_some() { 0 } else { back.data[0] }
    }

    #[test]
    fn uart_interrupt_level_follows_iir_and_ier() {
        let mut u = uart();
        assert!(!u.irq_level(), "the line starts low");
        assert_eq!(u.take_line_change(), None);
        // Linux 8250 start_tx: IER.ETBEI set → THRE identified at once (the holding register is empty).
        access(&mut u, 1, Some(0x02));
        assert!(u.irq_level(), "THRE enabled: the line must rise");
        assert_eq!(u.take_line_change(), Some(true));
        assert_eq!(u.take_line_change(), None, "no change reported twice");
        // The handler reads IIR: THRE (0x02) with the FIFO bits (0xc0); reading it clears the THRE cause.
        assert_eq!(access(&mut u, 2, None), 0xc2, "IIR must identify THRE");
        assert_eq!(
            u.take_line_change(),
            Some(false),
            "reading IIR must drop the line"
        );
        // Writing THR empties it again at once: THRE is identified again.
        access(&mut u, 0, Some(b'x'));
        assert_eq!(
            u.take_line_change(),
            Some(true),
            "a THR write must raise THRE again"
        );
        // stop_tx: ETBEI cleared → the line drops even though IIR still names THRE.
        access(&mut u, 1, Some(0x00));
        assert_eq!(u.take_line_change(), Some(false), "IER=0 must mask THRE");
        assert_eq!(access(&mut u, 2, None) & 0x0f, 0x02, "IIR still holds THRE");
        assert_eq!(u.take_line_change(), None);
        assert_eq!(u.writer(), b"x");
    }

    #[test]
    fn uart_kvm_irq_is_the_dt_spi_plus_32() {
        // kvmtool layout: SPI 0 → INTID 32; KVM_ARM_IRQ_TYPE_SPI (1) in bits [27:24].
        assert_eq!(uart().kvm_irq(), 0x0100_0020);
        let mut info = UartInfo {
            range: IpaRange {
                base: 0x0900_0000,
                size: 0x1000,
            },
            spi: 1,
        };
        assert_eq!(Uart::new(info, Vec::new()).kvm_irq(), 0x0100_0021);
        info.spi = 200;
        assert_eq!(Uart::new(info, Vec::new()).kvm_irq(), 0x0100_00e8);
    }

    #[test]
    fn unknown_mmio_is_unhandled() {
        let mut m = k::kvm_run_mmio::new_zeroed();
        m.phys_addr = 0x0900_0000;
        m.len = 4;
        let mut run = run_with(k::KVM_EXIT_MMIO, &m);
        assert!(matches!(
            handle(&mut run, 33, &mut uart()),
            ExitAction::Unhandled(_)
        ));
    }

    #[test]
    fn system_events_and_faults() {
        let mut e = k::kvm_run_system_event::new_zeroed();
        e.r#type = k::KVM_SYSTEM_EVENT_SHUTDOWN;
        assert_eq!(
            handle(&mut run_with(k::KVM_EXIT_SYSTEM_EVENT, &e), 33, &mut uart()),
            ExitAction::Stop(ExitStatus::PowerOff)
        );
        e.r#type = k::KVM_SYSTEM_EVENT_RESET;
        assert_eq!(
            handle(&mut run_with(k::KVM_EXIT_SYSTEM_EVENT, &e), 33, &mut uart()),
            ExitAction::Stop(ExitStatus::Reset)
        );
        let f = k::kvm_run_memory_fault {
            flags: u64::from(k::KVM_MEMORY_EXIT_FLAG_PRIVATE),
            gpa: 0x8000_0000,
            size: 0x20_0000,
        };
        assert_eq!(
            handle(&mut run_with(k::KVM_EXIT_MEMORY_FAULT, &f), 33, &mut uart()),
            ExitAction::ConvertMemory {
                gpa: 0x8000_0000,
                size: 0x20_0000,
                private: true
            }
        );
        let mut h = k::kvm_run_hypercall::new_zeroed();
        h.nr = u64::from(PSCI_CPU_ON_64);
        h.args = [1, 0x8000_0000, 7, 0, 0, 0];
        assert_eq!(
            handle(&mut run_with(k::KVM_EXIT_HYPERCALL, &h), 33, &mut uart()),
            ExitAction::PsciComplete {
                function: u64::from(PSCI_CPU_ON_64),
                target_mpidr: 1,
                entry: 0x8000_0000,
                context: 7
            }
        );
        assert_eq!(ExitStatus::PowerOff.code(), 0);
        assert_eq!(ExitStatus::Shutdown.code(), 0);
        assert_eq!(ExitStatus::TimedOut.code(), 124, "timeout(1)'s status");
        assert_eq!(ExitStatus::Interrupted.code(), 130, "128 + SIGINT");
    }
}
