//! The distributor (GICD, one 64 KiB frame) and redistributor (GICR, an RD and an SGI frame per vCPU)
//! registers a Linux guest programs (IHI 0069H.b 12.9 GICD_*, 12.10 GICR_* RD frame, 12.11 GICR_* SGI
//! frame), with the values Linux KVM's vgic-v3 gives them (`arch/arm64/kvm/vgic/vgic-mmio-v3.c`): affinity
//! routing always on, one security state, KVM's IIDR, no LPIs. Offsets are within the frame; accesses to
//! registers not listed here read as zero and ignore writes.

use super::{Irq, NR_PRIVATE, Trigger, Vgic};

/// Size of one redistributor (RD frame + SGI frame).
pub const GICR_STRIDE: u64 = 0x2_0000;
/// Offset of the SGI frame within a redistributor.
const SGI_FRAME: u64 = 0x1_0000;
/// `GICD_IIDR`/`GICR_IIDR` of KVM: ProductID 0x4b (KVM), revision 3, implementer 0x43b (Arm).
pub const IIDR_KVM: u64 = (0x4b << 24) | (3 << 12) | 0x43b;
/// `GICD_PIDR2`/`GICR_PIDR2`: ArchRev 3 (GICv3).
const PIDR2_GICV3: u64 = 0x3b;
/// `GICD_CTLR.ARE_NS` and `.DS`: read as one.
const CTLR_ARE_DS: u64 = (1 << 4) | (1 << 6);
/// `GICD_TYPER.IDbits` = 9: 10 INTID bits (SPIs only, no LPIs).
const TYPER_IDBITS: u64 = 9 << 19;

/// The per-INTID bit registers, by offset in the GICD frame and the SGI frame (each 32 INTIDs per word).
const IGROUPR: u64 = 0x080;
const ISENABLER: u64 = 0x100;
const ICENABLER: u64 = 0x180;
const ISPENDR: u64 = 0x200;
const ICPENDR: u64 = 0x280;
const ISACTIVER: u64 = 0x300;
const ICACTIVER: u64 = 0x380;
const IPRIORITYR: u64 = 0x400;
const ICFGR: u64 = 0xC00;
const IROUTER: u64 = 0x6000;
const PIDR2: u64 = 0xFFE8;

/// Which INTIDs a frame reaches: a vCPU's private ones (SGI frame) or the SPIs (GICD).
#[derive(Clone, Copy)]
enum Frame {
    Sgi(usize),
    Dist,
}

impl Frame {
    /// The first INTID of word `n` of a bit register, if the frame holds it.
    fn word(self, n: u64) -> Option<u32> {
        match self {
            Self::Sgi(_) if n == 0 => Some(0),
            Self::Dist if n > 0 && n < 32 => u32::try_from(n * 32).ok(),
            _ => None,
        }
    }

    fn vcpu(self) -> usize {
        match self {
            Self::Sgi(v) => v,
            Self::Dist => 0,
        }
    }
}

impl Vgic {
    /// Apply `f` to the INTIDs `first..first + count` the frame reaches (missing ones skipped).
    fn each(&mut self, frame: Frame, first: u32, count: u32, mut f: impl FnMut(u32, &mut Irq)) {
        for i in 0..count {
            let intid = first + i;
            if matches!(frame, Frame::Dist) && intid < NR_PRIVATE {
                continue;
            }
            if let Some(irq) = self.irq_mut(frame.vcpu(), intid) {
                f(i, irq);
            }
        }
    }

    /// Read `count` INTIDs from `first` as `width`-bit fields given by `field`.
    fn fields(
        &self,
        frame: Frame,
        first: u32,
        count: u32,
        width: u32,
        field: impl Fn(&Irq) -> u64,
    ) -> u64 {
        (0..count).fold(0, |acc, i| {
            let intid = first + i;
            let skip = matches!(frame, Frame::Dist) && intid < NR_PRIVATE;
            match self.irq(frame.vcpu(), intid) {
                Some(irq) if !skip => acc | (field(irq) << (i * width)),
                _ => acc,
            }
        })
    }

