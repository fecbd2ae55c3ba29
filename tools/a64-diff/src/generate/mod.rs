//! Random A64 instruction sequences over the base integer encodings, built so that every memory access stays in
//! the data window and no instruction is CONSTRAINED UNPREDICTABLE (DDI 0487 K.1), so QEMU and realm-a64 must
//! agree exactly.
//!
//! Register roles (kept by construction, whatever the sequence does):
//! - X0-X20, X29, X30: data registers, the only registers a non-memory instruction or a load writes;
//! - X21, X22, X23: index registers for register-offset addressing, never written: X21 a small positive
//!   multiple of 16, X22 a small negative one, X23 random in bits 63:32 over a small positive multiple of 16 in
//!   bits 31:0 (valid for UXTW/SXTW only);
//! - X24-X28 and SP: base registers, 16-byte aligned near the middle of the window; written only by pre/post-index
//!   writeback, by multiples of 16.

mod encode;
mod forms;
mod memory;
mod system;

pub use encode::NOP;

use crate::case::{Case, DATA_BASE, DATA_SIZE, Form, MAX_CODE, State};

/// Generator settings.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Most items (instructions or exclusive blocks) in one sequence.
    pub max_items: usize,
    /// Allow accesses that are not aligned to their size (only where realm-a64 maps memory as Normal: stage 1
    /// on). Exclusives, acquire/release and SP-based accesses stay aligned.
    pub unaligned: bool,
    /// Also emit instructions that take a synchronous exception to EL1 (UDF, SVC, BRK): only for the
    /// system-mode harness, which runs at EL1 and reports exceptions.
    pub exceptions: bool,
    /// Cases run at EL0 (system mode only): no EL1-only instructions.
    pub el0: bool,
    /// Leave out items containing a form whose name contains one of these (to look past a known mismatch).
    pub exclude: Vec<String>,
}

impl Default for GenConfig {
    fn default() -> Self {
        Self {
            max_items: 24,
            unaligned: false,
            exceptions: false,
            el0: false,
            exclude: Vec::new(),
        }
    }
}

/// splitmix64: small, fast, and the same stream on every machine for a given seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose stream is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u32) -> u32 {
        u32::try_from(((self.next_u64() >> 32) * u64::from(n)) >> 32).unwrap_or(0)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        let span = hi.abs_diff(lo) + 1;
        lo.wrapping_add(self.below(span).cast_signed())
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[usize::try_from(self.below(u32::try_from(items.len()).unwrap_or(u32::MAX)))
            .unwrap_or(0)]
    }

    /// True with probability 1/2.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
}

/// Registers a non-memory instruction or a load may write.
pub(crate) const DATA_REGS: [u32; 23] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 29, 30,
];
/// Base registers (31 = SP in a base-register field).
pub(crate) const BASE_REGS: [u32; 6] = [24, 25, 26, 27, 28, 31];
/// Index register valid for every extend: a small positive multiple of 16.
pub(crate) const INDEX_POS: u32 = 21;
/// Index register valid for LSL/SXTX/SXTW: a small negative multiple of 16.
pub(crate) const INDEX_NEG: u32 = 22;
/// Index register valid for UXTW/SXTW only: garbage in bits 63:32.
pub(crate) const INDEX_W: u32 = 23;

/// One instruction before layout: a finished word, or a PC-relative one resolved once the sequence is laid out.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Insn {
    /// A complete encoding.
    Word(u32),
    /// A forward branch to the start of a later item (`skip` items after the next one; past the last item is
    /// the end of the sequence): `base` with its offset field zero.
    Branch {
        skip: u32,
        base: u32,
        field: OffsetField,
    },
    /// A literal load (imm19) from one of the sequence's own words; `bytes` is the access size (0 for PRFM).
    Literal { bytes: u32, base: u32 },
}

/// Where a PC-relative instruction keeps its word offset (DDI 0487 C4.1.84, C4.1.94).
#[derive(Clone, Copy, Debug)]
pub(crate) enum OffsetField {
    /// B, BL: bits 25:0.
    Imm26,
    /// B.cond, CBZ/CBNZ, LDR (literal): bits 23:5.
    Imm19,
    /// TBZ/TBNZ: bits 18:5.
    Imm14,
}

