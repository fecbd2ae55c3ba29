//! a64-diff: differential testing of the realm-a64 interpreter against QEMU's `qemu-aarch64`.
//!
//! Generates random A64 sequences over the base integer encodings ([`generate`]), runs each on QEMU user mode
//! ([`qemu`], a static harness that runs many cases per process) and on realm-a64 at EL1h ([`realm`]), compares
//! X0-X30, SP, NZCV and the data window, shrinks every mismatch and writes it as a regression vector
//! ([`vector`]) for `crates/a64/tests/diff_vectors.rs`. See README.md for setup and commands.
//!
//! Not compared: anything EL0-under-Linux and EL1 legitimately differ on (the generator emits no DC ZVA, reads
//! system registers only after writing them, emits no PAC/BTI hints), and unaligned accesses unless `--unaligned`
//! (with the MMU off realm-a64's data accesses are Device memory, DDI 0487 D8.2.11, and fault when unaligned).
//! `--system` runs the QEMU side at EL1 under qemu-system-aarch64 and compares exceptions too.

mod case;
mod compare;
mod generate;
mod qemu;
mod realm;
mod vector;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, ensure};
use clap::{Parser, Subcommand};

use case::{Case, Form, Outcome};
use generate::{GenConfig, Generator};
use qemu::{Mode, Qemu};

/// Differential testing of realm-a64 against qemu-aarch64.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: CommandArgs,
    /// Where the harness is built.
    #[arg(long, global = true, default_value = "target/a64-diff")]
    work_dir: PathBuf,
    /// Run cases at EL1 under qemu-system-aarch64 (bare metal, MMU off) instead of at EL0 under qemu-aarch64;
    /// the generator then also emits UDF/SVC/BRK and exceptions are compared.
    #[arg(long, global = true)]
    system: bool,
    /// With --system: run the cases at EL0 (entered by ERET from the harness at EL1), exceptions taken to EL1.
    #[arg(long, global = true, requires = "system")]
    el0: bool,
    /// The QEMU binary (default: qemu-aarch64, or qemu-system-aarch64 with --system).
    #[arg(long, global = true)]
    qemu: Option<String>,
    /// The QEMU CPU model.
    #[arg(long, global = true, default_value = "max")]
    qemu_cpu: String,
}

#[derive(Debug, Subcommand)]
enum CommandArgs {
    /// Checks that every generated word disassembles (objdump) to a defined instruction.
    CheckEncodings(GenArgs),
    /// Runs generated cases on QEMU only and reports any that fault (generator bugs).
    QemuOnly(GenArgs),
    /// Compares realm-a64 with QEMU on generated cases; writes each new mismatch as a pending vector.
    Run(RunArgs),
    /// Selects passing cases until each form is covered, and writes them as one vector file.
    Passing(PassingArgs),
}

/// `run` options.
#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    generate: GenArgs,
    /// Where vectors of new mismatches go (the test reports them as known failures).
    #[arg(long, default_value = "crates/a64/tests/vectors/pending")]
    pending: PathBuf,
    /// Write no vectors.
    #[arg(long)]
    no_vectors: bool,
    /// Most mismatches to shrink and record.
    #[arg(long, default_value_t = 200)]
    shrink_budget: u64,
}

