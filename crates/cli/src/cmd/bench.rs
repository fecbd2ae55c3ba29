//! `realm bench`: how fast `measure` is, as ratios to limits measured in the same run (see
//! `realm_vmm::bench`: payload files of about 1.1 GiB in the temporary directory, `realm measure` run as a
//! child process for its own wall time and peak RSS), and `realm bench cpu`: the realm CPU's
//! instruction rate on two fixed A64 workloads (SHA-256 compression in A64 base instructions, and a
//! checksummed memory copy where loads and stores dominate, both MMU on; see `realm_a64::bench`), as a
//! ratio to the 150 MIPS target and to `qemu-aarch64`'s time for the same work.
//!
//! `realm bench linux` boots a Linux kernel as a realm and under QEMU TCG (`cmd::bench_linux`).
//!
//! Example: `cargo run --release -- bench` (or `--json`), `cargo run --release -- bench cpu`,
//! `cargo run --release -- bench linux`.

use std::io::Write as _;

use crate::error::{CliResult, runtime};

/// Arguments of `realm bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// What to time: `measure` (default: measure's figures, then the running ones), `run` (hello to
    /// SYSTEM_OFF, smp over 256 vCPUs, the timer interrupt round trip), `cpu`, or `linux` (a Linux kernel's
    /// boot as a realm, next to QEMU's).
    #[arg(default_value = "measure", value_parser = ["measure", "run", "cpu", "linux"])]
    suite: String,
    /// `realm bench linux`'s options.
    #[command(flatten)]
    linux: crate::cmd::bench_linux::LinuxOptions,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// The simulated platform the benchmark realms are measured on.
    #[command(flatten)]
    platform: crate::cmd::platform::PlatformArgs,
}

/// Run `realm bench`.
pub fn run(args: &BenchArgs) -> CliResult {
    if args.suite == "cpu" {
        return cpu(args.json);
    }
    let platform = args.platform.resolve()?;
    if args.suite == "linux" {
        return crate::cmd::bench_linux::run(&args.linux, platform, args.json);
    }
    // `measure` runs as a child `realm measure` (its own wall time and peak RSS), unless the platform has
    // overrides a child given only `--platform NAME` would not see.
    let named = realm_platform::Platform::by_name(&platform.name).as_ref() == Some(&platform);
    let runner = match std::env::current_exe() {
        Ok(exe) if named => realm_vmm::bench::MeasureRunner::Child(exe),
        _ => realm_vmm::bench::MeasureRunner::InProcess,
    };
    let mut figures = if args.suite == "run" {
        Vec::new()
    } else {
        realm_vmm::bench::run(&platform, &runner).map_err(runtime)?
    };
    figures.extend(realm_vmm::bench_run::run(&platform).map_err(runtime)?);
    figures.push(realm_vmm::bench_irq::run(&platform).map_err(runtime)?);
    let mut out = std::io::stdout().lock();
    if args.json {
        let text = serde_json::to_string_pretty(&figures).map_err(runtime)?;
        writeln!(out, "{text}").map_err(runtime)?;
        return Ok(());
    }
    for f in &figures {
        writeln!(out, "{}", f.name).map_err(runtime)?;
        writeln!(out, "  time       {:.3} s", f.seconds).map_err(runtime)?;
        writeln!(out, "  reference  {}", f.reference).map_err(runtime)?;
        writeln!(out, "  ratio      {:.2}  (target {})", f.ratio, f.target).map_err(runtime)?;
        for n in &f.notes {
            writeln!(out, "  {n}").map_err(runtime)?;
        }
    }
    Ok(())
}

/// The CPU target of issue 11: at least 150 million A64 instructions a second on this machine kind.
const CPU_TARGET_MIPS: f64 = 150.0;

/// One workload of `realm bench cpu`.
struct CpuWorkload {
    /// Name in the JSON output.
    name: &'static str,
    /// What it is, for the human output.
    title: &'static str,
    /// Units of work per timed run (SHA-256 blocks, buffer passes).
    units: u32,
    /// Runs it on realm-a64.
    run: fn(u32) -> realm_a64::bench::BenchResult,
    /// The same work as an executable for `qemu-aarch64`, and its exit status.
    elf: fn(u32) -> (Vec<u8>, u8),
}

/// The workloads: SHA-256 (integer arithmetic) and a checksummed copy (loads and stores), both MMU on.
const CPU_WORKLOADS: [CpuWorkload; 2] = [
    CpuWorkload {
        name: "sha256-a64",
        title: "SHA-256 compression in A64 base instructions, MMU on",
        units: 20_000,
        run: realm_a64::bench::sha256_workload,
        elf: realm_a64::bench::sha256_elf,
    },
    CpuWorkload {
        name: "memory-copy-a64",
        title: "checksummed copy of 256 KiB with LDP/STP (4 in 10 instructions access memory), MMU on",
        units: 700,
        run: realm_a64::bench::memory_workload,
        elf: realm_a64::bench::memory_elf,
    },
];

