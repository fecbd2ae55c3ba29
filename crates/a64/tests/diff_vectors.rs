//! Replays the differential-testing regression vectors of `tools/a64-diff` (no QEMU needed): each vector is an
//! A64 sequence, an initial state and the final state qemu-aarch64 produced for it.
//!
//! - `tests/vectors/*.vec` must pass: a regression in any instruction form they cover fails this test.
//! - `tests/vectors/pending/*.vec` are mismatches not fixed yet: they are run and listed as known failures
//!   (a pending vector that now passes is listed too, to be moved up), without failing the build.
//!
//! The run matches the tool's realm side: memory at 0x4000_0000 (code, then `SMC #0`; an `SMC #0` vector table
//! at 0x4000_8000) and the data window 0x4001_0000..0x4002_0000 filled by xorshift64 from the seed; EL1h with
//! SP = SP_EL1, MMU off unless the vector says `mmu identity` (then an identity map of Normal memory, for
//! unaligned accesses), and at EL1h unless it says `el0` (then EL0t with SP = SP_EL0, ending with
//! `SVC #0xfffe`). A vector from the tool's system mode may end in an exception: the state is then the
//! one at the exception, with the exception's vector offset and syndrome registers compared too. Format:
//! `tools/a64-diff/src/vector.rs`.
#![cfg(test)]

use std::path::{Path, PathBuf};

use realm_a64::{A64Cpu, CpuConfig};
use realm_cpu::testing::FlatMemory;
use realm_cpu::{PSTATE_DAIF, PSTATE_MODE_EL0T, PSTATE_MODE_EL1H, RealmCpu, RealmExit, RecContext};

const CODE_BASE: u64 = 0x4000_0000;
const VBAR: u64 = CODE_BASE + 0x8000;
const DATA_OFFSET: usize = 0x1_0000;
const DATA_SIZE: usize = 0x1_0000;
const SMC_0: u32 = 0xd400_0003;
/// `SVC #0xfffe`: the end of an EL0 vector (ESR_EL1 `EL0_END_ESR` at vector 0x400).
const EL0_END_SVC: u32 = 0xd41f_ffc1;
const EL0_END_ESR: u64 = 0x5600_fffe;
const MMU_TABLE: u64 = CODE_BASE + 0xa000;

/// One vector as written by `a64-diff`.
#[derive(Debug, Default)]
struct Vector {
    name: String,
    origin: String,
    seed: u64,
    code: Vec<u32>,
    x: Vec<u64>,
    sp: u64,
    nzcv: u64,
    /// `(register, value)` for each register that changed; the others keep their initial value.
    expect_x: Vec<(usize, u64)>,
    expect_sp: u64,
    expect_nzcv: u64,
    expect_mem: Vec<(u32, u64)>,
    /// Vector offset, ESR_EL1, ELR_EL1, FAR_EL1 (0 where UNKNOWN), SPSR_EL1 masked to NZCV/DAIF/M[3:0].
    expect_exception: Option<[u64; 5]>,
    /// Run with stage 1 on (`mmu identity`): see [`identity_map`].
    mmu: bool,
    /// Run at EL0t with SP_EL0 (`el0`), ending with `SVC #0xfffe`.
    el0: bool,
}

fn hex(s: &str) -> Result<u64, String> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| format!("bad hex {s:?}: {e}"))
}

fn hex_list(rest: &str) -> Result<Vec<u64>, String> {
    rest.split_whitespace().map(hex).collect()
}