/// `passing` options.
#[derive(Debug, clap::Args)]
struct PassingArgs {
    #[command(flatten)]
    generate: GenArgs,
    /// Passing vectors wanted per form.
    #[arg(long, default_value_t = 1)]
    per_form: u64,
    /// The vector file to write.
    #[arg(long, default_value = "crates/a64/tests/vectors/passing.vec")]
    out: PathBuf,
    /// Cover only the forms whose names contain one of these (comma-separated), e.g. `_unscaled,_unpriv`.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// What to generate.
#[derive(Debug, clap::Args)]
struct GenArgs {
    /// Number of sequences.
    #[arg(long, default_value_t = 10_000)]
    count: u64,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Most items (instructions or exclusive blocks) per sequence.
    #[arg(long, default_value_t = 24)]
    max_items: usize,
    /// Allow unaligned accesses (needs a stage-1 MMU on realm-a64).
    #[arg(long)]
    unaligned: bool,
    /// Cases per QEMU process.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
    /// Leave out generator items with a form containing one of these (comma-separated), e.g. `dc_cvau` to look
    /// past a known mismatch.
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
}

impl GenArgs {
    fn generator(&self, args: &Args) -> Generator {
        let cfg = GenConfig {
            max_items: self.max_items,
            unaligned: self.unaligned,
            exceptions: args.system,
            el0: args.el0,
            exclude: self.exclude.clone(),
        };
        Generator::new(self.seed, cfg)
    }
}

impl Args {
    fn qemu(&self) -> Result<Qemu> {
        let (mode, default) = if self.system {
            (Mode::System, "qemu-system-aarch64")
        } else {
            (Mode::User, "qemu-aarch64")
        };
        Qemu::build(
            &self.work_dir,
            self.qemu.as_deref().unwrap_or(default),
            &self.qemu_cpu,
            mode,
        )
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    match &args.command {
        CommandArgs::CheckEncodings(g) => check_encodings(&args, g),
        CommandArgs::QemuOnly(g) => qemu_only(&args, g),
        CommandArgs::Run(r) => run(&args, r),
        CommandArgs::Passing(p) => passing(&args, p),
    }
}

/// The tool's report goes to stderr, line by line.
macro_rules! report {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

fn check_encodings(args: &Args, g: &GenArgs) -> Result<()> {
    let mut generator = g.generator(args);
    let mut words = Vec::new();
    let mut forms = Vec::new();
    for _ in 0..g.count {
        let case = generator.case();
        words.extend(case.code.iter().flat_map(|w| w.to_le_bytes()));
        forms.extend(case.forms);
    }
    std::fs::create_dir_all(&args.work_dir)?;
    let bin = args.work_dir.join("words.bin");
    std::fs::write(&bin, &words)?;
    let out = Command::new("aarch64-linux-gnu-objdump")
        .args(["-D", "-b", "binary", "-m", "aarch64"])
        .arg(&bin)
        .output()
        .context("running aarch64-linux-gnu-objdump (run tools/a64-diff/setup.sh)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut bad = BTreeMap::<Form, (u64, String)>::new();
    let mut seen = 0usize;
    for line in text.lines().filter(|l| l.contains(":\t")) {
        let Some(form) = forms.get(seen) else { break };
        seen += 1;
        if line.contains(".inst") || line.contains("undefined") {
            let e = bad.entry(*form).or_insert((0, line.to_owned()));
            e.0 += 1;
        }
    }
    ensure!(
        seen == forms.len(),
        "objdump listed {seen} words, generated {}",
        forms.len()
    );
    for (form, (n, example)) in &bad {
        report!("{form}: {n} undecodable, e.g. {example}");
    }
    let distinct: std::collections::BTreeSet<_> = forms.iter().collect();
    report!(
        "{} words, {} distinct forms, {} forms with undecodable words",
        forms.len(),
        distinct.len(),
        bad.len()
    );
    ensure!(bad.is_empty(), "the generator emitted undecodable words");
    Ok(())
}

fn qemu_only(args: &Args, g: &GenArgs) -> Result<()> {
    let qemu = args.qemu()?;
    let mut generator = g.generator(args);
    let start = std::time::Instant::now();
    let mut faults = BTreeMap::<String, (u64, String)>::new();
    let mut done = 0u64;
    while done < g.count {
        let n = usize::try_from((g.count - done).min(g.batch as u64))?;
        let cases: Vec<Case> = (0..n).map(|_| generator.case()).collect();
        for (case, outcome) in cases.iter().zip(qemu.run(&cases)?) {
            if let Outcome::Fault { what } = outcome {
                let key = fault_form(case, &what);
                faults.entry(key).or_insert((0, what)).0 += 1;
            }
        }
        done += n as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    // The harness must carry nothing from one case to the next: rerun a few cases alone and compare.
    let mut again = g.generator(args);
    let sample: Vec<Case> = (0..g.count.min(50)).map(|_| again.case()).collect();
    let batched = qemu.run(&sample)?;
    for (i, case) in sample.iter().enumerate() {
        let alone = qemu.run(std::slice::from_ref(case))?;
        ensure!(
            alone.first() == batched.get(i),
            "case {i} gives a different result alone than in a batch"
        );
    }
    report!(
        "{} cases give the same result alone as in a batch",
        sample.len()
    );
    for (form, (n, what)) in &faults {
        report!("fault in {form}: {n} cases, e.g. {what}");
    }
    report!(
        "{done} sequences on QEMU in {secs:.1} s ({:.0}/s), {} faulting forms",
        done as f64 / secs,
        faults.len()
    );
    Ok(())
}

fn run(args: &Args, r: &RunArgs) -> Result<()> {
    let qemu = args.qemu()?;
    let mut generator = r.generate.generator(args);
    let opts = compare::RunOptions {
        count: r.generate.count,
        batch: r.generate.batch,
        shrink_budget: r.shrink_budget,
        pending_dir: (!r.no_vectors).then_some(r.pending.as_path()),
    };
    let rep = compare::run(&qemu, &mut generator, &opts)?;
    let instructions: u64 = rep.forms.values().sum();
    report!(
        "{} sequences ({} instructions) compared in {:.1} s: {:.0} sequences/s; {} distinct instruction forms",
        rep.compared,
        instructions,
        rep.seconds,
        rep.compared as f64 / rep.seconds,
        rep.forms.len()
    );
    report!(
        "{} sequences ended in an exception (--system only)",
        rep.exceptions
    );
    report!(
        "QEMU did not complete {} sequences (generator bugs if non-zero)",
        rep.qemu_faults
    );
    report!(
        "{} sequences matched only with a known QEMU bug corrected (the ISS of a trapped MSR (immediate))",
        rep.qemu_bugs
    );
    let total: u64 = rep.mismatches.values().map(|(n, _)| n).sum();
    report!(
        "{} mismatching sequences ({} shrunk into {} vectors, {} over the shrink budget)",
        total + rep.unshrunk,
        total,
        rep.mismatches.len(),
        rep.unshrunk
    );
    for (name, (n, diffs)) in &rep.mismatches {
        report!("  {n:6} {name}: {}", diffs.join("; "));
    }
    for path in &rep.written {
        report!("wrote {path}");
    }
    Ok(())
}

fn passing(args: &Args, p: &PassingArgs) -> Result<()> {
    let qemu = args.qemu()?;
    let mut generator = p.generate.generator(args);
    let (text, kept) =
        compare::select_passing(&qemu, &mut generator, p.generate.count, p.per_form, &p.only)?;
    let header = format!(
        "# Passing regression vectors: a64-diff{} passing{} --count {} --seed {} --max-items {} --per-form {}{}\n\
         # Expected states from {} -cpu {} (QEMU 7.2).\n",
        if args.system { " --system" } else { "" },
        if p.generate.unaligned {
            " --unaligned"
        } else {
            ""
        },
        p.generate.count,
        p.generate.seed,
        p.generate.max_items,
        p.per_form,
        if p.only.is_empty() {
            String::new()
        } else {
            format!(" --only {}", p.only.join(","))
        },
        if args.system {
            "qemu-system-aarch64 -M virt"
        } else {
            "qemu-aarch64"
        },
        args.qemu_cpu
    );
    std::fs::write(&p.out, header + &text)
        .with_context(|| format!("writing {}", p.out.display()))?;
    report!("wrote {kept} passing vectors to {}", p.out.display());
    Ok(())
}

/// The form of the instruction at the faulting PC, if the PC is inside the sequence.
fn fault_form(case: &Case, what: &str) -> String {
    let pc = what
        .split("pc 0x")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|h| u64::from_str_radix(h, 16).ok());
    pc.and_then(|pc| pc.checked_sub(case::CODE_BASE))
        .and_then(|o| usize::try_from(o / 4).ok())
        .and_then(|i| case.forms.get(i))
        .map_or_else(|| "outside the sequence".to_owned(), ToString::to_string)
}
