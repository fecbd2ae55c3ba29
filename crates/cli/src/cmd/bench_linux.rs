//! `realm bench linux [--kernel IMAGE] [--cpus N] [--abi v10|v12]`: boot a Linux kernel (default: the pinned
//! Debian one `tools/linux/fetch-kernel.sh` caches) as a realm with realmkit's initramfs and report the time to
//! the first console line, to "Run /init", to power-off and the instructions executed; where
//! `qemu-system-aarch64` is installed, QEMU TCG's times for the same kernel as a plain guest in the same run and
//! the ratios (`realm_vmm::bench_linux`).

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use realm_vmm::bench_linux::{self, LinuxBench, LinuxBenchConfig, Milestones, QemuBoot};

use crate::error::{CliResult, input, runtime};

/// The pinned Debian kernel version `tools/linux/fetch-kernel.sh` fetches.
const PINNED: &str = "7.3.4+deb13";

/// Where `tools/linux/fetch-kernel.sh` puts the pinned kernel: `$REALMKIT_CACHE`, else `$XDG_CACHE_HOME/realmkit`,
/// else `$HOME/.cache/realmkit`, then `linux/VERSION/vmlinuz.unsigned`.
pub fn cached_kernel() -> Option<PathBuf> {
    let root = std::env::var_os("REALMKIT_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("realmkit")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/realmkit")))?;
    Some(root.join("linux").join(PINNED).join("vmlinuz.unsigned"))
}

/// Options of `realm bench linux`.
#[derive(Debug, Clone, clap::Args)]
pub struct LinuxOptions {
    /// linux: the kernel Image (default: the pinned Debian kernel in the fetch-kernel.sh cache).
    #[arg(long)]
    pub kernel: Option<PathBuf>,
    /// linux: vCPUs.
    #[arg(long, default_value_t = 1)]
    pub cpus: u32,
    /// linux: the kernel realm ABI revision (v10 or v12).
    #[arg(long, default_value = "v12")]
    pub abi: String,
    /// linux: seconds before a boot (realm or QEMU) is stopped.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// linux: do not compare with QEMU even when qemu-system-aarch64 is installed.
    #[arg(long)]
    pub no_qemu: bool,
}

/// Run `realm bench linux`.
pub fn run(o: &LinuxOptions, platform: realm_platform::Platform, json: bool) -> CliResult {
    let kernel = match o.kernel.clone().or_else(cached_kernel) {
        Some(k) if k.is_file() => k,
        Some(k) => {
            return Err(input(anyhow::anyhow!(
                "no kernel at {} (run tools/linux/fetch-kernel.sh, or give --kernel)",
                k.display()
            )));
        }
        None => {
            return Err(input(anyhow::anyhow!(
                "no --kernel and no HOME for the cache"
            )));
        }
    };
    let abi = realm_vmm::config::parse_abi(&o.abi).map_err(input)?;
    let cfg = LinuxBenchConfig {
        kernel,
        cpus: o.cpus,
        abi,
        platform,
        timeout: Duration::from_secs(o.timeout),
        qemu: if o.no_qemu {
            None
        } else {
            bench_linux::find_qemu()
        },
    };
    let bench = bench_linux::run(&cfg).map_err(runtime)?;
    let mut out = std::io::stdout().lock();
    if json {
        let mut v = serde_json::to_value(&bench).map_err(runtime)?;
        v["init_ratio"] = serde_json::json!(bench.init_ratio());
        let text = serde_json::to_string_pretty(&v).map_err(runtime)?;
        writeln!(out, "{text}").map_err(runtime)?;
    } else {
        report(&mut out, &bench).map_err(runtime)?;
    }
    if bench.realm.milestones.power_off.is_none() {
        return Err(runtime(anyhow::anyhow!(
            "the realm did not power off: {}",
            bench.realm.status
        )));
    }
    Ok(())
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |s| format!("{s:.2} s"))
}

fn ratio(realm: Option<f64>, qemu: Option<f64>) -> String {
    match (realm, qemu) {
        (Some(r), Some(q)) if q > 0.0 => format!("{:.2}×", r / q),
        _ => "—".into(),
    }
}

/// One milestone of a boot.
type Pick = fn(&Milestones) -> Option<f64>;

fn report(out: &mut dyn std::io::Write, b: &LinuxBench) -> std::io::Result<()> {
    writeln!(
        out,
        "linux: {} as a realm, {} vCPU(s)",
        b.kernel.display(),
        b.cpus
    )?;
    writeln!(out, "  cmdline          {}", b.realm.cmdline)?;
    let r = &b.realm.milestones;
    let q: Option<&Milestones> = match &b.qemu {
        QemuBoot::Booted(m) => Some(m),
        _ => None,
    };
    writeln!(out, "  milestone        realm       QEMU TCG    realm/QEMU")?;
    let rows: [(&str, Pick); 4] = [
        ("first line", |m| m.first_line),
        ("Run /init", |m| m.run_init),
        ("/init's line", |m| m.init_line),
        ("power-off", |m| m.power_off),
    ];
    for (name, f) in rows {
        let qv = q.and_then(f);
        writeln!(
            out,
            "  {name:<16} {:<11} {:<11} {}",
            secs(f(r)),
            secs(qv),
            ratio(f(r), qv)
        )?;
    }
    if let Some(n) = b.realm.instructions {
        writeln!(out, "  instructions     {n} (realm)")?;
    }
    writeln!(out, "  status           {}", b.realm.status)?;
    match (&b.qemu, b.init_ratio()) {
        (QemuBoot::Booted(_), Some(x)) => writeln!(
            out,
            "  target           Run /init within 3× QEMU TCG's plain boot: {x:.2}× ({})",
            if x <= 3.0 { "met" } else { "not met" }
        )?,
        (QemuBoot::Failed(why), _) => writeln!(out, "  QEMU TCG         {why}")?,
        (QemuBoot::NotInstalled, _) => writeln!(
            out,
            "  QEMU TCG         qemu-system-aarch64 is not on PATH (apt-get install qemu-system-arm): not compared"
        )?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use realm_vmm::bench_linux::RealmBoot;

    fn at(first: f64, init: f64, off: f64) -> Milestones {
        let mut m = Milestones::default();
        m.observe(first, b"[    0.000000] Booting Linux\n");
        m.observe(init, b"Run /init as init process\n");
        m.power_off = Some(off);
        m
    }

    #[test]
    fn the_report_puts_each_milestone_next_to_qemus_with_the_ratio() {
        let b = LinuxBench {
            kernel: "vmlinuz".into(),
            cpus: 1,
            realm: RealmBoot {
                milestones: at(0.5, 9.0, 9.5),
                instructions: Some(559_258_835),
                status: "PowerOff".into(),
                cmdline: "console=ttyS0".into(),
            },
            qemu: QemuBoot::Booted(at(0.25, 3.0, 3.2)),
        };
        let mut out = Vec::new();
        report(&mut out, &b).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("  first line       0.50 s      0.25 s      2.00×"),
            "{text}"
        );
        assert!(
            text.contains("  Run /init        9.00 s      3.00 s      3.00×"),
            "{text}"
        );
        assert!(
            text.contains("  /init's line     —           —           —"),
            "{text}"
        );
        assert!(
            text.contains("  instructions     559258835 (realm)"),
            "{text}"
        );
        assert!(text.contains("3.00× (met)"), "{text}");
    }
}
