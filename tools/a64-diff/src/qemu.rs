//! The QEMU side: builds the harness (`harness.S`) with the cross binutils and runs batches of cases through one
//! `qemu-aarch64` process each (record layouts in `harness.S`).

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

use crate::case::{Case, Final, MAX_CODE, Outcome, State};

/// The harness source; assembled at run time, never committed built.
const HARNESS_SOURCE: &str = include_str!("harness.S");
/// Input record size (`IN_SIZE` in `harness.S`).
const IN_SIZE: usize = 520;
/// Output record header size (`OUT_CHG` in `harness.S`).
const OUT_HEADER: usize = 296;
/// Where the harness is linked: 1 MiB above the code page, within `B` range of it.
const HARNESS_TEXT: &str = "0x40100000";

/// A built harness and the QEMU command that runs it.
#[derive(Debug, Clone)]
pub struct Qemu {
    harness: PathBuf,
    qemu: String,
    cpu: String,
}

impl Qemu {
    /// Assembles and links the harness into `dir` with `aarch64-linux-gnu-as`/`-ld`.
    pub fn build(dir: &Path, qemu: &str, cpu: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let source = dir.join("harness.S");
        let object = dir.join("harness.o");
        let harness = dir.join("harness");
        std::fs::write(&source, HARNESS_SOURCE)
            .with_context(|| format!("writing {}", source.display()))?;
        run_tool(
            Command::new("aarch64-linux-gnu-as")
                .arg("-o")
                .arg(&object)
                .arg(&source),
        )?;
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
        })
    }

    /// Runs `cases` in one QEMU process and returns one outcome per case, in order.
    pub fn run(&self, cases: &[Case]) -> Result<Vec<Outcome>> {
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
            let read: Result<Vec<Outcome>> = cases.iter().map(|_| decode_outcome(&mut r)).collect();
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
    out.extend_from_slice(&(case.code.len() as u64).to_le_bytes());
    for x in case.init.x {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&case.init.sp.to_le_bytes());
    out.extend_from_slice(&case.init.nzcv.to_le_bytes());
    for i in 0..MAX_CODE {
        out.extend_from_slice(&case.code.get(i).copied().unwrap_or(0).to_le_bytes());
    }
    debug_assert_eq!(out.len(), IN_SIZE);
    Ok(())
}

fn u64_at(bytes: &[u8], index: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
    u64::from_le_bytes(b)
}

fn decode_outcome(r: &mut impl Read) -> Result<Outcome> {
    let mut header = [0u8; OUT_HEADER];
    r.read_exact(&mut header).context("result header")?;
    let status = u64_at(&header, 0);
    let mut x = [0u64; 31];
    for (i, v) in x.iter_mut().enumerate() {
        *v = u64_at(&header, 1 + i);
    }
    let (sp, nzcv, fault_pc, fault_address, count) = (
        u64_at(&header, 32),
        u64_at(&header, 33),
        u64_at(&header, 34),
        u64_at(&header, 35),
        u64_at(&header, 36),
    );
    ensure!(count <= 8192, "harness reports {count} changed words");
    let mut changed = Vec::with_capacity(usize::try_from(count)?);
    let mut pair = [0u8; 16];
    for _ in 0..count {
        r.read_exact(&mut pair).context("changed word")?;
        changed.push((u32::try_from(u64_at(&pair, 0))?, u64_at(&pair, 1)));
    }
    if status != 0 {
        return Ok(Outcome::Fault {
            what: format!("signal {status} at pc {fault_pc:#x} (address {fault_address:#x})"),
        });
    }
    Ok(Outcome::Completed(Box::new(Final {
        state: State { x, sp, nzcv },
        changed,
    })))
}
