//! The realm-configuration flags `measure` and `launch` share (kvmtool/QEMU style), the progress bar, and the
//! one-screen summary.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use realm_vmm::backend::{Extension, ExtensionKind};
use realm_vmm::build::{BuildStats, Progress};
use realm_vmm::config::{ConfigError, ConfigFile, RealmConfig};
use realm_vmm::plan::Step;
use realm_vmm::prepare::{PrepareError, Prepared};
use realm_vmm::size::{ByteSize, MIB};

use crate::cmd::platform::PlatformArgs;
use crate::error::{CliError, input};

/// A realm configuration: an optional TOML file, overridden by flags.
#[derive(Debug, Default, clap::Args)]
pub struct RealmArgs {
    /// TOML configuration file (keys as the long flags: kernel, initrd, mem, cpus, layout, abi, hash, …).
    pub config: Option<PathBuf>,
    /// arm64 kernel Image.
    #[arg(short = 'k', long)]
    pub kernel: Option<PathBuf>,
    /// Initial ramdisk; `builtin:hello` is realmkit's own (what `realm initramfs` writes: an /init that
    /// prints a line and powers off).
    #[arg(short = 'i', long)]
    pub initrd: Option<PathBuf>,
    /// Kernel command line. Default for a kernel (without --dtb): "console=ttyS0 earlycon=uart,mmio,<the UART's
    /// unprotected alias> cryptomgr.notests=1", the same for measure and launch.
    #[arg(short = 'p', long = "cmdline", visible_alias = "params")]
    pub cmdline: Option<String>,
    /// Device tree blob to load instead of the generated one.
    #[arg(long)]
    pub dtb: Option<PathBuf>,
    /// Boot firmware, loaded instead of a kernel.
    #[arg(short = 'f', long)]
    pub firmware: Option<PathBuf>,
    /// Guest RAM (512M, 2G; a bare number is MiB). Default 512M.
    #[arg(short = 'm', long)]
    pub mem: Option<String>,
    /// vCPUs. Default 1.
    #[arg(short = 'c', long)]
    pub cpus: Option<u32>,
    /// Platform layout: kvmtool (default) or qemu.
    #[arg(long)]
    pub layout: Option<String>,
    /// IPA size in bits (default: as the layout's VMM computes it).
    #[arg(long)]
    pub ipa_bits: Option<u8>,
    /// Measurement algorithm: sha256 or sha512 (ABI v10 only).
    #[arg(long)]
    pub hash: Option<String>,
    /// Realm Personalization Value, hex, up to 64 bytes, zero-padded on the right (ABI v10 only).
    #[arg(long)]
    pub rpv: Option<String>,
    /// SVE vector length in bits.
    #[arg(long)]
    pub sve_vl: Option<u16>,
    /// PMU counters (enables the PMU).
    #[arg(long)]
    pub pmu_counters: Option<u8>,
    /// Hardware breakpoints (2..16).
    #[arg(long)]
    pub num_bps: Option<u8>,
    /// Hardware watchpoints (2..16).
    #[arg(long)]
    pub num_wps: Option<u8>,
    /// Kernel realm ABI revision: v10 or v12 (default).
    #[arg(long)]
    pub abi: Option<String>,
    /// Images to populate without measuring their content (comma-separated: kernel, initrd, dtb, firmware).
    #[arg(long, value_delimiter = ',')]
    pub unmeasured: Vec<String>,
    /// Images to populate measured (overrides `unmeasured` from a file).
    #[arg(long, value_delimiter = ',')]
    pub measured: Vec<String>,
    /// The simulated platform.
    #[command(flatten)]
    pub platform: PlatformArgs,
}

impl RealmArgs {
    /// The validated configuration.
    pub fn config(&self) -> Result<RealmConfig, CliError> {
        self.config_with_payload(false)
    }

    /// The validated configuration; with `payload`, a firmware stand-in (replaced by the caller before the
    /// images are read) satisfies the need for something to boot.
    pub fn config_with_payload(&self, payload: bool) -> Result<RealmConfig, CliError> {
        let file = match &self.config {
            Some(path) => ConfigFile::load(path).map_err(config_error)?,
            None => ConfigFile::default(),
        };
        let flags = ConfigFile {
            kernel: self.kernel.clone(),
            initrd: self.initrd.clone(),
            dtb: self.dtb.clone(),
            firmware: if payload {
                Some("<payload>".into())
            } else {
                self.firmware.clone()
            },
            cmdline: self.cmdline.clone(),
            mem: self.mem.clone(),
            cpus: self.cpus,
            layout: self.layout.clone(),
            ipa_bits: self.ipa_bits,
            hash: self.hash.clone(),
            rpv: self.rpv.clone(),
            sve_vl: self.sve_vl,
            pmu_counters: self.pmu_counters,
            num_bps: self.num_bps,
            num_wps: self.num_wps,
            abi: self.abi.clone(),
            unmeasured: self.unmeasured.clone(),
            measured: self.measured.clone(),
            platform: self.platform.overrides(),
        };
        file.merge(flags).validate().map_err(config_error)
    }
}

fn config_error(e: ConfigError) -> CliError {
    input(anyhow::Error::new(e))
}

/// Prepare a configuration (read images, place, DTB, plan); every failure is bad input.
pub fn prepare(cfg: &RealmConfig) -> Result<Prepared, CliError> {
    realm_vmm::prepare::prepare(cfg).map_err(|e: PrepareError| input(anyhow::Error::new(e)))
}