fn parse(text: &str, file: &Path) -> Result<Vec<Vector>, String> {
    let mut out = Vec::new();
    let mut cur: Option<Vector> = None;
    for (n, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", file.display(), n + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        if key == "vector" {
            cur = Some(Vector {
                name: rest.to_owned(),
                origin: at(),
                ..Vector::default()
            });
            continue;
        }
        let v = cur
            .as_mut()
            .ok_or_else(|| format!("{}: {key} outside a vector", at()))?;
        let r = match key {
            "forms" => Ok(()),
            "seed" => hex(rest).map(|s| v.seed = s),
            "el0" => {
                v.el0 = true;
                Ok(())
            }
            "mmu" if rest == "identity" => {
                v.mmu = true;
                Ok(())
            }
            "code" => rest
                .split_whitespace()
                .map(|w| u32::from_str_radix(w, 16).map_err(|e| format!("bad word {w:?}: {e}")))
                .collect::<Result<Vec<_>, _>>()
                .map(|c| v.code = c),
            "x" => hex_list(rest).map(|x| v.x = x),
            "sp" => hex(rest).map(|s| v.sp = s),
            "nzcv" => hex(rest).map(|s| v.nzcv = s),
            "expect.x" => rest
                .split_whitespace()
                .map(|p| {
                    let (r, w) = p
                        .split_once('=')
                        .ok_or_else(|| format!("bad register entry {p:?}"))?;
                    let r: usize = r
                        .strip_prefix('x')
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n < 31)
                        .ok_or_else(|| format!("bad register {r:?}"))?;
                    Ok((r, hex(w)?))
                })
                .collect::<Result<Vec<_>, String>>()
                .map(|x| v.expect_x = x),
            "expect.sp" => hex(rest).map(|s| v.expect_sp = s),
            "expect.nzcv" => hex(rest).map(|s| v.expect_nzcv = s),
            "expect.exception" => hex_list(rest).and_then(|e| {
                let e: [u64; 5] = e
                    .try_into()
                    .map_err(|_| "expect.exception takes 5 values".to_owned())?;
                v.expect_exception = Some(e);
                Ok(())
            }),
            "expect.mem" => rest
                .split_whitespace()
                .map(|p| {
                    let (o, w) = p
                        .split_once('=')
                        .ok_or_else(|| format!("bad mem entry {p:?}"))?;
                    Ok((u32::try_from(hex(o)?).map_err(|e| e.to_string())?, hex(w)?))
                })
                .collect::<Result<Vec<_>, String>>()
                .map(|m| v.expect_mem = m),
            "end" => {
                let v = cur.take().ok_or("end outside a vector")?;
                if v.x.len() != 31 || v.code.is_empty() {
                    return Err(format!(
                        "{}: vector {} needs 31 x and code",
                        v.origin, v.name
                    ));
                }
                out.push(v);
                Ok(())
            }
            other => Err(format!("unknown key {other:?}")),
        };
        r.map_err(|e| format!("{}: {e}", at()))?;
    }
    if let Some(v) = cur {
        return Err(format!("{}: vector {} has no end", v.origin, v.name));
    }
    Ok(out)
}

/// Level 1, 2, 3 tables at `MMU_TABLE` (+0x1000, +0x2000) identity-mapping the 32 pages at `CODE_BASE` as
/// Normal memory (DDI 0487 D8.3): code pages EL1-only, data-window pages EL0 read/write too (LDTR/STTR check
/// EL0's permissions). As `tools/a64-diff/src/realm.rs` builds it.
fn identity_map() -> Vec<(u64, u64)> {
    let (l1, l2, l3) = (MMU_TABLE, MMU_TABLE + 0x1000, MMU_TABLE + 0x2000);
    let mut d = vec![(l1 + 8, l2 | 0b11), (l2, l3 | 0b11)];
    for page in 0..(2 * DATA_OFFSET as u64 / 0x1000) {
        let pa = CODE_BASE + page * 0x1000;
        let ap = if pa >= CODE_BASE + DATA_OFFSET as u64 {
            0b01 << 6
        } else {
            0
        };
        d.push((l3 + 8 * page, pa | (1 << 10) | (3 << 8) | ap | 0b11));
    }
    d
}

fn window_words(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed | 1;
    (0..DATA_SIZE / 8).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    })
}

