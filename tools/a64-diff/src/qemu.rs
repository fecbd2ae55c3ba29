//! The QEMU side: builds the harness (`harness.S`) with the cross binutils and runs batches of cases, many per
//! QEMU process (record layouts in `harness.S`): at EL0 under `qemu-aarch64`, or at EL1 under
//! `qemu-system-aarch64 -M virt` ([`Mode`]).

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail, ensure};

use crate::case::{Case, EL0_END_ESR, Exception, Final, MAX_CODE, Outcome, State};

/// The harness source; assembled at run time, never committed built.
const HARNESS_SOURCE: &str = include_str!("harness.S");
/// Input record size (`IN_SIZE` in `harness.S`).
const IN_SIZE: usize = 520;
/// Output record header size (`OUT_CHG` in `harness.S`).
const OUT_HEADER: usize = 312;
/// Where the harness is linked: 1 MiB above the code page, within `B` range of it.
const HARNESS_TEXT: &str = "0x40100000";
/// Where the system build finds its cases (`BLOB` in `harness.S`).
const BLOB_ADDRESS: &str = "0x48000000";

/// Which QEMU runs the cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `qemu-aarch64`: the sequence runs at EL0 under Linux; a fault is a signal ([`Outcome::Fault`]).
    User,
    /// `qemu-system-aarch64 -M virt`: the sequence runs at EL1h with the MMU off, as on realm-a64; an exception
    /// ends the case and is compared ([`Final::exception`]).
    System,
}

/// A built harness and the QEMU command that runs it.
#[derive(Debug, Clone)]
pub struct Qemu {
    harness: PathBuf,
    qemu: String,
    cpu: String,
    mode: Mode,
    dir: PathBuf,
}

