//! Data accesses: address translation (stage 1, then the realm's stage 2 behind [`RealmMemory`]),
//! alignment checks, splitting at 4 KiB pages, and the aborts each failure raises.
//!
//! Arm ARM references: D8 (The AArch64 Virtual Memory System Architecture; with stage 1 disabled data
//! accesses are Device-nGnRnE and instruction fetches Normal, D8.2.10 "Behavior when stage 1 address
//! translation is disabled"), B2.5.2 (alignment), D24.2.40 (ESR ISS for data aborts).
//!
//! [`RealmMemory`]: realm_cpu::RealmMemory

use realm_cpu::{DataAbort, RealmExit, Stage2Fault};

use crate::exception::{Exception, fsc};
use crate::exec::Exec;
use crate::exec::ldst::low64;
use crate::mmu::AccessKind;
use crate::translate::NO_SLOT;

/// `SCTLR_EL1.M`: stage 1 translation enabled.
pub(crate) const SCTLR_M: u64 = 1 << 0;
/// `SCTLR_EL1.A`: alignment checking.
pub(crate) const SCTLR_A: u64 = 1 << 1;
/// `SCTLR_EL1.SA`: SP alignment checking at EL1.
pub(crate) const SCTLR_SA: u64 = 1 << 3;
/// `SCTLR_EL1.SA0`: SP alignment checking at EL0.
pub(crate) const SCTLR_SA0: u64 = 1 << 4;

/// How a data access is made and how a stage-2 abort on it is reported.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Access {
    /// A store.
    pub(crate) write: bool,
    /// LDTR/STTR: checked as an EL0 access when executed at EL1.
    pub(crate) unprivileged: bool,
    /// Must be naturally aligned whatever the memory type (exclusives, acquire/release).
    pub(crate) aligned: bool,
    /// The ISS describes the access (ISV): single-register, no writeback, not exclusive.
    pub(crate) isv: bool,
    /// Transfer register for the syndrome.
    pub(crate) rt: u8,
    /// Sign-extending load, for the syndrome.
    pub(crate) sign_extend: bool,
    /// 64-bit transfer register, for the syndrome.
    pub(crate) sixty_four: bool,
}

/// A translated address: the IPA, whether the memory is Device, and the micro-TLB slot it came from
/// ([`crate::translate::NO_SLOT`]: none), where the protected page may be at hand.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Translated {
    pub(crate) ipa: u64,
    pub(crate) device: bool,
    pub(crate) slot: usize,
}

