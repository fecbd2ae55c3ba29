//! One differential test case and its outcome, shared by the QEMU side ([`crate::qemu`]), the realm-a64 side
//! ([`crate::realm`]) and regression vectors ([`crate::vector`]).

use std::fmt;

/// Where the case's instructions start (IPA on realm-a64, VA under qemu-user).
pub const CODE_BASE: u64 = 0x4000_0000;
/// Start of the data window that every generated memory access stays inside.
pub const DATA_BASE: u64 = 0x4001_0000;
/// Size of the data window in bytes.
pub const DATA_SIZE: usize = 0x1_0000;
/// Most instructions in one case (the harness's `MAXCODE`).
pub const MAX_CODE: usize = 60;
/// Memory both sides map: code page(s) then the data window.
pub const MEMORY_SIZE: usize = 0x2_0000;

/// An instruction form tag: mnemonic and variant, e.g. `ldrsb` + `_post.x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Form(pub &'static str, pub &'static str);

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0, self.1)
    }
}

/// Architectural state compared at the end of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// X0-X30.
    pub x: [u64; 31],
    /// The stack pointer (SP_EL0 under qemu-user, SP_EL1 on realm-a64 in EL1h).
    pub sp: u64,
    /// NZCV in bits 31:28, other bits zero.
    pub nzcv: u64,
}

/// A generated test case: initial state, data-window seed and the instruction sequence.
#[derive(Clone, Debug)]
pub struct Case {
    /// Seeds the data window's initial contents ([`fill_window`]).
    pub seed: u64,
    /// Initial registers and flags.
    pub init: State,
    /// The sequence; the harness appends a branch to its exit stub, realm-a64 an `SMC #0`.
    pub code: Vec<u32>,
    /// The form of each instruction in `code`.
    pub forms: Vec<Form>,
    /// The generator item (a unit branches never enter: one instruction, or a block such as LDXR…STXR or
    /// MSR…MRS) each instruction belongs to; shrinking replaces whole items by NOPs.
    pub item_of: Vec<usize>,
    /// Run realm-a64 with its stage-1 MMU on (an identity map of Normal memory), as unaligned accesses need.
    pub mmu: bool,
    /// Run at EL0 (EL0t, SP_EL0), ending with `SVC #0xfffe` (system mode only; see `harness.S`).
    pub el0: bool,
}

/// The ESR_EL1 of `SVC #0xfffe` from AArch64 (EC 0x15, IL): how an EL0 case ends.
pub const EL0_END_ESR: u64 = 0x5600_fffe;
/// `SVC #0xfffe`.
pub const EL0_END_SVC: u32 = 0xd41f_ffc1;

/// An exception taken to EL1 that ended the case (system mode; DDI 0487 D1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exception {
    /// Offset of the vector from VBAR_EL1 (0x200: synchronous, current EL with SP_ELx).
    pub vector: u64,
    /// ESR_EL1.
    pub esr: u64,
    /// ELR_EL1.
    pub elr: u64,
    /// FAR_EL1, where the exception class defines it (see [`Exception::far_valid`]), else 0.
    pub far: u64,
    /// SPSR_EL1, masked to the fields both sides define: NZCV, DAIF and M\[3:0\].
    pub spsr: u64,
}

/// The SPSR_EL1 bits compared: NZCV (31:28), DAIF (9:6), M\[3:0\] (DDI 0487 C5.2.18).
pub const SPSR_COMPARED: u64 = 0xf000_03cf;

impl Exception {
    /// Whether FAR_EL1 holds the faulting address for this ESR: instruction/data aborts (EC 0x20, 0x21, 0x24,
    /// 0x25) without FnV, PC alignment (0x22), watchpoints (0x34, 0x35). Otherwise FAR is UNKNOWN.
    pub fn far_valid(esr: u64) -> bool {
        let ec = (esr >> 26) & 0x3f;
        let fnv = esr & (1 << 10) != 0;
        matches!(ec, 0x20 | 0x21 | 0x24 | 0x25) && !fnv || matches!(ec, 0x22 | 0x34 | 0x35)
    }

    /// An exception as reported, with FAR cleared where UNKNOWN and SPSR masked.
    pub fn new(vector: u64, esr: u64, elr: u64, far: u64, spsr: u64) -> Self {
        let far = if Self::far_valid(esr) { far } else { 0 };
        Self {
            vector,
            esr,
            elr,
            far,
            spsr: spsr & SPSR_COMPARED,
        }
    }
}

/// Final state of a completed case: registers plus the data-window words that changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Final {
    /// Registers and flags at the end of the sequence or at the exception that ended it (the flags are then
    /// SPSR_EL1's: QEMU clears PSTATE.NZCV on exception entry, and the handler sees that).
    pub state: State,
    /// The exception that ended the case, if one did.
    pub exception: Option<Exception>,
    /// `(offset in the window, new 8-byte word)` for every aligned word that differs from its initial value,
    /// in ascending offset order.
    pub changed: Vec<(u32, u64)>,
}

/// What running a case produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The sequence reached its end.
    Completed(Box<Final>),
    /// QEMU delivered a signal (the realm-a64 side reports its exit as text).
    Fault {
        /// What happened, e.g. `signal 4 at pc 0x40000008 (address 0x0)`.
        what: String,
    },
}

/// The data window's initial 8-byte words: xorshift64 (13, 7, 17) from `seed | 1`, as the harness computes.
pub fn window_words(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed | 1;
    (0..DATA_SIZE / 8).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    })
}

/// Fills `window` (the data window's bytes) with its initial contents for `seed`.
pub fn fill_window(window: &mut [u8], seed: u64) {
    for (chunk, word) in window.chunks_exact_mut(8).zip(window_words(seed)) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
}

/// The changed words of `window` against its initial contents for `seed` (see [`Final::changed`]).
pub fn changed_words(window: &[u8], seed: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    for ((offset, chunk), initial) in (0u32..)
        .step_by(8)
        .zip(window.chunks_exact(8))
        .zip(window_words(seed))
    {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        if word != initial {
            out.push((offset, word));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64 from seed 5 (5 | 1 = 5): 5 ^ 5<<13 = 0xa005; ^ >>7 = 0xa005 ^ 0x140 = 0xa145;
    /// ^ <<17 = 0xa145 ^ 0x1_428a_0000 = 0x1_428a_a145 — the word the harness writes first.
    #[test]
    fn window_first_word_is_hand_computed() {
        assert_eq!(window_words(5).next(), Some(0x1_428a_a145));
    }

    #[test]
    fn changed_words_reports_only_modified_words() {
        let mut w = vec![0u8; DATA_SIZE];
        fill_window(&mut w, 9);
        assert!(
            changed_words(&w, 9).is_empty(),
            "a freshly filled window has no changes"
        );
        w[0x8001] ^= 0xff;
        let changed = changed_words(&w, 9);
        assert_eq!(changed.len(), 1, "one byte flipped changes one word");
        assert_eq!(changed[0].0, 0x8000, "the word containing byte 0x8001");
    }
}