impl Qemu {
    /// Assembles and links the harness for `mode` into `dir` with `aarch64-linux-gnu-as`/`-ld`; `qemu` is the
    /// binary that runs it (`qemu-aarch64` or `qemu-system-aarch64`), `cpu` its `-cpu` model.
    pub fn build(dir: &Path, qemu: &str, cpu: &str, mode: Mode) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // Absolute: the system mode runs QEMU in a directory of its own.
        let dir =
            &std::fs::canonicalize(dir).with_context(|| format!("resolving {}", dir.display()))?;
        let stem = if mode == Mode::System {
            "harness-system"
        } else {
            "harness"
        };
        let source = dir.join("harness.S");
        let object = dir.join(format!("{stem}.o"));
        let harness = dir.join(stem);
        std::fs::write(&source, HARNESS_SOURCE)
            .with_context(|| format!("writing {}", source.display()))?;
        let mut asm = Command::new("aarch64-linux-gnu-as");
        if mode == Mode::System {
            asm.args(["--defsym", "SYSTEM=1"]);
        }
        run_tool(asm.arg("-o").arg(&object).arg(&source))?;
        run_tool(
            Command::new("aarch64-linux-gnu-ld")
                .args([
                    "-static",
                    "-Ttext",
                    HARNESS_TEXT,
                    "--defsym",
                    "case_code=0x40000000",
                    "-o",
                ])
                .arg(&harness)
                .arg(&object),
        )?;
        Ok(Self {
            harness,
            qemu: qemu.to_owned(),
            cpu: cpu.to_owned(),
            mode,
            dir: dir.to_owned(),
        })
    }

    /// Runs `cases` in one QEMU process and returns one outcome per case, in order.
    pub fn run(&self, cases: &[Case]) -> Result<Vec<Outcome>> {
        match self.mode {
            Mode::User => self.run_user(cases),
            Mode::System => self.run_system(cases),
        }
    }

    /// User mode: records through a pipe to the harness's stdin (from a writer thread), results from its stdout.
    fn run_user(&self, cases: &[Case]) -> Result<Vec<Outcome>> {
        let mut child = Command::new(&self.qemu)
            .args(["-cpu", &self.cpu])
            .arg(&self.harness)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {} (run tools/a64-diff/setup.sh)", self.qemu))?;
        let stdin = child.stdin.take().context("qemu stdin")?;
        let stdout = child.stdout.take().context("qemu stdout")?;
        let outcomes = std::thread::scope(|s| {
            let writer = s.spawn(move || -> Result<()> {
                let mut w = BufWriter::with_capacity(1 << 16, stdin);
                let mut record = Vec::with_capacity(IN_SIZE);
                for case in cases {
                    record.clear();
                    encode_case(case, &mut record)?;
                    w.write_all(&record)?;
                }
                w.flush()?;
                Ok(())
            });
            let mut r = BufReader::with_capacity(1 << 16, stdout);
            let read: Result<Vec<Outcome>> = cases
                .iter()
                .map(|_| decode_outcome(&mut r, Mode::User))
                .collect();
            let written = writer
                .join()
                .map_err(|_| anyhow::anyhow!("writer thread panicked"))?;
            written.context("sending cases to qemu")?;
            read.context("reading results from qemu")
        });
        let status = child.wait().context("waiting for qemu")?;
        let outcomes = outcomes?;
        ensure!(status.success(), "qemu harness exited with {status}");
        Ok(outcomes)
    }

    /// System mode: the cases go in a blob that QEMU's loader device places at `BLOB_ADDRESS`; the harness
    /// writes the results to `results.bin` in QEMU's working directory (semihosting), read once it has powered
    /// the machine off.
    fn run_system(&self, cases: &[Case]) -> Result<Vec<Outcome>> {
        // Runs may overlap (the next batch runs while a mismatch is shrunk): each has its own files.
        static RUN: AtomicU64 = AtomicU64::new(0);
        let n = RUN.fetch_add(1, Ordering::Relaxed);
        let run_dir = self.dir.join(format!("run-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&run_dir)
            .with_context(|| format!("creating {}", run_dir.display()))?;
        let blob_path = run_dir.join("cases.bin");
        let out_path = run_dir.join("results.bin");
        let mut blob = Vec::with_capacity(16 + IN_SIZE * cases.len());
        blob.extend_from_slice(&(cases.len() as u64).to_le_bytes());
        blob.extend_from_slice(&0u64.to_le_bytes());
        for case in cases {
            encode_case(case, &mut blob)?;
        }
        std::fs::write(&blob_path, &blob)
            .with_context(|| format!("writing {}", blob_path.display()))?;
        let status = Command::new(&self.qemu)
            .args([
                "-M",
                "virt",
                "-cpu",
                &self.cpu,
                "-m",
                "1G",
                "-nographic",
                "-monitor",
                "none",
                "-nic",
                "none",
            ])
            .arg("-kernel")
            .arg(&self.harness)
            .arg("-device")
            .arg(format!(
                "loader,file={},addr={BLOB_ADDRESS},force-raw=on",
                blob_path.display()
            ))
            .args([
                "-semihosting-config",
                "enable=on,target=native",
                "-serial",
                "null",
            ])
            .current_dir(&run_dir)
            .stdin(Stdio::null())
            .status()
            .with_context(|| format!("starting {} (run tools/a64-diff/setup.sh)", self.qemu))?;
        let out =
            std::fs::read(&out_path).with_context(|| format!("reading {}", out_path.display()));
        let _ = std::fs::remove_dir_all(&run_dir);
        ensure!(status.success(), "{} exited with {status}", self.qemu);
        let out = out?;
        let mut r = out.as_slice();
        cases
            .iter()
            .map(|_| decode_outcome(&mut r, Mode::System))
            .collect::<Result<Vec<_>>>()
            .context("reading results")
    }
}

fn run_tool(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("running {cmd:?} (run tools/a64-diff/setup.sh)"))?;
    if !status.success() {
        bail!("{cmd:?} exited with {status}");
    }
    Ok(())
}

