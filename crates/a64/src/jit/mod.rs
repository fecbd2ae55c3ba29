//! Tier 2: a block compiler. Straight-line runs of a decoded page that the interpreter (tier 1) enters
//! often — [`JitConfig::threshold`] times — are translated with Cranelift into host code that works on X0..X30
//! in place (`Exec::regs`) and on NZCV in host registers, loops when the block branches back to its own
//! start (within the instruction budget it is given), and returns the steps it made and the next PC. Everything a block does not translate (system instructions, exclusives, SP-relative
//! code, divides …; [`block::kind`]) ends it, and every load or store goes through a helper that either
//! completes it on the interpreter's fast path or declines ([`helpers`]): the block then returns at that
//! instruction, with every earlier instruction's effect written back, and the interpreter executes it —
//! taking the exception, the exit to EL2 or the invalidation of decoded code exactly as it always does.
//!
//! Compiled blocks belong to the decoded page they came from: they are keyed by the cache slot and the
//! page's stamp ([`crate::cache::CodeCache::stamp`]), so they go when the page goes (stores to it, IC
//! invalidation, a generation change, a cache flush). Code memory is a [`native::CodeArena`] per generation
//! of blocks, dropped whole when [`ARENA_BLOCKS`] blocks were compiled into it.

mod block;
mod emit;
mod emit_alu;
mod emit_arith;
mod emit_mem;
mod helpers;
mod native;
#[cfg(test)]
mod tests;

use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{AbiParam, Signature, UserFuncName};
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Module, default_libcall_names};

use crate::cache::PAGE_INSNS;
use crate::exec::Exec;
use crate::exec::op::Op;

/// Whether and when the block compiler runs ([`crate::CpuConfig::jit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JitConfig {
    /// Compile blocks at all (when the host is one Cranelift supports).
    pub enabled: bool,
    /// Entries into a block start before it is compiled (0: on the first).
    pub threshold: u32,
    /// Blocks shorter than this are left to the interpreter (calling a block costs about what
    /// interpreting a few instructions does).
    pub min_instructions: u32,
}

impl JitConfig {
    /// The interpreter alone.
    pub const OFF: Self = Self {
        enabled: false,
        threshold: 0,
        min_instructions: 1,
    };

    /// On, compiling every block on its first entry (for tests).
    pub const EAGER: Self = Self {
        enabled: true,
        threshold: 0,
        min_instructions: 1,
    };

    /// On, compiling a block after [`DEFAULT_THRESHOLD`] entries, unless the environment variable
    /// `REALMKIT_JIT` is `0`.
    pub fn from_env() -> Self {
        Self {
            enabled: std::env::var_os("REALMKIT_JIT").is_none_or(|v| v != "0"),
            threshold: DEFAULT_THRESHOLD,
            min_instructions: MIN_BLOCK,
        }
    }
}

impl Default for JitConfig {
    fn default() -> Self {
        Self::from_env()
    }
}

/// Entries before a block is compiled. Compiling costs ~300–700 µs a block, interpreting ~5 ns an
/// instruction: a block must run some 100 000 instructions to pay for itself. With 128, a Linux boot
/// compiled 22 000 blocks (7 s of its 16); with 2048, ~700.
pub const DEFAULT_THRESHOLD: u32 = 2048;

/// Instructions a block needs by default to be compiled ([`JitConfig::min_instructions`]).
const MIN_BLOCK: u32 = 4;

/// Blocks compiled into one code arena before it is dropped and a new one started. Cranelift's JIT memory
/// gives every finalized block at least a page of its own, so this bounds a CPU's code memory to some
/// 16 MiB (a Linux boot to `/init` compiles about 700 blocks). Tests use 2, so that the differential
/// test's programs also run across arena changes.
const ARENA_BLOCKS: usize = if cfg!(test) { 2 } else { 4096 };