    /// A register shared by the GICD and SGI frames, `len` bytes at `off`.
    fn irq_reg_read(&self, frame: Frame, off: u64, len: u64) -> u64 {
        let bit_reg = |base: u64| (base..base + 0x80).contains(&off);
        let first = |base: u64| frame.word((off - base) / 4);
        let bits = |base: u64, f: fn(&Irq) -> bool| {
            first(base).map_or(0, |i| self.fields(frame, i, 32, 1, |irq| u64::from(f(irq))))
        };
        match off {
            _ if bit_reg(IGROUPR) => bits(IGROUPR, |i| i.group1),
            _ if bit_reg(ISENABLER) => bits(ISENABLER, |i| i.enabled),
            _ if bit_reg(ICENABLER) => bits(ICENABLER, |i| i.enabled),
            _ if bit_reg(ISPENDR) => bits(ISPENDR, Irq::pending),
            _ if bit_reg(ICPENDR) => bits(ICPENDR, Irq::pending),
            _ if bit_reg(ISACTIVER) => bits(ISACTIVER, |i| i.active),
            _ if bit_reg(ICACTIVER) => bits(ICACTIVER, |i| i.active),
            _ if (IPRIORITYR..IPRIORITYR + 0x400).contains(&off) => {
                let first = u32::try_from(off - IPRIORITYR).unwrap_or(u32::MAX);
                let count = u32::try_from(len).unwrap_or(0);
                self.fields(frame, first, count, 8, |irq| u64::from(irq.priority))
            }
            _ if (ICFGR..ICFGR + 0x100).contains(&off) => {
                let first = u32::try_from((off - ICFGR) * 4).unwrap_or(u32::MAX);
                self.fields(frame, first, 16, 2, |irq| {
                    if irq.trigger == Trigger::Edge {
                        0b10
                    } else {
                        0
                    }
                })
            }
            _ => 0,
        }
    }

    /// Write a register shared by the GICD and SGI frames.
    fn irq_reg_write(&mut self, frame: Frame, off: u64, len: u64, value: u64) {
        const BIT_REGS: [u64; 7] = [
            IGROUPR, ISENABLER, ICENABLER, ISPENDR, ICPENDR, ISACTIVER, ICACTIVER,
        ];
        let Some(&base) = BIT_REGS.iter().find(|&&b| (b..b + 0x80).contains(&off)) else {
            return self.irq_fields_write(frame, off, len, value);
        };
        let Some(first) = frame.word((off - base) / 4) else {
            return;
        };
        let f: fn(&mut Irq, bool) = match base {
            IGROUPR => |irq, b| irq.group1 = b,
            ISENABLER => |irq, b| irq.enabled |= b,
            // SGIs cannot be disabled on KVM's GICv3.
            ICENABLER => |irq, b| irq.enabled &= !b || irq.intid < 16,
            ISPENDR => |irq, b| irq.pending_latch |= b,
            ICPENDR => |irq, b| irq.pending_latch &= !b,
            ISACTIVER => |irq, b| irq.active |= b,
            _ => |irq, b| irq.active &= !b,
        };
        self.each(frame, first, 32, |i, irq| f(irq, value >> i & 1 != 0));
    }

    /// IPRIORITYR (a byte per INTID) and ICFGR (two bits per INTID; SGIs are edge, read-only).
    fn irq_fields_write(&mut self, frame: Frame, off: u64, len: u64, value: u64) {
        if (IPRIORITYR..IPRIORITYR + 0x400).contains(&off) {
            let first = u32::try_from(off - IPRIORITYR).unwrap_or(u32::MAX);
            let count = u32::try_from(len).unwrap_or(0);
            self.each(frame, first, count, |i, irq| {
                irq.priority = u8::try_from(value >> (8 * i) & 0xFF).unwrap_or(0);
            });
        } else if (ICFGR..ICFGR + 0x100).contains(&off) {
            let first = u32::try_from((off - ICFGR) * 4).unwrap_or(u32::MAX);
            self.each(frame, first, 16, |i, irq| {
                if irq.intid >= 16 {
                    let edge = value >> (2 * i + 1) & 1 != 0;
                    irq.trigger = if edge { Trigger::Edge } else { Trigger::Level };
                }
            });
        }
    }

