//! Distributor and redistributor registers (KVM `vgic-mmio-v3.c`, `vgic-mmio.c`; GICv3 architecture
//! specification IHI 0069 §12.9 GICD_*, §12.10–12.11 GICR_*). Affinity routing is always on (`GICD_CTLR.ARE`
//! reads one), so private interrupts live in each redistributor's SGI frame and the distributor's banked
//! registers for INTIDs 0–31 read as zero.

use super::{GICD_SIZE, GICR_STRIDE, Irq, NR_PRIVATE, Vgic};

/// `GICD_CTLR.EnableGrp1` (the non-secure view KVM gives: bit 1).
const CTLR_ENABLE_G1: u64 = 1 << 1;
/// `GICD_CTLR.ARE_NS`.
const CTLR_ARE: u64 = 1 << 4;
/// `GICD_CTLR.DS`: one security state.
const CTLR_DS: u64 = 1 << 6;
/// `GICD_IIDR`/`GICR_IIDR`: ProductID 'K' (0x4b), Revision 3 (`KVM_VGIC_IMP_REV_3`), Implementer Arm (0x43b).
const IIDR: u64 = (0x4b << 24) | (3 << 12) | 0x43b;
/// `GICD_PIDR2`/`GICR_PIDR2`: ArchRev 3 (GICv3) and JEP106 bits, as KVM reports.
const PIDR2: u64 = 0x3b;
/// Implemented priority bits (`VGIC_PRI_BITS`): writes keep the top five.
const PRIORITY_MASK: u8 = 0xf8;
/// `GICD_IROUTER`: Aff0–Aff2 \[23:0\], Interrupt_Routing_Mode \[31\], Aff3 \[39:32\].
const IROUTER_MASK: u64 = 0xff_80ff_ffff;
/// `GICR_TYPER.Last`.
const TYPER_LAST: u64 = 1 << 4;

/// Which per-interrupt register an offset names, relative to its block.
#[derive(Clone, Copy)]
enum Field {
    Group,
    SetEnable,
    ClearEnable,
    SetPending,
    ClearPending,
    SetActive,
    ClearActive,
    Priority,
    Config,
}

/// The per-interrupt register blocks shared by GICD (all INTIDs) and the SGI frame (INTIDs 0–31):
/// (offset, bytes per 32 interrupts, field).
const BLOCKS: [(u64, u64, Field); 9] = [
    (0x080, 4, Field::Group),
    (0x100, 4, Field::SetEnable),
    (0x180, 4, Field::ClearEnable),
    (0x200, 4, Field::SetPending),
    (0x280, 4, Field::ClearPending),
    (0x300, 4, Field::SetActive),
    (0x380, 4, Field::ClearActive),
    (0x400, 32, Field::Priority),
    (0xc00, 8, Field::Config),
];

impl Vgic {
    /// An access by vCPU `idx` of `len` bytes at `gpa`: a write of `value`, or a read returning the value.
    /// `None` when the address is not the vgic's. Unimplemented offsets read as zero and ignore writes
    /// (`vgic_mmio_read_raz`/`vgic_mmio_write_wi`).
    pub(crate) fn mmio(
        &mut self,
        idx: usize,
        gpa: u64,
        len: u32,
        write: Option<u64>,
    ) -> Option<u64> {
        if let Some(base) = self.dist_base
            && (base..base + GICD_SIZE).contains(&gpa)
        {
            return Some(self.dist(idx, gpa - base, len, write));
        }
        let base = self.redist_base?;
        let off = gpa.checked_sub(base)?;
        let which = usize::try_from(off / GICR_STRIDE).ok()?;
        if which >= self.cpus.len().max(1) {
            return None;
        }
        Some(self.redist(which, off % GICR_STRIDE, len, write))
    }

    fn dist(&mut self, idx: usize, off: u64, len: u32, write: Option<u64>) -> u64 {
        match off {
            0x0000 => {
                if let Some(v) = write {
                    self.enabled = v & CTLR_ENABLE_G1 != 0;
                }
                CTLR_ARE | CTLR_DS | if self.enabled { CTLR_ENABLE_G1 } else { 0 }
            }
            // ITLinesNumber, IDbits = 9 (10 bits of INTID; `INTERRUPT_ID_BITS_SPIS`).
            0x0004 => u64::from(self.nr_irqs / 32).saturating_sub(1) | (9 << 19),
            0x0008 => IIDR,
            0x6000..0x8000 => {
                let intid = u32::try_from((off - 0x6000) / 8).unwrap_or(0);
                let hi = off & 4 != 0;
                if intid < NR_PRIVATE {
                    return 0;
                }
                let Some(irq) = self.irq_mut(idx, intid) else {
                    return 0;
                };
                if let Some(v) = write {
                    irq.route = match (len, hi) {
                        (8, _) => v,
                        (_, false) => (irq.route & !0xffff_ffff) | (v & 0xffff_ffff),
                        (_, true) => (irq.route & 0xffff_ffff) | (v << 32),
                    } & IROUTER_MASK;
                }
                let route = irq.route;
                if write.is_some() {
                    self.queue(idx, intid);
                }
                match (len, hi) {
                    (8, _) => route,
                    (_, false) => route & 0xffff_ffff,
                    (_, true) => route >> 32,
                }
            }
            0xffe8 => PIDR2,
            _ => self.per_irq(idx, off, len, write, false),
        }
    }