/// A page-table entry meaning "never compile" (the block cannot be translated, or Cranelift failed).
const NEVER: u32 = u32::MAX;
/// Entries at or above this (and below [`NEVER`]) hold a compiled block's arena index.
const COMPILED: u32 = 1 << 31;

/// What the compiler knows about one decoded page: per instruction, the entries counted, [`NEVER`] or
/// [`COMPILED`] `|` block index; valid for the page of stamp `stamp` run at virtual address `va`, and the
/// arena `arena`. (A block's code depends on its VA — ADR, branch targets, link values — while the decoded
/// page is that of an IPA, which Linux runs at two VAs: with the MMU off and on.)
struct PageBlocks {
    stamp: u64,
    va: u64,
    arena: u64,
    entries: Box<[u32; PAGE_INSNS]>,
}

/// The block compiler of one CPU.
pub(crate) struct Jit {
    config: JitConfig,
    arena: Option<native::CodeArena>,
    /// Arenas made so far (the current one's number).
    arenas: u64,
    pages: Vec<Option<PageBlocks>>,
    context: FunctionBuilderContext,
    /// Set when Cranelift cannot target this host: the interpreter alone runs.
    unsupported: bool,
}

impl std::fmt::Debug for Jit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jit")
            .field("config", &self.config)
            .field("arena", &self.arena)
            .finish_non_exhaustive()
    }
}

impl Jit {
    /// A compiler configured by `config` (nothing is set up before the first compile).
    pub(crate) fn new(config: JitConfig) -> Self {
        Self {
            config,
            arena: None,
            arenas: 0,
            pages: Vec::new(),
            context: FunctionBuilderContext::new(),
            unsupported: false,
        }
    }

    /// Whether blocks may be compiled.
    #[inline(always)]
    pub(crate) fn enabled(&self) -> bool {
        self.config.enabled && !self.unsupported
    }

    /// The compiled block for instruction `index` of the page in cache `slot` (stamp `stamp`, instructions
    /// `ops`), counting the entry and compiling the block when it became hot; `None`: interpret.
    #[inline]
    pub(crate) fn lookup(
        &mut self,
        slot: usize,
        stamp: u64,
        index: usize,
        ops: &[Op; PAGE_INSNS],
        page_pc: u64,
    ) -> Option<usize> {
        if self.pages.len() <= slot {
            self.pages.resize_with(slot + 1, || None);
        }
        let arena = self.arenas;
        let page = self.pages.get_mut(slot)?.get_or_insert_with(|| PageBlocks {
            stamp,
            va: page_pc,
            arena,
            entries: Box::new([0; PAGE_INSNS]),
        });
        if page.stamp != stamp || page.arena != arena || page.va != page_pc {
            page.stamp = stamp;
            page.va = page_pc;
            page.arena = arena;
            page.entries.fill(0);
        }
        let entry = page.entries.get_mut(index)?;
        match *entry {
            NEVER => return None,
            e if e >= COMPILED => return Some((e - COMPILED) as usize),
            e if e < self.config.threshold => {
                *entry = e + 1;
                return None;
            }
            _ => {}
        }
        let pc = page_pc | ((index as u64) << 2);
        let compiled = self.compile(ops.get(index..).unwrap_or_default(), pc);
        // Compiling may have started a new arena: this page's table then starts over too.
        let arena = self.arenas;
        let page = self.pages.get_mut(slot)?.as_mut()?;
        if page.arena != arena {
            page.arena = arena;
            page.entries.fill(0);
        }
        let entry = page.entries.get_mut(index)?;
        match compiled.and_then(|i| u32::try_from(i).ok()) {
            Some(i) if i < NEVER - COMPILED => {
                *entry = COMPILED + i;
                Some(i as usize)
            }
            _ => {
                *entry = NEVER;
                None
            }
        }
    }

    /// Run compiled block `index` (from [`Jit::lookup`]) with an instruction `limit`; the steps it made.
    #[inline(always)]
    pub(crate) fn run(&self, index: usize, exec: &mut Exec<'_>, limit: u64) -> u64 {
        self.arena
            .as_ref()
            .map_or(0, |a| a.call(index, exec, limit))
    }

