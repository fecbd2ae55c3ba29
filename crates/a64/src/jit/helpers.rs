//! The bodies of the helpers compiled blocks call for their loads and stores: the interpreter's fast path
//! (micro-TLB hit or fill, the protected page directly, else the memory's `read_value`/`write_value`) for
//! naturally aligned accesses within one page, and "not done" — having changed nothing architectural — for
//! everything else: a translation fault, a stage-2 fault (MMIO), a misaligned access, and a store to a
//! page not known to hold no decoded code. The block then returns at that instruction and the interpreter
//! executes it, raising the exception or dropping decoded code exactly as it always does.

use crate::exec::Exec;
use crate::memory::Access;

/// The offset of `va` in its page.
#[inline(always)]
fn page_offset(va: u64) -> usize {
    usize::try_from(va & 0xFFF).unwrap_or(0)
}

/// The `bytes` (1..=8) at `ipa` (translated from `va` through micro-TLB slot `slot`).
#[inline(always)]
fn read(e: &mut Exec<'_>, va: u64, ipa: u64, slot: usize, bytes: usize) -> Option<u64> {
    if let Some(page) = e.core.micro_tlb.page(slot) {
        return Some(page.load(page_offset(va), bytes));
    }
    e.mem.read_value(ipa, bytes).ok()
}

/// Whether the current EL is EL0 (its accesses are unprivileged).
#[inline(always)]
fn unprivileged(e: &Exec<'_>) -> bool {
    e.ctx.pstate & 0b1100 == 0
}

/// Translate a data access at `va` (a `write` or a read) on the interpreter's path, remembering the page
/// for [`crate::translate::MicroTlb::fast_page`].
#[inline(always)]
fn translate(e: &mut Exec<'_>, va: u64, write: bool) -> Option<crate::memory::Translated> {
    let acc = Access {
        write,
        ..Access::default()
    };
    let t = e.translate_data(va, &acc).ok()?;
    let unpriv = unprivileged(e);
    e.core.micro_tlb.remember(va, unpriv, write, t.ipa, t.slot);
    Some(t)
}

/// A load of `1 << size` bytes at `va` into `e.jit.value[0]`.
#[inline(always)]
pub(super) fn load(e: &mut Exec<'_>, va: u64, size: u64) -> bool {
    let bytes = 1usize << (size & 3);
    if va & (bytes as u64 - 1) != 0 {
        return false;
    }
    if let Some((_, page)) = e.core.micro_tlb.fast_page(va, unprivileged(e), false) {
        e.jit.value[0] = page.load(page_offset(va), bytes);
        return true;
    }
    let Some(t) = translate(e, va, false) else {
        return false;
    };
    let Some(v) = read(e, va, t.ipa, t.slot, bytes) else {
        return false;
    };
    e.jit.value[0] = v;
    true
}

/// A store of the low `1 << size` bytes of `value` at `va`.
#[inline(always)]
pub(super) fn store(e: &mut Exec<'_>, va: u64, size: u64, value: u64) -> bool {
    let bytes = 1usize << (size & 3);
    if va & (bytes as u64 - 1) != 0 {
        return false;
    }
    if let Some((ipa, page)) = e.core.micro_tlb.fast_page(va, unprivileged(e), true) {
        if !e.core.cache.is_data(ipa) {
            return false;
        }
        let code = page.store_value(page_offset(va), bytes, value);
        e.stored_direct(ipa, code);
        return true;
    }
    let Some(t) = translate(e, va, true) else {
        return false;
    };
    if !e.core.cache.is_data(t.ipa) {
        return false;
    }
    if let Some(page) = e.core.micro_tlb.page(t.slot) {
        let code = page.store_value(page_offset(va), bytes, value);
        e.stored_direct(t.ipa, code);
        return true;
    }
    if e.mem.write_value(t.ipa, bytes, value).is_err() {
        return false;
    }
    e.core.cache.written(t.ipa);
    true
}

/// Whether a pair of `bytes`-byte elements at `va` is aligned to its elements and within one page.
#[inline(always)]
fn pair_fits(va: u64, bytes: usize) -> bool {
    va & (bytes as u64 - 1) == 0 && page_offset(va) + 2 * bytes <= 0x1000
}

/// A load pair of `1 << size`-byte elements (4 or 8) at `va` into `e.jit.value`.
#[inline(always)]
pub(super) fn load_pair(e: &mut Exec<'_>, va: u64, size: u64) -> bool {
    let bytes = if size == 2 { 4 } else { 8 };
    if !pair_fits(va, bytes) {
        return false;
    }
    if let Some((_, page)) = e.core.micro_tlb.fast_page(va, unprivileged(e), false) {
        let off = page_offset(va);
        e.jit.value = if bytes == 4 {
            let v = page.load(off, 8);
            [v & 0xFFFF_FFFF, v >> 32]
        } else {
            [page.load(off, 8), page.load(off + 8, 8)]
        };
        return true;
    }
    let Some(t) = translate(e, va, false) else {
        return false;
    };
    if bytes == 4 {
        let Some(v) = read(e, va, t.ipa, t.slot, 8) else {
            return false;
        };
        e.jit.value = [v & 0xFFFF_FFFF, v >> 32];
        return true;
    }
    if let Some(page) = e.core.micro_tlb.page(t.slot) {
        let off = page_offset(va);
        e.jit.value = [page.load(off, 8), page.load(off + 8, 8)];
        return true;
    }
    let mut buf = [0u8; 16];
    if e.mem.read(t.ipa, &mut buf).is_err() {
        return false;
    }
    let v = u128::from_le_bytes(buf);
    e.jit.value = [
        crate::exec::ldst::low64(v),
        crate::exec::ldst::low64(v >> 64),
    ];
    true
}

/// A store pair of `a` and `b`, `1 << size`-byte elements (4 or 8), at `va`.
#[inline(always)]
pub(super) fn store_pair(e: &mut Exec<'_>, va: u64, size: u64, a: u64, b: u64) -> bool {
    let bytes = if size == 2 { 4 } else { 8 };
    if !pair_fits(va, bytes) {
        return false;
    }
    let words = (a & 0xFFFF_FFFF) | (b << 32);
    if let Some((ipa, page)) = e.core.micro_tlb.fast_page(va, unprivileged(e), true) {
        if !e.core.cache.is_data(ipa) {
            return false;
        }
        let off = page_offset(va);
        let code = if bytes == 4 {
            page.store_value(off, 8, words)
        } else {
            page.store_pair(off, a, b)
        };
        e.stored_direct(ipa, code);
        return true;
    }
    let Some(t) = translate(e, va, true) else {
        return false;
    };
    if !e.core.cache.is_data(t.ipa) {
        return false;
    }
    if let Some(page) = e.core.micro_tlb.page(t.slot) {
        let off = page_offset(va);
        let code = if bytes == 4 {
            page.store_value(off, 8, words)
        } else {
            page.store_pair(off, a, b)
        };
        e.stored_direct(t.ipa, code);
        return true;
    }
    let stored = if bytes == 4 {
        e.mem.write_value(t.ipa, 8, words)
    } else {
        let mut buf = [0u8; 16];
        buf[..8].copy_from_slice(&a.to_le_bytes());
        buf[8..].copy_from_slice(&b.to_le_bytes());
        e.mem.write(t.ipa, &buf)
    };
    if stored.is_err() {
        return false;
    }
    e.core.cache.written(t.ipa);
    true
}