/// `realm bench cpu`: for each workload, three runs (after one warm-up), each checked against the Rust
/// computation of the same work, and `qemu-aarch64`'s time for the same work in the same run.
fn cpu(json: bool) -> CliResult {
    let mut out = std::io::stdout().lock();
    let mut reports = Vec::new();
    for w in &CPU_WORKLOADS {
        let _ = (w.run)(w.units / 100);
        let runs: Vec<_> = (0..3).map(|_| (w.run)(w.units)).collect();
        if let Some(bad) = runs.iter().find(|r| !r.correct) {
            return Err(runtime(anyhow::anyhow!(
                "the A64 workload {} computed a wrong result ({} units)",
                w.name,
                bad.blocks
            )));
        }
        let mips: Vec<f64> = runs
            .iter()
            .map(realm_a64::bench::BenchResult::mips)
            .collect();
        let best = mips.iter().copied().fold(0.0, f64::max);
        let ours = runs
            .iter()
            .map(|r| r.elapsed.as_secs_f64())
            .fold(f64::INFINITY, f64::min);
        let qemu = qemu_seconds(w);
        if json {
            let (qemu_s, ratio) = match &qemu {
                Some(Ok(q)) => (serde_json::json!(q), serde_json::json!(ours / q)),
                _ => (serde_json::Value::Null, serde_json::Value::Null),
            };
            reports.push(serde_json::json!({
                "workload": w.name,
                "units": w.units,
                "instructions": runs.first().map_or(0, |r| r.instructions),
                "mips": mips,
                "target_mips": CPU_TARGET_MIPS,
                "ratio": best / CPU_TARGET_MIPS,
                "qemu_seconds": qemu_s,
                "time_vs_qemu": ratio,
            }));
            continue;
        }
        writeln!(out, "cpu: {} ({} units)", w.title, w.units).map_err(runtime)?;
        for (i, r) in runs.iter().enumerate() {
            writeln!(
                out,
                "  run {}      {} instructions in {:.3} s = {:.0} MIPS",
                i + 1,
                r.instructions,
                r.elapsed.as_secs_f64(),
                r.mips()
            )
            .map_err(runtime)?;
        }
        writeln!(
            out,
            "  ratio      {:.2}  (best run / target {CPU_TARGET_MIPS:.0} MIPS; ≥ 1 meets it)",
            best / CPU_TARGET_MIPS
        )
        .map_err(runtime)?;
        match qemu {
            Some(Ok(qemu)) => writeln!(
                out,
                "  QEMU TCG   qemu-aarch64 ran the same workload in {qemu:.3} s (best of 3, process start included): \
                 realm-a64 takes {:.1}× its time (target ≤ 3×)",
                ours / qemu
            )
            .map_err(runtime)?,
            Some(Err(why)) => writeln!(out, "  QEMU TCG   {why}").map_err(runtime)?,
            None => writeln!(
                out,
                "  QEMU TCG   qemu-aarch64 is not on PATH (apt-get install qemu-user): not compared"
            )
            .map_err(runtime)?,
        }
    }
    if json {
        let text = serde_json::to_string_pretty(&reports).map_err(runtime)?;
        writeln!(out, "{text}").map_err(runtime)?;
    }
    Ok(())
}

/// The best of three `qemu-aarch64` runs of workload `w` as a user-mode executable (`None` when
/// `qemu-aarch64` is not installed; `Some(Err)` when it ran but gave the wrong answer or failed).
fn qemu_seconds(w: &CpuWorkload) -> Option<Result<f64, String>> {
    let (elf, want) = (w.elf)(w.units);
    let path = std::env::temp_dir().join(format!(
        "realm-bench-cpu-{}-{}.elf",
        w.name,
        std::process::id()
    ));
    std::fs::write(&path, &elf).ok()?;
    // qemu-aarch64 loads only files its user may execute.
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).ok()?;
    }
    let result = time_qemu(&path, want);
    let _ = std::fs::remove_file(&path);
    result
}

/// The best of three runs of `qemu-aarch64 elf`, each checked to exit with `want`.
fn time_qemu(elf: &std::path::Path, want: u8) -> Option<Result<f64, String>> {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let status = match std::process::Command::new("qemu-aarch64").arg(elf).status() {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(Err(format!("qemu-aarch64 failed to start: {e}"))),
        };
        let secs = start.elapsed().as_secs_f64();
        if status.code() != Some(i32::from(want)) {
            return Some(Err(format!(
                "qemu-aarch64 exited with {status}, not {want}: its result is not comparable"
            )));
        }
        best = best.min(secs);
    }
    Some(Ok(best))
}