    fn redist(&mut self, which: usize, off: u64, len: u32, write: Option<u64>) -> u64 {
        let last = which + 1 == self.cpus.len().max(1);
        match off {
            0x0004 => IIDR,
            0x0008 | 0x000c => {
                // Affinity \[63:32\] = Aff3.Aff2.Aff1.Aff0, Processor_Number \[23:8\], Last \[4\].
                let mpidr = self.cpus.get(which).map_or(0, |c| c.mpidr);
                let aff = (mpidr & 0xff_ffff) | ((mpidr >> 8) & 0xff00_0000);
                let typer = (aff << 32)
                    | ((which as u64 & 0xffff) << 8)
                    | if last { TYPER_LAST } else { 0 };
                match (len, off) {
                    (8, _) => typer,
                    (_, 0x0008) => typer & 0xffff_ffff,
                    _ => typer >> 32,
                }
            }
            0xffe8 => PIDR2,
            0x1_0000..0x2_0000 => self.per_irq(which, off - 0x1_0000, len, write, true),
            // GICR_CTLR, GICR_WAKER (RAZ/WI in KVM), the rest.
            _ => 0,
        }
    }

    /// A per-interrupt register block access; `private` selects the SGI frame (INTIDs 0–31 of vCPU
    /// `idx`), otherwise the distributor (SPIs; its private banks read as zero).
    fn per_irq(
        &mut self,
        idx: usize,
        off: u64,
        len: u32,
        write: Option<u64>,
        private: bool,
    ) -> u64 {
        let Some(&(base, stride, field)) = BLOCKS
            .iter()
            .find(|(b, s, _)| (*b..*b + s * 32).contains(&off))
        else {
            return 0;
        };
        let bits_per_irq = u32::try_from(stride * 8 / 32).unwrap_or(1);
        let first = u32::try_from((off - base) * 8 / u64::from(bits_per_irq)).unwrap_or(u32::MAX);
        let count = (len * 8 / bits_per_irq).max(1);
        let mut out = 0u64;
        for i in 0..count {
            let intid = first.saturating_add(i);
            let in_frame = if private {
                intid < NR_PRIVATE
            } else {
                intid >= NR_PRIVATE && intid < self.nr_irqs
            };
            if !in_frame {
                continue;
            }
            let shift = i * bits_per_irq;
            let field_mask = (1u64 << bits_per_irq) - 1;
            let Some(irq) = self.irq_mut(idx, intid) else {
                continue;
            };
            if let Some(v) = write {
                apply(irq, intid, field, (v >> shift) & field_mask);
            }
            out |= read(irq, field) << shift;
            if write.is_some() {
                self.queue(idx, intid);
            }
        }
        out
    }
}

fn apply(irq: &mut Irq, intid: u32, field: Field, bits: u64) {
    let set = bits != 0;
    match field {
        Field::Group => irq.group1 = set,
        Field::SetEnable if set => irq.enabled = true,
        Field::ClearEnable if set => irq.enabled = false,
        Field::SetPending if set => irq.pending_latch = true,
        Field::ClearPending if set => irq.pending_latch = false,
        Field::SetActive if set => irq.active = true,
        Field::ClearActive if set => irq.active = false,
        Field::Priority => irq.priority = u8::try_from(bits).unwrap_or(0) & PRIORITY_MASK,
        // SGIs are always edge-triggered; bit 1 of the field selects edge.
        Field::Config if intid >= 16 => irq.edge = bits & 0b10 != 0,
        _ => {}
    }
}

fn read(irq: &Irq, field: Field) -> u64 {
    match field {
        Field::Group => u64::from(irq.group1),
        Field::SetEnable | Field::ClearEnable => u64::from(irq.enabled),
        Field::SetPending | Field::ClearPending => u64::from(irq.pending()),
        Field::SetActive | Field::ClearActive => u64::from(irq.active),
        Field::Priority => u64::from(irq.priority),
        Field::Config => {
            if irq.edge {
                0b10
            } else {
                0
            }
        }
    }
}