    /// A guest read of `len` bytes at `off` in the distributor frame.
    pub fn gicd_read(&self, off: u64, len: u64) -> u64 {
        match off {
            0x0000 => u64::from(self.ctlr) | CTLR_ARE_DS,
            0x0004 => u64::from(self.nr_irqs() / 32 - 1) | TYPER_IDBITS,
            0x0008 => IIDR_KVM,
            PIDR2 => PIDR2_GICV3,
            _ if (IROUTER + 8 * 32..IROUTER + 8 * 1020).contains(&off) => {
                let intid = u32::try_from((off - IROUTER) / 8).unwrap_or(0);
                self.irq(0, intid)
                    .and_then(|irq| self.mpidrs.get(irq.target))
                    .map_or(0, |m| m & 0xFF_00FF_FFFF)
            }
            _ => self.irq_reg_read(Frame::Dist, off, len),
        }
    }

    /// A guest write of `len` bytes at `off` in the distributor frame. Returns nothing: KVM's distributor
    /// writes never fail (unimplemented registers ignore writes).
    pub fn gicd_write(&mut self, off: u64, len: u64, value: u64) {
        match off {
            0x0000 => self.ctlr = u32::try_from(value & 0b11).unwrap_or(0),
            _ if (IROUTER + 8 * 32..IROUTER + 8 * 1020).contains(&off) => {
                let intid = u32::try_from((off - IROUTER) / 8).unwrap_or(0);
                let aff = value & 0xFF_00FF_FFFF;
                let target = self.mpidrs.iter().position(|m| m & 0xFF_00FF_FFFF == aff);
                if let (Some(target), Some(irq)) = (target, self.irq_mut(0, intid)) {
                    irq.target = target;
                }
            }
            _ => self.irq_reg_write(Frame::Dist, off, len, value),
        }
    }

    /// A guest read of `len` bytes at `off` in the redistributor region (vCPU n at n × [`GICR_STRIDE`]).
    pub fn gicr_read(&self, off: u64, len: u64) -> u64 {
        let (Ok(vcpu), local) = (usize::try_from(off / GICR_STRIDE), off % GICR_STRIDE) else {
            return 0;
        };
        let Some(&mpidr) = self.mpidrs.get(vcpu) else {
            return 0;
        };
        if local >= SGI_FRAME {
            return self.irq_reg_read(Frame::Sgi(vcpu), local - SGI_FRAME, len);
        }
        match local {
            0x0004 => IIDR_KVM,
            // GICR_TYPER: Affinity [63:32], ProcessorNumber [23:8], Last [4].
            0x0008 => {
                let aff = ((mpidr >> 32) & 0xFF) << 24 | (mpidr & 0xFF_FFFF);
                let last = u64::from(vcpu + 1 == self.mpidrs.len()) << 4;
                let number = u64::try_from(vcpu).unwrap_or(0) & 0xFFFF;
                let typer = aff << 32 | number << 8 | last;
                if len == 4 { typer & 0xFFFF_FFFF } else { typer }
            }
            0x000C => {
                let aff = ((mpidr >> 32) & 0xFF) << 24 | (mpidr & 0xFF_FFFF);
                aff & 0xFFFF_FFFF
            }
            PIDR2 => PIDR2_GICV3,
            // GICR_CTLR (no LPIs, RWP 0), GICR_WAKER (RAZ/WI as KVM: never asleep), the rest.
            _ => 0,
        }
    }

    /// A guest write of `len` bytes at `off` in the redistributor region.
    pub fn gicr_write(&mut self, off: u64, len: u64, value: u64) {
        let (Ok(vcpu), local) = (usize::try_from(off / GICR_STRIDE), off % GICR_STRIDE) else {
            return;
        };
        if vcpu < self.mpidrs.len() && local >= SGI_FRAME {
            self.irq_reg_write(Frame::Sgi(vcpu), local - SGI_FRAME, len, value);
        }
    }
}