/// A progress bar on stderr for populates of more than 64 MiB.
#[derive(Debug, Default)]
pub struct Bar(Option<ProgressBar>);

impl Progress for Bar {
    fn populated(&mut self, done: u64, total: u64) {
        if total <= 64 * MIB {
            return;
        }
        let bar = self.0.get_or_insert_with(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "populating {bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        bar.set_position(done);
        if done >= total {
            bar.finish_and_clear();
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The one-screen summary.
pub fn summary(
    out: &mut dyn Write,
    p: &Prepared,
    backend: &str,
    stats: &BuildStats,
) -> anyhow::Result<()> {
    let c = &p.cfg;
    let ram: Vec<String> = p
        .map
        .ram
        .iter()
        .map(|r| format!("{} at {r}", ByteSize(r.size)))
        .collect();
    writeln!(
        out,
        "realm      {} layout, ABI {}, {backend} platform",
        c.layout, c.abi
    )?;
    writeln!(
        out,
        "RAM        {}, {}-bit IPA",
        ram.join(" + "),
        p.map.ipa_bits
    )?;
    writeln!(
        out,
        "vCPUs      {} (vCPU 0: PC {:#x}, x0 {:#x})",
        stats.vcpus, p.map.pc, p.map.x0
    )?;
    for img in &p.map.images {
        writeln!(
            out,
            "image      {:<8} {} ({}), {}",
            img.kind.to_string(),
            img.populate,
            ByteSize(img.load.size),
            if img.measured {
                "measured"
            } else {
                "unmeasured"
            }
        )?;
    }
    let secs = stats.populate_time.as_secs_f64();
    let rate = if secs > 0.0 {
        format!(
            ", {:.0} MiB/s",
            (stats.measured_bytes + stats.unmeasured_bytes) as f64 / secs / (1 << 20) as f64
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "populated  {} measured, {} unmeasured in {}{rate}",
        ByteSize(stats.measured_bytes),
        ByteSize(stats.unmeasured_bytes),
        ms(stats.populate_time)
    )?;
    writeln!(out, "time       {} in all", ms(stats.total_time))?;
    Ok(())
}

/// The `--explain` table: one row per RIM extension.
pub fn explain(out: &mut dyn Write, log: &[Extension]) -> anyhow::Result<()> {
    writeln!(
        out,
        "{:>5}  {:<12} {:<24} {:<8} {:<18} rim after",
        "#", "kind", "ipa / range", "flags", "content hash"
    )?;
    for (i, e) in log.iter().enumerate() {
        let hash = hex::encode(&e.content_hash);
        let short = if hash.len() > 16 {
            format!("{}…", &hash[..16])
        } else {
            hash
        };
        writeln!(
            out,
            "{:>5}  {:<12} {:<24} {:<8} {:<18} {}",
            i,
            e.name(),
            e.target(),
            e.flags(),
            short,
            hex::encode(&e.rim_after)
        )?;
    }
    Ok(())
}

/// The extension table with runs of DATA / RIPAS extensions folded into one row each (the demo's view; the
/// full table is `realm measure --explain`).
pub fn explain_condensed(out: &mut dyn Write, log: &[Extension]) -> anyhow::Result<()> {
    writeln!(
        out,
        "{:>11}  {:<12} {:<26} {:<8} rim after",
        "#", "kind", "ipa / range", "flags"
    )?;
    let mut i = 0;
    while i < log.len() {
        let e = &log[i];
        let mut j = i + 1;
        while j < log.len() && follows(&log[j - 1], &log[j]) {
            j += 1;
        }
        let last = &log[j - 1];
        let target = match (e.kind, last.kind) {
            (ExtensionKind::Data { ipa, .. }, ExtensionKind::Data { ipa: end, .. })
                if j - i > 1 =>
            {
                format!("{ipa:#x}..{:#x}", end.wrapping_add(4096))
            }
            (ExtensionKind::Ripas { base, .. }, ExtensionKind::Ripas { top, .. }) if j - i > 1 => {
                format!("{base:#x}..{top:#x}")
            }
            _ => e.target(),
        };
        let index = if j - i > 1 {
            format!("{i}-{}", j - 1)
        } else {
            i.to_string()
        };
        let kind = if j - i > 1 {
            format!("{} ×{}", e.name(), j - i)
        } else {
            e.name().to_owned()
        };
        writeln!(
            out,
            "{index:>11}  {kind:<12} {target:<26} {:<8} {}",
            e.flags(),
            hex::encode(&last.rim_after)
        )?;
        i = j;
    }
    Ok(())
}

/// Whether extension `b` continues a run ending in `a`: DATA of the next granule with the same flags, or
/// RIPAS of the next entry.
fn follows(a: &Extension, b: &Extension) -> bool {
    match (a.kind, b.kind) {
        (
            ExtensionKind::Data { ipa, flags },
            ExtensionKind::Data {
                ipa: next,
                flags: f,
            },
        ) => ipa.wrapping_add(4096) == next && flags == f,
        (ExtensionKind::Ripas { top, .. }, ExtensionKind::Ripas { base, .. }) => top == base,
        _ => false,
    }
}

/// Print the plan.
pub fn print_plan(
    out: &mut dyn Write,
    steps: &[Step],
    abi: realm_vmm::config::AbiRevision,
) -> anyhow::Result<()> {
    writeln!(out, "realm construction plan (ABI {abi}):")?;
    for (i, s) in steps.iter().enumerate() {
        writeln!(out, "{:>3}. {s}", i + 1).context("writing the plan")?;
    }
    Ok(())
}