/// Runs `v` on realm-a64; the differences from QEMU's final state, one line each.
fn run(v: &Vector) -> Vec<String> {
    let mut mem = FlatMemory::new(CODE_BASE, 2 * DATA_OFFSET);
    {
        let bytes = mem.bytes_mut();
        let end_word = if v.el0 { EL0_END_SVC } else { SMC_0 };
        for (i, w) in v.code.iter().chain(std::iter::once(&end_word)).enumerate() {
            bytes[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        for entry in 0..16 {
            let at = 0x8000 + 0x80 * entry;
            bytes[at..at + 4].copy_from_slice(&SMC_0.to_le_bytes());
        }
        for (i, w) in window_words(v.seed).enumerate() {
            bytes[DATA_OFFSET + 8 * i..DATA_OFFSET + 8 * i + 8].copy_from_slice(&w.to_le_bytes());
        }
        if v.mmu {
            for (address, descriptor) in identity_map() {
                let at = usize::try_from(address - CODE_BASE).expect("table inside memory");
                bytes[at..at + 8].copy_from_slice(&descriptor.to_le_bytes());
            }
        }
    }
    let mut cpu = A64Cpu::new(&CpuConfig::default());
    let mut ctx = RecContext::reset(CODE_BASE, &v.x, 0);
    let mode = if v.el0 {
        PSTATE_MODE_EL0T
    } else {
        PSTATE_MODE_EL1H
    };
    ctx.pstate = mode | PSTATE_DAIF | (v.nzcv & 0xf000_0000);
    if v.el0 {
        ctx.sp_el0 = v.sp;
        ctx.sp_el1 = VBAR;
    } else {
        ctx.sp_el1 = v.sp;
    }
    ctx.sysregs.vbar_el1 = VBAR;
    if v.mmu {
        // T0SZ 25, IRGN0/ORGN0 write-back, SH0 inner shareable, TG0 4 KiB, EPD1; MAIR Attr0 Normal WB;
        // SCTLR_EL1.{M, C, I}.
        ctx.sysregs.tcr_el1 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23);
        ctx.sysregs.mair_el1 = 0xff;
        ctx.sysregs.ttbr0_el1 = MMU_TABLE;
        ctx.sysregs.sctlr_el1 |= 1 | (1 << 2) | (1 << 12);
    }
    let exit = cpu.run(&mut ctx, &mut mem);
    let end = CODE_BASE + 4 * v.code.len() as u64;
    let mut diffs = Vec::new();
    let mut nzcv = ctx.pstate & 0xf000_0000;
    let r = &ctx.sysregs;
    let el0_end = v.el0
        && exit == RealmExit::Smc
        && ctx.pc == VBAR + 0x400
        && r.esr_el1 == EL0_END_ESR
        && r.elr_el1 == end + 4;
    let exception = if el0_end {
        nzcv = r.spsr_el1 & 0xf000_0000;
        None
    } else if exit == RealmExit::Smc && (VBAR..VBAR + 0x800).contains(&ctx.pc) {
        // The registers at the exception; the flags are the ones SPSR_EL1 saved.
        nzcv = r.spsr_el1 & 0xf000_0000;
        let ec = (r.esr_el1 >> 26) & 0x3f;
        let far_valid = matches!(ec, 0x20 | 0x21 | 0x24 | 0x25) && r.esr_el1 & (1 << 10) == 0
            || matches!(ec, 0x22 | 0x34 | 0x35);
        let far = if far_valid { r.far_el1 } else { 0 };
        Some([
            ctx.pc - VBAR,
            r.esr_el1,
            r.elr_el1,
            far,
            r.spsr_el1 & 0xf000_03cf,
        ])
    } else if exit != RealmExit::Smc || ctx.pc != end || v.el0 {
        return vec![format!(
            "stopped early: {exit:?} at pc {:#x} (ESR_EL1 {:#x}, ELR_EL1 {:#x})",
            ctx.pc, r.esr_el1, r.elr_el1
        )];
    } else {
        None
    };
    if exception != v.expect_exception {
        diffs.push(format!(
            "exception (vector, ESR, ELR, FAR, SPSR): want {:x?}, got {exception:x?}",
            v.expect_exception
        ));
    }
    let mut expect_x = v.x.clone();
    for &(r, value) in &v.expect_x {
        expect_x[r] = value;
    }
    for (i, (want, got)) in expect_x.iter().zip(&ctx.gprs).enumerate() {
        if want != got {
            diffs.push(format!("x{i}: want {want:#x}, got {got:#x}"));
        }
    }
    let sp = if v.el0 { ctx.sp_el0 } else { ctx.sp_el1 };
    if sp != v.expect_sp {
        diffs.push(format!("sp: want {:#x}, got {sp:#x}", v.expect_sp));
    }
    if nzcv != v.expect_nzcv {
        diffs.push(format!("nzcv: want {:#x}, got {nzcv:#x}", v.expect_nzcv));
    }
    let bytes = mem.bytes();
    let mut expect = v.expect_mem.iter().peekable();
    for (i, initial) in window_words(v.seed).enumerate() {
        let off = 8 * i;
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[DATA_OFFSET + off..DATA_OFFSET + off + 8]);
        let got = u64::from_le_bytes(word);
        let want = match expect.peek() {
            Some(&&(o, w)) if o as usize == off => {
                expect.next();
                w
            }
            _ => initial,
        };
        if got != want {
            diffs.push(format!(
                "mem {:#x}: want {want:#x}, got {got:#x}",
                CODE_BASE + (DATA_OFFSET + off) as u64
            ));
        }
    }
    diffs
}

