//! Loads and stores (Arm ARM C6.2: LDR/STR and their B/H/SB/SH/SW forms in every addressing mode, LDTR/STTR,
//! LDP/STP/LDNP/STNP/LDPSW, LDR literal, PRFM, LDAR/LDAPR/STLR, LDXR/LDAXR/STXR/STLXR and pairs).
//!
//! A load's registers and writeback are committed only after every access of the instruction succeeded, so
//! an abort leaves the instruction restartable. Exclusives: the local monitor remembers the IPA, size and
//! value of the last load-exclusive; a store-exclusive to that address commits with
//! `RealmMemory::compare_exchange` against the remembered value, which makes it fail if another CPU changed
//! the location meanwhile (Arm ARM B2.9, "Synchronization and semaphores").

use super::Exec;
use super::arith::{extend_reg, sext};
use crate::cpu::Monitor;
use crate::decode::{Index, Insn, MemOp};
use crate::exception::{Exception, ec};
use crate::memory::{Access, SCTLR_SA, SCTLR_SA0};
use realm_cpu::{DataAbort, RealmExit};

impl Exec<'_> {
    /// Execute a load or store.
    #[inline(always)]
    pub(super) fn load_store(&mut self, insn: Insn) -> Result<(), Exception> {
        match insn {
            Insn::LdStImm {
                size,
                op,
                rt,
                rn,
                offset,
                index,
                unprivileged,
            } => {
                let base = self.base(rn)?;
                let addr = match index {
                    Index::Post => base,
                    _ => base.wrapping_add_signed(i64::from(offset)),
                };
                let unprivileged = unprivileged && self.el() == 1;
                self.single(size, op, rt, addr, unprivileged, index == Index::Offset)?;
                // A load with writeback to its own base is CONSTRAINED UNPREDICTABLE: the loaded value wins
                // here (one of the permitted behaviours).
                let own_base = op != MemOp::Store && rt == rn && rn != 31;
                if index != Index::Offset && !own_base {
                    self.set_reg_or_sp(true, rn, base.wrapping_add_signed(i64::from(offset)));
                }
                Ok(())
            }
            Insn::LdStReg {
                size,
                op,
                rt,
                rn,
                rm,
                option,
                shift,
            } => {
                let base = self.base(rn)?;
                let addr = base.wrapping_add(extend_reg(self.x(rm), option, shift));
                self.single(size, op, rt, addr, false, true)
            }
            Insn::LdLiteral {
                size,
                op,
                rt,
                offset,
            } => {
                let addr = self.pc.wrapping_add_signed(i64::from(offset));
                self.single(size, op, rt, addr, false, true)
            }
            Insn::LdStPair {
                size,
                op,
                rt,
                rt2,
                rn,
                offset,
                index,
            } => self.pair(size, op, rt, rt2, rn, offset, index),
            Insn::Exclusive {
                size,
                load,
                pair,
                ordered: _,
                rs,
                rt,
                rt2,
                rn,
            } => self.exclusive(size, load, pair, rs, rt, rt2, rn),
            Insn::AcquireRelease { size, load, rt, rn } => {
                let addr = self.base(rn)?;
                let bytes = 1usize << size;
                let acc = Access {
                    write: !load,
                    aligned: true,
                    isv: true,
                    rt,
                    sixty_four: size == 3,
                    ..Access::default()
                };
                if load {
                    let v = self.read_mem(addr, bytes, &acc)?;
                    self.set_x(rt, low64(v));
                } else {
                    self.write_mem(addr, bytes, u128::from(self.x(rt)), &acc)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The base register value (SP for 31), with the SP alignment check (`SCTLR_EL1.SA`/`SA0`, Arm ARM
    /// D1.9.2 "SP alignment checking").
    #[inline(always)]
    fn base(&self, rn: u8) -> Result<u64, Exception> {
        if rn != 31 {
            return Ok(self.x(rn));
        }
        let sp = self.sp();
        let check = if self.el() == 0 { SCTLR_SA0 } else { SCTLR_SA };
        if sp & 0xF != 0 && self.ctx.sysregs.sctlr_el1 & check != 0 {
            return Err(Exception::sync(ec::SP_ALIGNMENT, 0));
        }
        Ok(sp)
    }

    /// One single-register access of `1 << size` bytes at `addr`.
    #[inline(always)]
    fn single(
        &mut self,
        size: u8,
        op: MemOp,
        rt: u8,
        addr: u64,
        unprivileged: bool,
        isv: bool,
    ) -> Result<(), Exception> {
        let bytes = 1usize << size;
        let sixty_four = size == 3 || op == MemOp::LoadSigned64;
        let acc = Access {
            write: op == MemOp::Store,
            unprivileged,
            isv,
            rt,
            sign_extend: matches!(op, MemOp::LoadSigned32 | MemOp::LoadSigned64),
            sixty_four,
            ..Access::default()
        };
        match op {
            MemOp::Prefetch => Ok(()),
            MemOp::Store => self.write_mem(addr, bytes, u128::from(self.x(rt)), &acc),
            MemOp::Load => {
                let v = low64(self.read_mem(addr, bytes, &acc)?);
                self.set_x(rt, v);
                Ok(())
            }
            MemOp::LoadSigned64 => {
                let v = low64(self.read_mem(addr, bytes, &acc)?);
                self.set_x(rt, sext(v, 8 << size));
                Ok(())
            }
            MemOp::LoadSigned32 => {
                let v = low64(self.read_mem(addr, bytes, &acc)?);
                self.set_x(rt, sext(v, 8 << size) & 0xFFFF_FFFF);
                Ok(())
            }
        }
    }

    #[expect(clippy::too_many_arguments, reason = "the instruction's fields")]
    #[inline(always)]
    fn pair(
        &mut self,
        size: u8,
        op: MemOp,
        rt: u8,
        rt2: u8,
        rn: u8,
        offset: i32,
        index: Index,
    ) -> Result<(), Exception> {
        let base = self.base(rn)?;
        let addr = match index {
            Index::Post => base,
            _ => base.wrapping_add_signed(i64::from(offset)),
        };
        let bytes = 1usize << size;
        let second = addr.wrapping_add(bytes as u64);
        let acc = Access {
            write: op == MemOp::Store,
            ..Access::default()
        };
        if addr & (bytes as u64 - 1) == 0
            && usize::try_from(addr & 0xFFF).unwrap_or(0x1000) + 2 * bytes <= 0x1000
            && self.pair_in_page(addr, bytes, op, rt, rt2, &acc)
        {
            if index != Index::Offset {
                self.set_reg_or_sp(true, rn, base.wrapping_add_signed(i64::from(offset)));
            }
            return Ok(());
        }
        if op == MemOp::Store {
            let (a, b) = (self.x(rt), self.x(rt2));
            self.write_mem(addr, bytes, u128::from(a), &acc)?;
            self.write_mem(second, bytes, u128::from(b), &acc)?;
        } else {
            let mut a = low64(self.read_mem(addr, bytes, &acc)?);
            let mut b = low64(self.read_mem(second, bytes, &acc)?);
            if op == MemOp::LoadSigned64 {
                a = sext(a, 32);
                b = sext(b, 32);
            }
            self.set_x(rt, a);
            self.set_x(rt2, b);
        }
        if index != Index::Offset {
            self.set_reg_or_sp(true, rn, base.wrapping_add_signed(i64::from(offset)));
        }
        Ok(())
    }

    /// A pair whose two aligned elements lie in one page, made as one access of both: one translation
    /// (both elements have the same), one memory access, which completes or faults without effect
    /// ([`realm_cpu::RealmMemory`]). Returns `false`, having changed nothing, when the translation or the
    /// access fails: the caller then makes the two accesses in order (Arm ARM `Mem[]` per register), which
    /// raise the fault exactly.
    #[inline(always)]
    fn pair_in_page(
        &mut self,
        addr: u64,
        bytes: usize,
        op: MemOp,
        rt: u8,
        rt2: u8,
        acc: &Access,
    ) -> bool {
        let Ok(t) = self.translate_data(addr, acc) else {
            return false;
        };
        // The page itself when the micro-TLB has it (`RealmMemory::page`), else through the memory.
        let off = usize::try_from(addr & 0xFFF).unwrap_or(0);
        if op == MemOp::Store {
            let (a, b) = (self.x(rt), self.x(rt2));
            let words = (a & 0xFFFF_FFFF) | (b << 32);
            if let Some(page) = self.core.micro_tlb.page(t.slot) {
                let code = if bytes == 4 {
                    page.store_value(off, 8, words)
                } else {
                    page.store_pair(off, a, b)
                };
                self.stored_direct(t.ipa, code);
                return true;
            }
            let stored = if bytes == 4 {
                self.mem.write_value(t.ipa, 8, words)
            } else {
                let mut buf = [0u8; 16];
                buf[..8].copy_from_slice(&a.to_le_bytes());
                buf[8..].copy_from_slice(&b.to_le_bytes());
                self.mem.write(t.ipa, &buf)
            };
            if stored.is_err() {
                return false;
            }
            self.core.cache.written(t.ipa);
            return true;
        }
        // The pair's bytes, little-endian (8 of them for a pair of words).
        let v = match self.core.micro_tlb.page(t.slot) {
            Some(page) if bytes == 4 => u128::from(page.load(off, 8)),
            Some(page) => u128::from(page.load(off, 8)) | (u128::from(page.load(off + 8, 8)) << 64),
            None if bytes == 4 => match self.mem.read_value(t.ipa, 8) {
                Ok(v) => u128::from(v),
                Err(_) => return false,
            },
            None => {
                let mut buf = [0u8; 16];
                if self.mem.read(t.ipa, &mut buf).is_err() {
                    return false;
                }
                u128::from_le_bytes(buf)
            }
        };
        let (mut a, mut b) = if bytes == 4 {
            (low64(v) & 0xFFFF_FFFF, low64(v) >> 32)
        } else {
            (low64(v), low64(v >> 64))
        };
        if op == MemOp::LoadSigned64 {
            a = sext(a, 32);
            b = sext(b, 32);
        }
        self.set_x(rt, a);
        self.set_x(rt2, b);
        true
    }

    #[expect(clippy::too_many_arguments, reason = "the instruction's fields")]
    #[inline(never)]
    fn exclusive(
        &mut self,
        size: u8,
        load: bool,
        pair: bool,
        rs: u8,
        rt: u8,
        rt2: u8,
        rn: u8,
    ) -> Result<(), Exception> {
        let addr = self.base(rn)?;
        let elem = 1usize << size;
        let total = if pair { elem * 2 } else { elem };
        let acc = Access {
            write: !load,
            aligned: true,
            rt,
            sixty_four: size == 3,
            ..Access::default()
        };
        if load {
            let value = self.read_mem(addr, total, &acc)?;
            let t = self.translate_data(addr, &acc)?;
            self.core.monitor = Some(Monitor {
                ipa: t.ipa,
                size: total,
                value,
            });
            if pair {
                let bits = 8u32 << size;
                let mask = if bits == 64 {
                    u64::MAX
                } else {
                    (1 << bits) - 1
                };
                self.set_x(rt, low64(value) & mask);
                self.set_x(rt2, low64(value >> bits) & mask);
            } else {
                self.set_x(rt, low64(value));
            }
            return Ok(());
        }
        // Store-exclusive: the alignment and permission checks come first (an abort leaves the monitor),
        // then the monitor decides.
        let t = self.translate_data(addr, &acc)?;
        if addr & (total as u64 - 1) != 0 {
            return Err(Exception::data_abort(
                self.el(),
                addr,
                true,
                crate::exception::fsc::ALIGNMENT,
            ));
        }
        let new = if pair {
            let bits = 8u32 << size;
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1 << bits) - 1
            };
            u128::from(self.x(rt) & mask) | (u128::from(self.x(rt2) & mask) << bits)
        } else {
            u128::from(self.x(rt))
        };
        let status = match self.core.monitor.take() {
            Some(m) if m.ipa == t.ipa && m.size == total => {
                match self.mem.compare_exchange(t.ipa, total, m.value, new) {
                    Ok(Ok(())) => {
                        self.core.cache.written(t.ipa);
                        0
                    }
                    Ok(Err(_)) => 1,
                    Err(fault) => {
                        return Err(Exception::El2(RealmExit::DataAbort(DataAbort {
                            ipa: t.ipa,
                            va: addr,
                            len: u32::try_from(elem).unwrap_or(0),
                            write: true,
                            rt,
                            sign_extend: false,
                            sixty_four: size == 3,
                            syndrome_valid: false,
                            fault,
                        })));
                    }
                }
            }
            _ => 1,
        };
        self.set_x(rs, status);
        Ok(())
    }
}

/// The low 64 bits.
#[inline]
pub(crate) fn low64(v: u128) -> u64 {
    u64::try_from(v & u128::from(u64::MAX)).unwrap_or(0)
}