impl OffsetField {
    fn insert(self, base: u32, words: i32) -> u32 {
        let w = words.cast_unsigned();
        match self {
            Self::Imm26 => base | (w & 0x03ff_ffff),
            Self::Imm19 => base | ((w & 0x7ffff) << 5),
            Self::Imm14 => base | ((w & 0x3fff) << 5),
        }
    }
}

/// A unit of the sequence that branches never enter: one instruction, or an exclusive block.
pub(crate) type Item = Vec<(Form, Insn)>;

/// Draws cases: initial state and sequence.
#[derive(Debug)]
pub struct Generator {
    pub(crate) rng: Rng,
    pub(crate) cfg: GenConfig,
}

impl Generator {
    /// A generator whose cases are fixed by `seed` and `cfg`.
    pub fn new(seed: u64, cfg: GenConfig) -> Self {
        Self {
            rng: Rng::new(seed),
            cfg,
        }
    }

    /// The next case.
    pub fn case(&mut self) -> Case {
        let seed = self.rng.next_u64();
        let init = self.initial_state();
        let count = 1 + self
            .rng
            .below(u32::try_from(self.cfg.max_items.max(1)).unwrap_or(1));
        let mut items: Vec<Item> = Vec::new();
        let mut len = 0;
        for _ in 0..count {
            let mut item = self.item();
            for _ in 0..100 {
                if !self.excluded(&item) {
                    break;
                }
                item = self.item();
            }
            if self.excluded(&item) || len + item.len() > MAX_CODE {
                break;
            }
            len += item.len();
            items.push(item);
        }
        if len < 2 {
            // An 8-byte literal needs two words of sequence to read (see `literal_target`).
            items.push(vec![(Form("nop", ""), Insn::Word(NOP))]);
        }
        let (code, forms) = self.lay_out(&items);
        let item_of = items
            .iter()
            .enumerate()
            .flat_map(|(k, item)| std::iter::repeat_n(k, item.len()))
            .collect();
        let (mmu, el0) = (self.cfg.unaligned, self.cfg.el0);
        Case {
            seed,
            init,
            code,
            forms,
            item_of,
            mmu,
            el0,
        }
    }

    fn excluded(&self, item: &Item) -> bool {
        !self.cfg.exclude.is_empty()
            && item.iter().any(|(f, _)| {
                self.cfg
                    .exclude
                    .iter()
                    .any(|x| f.to_string().contains(x.as_str()))
            })
    }

    fn interesting(&mut self) -> u64 {
        match self.rng.below(8) {
            0 => u64::from(self.rng.below(16)),
            1 => u64::from(self.rng.below(16)).wrapping_neg(),
            2 => 1u64 << self.rng.below(64),
            3 => self.rng.pick(&[
                0x7fff_ffff,
                0x8000_0000,
                0xffff_ffff,
                i64::MAX.cast_unsigned(),
                1 << 63,
                u64::MAX,
            ]),
            _ => self.rng.next_u64(),
        }
    }

    fn base_value(&mut self) -> u64 {
        let middle = DATA_BASE + (DATA_SIZE as u64) / 2;
        middle.wrapping_add_signed(i64::from(self.rng.range(-512, 512)) * 16)
    }

    fn initial_state(&mut self) -> State {
        let mut x = [0u64; 31];
        for r in DATA_REGS {
            x[r as usize] = self.interesting();
        }
        x[INDEX_POS as usize] = u64::from(self.rng.below(32) + 1) * 16;
        x[INDEX_NEG as usize] = (u64::from(self.rng.below(32) + 1) * 16).wrapping_neg();
        x[INDEX_W as usize] =
            (self.rng.next_u64() << 32) | (u64::from(self.rng.below(32) + 1) * 16);
        for r in &BASE_REGS[..5] {
            x[*r as usize] = self.base_value();
        }
        let sp = self.base_value();
        let nzcv = u64::from(self.rng.below(16)) << 28;
        State { x, sp, nzcv }
    }

    /// Resolves branches and literals once every item's position is known.
    fn lay_out(&mut self, items: &[Item]) -> (Vec<u32>, Vec<Form>) {
        let mut starts = Vec::with_capacity(items.len() + 1);
        let mut n = 0usize;
        for item in items {
            starts.push(n);
            n += item.len();
        }
        starts.push(n);
        let mut code = Vec::with_capacity(n);
        let mut forms = Vec::with_capacity(n);
        for (i, item) in items.iter().enumerate() {
            for &(form, insn) in item {
                let here = code.len();
                let word = match insn {
                    Insn::Word(w) => w,
                    Insn::Branch { skip, base, field } => {
                        let target = (i + 1 + skip as usize).min(items.len());
                        field.insert(base, word_offset(here, starts[target]))
                    }
                    Insn::Literal { bytes, base } => {
                        let target = self.literal_target(n, bytes);
                        OffsetField::Imm19.insert(base, word_offset(here, target))
                    }
                };
                code.push(word);
                forms.push(form);
            }
        }
        (code, forms)
    }