fn vector_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "vec"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn load(dir: &Path) -> Vec<Vector> {
    let mut all = Vec::new();
    for file in vector_files(dir) {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        all.extend(parse(&text, &file).unwrap_or_else(|e| panic!("parsing vectors: {e}")));
    }
    all
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

#[test]
fn passing_vectors_match_qemu() {
    let vectors = load(&vectors_dir());
    assert!(
        vectors.len() >= 100,
        "expected the committed passing vectors, found {}",
        vectors.len()
    );
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| {
            let d = run(v);
            (!d.is_empty()).then(|| format!("{} ({}): {}", v.name, v.origin, d.join("; ")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors differ from QEMU:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
#[expect(
    clippy::print_stderr,
    reason = "lists the known-failing vectors without failing the build"
)]
fn pending_vectors_are_listed() {
    let vectors = load(&vectors_dir().join("pending"));
    let (mut failing, mut fixed) = (Vec::new(), Vec::new());
    for v in &vectors {
        let d = run(v);
        if d.is_empty() {
            fixed.push(format!("{} ({})", v.name, v.origin));
        } else {
            failing.push(format!("{}: {}", v.name, d.join("; ")));
        }
    }
    eprintln!(
        "{} pending vectors still fail (known, tools/a64-diff):",
        failing.len()
    );
    for f in &failing {
        eprintln!("  {f}");
    }
    if !fixed.is_empty() {
        eprintln!(
            "{} pending vectors now pass — move them to tests/vectors/:",
            fixed.len()
        );
        for f in &fixed {
            eprintln!("  {f}");
        }
    }
}

/// The runner must be able to fail: `MOVZ X0, #1` with an expectation of X0 = 2 and a memory word that never
/// changes is reported on both counts.
#[test]
fn a_wrong_expectation_is_reported() {
    let text = "vector movz\nseed 0x5\ncode d2800020\n\
                x 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\nsp 0x40018000\nnzcv 0\n\
                expect.x x0=0x2\nexpect.sp 0x40018000\n\
                expect.nzcv 0\nexpect.mem 0x8000=0x1\nend\n";
    let v = parse(text, Path::new("inline")).expect("the inline vector parses");
    let d = run(&v[0]);
    assert_eq!(d.len(), 2, "two differences expected, got {d:?}");
    assert_eq!(d[0], "x0: want 0x2, got 0x1", "MOVZ X0, #1 sets X0 to 1");
    assert!(
        d[1].starts_with("mem 0x40018000: want 0x1, got "),
        "unchanged window word reported: {}",
        d[1]
    );
}

#[test]
fn malformed_vectors_are_rejected_with_their_line() {
    let err =
        parse("vector a\nseed zz\nend\n", Path::new("f.vec")).expect_err("bad hex is an error");
    assert!(
        err.starts_with("f.vec:2: bad hex"),
        "error names file and line: {err}"
    );
    let err = parse("vector a\ncode d503201f\n", Path::new("f.vec"))
        .expect_err("missing end is an error");
    assert!(err.contains("has no end"), "{err}");
}