/// Appends `case`'s input record (seed, ncode, X0-X30, SP, NZCV, code padded to `MAX_CODE` words).
fn encode_case(case: &Case, out: &mut Vec<u8>) -> Result<()> {
    ensure!(
        case.code.len() <= MAX_CODE,
        "case has {} instructions, the harness takes {MAX_CODE}",
        case.code.len()
    );
    out.extend_from_slice(&case.seed.to_le_bytes());
    out.extend_from_slice(&(case.code.len() as u64 | (u64::from(case.el0) << 32)).to_le_bytes());
    for x in case.init.x {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&case.init.sp.to_le_bytes());
    out.extend_from_slice(&case.init.nzcv.to_le_bytes());
    for i in 0..MAX_CODE {
        out.extend_from_slice(&case.code.get(i).copied().unwrap_or(0).to_le_bytes());
    }
    Ok(())
}

fn u64_at(bytes: &[u8], index: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
    u64::from_le_bytes(b)
}

fn decode_outcome(r: &mut impl Read, mode: Mode) -> Result<Outcome> {
    let mut header = [0u8; OUT_HEADER];
    r.read_exact(&mut header).context("result header")?;
    let status = u64_at(&header, 0);
    let mut x = [0u64; 31];
    for (i, v) in x.iter_mut().enumerate() {
        *v = u64_at(&header, 1 + i);
    }
    let (sp, mut nzcv, fault_pc, fault_address) = (
        u64_at(&header, 32),
        u64_at(&header, 33),
        u64_at(&header, 34),
        u64_at(&header, 35),
    );
    let (esr, spsr, count) = (
        u64_at(&header, 36),
        u64_at(&header, 37),
        u64_at(&header, 38),
    );
    ensure!(count <= 8192, "harness reports {count} changed words");
    let mut changed = Vec::with_capacity(usize::try_from(count)?);
    let mut pair = [0u8; 16];
    for _ in 0..count {
        r.read_exact(&mut pair).context("changed word")?;
        changed.push((u32::try_from(u64_at(&pair, 0))?, u64_at(&pair, 1)));
    }
    let exception = match (mode, status) {
        (_, 0) => None,
        // An EL0 case's end (`SVC #0xfffe`, vector 0x400): the flags are those SPSR_EL1 saved.
        (Mode::System, 0x108) if esr == EL0_END_ESR => {
            nzcv = spsr & 0xf000_0000;
            None
        }
        (Mode::System, s) if (0x100..0x110).contains(&s) => {
            // QEMU clears PSTATE.NZCV on exception entry; compare the flags the exception saved.
            nzcv = spsr & 0xf000_0000;
            Some(Exception::new(
                (s - 0x100) * 0x80,
                esr,
                fault_pc,
                fault_address,
                spsr,
            ))
        }
        _ => {
            return Ok(Outcome::Fault {
                what: format!("signal {status} at pc {fault_pc:#x} (address {fault_address:#x})"),
            });
        }
    };
    Ok(Outcome::Completed(Box::new(Final {
        state: State { x, sp, nzcv },
        exception,
        changed,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output record as `harness.S` writes it: status, X0-X30 (= index), SP, NZCV, ELR, FAR, ESR, SPSR,
    /// then the changed words.
    fn record(
        status: u64,
        nzcv: u64,
        elr_far_esr_spsr: [u64; 4],
        changed: &[(u64, u64)],
    ) -> Vec<u8> {
        let mut words = vec![status];
        words.extend(0..31u64);
        words.extend([0x4001_8000, nzcv]);
        words.extend(elr_far_esr_spsr);
        words.push(changed.len() as u64);
        for &(o, v) in changed {
            words.extend([o, v]);
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn a_completed_case_decodes_registers_flags_and_changes() {
        let bytes = record(0, 0x6000_0000, [0; 4], &[(0x8000, 0x33)]);
        let Outcome::Completed(f) =
            decode_outcome(&mut bytes.as_slice(), Mode::User).expect("decodes")
        else {
            panic!("status 0 is a completed case");
        };
        assert_eq!(f.state.x[30], 30, "X30 is the 31st register word");
        assert_eq!(
            (f.state.sp, f.state.nzcv),
            (0x4001_8000, 0x6000_0000),
            "SP then NZCV"
        );
        assert_eq!(f.exception, None, "no exception");
        assert_eq!(
            f.changed,
            vec![(0x8000, 0x33)],
            "changed words follow the header"
        );
    }

    /// System mode: status 0x104 is vector 4 (0x200); FAR is dropped for an SVC (EC 0x15, FAR UNKNOWN) and the
    /// flags are SPSR's, as QEMU clears NZCV on exception entry.
    #[test]
    fn a_system_exception_decodes_with_spsr_flags() {
        let bytes = record(
            0x104,
            0,
            [0x4000_0008, 0xdead, 0x5600_0001, 0xa000_03c5],
            &[],
        );
        let Outcome::Completed(f) =
            decode_outcome(&mut bytes.as_slice(), Mode::System).expect("decodes")
        else {
            panic!("an exception is a completed case");
        };
        let e = f.exception.expect("status 0x104 is an exception");
        assert_eq!(
            (e.vector, e.esr, e.elr, e.far),
            (0x200, 0x5600_0001, 0x4000_0008, 0),
            "vector, ESR, ELR, FAR"
        );
        assert_eq!(f.state.nzcv, 0xa000_0000, "NZCV from SPSR_EL1");
    }

    /// The end of an EL0 case (SVC #0xfffe at vector 0x400) is a completion, not an exception.
    #[test]
    fn the_el0_end_is_a_completion() {
        let bytes = record(0x108, 0, [0x4000_0010, 0, EL0_END_ESR, 0x9000_03c0], &[]);
        let Outcome::Completed(f) =
            decode_outcome(&mut bytes.as_slice(), Mode::System).expect("decodes")
        else {
            panic!("the EL0 end is a completed case");
        };
        assert_eq!(f.exception, None, "SVC #0xfffe ends the case");
        assert_eq!(f.state.nzcv, 0x9000_0000, "NZCV from SPSR_EL1");
    }

    #[test]
    fn a_user_signal_is_a_fault_and_truncation_an_error() {
        let bytes = record(4, 0, [0x4000_0000, 0, 0, 0], &[]);
        let outcome = decode_outcome(&mut bytes.as_slice(), Mode::User).expect("decodes");
        assert_eq!(
            outcome,
            Outcome::Fault {
                what: "signal 4 at pc 0x40000000 (address 0x0)".to_owned()
            },
            "SIGILL at the first instruction"
        );
        let short = &bytes[..OUT_HEADER - 1];
        assert!(
            decode_outcome(&mut &short[..], Mode::User).is_err(),
            "a truncated record is an error"
        );
    }

    #[test]
    fn case_records_are_fixed_size_with_the_el0_flag_in_bit_32() {
        let case = Case {
            seed: 1,
            init: State {
                x: [0; 31],
                sp: 0,
                nzcv: 0,
            },
            code: vec![0xd503_201f; 3],
            forms: Vec::new(),
            item_of: Vec::new(),
            mmu: false,
            el0: true,
        };
        let mut out = Vec::new();
        encode_case(&case, &mut out).expect("encodes");
        assert_eq!(out.len(), IN_SIZE, "IN_SIZE bytes per record");
        assert_eq!(
            u64_at(&out, 1),
            3 | (1 << 32),
            "ncode: count and the EL0 flag"
        );
        let too_long = Case {
            code: vec![0; MAX_CODE + 1],
            ..case
        };
        assert!(
            encode_case(&too_long, &mut Vec::new()).is_err(),
            "more than MAX_CODE words is an error"
        );
    }
}