    /// The arena to compile into, made (or made anew, when full) as needed.
    fn arena(&mut self) -> Option<&mut native::CodeArena> {
        if self.arena.as_ref().is_some_and(|a| a.len() >= ARENA_BLOCKS) {
            self.arena = None;
        }
        if self.arena.is_none() {
            let mut flags = settings::builder();
            // Cranelift's IR verifier costs about a third of a block's compile time (a Linux boot's ~2500
            // compiles: 334 ms with it, 210 ms without); debug builds, which the differential tests use,
            // keep it, so an emitter bug that makes invalid IR fails there.
            let verify = if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            };
            let ok = flags.set("opt_level", "none").is_ok()
                && flags.set("enable_verifier", verify).is_ok()
                && flags.set("use_colocated_libcalls", "false").is_ok()
                && flags.set("is_pic", "false").is_ok();
            let isa = cranelift_native::builder()
                .ok()
                .filter(|_| ok)
                .and_then(|b| b.finish(settings::Flags::new(flags)).ok());
            let Some(isa) = isa else {
                self.unsupported = true;
                return None;
            };
            let module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
            self.arena = Some(native::CodeArena::new(module));
            self.arenas += 1;
        }
        self.arena.as_mut()
    }

    /// Compile the block starting at `ops[0]` (at `pc`); its arena index, `None` when it has nothing to
    /// translate or Cranelift failed.
    fn compile(&mut self, ops: &[Op], pc: u64) -> Option<usize> {
        let (len, branch) = block::extent(ops.iter().map(|op| op.insn));
        if len < self.config.min_instructions as usize {
            return None;
        }
        let insns: Vec<_> = ops.iter().take(len).map(|op| op.insn).collect();
        let addrs = native::helper_addresses();
        self.arena()?;
        let context = &mut self.context;
        let arena = self.arena.as_mut()?;
        let module = arena.module()?;
        let call_conv = module.isa().default_call_conv();
        let frontend = module.isa().frontend_config();
        let mut ctx = module.make_context();
        ctx.func.signature = signature(call_conv, 2);
        let id = module
            .declare_anonymous_function(&ctx.func.signature)
            .ok()?;
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, context);
            let sigs = [3, 4, 3, 5].map(|n| b.import_signature(signature(call_conv, n)));
            let helpers = emit::Helpers { sigs, addrs };
            let mut e = emit::Emitter::new(b, helpers, pc, len as u64);
            for (i, insn) in insns.iter().enumerate() {
                let at = pc.wrapping_add(4 * i as u64);
                match block::kind(insn) {
                    block::Kind::Branch => e.branch(*insn, at),
                    _ if is_memory(insn) => e.memory(*insn, at, i as u64),
                    _ => e.data_processing(*insn, at),
                }
            }
            if !branch {
                let out = e.exit(
                    emit::ExitPc::At(pc.wrapping_add(4 * len as u64)),
                    len as u64,
                );
                e.b.ins().jump(out, &[]);
            }
            e.finish(frontend);
        }
        module.define_function(id, &mut ctx).ok()?;
        module.clear_context(&mut ctx);
        module.finalize_definitions().ok()?;
        arena.add(id)
    }
}

use cranelift_codegen::ir::InstBuilder;

/// `n` I64 parameters and an I64 result.
fn signature(call_conv: CallConv, n: usize) -> Signature {
    let mut s = Signature::new(call_conv);
    s.params.extend(std::iter::repeat_n(AbiParam::new(I64), n));
    s.returns.push(AbiParam::new(I64));
    s
}

/// Whether `insn` is a load or store (emitted by [`emit_mem`]).
fn is_memory(insn: &crate::decode::Insn) -> bool {
    use crate::decode::Insn as I;
    matches!(
        insn,
        I::LdStImm { .. } | I::LdStReg { .. } | I::LdLiteral { .. } | I::LdStPair { .. }
    )
}