    /// A word index of the sequence to load `bytes` from, so the access stays inside the sequence (the word after
    /// it differs between the two sides) and, unless unaligned accesses are allowed, is aligned. Sequences have
    /// at least two words (see [`Generator::case`]), so an 8-byte literal always fits.
    fn literal_target(&mut self, n: usize, bytes: u32) -> usize {
        let n32 = u32::try_from(n).unwrap_or(1);
        if bytes == 8 && n >= 2 {
            let mut k = self.rng.below(n32 - 1);
            // CODE_BASE is 8-byte aligned, so an even word index is an aligned doubleword.
            if !self.cfg.unaligned && k % 2 == 1 {
                k -= 1;
            }
            k as usize
        } else {
            self.rng.below(n32) as usize
        }
    }
}

fn word_offset(from: usize, to: usize) -> i32 {
    let from = i32::try_from(from).unwrap_or(0);
    let to = i32::try_from(to).unwrap_or(0);
    to - from
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_deterministic_per_seed() {
        let a = Generator::new(42, GenConfig::default()).case();
        let b = Generator::new(42, GenConfig::default()).case();
        assert_eq!(a.code, b.code, "same seed, same code");
        assert_eq!(a.init, b.init, "same seed, same initial state");
    }

    #[test]
    fn cases_respect_size_and_register_roles() {
        let mut g = Generator::new(7, GenConfig::default());
        for _ in 0..2000 {
            let c = g.case();
            assert!(
                !c.code.is_empty() && c.code.len() <= MAX_CODE,
                "length {} out of 1..={MAX_CODE}",
                c.code.len()
            );
            assert_eq!(c.code.len(), c.forms.len(), "one form per instruction");
            assert_eq!(c.init.sp % 16, 0, "SP starts 16-byte aligned");
            for r in BASE_REGS[..5].iter().map(|&r| r as usize) {
                let v = c.init.x[r];
                assert!(
                    v.is_multiple_of(16) && (DATA_BASE..DATA_BASE + DATA_SIZE as u64).contains(&v),
                    "x{r} = {v:#x}"
                );
            }
        }
    }

    /// Index and base registers (X21-X28) are written only by writeback: no generated instruction names one as
    /// its destination (Rd/Rt bits 4:0, Rt2 of a load pair bits 14:10, Ws of a store-exclusive bits 20:16).
    #[test]
    fn no_instruction_writes_an_index_or_base_register() {
        let reserved = 21..=28u32;
        let mut g = Generator::new(11, GenConfig::default());
        for _ in 0..5000 {
            let c = g.case();
            for (form, word) in c.forms.iter().zip(&c.code) {
                let name = form.0;
                let writes_nothing = name.starts_with("st")
                    || name.starts_with("prfm")
                    || name.starts_with("cc")
                    || name.starts_with('b')
                    || name.starts_with("cb")
                    || name.starts_with("tb")
                    || ["msr_nzcv", "nop", "dmb", "dsb", "isb", "clrex"].contains(&name);
                let rd = word & 31;
                if form.1 == ".sp" {
                    assert_eq!(rd, 31, "{form} {word:#010x} writes SP");
                } else if !writes_nothing {
                    assert!(!reserved.contains(&rd), "{form} {word:#010x} writes x{rd}");
                }
                if name.starts_with("ldp") || name.starts_with("ldxp") || name.starts_with("ldaxp")
                {
                    let rt2 = (word >> 10) & 31;
                    assert!(
                        !reserved.contains(&rt2),
                        "{form} {word:#010x} writes x{rt2}"
                    );
                }
                if name.starts_with("stxr")
                    || name.starts_with("stlxr")
                    || name.starts_with("stxp")
                    || name.starts_with("stlxp")
                {
                    let ws = (word >> 16) & 31;
                    assert!(
                        !reserved.contains(&ws),
                        "{form} {word:#010x} writes status to x{ws}"
                    );
                }
            }
        }
    }
}