impl Exec<'_> {
    /// Translate a data access at `va` (stage 1 only: the IPA).
    #[inline(always)]
    pub(crate) fn translate_data(
        &mut self,
        va: u64,
        acc: &Access,
    ) -> Result<Translated, Exception> {
        let sctlr = self.ctx.sysregs.sctlr_el1;
        if sctlr & SCTLR_M == 0 {
            // Stage 1 disabled: VA = IPA (an address above the PA size is an address size fault at level
            // 0), Device-nGnRnE.
            if va >> self.core.config.pa_bits() != 0 {
                return Err(Exception::data_abort(
                    self.el(),
                    va,
                    acc.write,
                    fsc::ADDRESS_SIZE_L0,
                ));
            }
            return Ok(Translated {
                ipa: va,
                device: true,
                slot: NO_SLOT,
            });
        }
        let kind = if acc.write {
            AccessKind::Write
        } else {
            AccessKind::Read
        };
        self.core
            .translate(self.ctx, self.mem, va, kind, acc.unprivileged)
    }

    /// The alignment fault for an access of `size` bytes at `va`, if it needs one (Arm ARM B2.5.2).
    fn check_alignment(
        &self,
        va: u64,
        size: usize,
        acc: &Access,
        device: bool,
    ) -> Result<(), Exception> {
        let misaligned = va & (size as u64).wrapping_sub(1) != 0;
        if misaligned && (acc.aligned || device || self.ctx.sysregs.sctlr_el1 & SCTLR_A != 0) {
            return Err(Exception::data_abort(
                self.el(),
                va,
                acc.write,
                fsc::ALIGNMENT,
            ));
        }
        Ok(())
    }

    /// The exit for a stage-2 fault on part of an access.
    fn stage2_abort(ipa: u64, va: u64, size: usize, acc: &Access, fault: Stage2Fault) -> Exception {
        let len = u32::try_from(size).unwrap_or(0);
        Exception::El2(RealmExit::DataAbort(DataAbort {
            ipa,
            va,
            len,
            write: acc.write,
            rt: acc.rt,
            sign_extend: acc.sign_extend,
            sixty_four: acc.sixty_four,
            syndrome_valid: acc.isv && matches!(size, 1 | 2 | 4 | 8),
            fault,
        }))
    }

    /// Load `size` (1..=16) bytes at `va`, little-endian.
    #[inline(always)]
    pub(crate) fn read_mem(
        &mut self,
        va: u64,
        size: usize,
        acc: &Access,
    ) -> Result<u128, Exception> {
        if size <= 8 && page_offset(va) + size <= 0x1000 {
            // The common case: one page, at most a doubleword.
            let t = self.translate_data(va, acc)?;
            if va & (size as u64 - 1) != 0 {
                self.check_alignment(va, size, acc, t.device)?;
            }
            if let Some(page) = self.core.micro_tlb.page(t.slot) {
                return Ok(u128::from(page.load(page_offset(va), size)));
            }
            let value = self
                .mem
                .read_value(t.ipa, size)
                .map_err(|f| Self::stage2_abort(t.ipa, va, size, acc, f))?;
            return Ok(u128::from(value));
        }
        self.read_mem_slow(va, size, acc)
    }

    /// [`Exec::read_mem`] for accesses of 16 bytes or crossing a page.
    #[inline(never)]
    fn read_mem_slow(&mut self, va: u64, size: usize, acc: &Access) -> Result<u128, Exception> {
        let mut buf = [0u8; 16];
        let first = size.min(0x1000 - page_offset(va));
        let t = self.translate_data(va, acc)?;
        self.check_alignment(va, size, acc, t.device)?;
        self.mem
            .read(t.ipa, &mut buf[..first])
            .map_err(|f| Self::stage2_abort(t.ipa, va, size, acc, f))?;
        if first < size {
            let va2 = va.wrapping_add(first as u64);
            let t2 = self.translate_data(va2, acc)?;
            self.mem
                .read(t2.ipa, &mut buf[first..size])
                .map_err(|f| Self::stage2_abort(t2.ipa, va2, size, acc, f))?;
        }
        Ok(u128::from_le_bytes(buf))
    }

    /// Store the low `size` (1..=16) bytes of `value` at `va`, little-endian; decoded code cached for the
    /// pages written is dropped.
    #[inline(always)]
    pub(crate) fn write_mem(
        &mut self,
        va: u64,
        size: usize,
        value: u128,
        acc: &Access,
    ) -> Result<(), Exception> {
        if size <= 8 && page_offset(va) + size <= 0x1000 {
            let t = self.translate_data(va, acc)?;
            if va & (size as u64 - 1) != 0 {
                self.check_alignment(va, size, acc, t.device)?;
            }
            if let Some(page) = self.core.micro_tlb.page(t.slot) {
                let code = page.store_value(page_offset(va), size, low64(value));
                self.stored_direct(t.ipa, code);
                return Ok(());
            }
            self.mem
                .write_value(t.ipa, size, low64(value))
                .map_err(|f| Self::stage2_abort(t.ipa, va, size, acc, f))?;
            self.core.cache.written(t.ipa);
            return Ok(());
        }
        self.write_mem_slow(va, size, value, acc)
    }

    /// After a store made directly to the page of `ipa` ([`realm_cpu::RealmMemory::page`]): drop this CPU's
    /// decoded code for it, and, when the page `holds_code` for any CPU, invalidate the others' (this
    /// CPU's own bump is not a reason to drop everything: [`crate::cpu::Core::own_bump`]).
    #[inline(always)]
    pub(crate) fn stored_direct(&mut self, ipa: u64, holds_code: bool) {
        if holds_code {
            let generation = self.mem.invalidate_code();
            self.core.own_bump(generation);
        }
        self.core.cache.written(ipa);
    }

    /// [`Exec::write_mem`] for accesses of 16 bytes or crossing a page.
    #[inline(never)]
    fn write_mem_slow(
        &mut self,
        va: u64,
        size: usize,
        value: u128,
        acc: &Access,
    ) -> Result<(), Exception> {
        let bytes = value.to_le_bytes();
        let first = size.min(0x1000 - page_offset(va));
        let t = self.translate_data(va, acc)?;
        self.check_alignment(va, size, acc, t.device)?;
        let second = if first < size {
            let va2 = va.wrapping_add(first as u64);
            Some((va2, self.translate_data(va2, acc)?))
        } else {
            None
        };
        self.mem
            .write(t.ipa, &bytes[..first])
            .map_err(|f| Self::stage2_abort(t.ipa, va, size, acc, f))?;
        self.core.cache.written(t.ipa);
        if let Some((va2, t2)) = second {
            self.mem
                .write(t2.ipa, &bytes[first..size])
                .map_err(|f| Self::stage2_abort(t2.ipa, va2, size, acc, f))?;
            self.core.cache.written(t2.ipa);
        }
        Ok(())
    }
}

/// The offset of `va` in its 4 KiB page.
#[inline]
fn page_offset(va: u64) -> usize {
    usize::try_from(va & 0xFFF).unwrap_or(0)
}
